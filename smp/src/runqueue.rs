//! A run queue: one FIFO per priority plus a bitmap of the non-empty ones.
//!
//! Priorities run from 0 (lowest) to `NUM_PRIORITIES - 1` (highest); any
//! larger priority is clamped to the highest. The invariant, kept by every
//! operation, is: bit `p` of `bitmap` is set exactly when `queues[p]` is
//! non-empty. That makes "highest waiting priority" one `leading_zeros`, so
//! picking the next thread costs O(1) regardless of how many are queued.
//! Removing an arbitrary element (a killed or migrated thread) is a linear
//! scan, which is fine for per-core queues of a handful of threads.

use alloc::collections::VecDeque;

/// The number of priority levels: 0 is the lowest, 31 the highest.
pub const NUM_PRIORITIES: usize = 32;

/// Clamps a priority to the valid range.
fn clamp(prio: u8) -> usize {
    usize::from(prio).min(NUM_PRIORITIES - 1)
}

/// FIFO queues per priority with an O(1) "highest non-empty" lookup.
pub struct RunQueue<T> {
    /// Bit `p` set <=> `queues[p]` non-empty.
    bitmap: u32,
    queues: [VecDeque<T>; NUM_PRIORITIES],
}

impl<T> RunQueue<T> {
    /// An empty run queue (no allocation until the first push).
    pub const fn new() -> Self {
        Self {
            bitmap: 0,
            queues: [const { VecDeque::new() }; NUM_PRIORITIES],
        }
    }

    /// Appends `t` behind every other thread of priority `prio`.
    pub fn push_back(&mut self, prio: u8, t: T) {
        let p = clamp(prio);
        self.queues[p].push_back(t);
        self.bitmap |= 1 << p;
    }

    /// Puts `t` ahead of every other thread of priority `prio`.
    pub fn push_front(&mut self, prio: u8, t: T) {
        let p = clamp(prio);
        self.queues[p].push_front(t);
        self.bitmap |= 1 << p;
    }

    /// Takes the first thread of the highest non-empty priority.
    pub fn pop_highest(&mut self) -> Option<(u8, T)> {
        let p = self.highest_priority()?;
        let q = &mut self.queues[usize::from(p)];
        let t = q.pop_front()?;
        if q.is_empty() {
            self.bitmap &= !(1 << p);
        }
        Some((p, t))
    }

    /// The highest priority with a waiting thread.
    pub fn highest_priority(&self) -> Option<u8> {
        if self.bitmap == 0 {
            None
        } else {
            // 31 - leading_zeros is at most 31, so it fits a u8.
            Some((31 - self.bitmap.leading_zeros()) as u8)
        }
    }

    /// The number of queued threads.
    pub fn len(&self) -> usize {
        let mut bits = self.bitmap;
        let mut n = 0;
        while bits != 0 {
            n += self.queues[bits.trailing_zeros() as usize].len();
            bits &= bits - 1;
        }
        n
    }

    /// Whether no thread is queued.
    pub fn is_empty(&self) -> bool {
        self.bitmap == 0
    }

    /// Removes and returns the first element (highest priority first) that
    /// `matches`, with its priority.
    pub(crate) fn remove_by(&mut self, mut matches: impl FnMut(&T) -> bool) -> Option<(u8, T)> {
        for p in (0..NUM_PRIORITIES).rev() {
            if self.bitmap & (1 << p) == 0 {
                continue;
            }
            let q = &mut self.queues[p];
            if let Some(i) = q.iter().position(&mut matches) {
                let t = q.remove(i)?;
                if q.is_empty() {
                    self.bitmap &= !(1 << p);
                }
                // p < NUM_PRIORITIES = 32, so it fits a u8.
                return Some((p as u8, t));
            }
        }
        None
    }

    /// Whether some queued element `matches`. Visits only the non-empty
    /// priorities (the bitmap's set bits).
    pub(crate) fn any(&self, mut matches: impl FnMut(&T) -> bool) -> bool {
        let mut bits = self.bitmap;
        while bits != 0 {
            let p = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if self.queues[p].iter().any(&mut matches) {
                return true;
            }
        }
        false
    }
}

impl<T: PartialEq> RunQueue<T> {
    /// Removes the first occurrence of `t` (searching from the highest
    /// priority down). Returns whether it was queued.
    pub fn remove(&mut self, t: &T) -> bool {
        self.remove_by(|x| x == t).is_some()
    }

    /// Whether `t` is queued at any priority.
    pub fn contains(&self, t: &T) -> bool {
        self.any(|x| x == t)
    }
}

impl<T> Default for RunQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn bitmap_ok<T>(rq: &RunQueue<T>) -> bool {
        (0..NUM_PRIORITIES).all(|p| {
            let bit = rq.bitmap & (1 << p) != 0;
            let nonempty = !rq.queues[p].is_empty();
            bit == nonempty
        })
    }

    #[test]
    fn priority_then_fifo() {
        let mut rq = RunQueue::new();
        rq.push_back(1, 'a');
        rq.push_back(5, 'b');
        rq.push_back(1, 'c');
        rq.push_front(1, 'd');
        assert_eq!(rq.highest_priority(), Some(5));
        assert_eq!(rq.len(), 4);
        let order: Vec<_> = core::iter::from_fn(|| rq.pop_highest()).collect();
        assert_eq!(order, [(5, 'b'), (1, 'd'), (1, 'a'), (1, 'c')]);
        assert!(rq.is_empty());
        assert_eq!(rq.highest_priority(), None);
        assert!(bitmap_ok(&rq));
    }

    #[test]
    fn clamps_priority() {
        let mut rq = RunQueue::new();
        rq.push_back(200, 1u32);
        rq.push_front(32, 2u32);
        assert_eq!(rq.highest_priority(), Some(31));
        assert_eq!(rq.pop_highest(), Some((31, 2)));
        assert_eq!(rq.pop_highest(), Some((31, 1)));
    }

    #[test]
    fn remove_keeps_bitmap() {
        let mut rq = RunQueue::default();
        rq.push_back(3, 7u32);
        rq.push_back(0, 8u32);
        assert!(rq.contains(&7));
        assert!(rq.remove(&7));
        assert!(!rq.remove(&7));
        assert!(!rq.contains(&7));
        assert_eq!(rq.highest_priority(), Some(0));
        assert!(bitmap_ok(&rq));
    }

    #[derive(Clone, Debug)]
    enum Op {
        PushBack(u8, u8),
        PushFront(u8, u8),
        Pop,
        Remove(u8),
        Contains(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Priorities up to 40 exercise clamping; few distinct values make
        // duplicates and removals hit.
        prop_oneof![
            (0u8..40, 0u8..8).prop_map(|(p, t)| Op::PushBack(p, t)),
            (0u8..40, 0u8..8).prop_map(|(p, t)| Op::PushFront(p, t)),
            Just(Op::Pop),
            (0u8..8).prop_map(Op::Remove),
            (0u8..8).prop_map(Op::Contains),
        ]
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut rq = RunQueue::new();
            // Model: one Vec per priority, front = index 0.
            let mut model: Vec<Vec<u8>> = (0..NUM_PRIORITIES).map(|_| Vec::new()).collect();
            for op in ops {
                match op {
                    Op::PushBack(p, t) => {
                        rq.push_back(p, t);
                        model[clamp(p)].push(t);
                    }
                    Op::PushFront(p, t) => {
                        rq.push_front(p, t);
                        model[clamp(p)].insert(0, t);
                    }
                    Op::Pop => {
                        let want = (0..NUM_PRIORITIES)
                            .rev()
                            .find(|&p| !model[p].is_empty())
                            .map(|p| (p as u8, model[p].remove(0)));
                        prop_assert_eq!(rq.pop_highest(), want);
                    }
                    Op::Remove(t) => {
                        let want = (0..NUM_PRIORITIES).rev().find_map(|p| {
                            let i = model[p].iter().position(|&x| x == t)?;
                            model[p].remove(i);
                            Some(())
                        });
                        prop_assert_eq!(rq.remove(&t), want.is_some());
                    }
                    Op::Contains(t) => {
                        prop_assert_eq!(rq.contains(&t), model.iter().any(|q| q.contains(&t)));
                    }
                }
                prop_assert!(bitmap_ok(&rq));
                prop_assert_eq!(rq.len(), model.iter().map(Vec::len).sum::<usize>());
                prop_assert_eq!(rq.is_empty(), model.iter().all(Vec::is_empty));
                let top = (0..NUM_PRIORITIES).rev().find(|&p| !model[p].is_empty());
                prop_assert_eq!(rq.highest_priority(), top.map(|p| p as u8));
            }
        }
    }
}
