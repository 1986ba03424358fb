//! A sleep queue: threads waiting for a deadline, earliest first.
//!
//! The invariant is that `entries` is sorted by deadline and, among equal
//! deadlines, by insertion order (FIFO), so the front is always the next to
//! wake and [`SleepQueue::next_deadline`] is the value to program into the
//! core's timer. Inserting and removing are linear in the queue length, which
//! stays small per core; popping is O(1).

use alloc::collections::VecDeque;

/// Threads ordered by wake-up deadline (ties in insertion order).
pub struct SleepQueue<T> {
    entries: VecDeque<(u64, T)>,
}

impl<T> SleepQueue<T> {
    /// An empty queue (no allocation until the first insert).
    pub const fn new() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }

    /// Adds `t` to wake at `deadline`, after any entry with the same deadline.
    pub fn insert(&mut self, deadline: u64, t: T) {
        let at = self.entries.partition_point(|(d, _)| *d <= deadline);
        self.entries.insert(at, (deadline, t));
    }

    /// Takes the earliest entry if its deadline is at or before `now`. Call
    /// repeatedly to drain every expired entry.
    pub fn pop_expired(&mut self, now: u64) -> Option<T> {
        match self.entries.front() {
            Some((d, _)) if *d <= now => self.entries.pop_front().map(|(_, t)| t),
            _ => None,
        }
    }

    /// The earliest deadline, if anything sleeps.
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.front().map(|(d, _)| *d)
    }

    /// The number of sleeping entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing sleeps.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: PartialEq> SleepQueue<T> {
    /// Removes the earliest entry for `t` (woken early or killed). Returns
    /// whether it was found.
    pub fn remove(&mut self, t: &T) -> bool {
        match self.entries.iter().position(|(_, x)| x == t) {
            Some(i) => self.entries.remove(i).is_some(),
            None => false,
        }
    }
}

impl<T> Default for SleepQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn deadline_order_with_fifo_ties() {
        let mut q = SleepQueue::new();
        q.insert(30, 'a');
        q.insert(10, 'b');
        q.insert(30, 'c');
        q.insert(10, 'd');
        assert_eq!(q.next_deadline(), Some(10));
        assert_eq!(q.pop_expired(9), None);
        assert_eq!(q.pop_expired(10), Some('b'));
        assert_eq!(q.pop_expired(10), Some('d'));
        assert_eq!(q.pop_expired(10), None);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_expired(u64::MAX), Some('a'));
        assert_eq!(q.pop_expired(u64::MAX), Some('c'));
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn remove_early() {
        let mut q = SleepQueue::default();
        q.insert(5, 1u32);
        q.insert(7, 2u32);
        assert!(q.remove(&1));
        assert!(!q.remove(&1));
        assert_eq!(q.next_deadline(), Some(7));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u8),
        Pop(u64),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..20, 0u8..6).prop_map(|(d, t)| Op::Insert(d, t)),
            (0u64..25).prop_map(Op::Pop),
            (0u8..6).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut q = SleepQueue::new();
            // Model: (deadline, insertion sequence, thread), searched linearly.
            let mut model: Vec<(u64, u64, u8)> = Vec::new();
            for (seq, op) in (0u64..).zip(ops) {
                match op {
                    Op::Insert(d, t) => {
                        q.insert(d, t);
                        model.push((d, seq, t));
                    }
                    Op::Pop(now) => {
                        let min = model.iter().enumerate().min_by_key(|(_, e)| (e.0, e.1));
                        let want = match min {
                            Some((i, e)) if e.0 <= now => Some(model.remove(i).2),
                            _ => None,
                        };
                        prop_assert_eq!(q.pop_expired(now), want);
                    }
                    Op::Remove(t) => {
                        let min = model
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.2 == t)
                            .min_by_key(|(_, e)| (e.0, e.1))
                            .map(|(i, _)| i);
                        if let Some(i) = min {
                            model.remove(i);
                        }
                        prop_assert_eq!(q.remove(&t), min.is_some());
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.next_deadline(), model.iter().map(|e| e.0).min());
            }
        }
    }
}
