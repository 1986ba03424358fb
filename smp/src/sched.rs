//! The per-core scheduling state machine: which thread runs next on one core.
//!
//! Each core owns one [`CoreSched`], which the kernel wraps in that core's
//! lock; there is no global run queue or lock. A thread is *runnable on this
//! core* when it is either queued in `rq` or `current`, never both, and at most
//! once (`enqueue` of a thread already runnable here is a no-op). Keeping a
//! thread runnable on only one core at a time is the kernel's job (it removes
//! before migrating); the property tests check the whole protocol.
//!
//! # Policy
//!
//! Strict priority, round-robin within a priority:
//!
//! * `schedule` never returns a thread while a strictly higher-priority thread
//!   is queued on this core.
//! * A thread runs for a slice of `slice` ns (`slice_end = start + slice`).
//!   When the slice has expired (`now >= slice_end`) and a thread of equal or
//!   higher priority waits, the current thread goes to the **back** of its
//!   queue with a fresh slice for next time.
//! * When a strictly higher-priority thread waits and the slice has not
//!   expired, the current thread goes to the **front** of its queue and keeps
//!   the unused rest of its slice (`slice_end - now`). When it runs again it
//!   finishes that rest rather than starting a fresh slice, so a stream of
//!   short high-priority wake-ups cannot starve its equal-priority peers.
//! * Calling `schedule` with a runnable current thread while an
//!   equal-priority thread waits is a yield: the current thread goes to the
//!   back (with a fresh slice for next time) even before its slice expired.
//!   [`CoreSched::should_preempt`] does not ask for that case, so only
//!   explicit yields reach it.
//! * Otherwise the current thread keeps running; if its slice expired it gets
//!   a fresh one.
//!
//! Time is a caller-supplied `u64` in ns; all arithmetic saturates.

use crate::runqueue::RunQueue;

/// A queued thread with the unused rest of its slice, if it was preempted
/// mid-slice (None: it starts a full slice when it next runs).
struct Slot<T> {
    t: T,
    budget: Option<u64>,
}

/// The scheduling state of one core. `T` is the kernel's thread handle.
pub struct CoreSched<T> {
    rq: RunQueue<Slot<T>>,
    current: Option<(T, u8)>,
    /// When the current thread's slice ends; meaningless while idle.
    slice_end: u64,
    /// Length of a fresh slice in ns.
    slice: u64,
}

impl<T: PartialEq + Clone> CoreSched<T> {
    /// An idle core with nothing queued; fresh slices last `slice_ns`.
    pub const fn new(slice_ns: u64) -> Self {
        Self {
            rq: RunQueue::new(),
            current: None,
            slice_end: 0,
            slice: slice_ns,
        }
    }

    /// Makes `t` runnable on this core. Returns true if it should preempt the
    /// current thread (strictly higher priority than current, or the core is
    /// idle). Priorities above 31 are clamped to 31. If `t` is already
    /// runnable on this core nothing changes and the result is false.
    pub fn enqueue(&mut self, t: T, prio: u8) -> bool {
        if self.contains(&t) {
            return false;
        }
        let prio = prio.min(31);
        let preempt = match &self.current {
            None => true,
            Some((_, cur)) => prio > *cur,
        };
        self.rq.push_back(prio, Slot { t, budget: None });
        preempt
    }

    /// Timer check at time `now`: true if the current slice has expired and
    /// another thread of equal or higher priority is waiting, or any
    /// higher-priority thread is waiting. An idle core with a queued thread
    /// also answers true. Whenever this is true, `schedule(now, true)` switches
    /// to another thread.
    pub fn should_preempt(&self, now: u64) -> bool {
        let Some(top) = self.rq.highest_priority() else {
            return false;
        };
        match &self.current {
            None => true,
            Some((_, cur)) => top > *cur || (top == *cur && now >= self.slice_end),
        }
    }

    /// Chooses what runs next at time `now`. `current_runnable`: whether the
    /// current thread can keep running (false if it blocked/exited; it is
    /// then forgotten). A runnable current thread is requeued as the module
    /// policy says (front with its remaining slice if preempted mid-slice by
    /// a higher priority, back otherwise) or keeps running. Returns the new
    /// current (None = idle) and starts a fresh slice when the thread changed
    /// or the slice expired (a thread resuming after mid-slice preemption
    /// gets its remaining slice instead).
    pub fn schedule(&mut self, now: u64, current_runnable: bool) -> Option<(T, u8)> {
        if let Some((t, prio)) = self.current.take()
            && current_runnable
        {
            let expired = now >= self.slice_end;
            match self.rq.highest_priority() {
                Some(top) if top > prio && !expired => {
                    let budget = Some(self.slice_end - now);
                    self.rq.push_front(prio, Slot { t, budget });
                }
                Some(top) if top >= prio => self.rq.push_back(prio, Slot { t, budget: None }),
                _ => {
                    // Nothing of equal or higher priority waits: keep running.
                    if expired {
                        self.slice_end = now.saturating_add(self.slice);
                    }
                    self.current = Some((t, prio));
                    return self.current.clone();
                }
            }
        }
        if let Some((prio, slot)) = self.rq.pop_highest() {
            let budget = slot.budget.unwrap_or(self.slice);
            self.slice_end = now.saturating_add(budget);
            self.current = Some((slot.t, prio));
        }
        self.current.clone()
    }

    /// Direct switch (the IPC fast path): `t` replaces the current thread,
    /// which stops being runnable here (it blocked), without touching the
    /// queue. The slice goes on: `t` runs out the rest of it, so a pair of
    /// threads calling each other cannot keep a queued equal-priority
    /// thread off the core past the slice end. The caller checks with
    /// [`CoreSched::highest_queued`] that nothing queued outranks `t`.
    pub fn handoff(&mut self, t: T, prio: u8) {
        self.current = Some((t, prio.min(31)));
    }

    /// The highest priority waiting in the queue, if any.
    pub fn highest_queued(&self) -> Option<u8> {
        self.rq.highest_priority()
    }

    /// The thread running on this core and its priority.
    pub fn current(&self) -> Option<&(T, u8)> {
        self.current.as_ref()
    }

    /// Removes `t` from the queue or from `current` (thread killed). Returns
    /// whether it was found. Removing the current thread leaves the core idle
    /// until the next `schedule`.
    pub fn remove(&mut self, t: &T) -> bool {
        if self.current.as_ref().is_some_and(|(c, _)| c == t) {
            self.current = None;
            return true;
        }
        self.rq.remove_by(|s| s.t == *t).is_some()
    }

    /// Whether `t` is runnable on this core (queued or current).
    pub fn contains(&self, t: &T) -> bool {
        self.current.as_ref().is_some_and(|(c, _)| c == t) || self.rq.any(|s| s.t == *t)
    }

    /// The number of runnable threads on this core: queued plus current.
    pub fn runnable(&self) -> usize {
        self.rq.len() + usize::from(self.current.is_some())
    }

    /// When the current slice ends; None when idle.
    pub fn slice_end(&self) -> Option<u64> {
        self.current.as_ref().map(|_| self.slice_end)
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    const SLICE: u64 = 100;

    #[test]
    fn idle_core_takes_first_enqueue() {
        let mut c = CoreSched::new(SLICE);
        assert_eq!(c.schedule(0, true), None);
        assert_eq!(c.slice_end(), None);
        assert!(!c.should_preempt(0));
        assert!(c.enqueue(1u32, 5));
        assert!(c.should_preempt(0));
        assert_eq!(c.schedule(10, true), Some((1, 5)));
        assert_eq!(c.slice_end(), Some(110));
        assert_eq!(c.runnable(), 1);
    }

    #[test]
    fn higher_priority_preempts_and_preempted_keeps_its_turn() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 5);
        c.enqueue(2u32, 5);
        assert_eq!(c.schedule(0, true), Some((1, 5)));
        // Equal priority: no preemption requested.
        assert!(!c.enqueue(3u32, 5));
        assert!(!c.should_preempt(50));
        // Higher priority at t=40: 1 goes to the front with 60 ns left.
        assert!(c.enqueue(9u32, 7));
        assert!(c.should_preempt(40));
        assert_eq!(c.schedule(40, true), Some((9, 7)));
        // 9 blocks at t=45: 1 resumes ahead of 2 and 3 and finishes its slice.
        assert_eq!(c.schedule(45, false), Some((1, 5)));
        assert_eq!(c.slice_end(), Some(105));
        assert!(c.should_preempt(105));
        assert_eq!(c.schedule(105, true), Some((2, 5)));
        assert_eq!(c.slice_end(), Some(205));
        assert_eq!(c.schedule(205, true), Some((3, 5)));
        assert_eq!(c.schedule(305, true), Some((1, 5)));
    }

    #[test]
    fn slice_expiry_without_competitor_renews_slice() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 3);
        c.enqueue(2u32, 1);
        assert_eq!(c.schedule(0, true), Some((1, 3)));
        assert!(!c.should_preempt(500));
        assert_eq!(c.schedule(500, true), Some((1, 3)));
        assert_eq!(c.slice_end(), Some(600));
        // Before expiry with no competitor: slice unchanged.
        assert_eq!(c.schedule(550, true), Some((1, 3)));
        assert_eq!(c.slice_end(), Some(600));
    }

    #[test]
    fn explicit_yield_goes_to_back() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 2);
        c.enqueue(2u32, 2);
        assert_eq!(c.schedule(0, true), Some((1, 2)));
        assert_eq!(c.schedule(10, true), Some((2, 2)));
        assert_eq!(c.schedule(20, true), Some((1, 2)));
        // 1 got a fresh slice, not the 90 ns it left behind.
        assert_eq!(c.slice_end(), Some(120));
    }

    #[test]
    fn expired_and_higher_waiting_goes_to_back() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 2);
        c.enqueue(2u32, 2);
        assert_eq!(c.schedule(0, true), Some((1, 2)));
        c.enqueue(9u32, 4);
        assert_eq!(c.schedule(100, true), Some((9, 4)));
        assert_eq!(c.schedule(110, false), Some((2, 2)));
    }

    #[test]
    fn remove_current_and_queued() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 2);
        c.enqueue(2u32, 2);
        c.schedule(0, true);
        assert!(c.remove(&1));
        assert_eq!(c.current(), None);
        assert_eq!(c.slice_end(), None);
        assert!(c.remove(&2));
        assert!(!c.remove(&2));
        assert_eq!(c.runnable(), 0);
        assert_eq!(c.schedule(5, true), None);
    }

    #[test]
    fn duplicate_enqueue_is_noop_and_prio_clamped() {
        let mut c = CoreSched::new(SLICE);
        assert!(c.enqueue(1u32, 250));
        assert!(!c.enqueue(1u32, 3));
        assert_eq!(c.runnable(), 1);
        assert_eq!(c.schedule(0, true), Some((1, 31)));
        assert!(!c.enqueue(1u32, 31));
        assert_eq!(c.runnable(), 1);
    }

    #[test]
    fn high_priority_storm_does_not_starve_peers() {
        // Two peers at prio 1; a prio-5 thread wakes every 30 ns and runs
        // 5 ns. Each peer must still get the CPU: 1's slice is spread over the
        // interruptions instead of restarting after each.
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 1);
        c.enqueue(2u32, 1);
        let mut now = 0;
        let mut ran = [false; 3];
        c.schedule(now, true);
        for _ in 0..40 {
            now += 25;
            if c.enqueue(9u32, 5) {
                c.schedule(now, true);
            }
            now += 5;
            // The waker blocks again.
            let next = c.schedule(now, false);
            if let Some((t, _)) = next {
                ran[t as usize] = true;
            }
            if c.should_preempt(now) {
                c.schedule(now, true);
            }
        }
        assert!(ran[1] && ran[2]);
    }

    #[test]
    fn saturating_time() {
        let mut c = CoreSched::new(u64::MAX);
        c.enqueue(1u32, 0);
        assert_eq!(c.schedule(u64::MAX - 1, true), Some((1, 0)));
        assert_eq!(c.slice_end(), Some(u64::MAX));
    }

    #[test]
    fn handoff_keeps_the_queue_and_the_slice() {
        let mut c = CoreSched::new(SLICE);
        c.enqueue(1u32, 5);
        assert_eq!(c.schedule(0, true), Some((1, 5)));
        c.enqueue(3, 5);
        assert_eq!(c.highest_queued(), Some(5));
        // Thread 1 blocks in a call; thread 2 (blocked until now) runs.
        c.handoff(2, 5);
        assert_eq!(c.current(), Some(&(2, 5)));
        assert_eq!(c.runnable(), 2, "the queue is untouched");
        assert_eq!(c.slice_end(), Some(SLICE), "the slice goes on");
        assert!(!c.should_preempt(SLICE - 1));
        assert!(
            c.should_preempt(SLICE),
            "the queued peer gets the core at slice end"
        );
        assert_eq!(c.schedule(SLICE, true), Some((3, 5)));
    }
}
