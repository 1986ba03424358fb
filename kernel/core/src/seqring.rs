//! A ring of the last `N` records of a numbered stream (the audit ring).
//!
//! Records get sequence numbers 1, 2, 3, ... as they are pushed; the ring
//! keeps the newest `N`. A reader asks for the oldest record after the last
//! sequence number it has seen; if the records it missed were overwritten,
//! it gets the oldest one still kept, and the jump in sequence numbers tells
//! it how many it lost.

/// The ring. `T` is stored by value.
pub struct SeqRing<T, const N: usize> {
    slots: [Option<T>; N],
    /// Sequence number the next record gets.
    next: u64,
}

impl<T: Copy, const N: usize> Default for SeqRing<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, const N: usize> SeqRing<T, N> {
    /// An empty ring.
    pub const fn new() -> Self {
        Self {
            slots: [None; N],
            next: 1,
        }
    }

    /// Stores the record `make(seq)` under the next sequence number and
    /// returns that number.
    pub fn push(&mut self, make: impl FnOnce(u64) -> T) -> u64 {
        let seq = self.next;
        if N > 0 {
            self.slots[((seq - 1) % N as u64) as usize] = Some(make(seq));
        }
        self.next += 1;
        seq
    }

    /// Sequence number of the oldest record still kept (equal to
    /// [`SeqRing::next_seq`] when none is).
    pub fn oldest_seq(&self) -> u64 {
        self.next.saturating_sub(N as u64).max(1)
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The oldest kept record with a sequence number above `after`, with
    /// its number.
    pub fn read_after(&self, after: u64) -> Option<(u64, T)> {
        let want = after.saturating_add(1).max(self.oldest_seq());
        if want >= self.next || N == 0 {
            return None;
        }
        self.slots[((want - 1) % N as u64) as usize].map(|t| (want, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_ring_has_nothing() {
        let r: SeqRing<u8, 4> = SeqRing::new();
        assert_eq!(r.read_after(0), None);
        assert_eq!((r.oldest_seq(), r.next_seq()), (1, 1));
    }

    #[test]
    fn overwritten_records_show_as_a_gap() {
        let mut r: SeqRing<u64, 4> = SeqRing::new();
        for _ in 0..10 {
            r.push(|s| s * 100);
        }
        // Records 7..=10 are kept; a reader at 2 skips to 7.
        assert_eq!(r.read_after(2), Some((7, 700)));
        assert_eq!(r.read_after(8), Some((9, 900)));
        assert_eq!(r.read_after(10), None);
        assert_eq!(r.read_after(u64::MAX), None);
    }

    proptest! {
        /// Reading from 0 onwards yields exactly the last N records, in
        /// order, each with the value pushed under its number.
        #[test]
        fn a_reader_gets_the_newest_records_in_order(pushes in 0usize..40) {
            let mut r: SeqRing<u64, 8> = SeqRing::new();
            for _ in 0..pushes {
                r.push(|s| s ^ 0xabcd);
            }
            let mut seen = Vec::new();
            let mut at = 0;
            while let Some((s, v)) = r.read_after(at) {
                prop_assert_eq!(v, s ^ 0xabcd);
                seen.push(s);
                at = s;
            }
            let first = (pushes as u64).saturating_sub(8) + 1;
            let want: Vec<u64> = (first..=pushes as u64).collect();
            prop_assert_eq!(seen, want);
        }
    }
}
