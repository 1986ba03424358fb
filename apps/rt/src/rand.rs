//! A fixed, repeatable stream of pseudo-random numbers (xorshift64), for
//! test programs and fuzzers that must do the same thing on every run.
//! Not for anything that needs unpredictability.

/// xorshift64 state. The seed must not be 0.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A stream from `seed` (0 is replaced by a fixed non-zero seed).
    pub const fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}
