//! CPU sets, affinity resolution and CPU choice for new or woken threads.
//!
//! A [`CpuSet`] is a 64-bit mask: bit `i` set means CPU `i` is a member. The
//! kernel supports at most [`MAX_CPUS`] CPUs, so every CPU number at or above
//! it is treated as "not a member": `contains` answers false, `insert` and
//! `remove` ignore it and `single` returns the empty set. Nothing here panics
//! or overflows a shift, whatever CPU number it is given.

/// The largest number of CPUs the kernel schedules on (one bit each in a `u64`).
pub const MAX_CPUS: usize = 64;

/// A set of CPU numbers below [`MAX_CPUS`]; bit `i` stands for CPU `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CpuSet(pub u64);

impl CpuSet {
    /// The set with no CPU.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// CPUs `0..n`; `n >= MAX_CPUS` gives every CPU.
    pub const fn all(n: usize) -> Self {
        if n >= MAX_CPUS {
            Self(u64::MAX)
        } else {
            Self((1u64 << n) - 1)
        }
    }

    /// The set holding only `cpu`, or the empty set if `cpu >= MAX_CPUS`.
    pub const fn single(cpu: usize) -> Self {
        if cpu < MAX_CPUS {
            Self(1u64 << cpu)
        } else {
            Self(0)
        }
    }

    /// Whether `cpu` is a member (always false for `cpu >= MAX_CPUS`).
    pub const fn contains(self, cpu: usize) -> bool {
        self.0 & Self::single(cpu).0 != 0
    }

    /// Adds `cpu`; ignored if `cpu >= MAX_CPUS`.
    pub fn insert(&mut self, cpu: usize) {
        self.0 |= Self::single(cpu).0;
    }

    /// Removes `cpu`; ignored if it is not a member.
    pub fn remove(&mut self, cpu: usize) {
        self.0 &= !Self::single(cpu).0;
    }

    /// The number of members.
    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set has no member.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest-numbered member.
    pub fn first(self) -> Option<usize> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as usize)
        }
    }

    /// The members in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        CpuIter(self.0)
    }

    /// The CPUs in both sets.
    pub const fn intersect(self, o: Self) -> Self {
        Self(self.0 & o.0)
    }
}

/// Yields the set bits of a mask, lowest first.
struct CpuIter(u64);

impl Iterator for CpuIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let cpu = self.0.trailing_zeros() as usize;
        // Clears the lowest set bit.
        self.0 &= self.0 - 1;
        Some(cpu)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

/// An affinity mask from the solution description, resolved against the CPUs
/// online: bits of online CPUs are kept; if none is online, every requested bit
/// wraps modulo `online` (so "cpu = 3" runs on cpu 0 of a one-CPU machine); an
/// empty mask means all online CPUs.
///
/// `online` above [`MAX_CPUS`] counts as `MAX_CPUS`; `online == 0` gives the
/// empty set (there is nowhere to run).
pub fn resolve_affinity(mask: u64, online: usize) -> CpuSet {
    let online = online.min(MAX_CPUS);
    if online == 0 {
        return CpuSet::empty();
    }
    let online_set = CpuSet::all(online);
    if mask == 0 {
        return online_set;
    }
    let kept = CpuSet(mask).intersect(online_set);
    if !kept.is_empty() {
        return kept;
    }
    let mut wrapped = CpuSet::empty();
    for cpu in CpuSet(mask).iter() {
        wrapped.insert(cpu % online);
    }
    wrapped
}

/// The least loaded CPU of `allowed` (ties -> lowest index); `loads[i]` is CPU
/// i's number of runnable threads. None if allowed has no cpu < loads.len().
pub fn pick_cpu(allowed: CpuSet, loads: &[u32]) -> Option<usize> {
    allowed
        .iter()
        .filter_map(|cpu| loads.get(cpu).map(|&load| (load, cpu)))
        // `min` keeps the first of equal elements, and `iter` is ascending,
        // but comparing (load, cpu) states the tie-break outright.
        .min()
        .map(|(_, cpu)| cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn basic_set_ops() {
        let mut s = CpuSet::empty();
        assert!(s.is_empty());
        s.insert(3);
        s.insert(63);
        s.insert(64); // ignored
        s.insert(usize::MAX); // ignored
        assert_eq!(s.count(), 2);
        assert!(s.contains(3) && s.contains(63));
        assert!(!s.contains(64) && !s.contains(usize::MAX));
        assert_eq!(s.first(), Some(3));
        assert_eq!(s.iter().collect::<Vec<_>>(), [3, 63]);
        s.remove(3);
        s.remove(99);
        assert_eq!(s, CpuSet::single(63));
        assert_eq!(CpuSet::single(64), CpuSet::empty());
        assert_eq!(CpuSet::empty().first(), None);
    }

    #[test]
    fn all_bounds() {
        assert_eq!(CpuSet::all(0), CpuSet::empty());
        assert_eq!(CpuSet::all(4).0, 0b1111);
        assert_eq!(CpuSet::all(63).0, u64::MAX >> 1);
        assert_eq!(CpuSet::all(64).0, u64::MAX);
        assert_eq!(CpuSet::all(1000).0, u64::MAX);
        assert_eq!(CpuSet(0b1100).intersect(CpuSet(0b0110)), CpuSet(0b0100));
    }

    #[test]
    fn affinity_resolution() {
        // Empty mask: every online CPU.
        assert_eq!(resolve_affinity(0, 4), CpuSet::all(4));
        // Online bits kept, offline dropped.
        assert_eq!(resolve_affinity(0b1_0010, 4), CpuSet(0b0010));
        // "cpu = 3" on a one-CPU machine runs on cpu 0.
        assert_eq!(resolve_affinity(1 << 3, 1), CpuSet::single(0));
        // Wrapping modulo online: cpus 5 and 6 on 4 cpus -> 1 and 2.
        assert_eq!(resolve_affinity(0b110_0000, 4), CpuSet(0b0110));
        // Nothing online: nowhere to run.
        assert_eq!(resolve_affinity(0b1, 0), CpuSet::empty());
        assert_eq!(resolve_affinity(u64::MAX, 500), CpuSet::all(64));
    }

    #[test]
    fn pick_least_loaded() {
        assert_eq!(pick_cpu(CpuSet::all(4), &[3, 1, 1, 2]), Some(1));
        assert_eq!(pick_cpu(CpuSet(0b1100), &[0, 0, 5, 5]), Some(2));
        assert_eq!(pick_cpu(CpuSet::single(7), &[0, 0]), None);
        assert_eq!(pick_cpu(CpuSet::empty(), &[0]), None);
        assert_eq!(pick_cpu(CpuSet::all(64), &[]), None);
    }

    proptest! {
        #[test]
        fn resolved_affinity_is_online_and_nonempty(mask: u64, online in 0usize..80) {
            let s = resolve_affinity(mask, online);
            let online_set = CpuSet::all(online);
            prop_assert_eq!(s.intersect(online_set), s);
            prop_assert_eq!(s.is_empty(), online == 0);
        }

        #[test]
        fn pick_is_minimal(allowed: u64, loads in proptest::collection::vec(0u32..5, 0..70)) {
            let allowed = CpuSet(allowed);
            match pick_cpu(allowed, &loads) {
                None => prop_assert!(allowed.iter().all(|c| c >= loads.len())),
                Some(c) => {
                    prop_assert!(allowed.contains(c) && c < loads.len());
                    for o in allowed.iter().filter(|&o| o < loads.len()) {
                        prop_assert!((loads[c], c) <= (loads[o], o));
                    }
                }
            }
        }

        #[test]
        fn iter_matches_contains(bits: u64) {
            let s = CpuSet(bits);
            let v: Vec<usize> = s.iter().collect();
            prop_assert_eq!(v.len() as u32, s.count());
            prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
            prop_assert!((0..70).all(|c| s.contains(c) == v.contains(&c)));
            prop_assert_eq!(s.first(), v.first().copied());
        }
    }
}
