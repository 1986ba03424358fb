//! The handle table of one domain: what each handle names, with which rights.
//!
//! A handle is a slot index plus a generation ([`abi::Handle`]). Invariants:
//!
//! - well-known slots (below [`abi::handles::FIRST_FREE_SLOT`]) are filled
//!   only by [`HandleTable::install`] and always have generation 0;
//! - dynamic slots have a generation that is never 0 and that advances each
//!   time the slot is emptied, so a stale handle stops resolving (until the
//!   16-bit generation comes all the way round, 65535 reuses later);
//! - a handle resolves only if its slot is in range, occupied, and its
//!   generation matches, so forged values get [`abi::Error::BadHandle`];
//! - the table never holds more than its capacity.

use abi::handles::FIRST_FREE_SLOT;
use abi::{Error, Handle};
use alloc::vec::Vec;

/// Rights carried by a handle: `abi::rights` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights(pub u32);

impl Rights {
    /// Whether every bit of `r` is present.
    pub const fn contains(self, r: u32) -> bool {
        self.0 & r == r
    }
}

/// One slot; `generation` outlives the object so stale handles are caught.
struct Slot<T> {
    generation: u16,
    entry: Option<(T, Rights)>,
}

/// A per-domain table of objects reached by handle.
pub struct HandleTable<T> {
    /// Grows on demand up to `capacity` slots.
    slots: Vec<Slot<T>>,
    capacity: u16,
    /// Occupied slots.
    len: usize,
    /// No dynamic slot below this index is free.
    free_hint: usize,
}

impl<T> HandleTable<T> {
    /// An empty table of at most `capacity` slots (well-known ones included).
    pub fn new(capacity: u16) -> Self {
        HandleTable {
            slots: Vec::new(),
            capacity,
            len: 0,
            free_hint: usize::from(FIRST_FREE_SLOT),
        }
    }

    /// Installs a well-known handle at a fixed slot with generation 0 (slots < abi::handles::FIRST_FREE_SLOT). Error if occupied or out of range.
    ///
    /// Both errors are [`Error::InvalidArgument`]: installing is the kernel's
    /// own doing, so either is a kernel bug.
    pub fn install(&mut self, index: u16, obj: T, rights: Rights) -> Result<Handle, Error> {
        if index >= FIRST_FREE_SLOT || index >= self.capacity {
            return Err(Error::InvalidArgument);
        }
        let i = usize::from(index);
        self.grow_to(i);
        let slot = &mut self.slots[i];
        if slot.entry.is_some() {
            return Err(Error::InvalidArgument);
        }
        slot.entry = Some((obj, rights));
        self.len += 1;
        Ok(Handle::new(index, 0))
    }

    /// Allocates the lowest free slot >= FIRST_FREE_SLOT; the slot's generation increases every time it is freed so stale handles never match. Full -> Err(QuotaExceeded).
    pub fn insert(&mut self, obj: T, rights: Rights) -> Result<Handle, Error> {
        let start = self.free_hint;
        let i = match self
            .slots
            .iter()
            .skip(start)
            .position(|s| s.entry.is_none())
        {
            Some(p) => start + p,
            None => self.slots.len().max(start),
        };
        if i >= usize::from(self.capacity) {
            self.free_hint = i;
            return Err(Error::QuotaExceeded);
        }
        self.grow_to(i);
        let slot = &mut self.slots[i];
        slot.entry = Some((obj, rights));
        self.len += 1;
        self.free_hint = i + 1;
        // `i < capacity <= u16::MAX`, so the index fits.
        Ok(Handle::new(i as u16, slot.generation))
    }

    /// The object and rights `h` names; `BadHandle` if empty, out of range,
    /// or of another generation.
    pub fn get(&self, h: Handle) -> Result<(&T, Rights), Error> {
        let slot = self
            .slots
            .get(usize::from(h.index()))
            .ok_or(Error::BadHandle)?;
        match &slot.entry {
            Some((obj, rights)) if slot.generation == h.generation() => Ok((obj, *rights)),
            _ => Err(Error::BadHandle),
        }
    }

    /// Like [`HandleTable::get`], with the object mutable.
    pub fn get_mut(&mut self, h: Handle) -> Result<(&mut T, Rights), Error> {
        let slot = self
            .slots
            .get_mut(usize::from(h.index()))
            .ok_or(Error::BadHandle)?;
        match &mut slot.entry {
            Some((obj, rights)) if slot.generation == h.generation() => Ok((obj, *rights)),
            _ => Err(Error::BadHandle),
        }
    }

    /// Takes the object out; `h` and every copy of it stop resolving.
    pub fn remove(&mut self, h: Handle) -> Result<T, Error> {
        self.get(h)?;
        let i = usize::from(h.index());
        let (obj, _) = self.vacate(i).ok_or(Error::BadHandle)?;
        Ok(obj)
    }

    /// Number of live handles.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no handle is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every object, for domain death. Objects not yet yielded when
    /// the iterator is dropped stay in the table.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        (0..self.slots.len()).filter_map(move |i| self.vacate(i).map(|(obj, _)| obj))
    }

    /// Empties slot `i` if occupied, advancing a dynamic slot's generation.
    fn vacate(&mut self, i: usize) -> Option<(T, Rights)> {
        let slot = self.slots.get_mut(i)?;
        let entry = slot.entry.take()?;
        if i >= usize::from(FIRST_FREE_SLOT) {
            slot.generation = next_generation(slot.generation);
            self.free_hint = self.free_hint.min(i);
        }
        self.len -= 1;
        Some(entry)
    }

    /// Makes sure slot `i` exists; new dynamic slots start at generation 1.
    fn grow_to(&mut self, i: usize) {
        while self.slots.len() <= i {
            let dynamic = self.slots.len() >= usize::from(FIRST_FREE_SLOT);
            self.slots.push(Slot {
                generation: u16::from(dynamic),
                entry: None,
            });
        }
    }
}

/// The generation after `g` for a dynamic slot: wraps round, skipping 0.
fn next_generation(g: u16) -> u16 {
    match g.wrapping_add(1) {
        0 => 1,
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::rights::{CALL, GRANT, RECV};
    use proptest::prelude::*;
    use std::collections::HashMap;

    const FIRST: u16 = FIRST_FREE_SLOT;

    #[test]
    fn rights_contains() {
        let r = Rights(CALL | GRANT);
        assert!(r.contains(CALL));
        assert!(r.contains(CALL | GRANT));
        assert!(!r.contains(RECV));
        assert!(!r.contains(CALL | RECV));
        assert!(r.contains(0));
    }

    #[test]
    fn install_well_known() {
        let mut t = HandleTable::new(64);
        assert_eq!(t.install(1, 'l', Rights(CALL)), Ok(abi::handles::LOG));
        assert_eq!(t.install(1, 'x', Rights(CALL)), Err(Error::InvalidArgument));
        assert_eq!(
            t.install(FIRST, 'x', Rights(CALL)),
            Err(Error::InvalidArgument)
        );
        assert_eq!(t.get(abi::handles::LOG), Ok((&'l', Rights(CALL))));
        assert_eq!(t.get(abi::handles::TASK), Err(Error::BadHandle));
        assert_eq!(t.get(Handle::new(1, 1)), Err(Error::BadHandle));
        // Well-known slots keep generation 0 across reinstalls.
        assert_eq!(t.remove(abi::handles::LOG), Ok('l'));
        assert_eq!(t.install(1, 'm', Rights(CALL)), Ok(abi::handles::LOG));
        let mut small = HandleTable::new(2);
        assert_eq!(
            small.install(2, 'x', Rights(0)),
            Err(Error::InvalidArgument)
        );
        assert_eq!(small.insert('x', Rights(0)), Err(Error::QuotaExceeded));
    }

    #[test]
    fn insert_lowest_free_and_generations() {
        let mut t = HandleTable::new(FIRST + 3);
        let a = t.insert(10, Rights(CALL)).unwrap();
        let b = t.insert(11, Rights(RECV)).unwrap();
        let c = t.insert(12, Rights(GRANT)).unwrap();
        assert_eq!(
            (a.index(), b.index(), c.index()),
            (FIRST, FIRST + 1, FIRST + 2)
        );
        assert_eq!(a.generation(), 1);
        assert_eq!(t.insert(13, Rights(0)), Err(Error::QuotaExceeded));
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove(b), Ok(11));
        assert_eq!(t.remove(b), Err(Error::BadHandle));
        assert_eq!(t.get(b), Err(Error::BadHandle));
        let b2 = t.insert(14, Rights(CALL)).unwrap();
        assert_eq!(b2, Handle::new(FIRST + 1, 2));
        assert_eq!(t.get(b), Err(Error::BadHandle));
        assert_eq!(t.get(b2), Ok((&14, Rights(CALL))));
        *t.get_mut(b2).unwrap().0 = 15;
        assert_eq!(t.remove(b2), Ok(15));
        assert_eq!(t.get(Handle::new(u16::MAX, 1)), Err(Error::BadHandle));
    }

    #[test]
    fn generation_skips_zero() {
        assert_eq!(next_generation(1), 2);
        assert_eq!(next_generation(u16::MAX), 1);
        let mut t = HandleTable::new(FIRST + 1);
        t.slots.clear();
        t.grow_to(usize::from(FIRST));
        t.slots[usize::from(FIRST)].generation = u16::MAX;
        let h = t.insert((), Rights(0)).unwrap();
        assert_eq!(h.generation(), u16::MAX);
        t.remove(h).unwrap();
        let h = t.insert((), Rights(0)).unwrap();
        assert_eq!(h.generation(), 1);
        assert_eq!(t.get(Handle::new(FIRST, 0)), Err(Error::BadHandle));
    }

    #[test]
    fn drain_empties_and_invalidates() {
        let mut t = HandleTable::new(100);
        t.install(2, 0, Rights(CALL)).unwrap();
        let hs: Vec<_> = (1..=5)
            .map(|v| t.insert(v, Rights(CALL)).unwrap())
            .collect();
        let mut all: Vec<i32> = t.drain().collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
        assert!(t.is_empty());
        for h in hs {
            assert_eq!(t.get(h), Err(Error::BadHandle));
        }
        // A partially consumed drain leaves the rest, with `len` right.
        t.insert(7, Rights(0)).unwrap();
        t.insert(8, Rights(0)).unwrap();
        assert_eq!(t.drain().next(), Some(7));
        assert_eq!(t.len(), 1);
        assert_eq!(t.insert(9, Rights(0)).unwrap().index(), FIRST);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32),
        Remove(usize),
        RemoveForged(u32),
        Get(u32),
    }

    /// Raw handles: arbitrary, or near the slots and generations in use.
    fn forged() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            (0u16..48, 0u16..4).prop_map(|(i, g)| Handle::new(i, g).0),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_model(ops in prop::collection::vec(prop_oneof![
            3 => any::<u32>().prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => forged().prop_map(Op::RemoveForged),
            2 => forged().prop_map(Op::Get),
        ], 0..200), capacity in 0u16..40) {
            let mut t = HandleTable::new(capacity);
            let mut live: HashMap<u32, u32> = HashMap::new(); // handle -> object
            let mut stale: Vec<u32> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(v) => {
                        let taken: Vec<u16> = live.keys().map(|&h| Handle(h).index()).collect();
                        let want = (FIRST..capacity).find(|i| !taken.contains(i));
                        match t.insert(v, Rights(v & 7)) {
                            Ok(h) => {
                                prop_assert_eq!(Some(h.index()), want);
                                prop_assert!(h.generation() != 0);
                                prop_assert!(!stale.contains(&h.0));
                                live.insert(h.0, v);
                            }
                            Err(e) => {
                                prop_assert_eq!(e, Error::QuotaExceeded);
                                prop_assert_eq!(want, None);
                            }
                        }
                    }
                    Op::Remove(i) if !live.is_empty() => {
                        let h = *live.keys().nth(i % live.len()).unwrap();
                        prop_assert_eq!(t.remove(Handle(h)), Ok(live.remove(&h).unwrap()));
                        stale.push(h);
                    }
                    Op::RemoveForged(h) => {
                        let r = t.remove(Handle(h));
                        prop_assert_eq!(r.ok(), live.remove(&h));
                    }
                    Op::Get(h) => {
                        let r = t.get(Handle(h)).ok().map(|(v, r)| (*v, r));
                        prop_assert_eq!(r, live.get(&h).map(|&v| (v, Rights(v & 7))));
                    }
                    _ => {}
                }
                prop_assert_eq!(t.len(), live.len());
                for &h in &stale {
                    if !live.contains_key(&h) {
                        prop_assert_eq!(t.get(Handle(h)), Err(Error::BadHandle));
                    }
                }
            }
        }
    }
}
