//! Tests for the parent module.

use super::*;
use core::cell::UnsafeCell;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// Simulated RAM: frame `n` lives at physical address `n * 4096`.
struct Ram(Box<[UnsafeCell<[u64; ENTRIES]>]>);

impl PhysMem for Ram {
    fn frame_ptr(&self, pa: u64) -> *mut u8 {
        assert_eq!(pa % PAGE_4K, 0);
        self.0[(pa / PAGE_4K) as usize].get().cast()
    }
}

/// Hands out frames 1..n and checks every free is of an outstanding frame.
struct Frames {
    free: Vec<u64>,
    out: HashSet<u64>,
}

impl FrameSource for Frames {
    fn alloc_frame(&mut self) -> Option<u64> {
        let pa = self.free.pop()?;
        self.out.insert(pa);
        Some(pa)
    }
    fn free_frame(&mut self, pa: u64) {
        assert!(
            self.out.remove(&pa),
            "freed {pa:#x} twice or never allocated"
        );
        self.free.push(pa);
    }
}

/// RAM full of garbage (all ones), so unzeroed tables would show up.
fn setup(frames: usize) -> (Ram, Frames) {
    let ram = Ram((0..frames)
        .map(|_| UnsafeCell::new([u64::MAX; ENTRIES]))
        .collect());
    let free = (1..frames as u64).rev().map(|f| f * PAGE_4K).collect();
    (
        ram,
        Frames {
            free,
            out: HashSet::new(),
        },
    )
}

const RW: MapFlags = MapFlags::WRITABLE;
const U: MapFlags = MapFlags::USER;
const X: MapFlags = MapFlags::EXECUTABLE;

#[test]
fn map_translate_unmap() {
    let (ram, mut fs) = setup(16);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    assert_eq!(fs.out.len(), 1);
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        assert_eq!(pt.translate(&ram, 0x40_0000), None);
        pt.map(&ram, &mut fs, 0x40_0000, 0x1234_5000, U | X)
            .unwrap();
        assert_eq!(fs.out.len(), 4);
        assert_eq!(pt.translate(&ram, 0x40_0123), Some((0x1234_5123, U | X)));
        assert_eq!(pt.translate(&ram, 0x40_1000), None);
        assert_eq!(
            pt.map(&ram, &mut fs, 0x40_0000, 0x5000, RW),
            Err(MapError::AlreadyMapped)
        );
        // Neighbour shares every table.
        pt.map(&ram, &mut fs, 0x40_1000, 0x6000, U | RW).unwrap();
        assert_eq!(fs.out.len(), 4);
        assert_eq!(pt.unmap(&ram, 0x40_0000), Ok(0x1234_5000));
        assert_eq!(pt.unmap(&ram, 0x40_0000), Err(MapError::NotMapped));
        assert_eq!(pt.unmap(&ram, 0x8000_0000), Err(MapError::NotMapped));
        assert_eq!(pt.translate(&ram, 0x40_0000), None);
        assert_eq!(pt.translate(&ram, 0x40_1008), Some((0x6008, U | RW)));
    }
}

#[test]
fn leaf_bits_are_the_hardware_ones() {
    let (ram, mut fs) = setup(16);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    let all = RW | U | X | MapFlags::UNCACHED | MapFlags::GLOBAL;
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        pt.map(&ram, &mut fs, 0, 0x7000, all).unwrap();
        pt.map(&ram, &mut fs, 0x1000, 0x8000, MapFlags::empty())
            .unwrap();
        let pml4e = read_entry(&ram, pt.root(), 0);
        assert_eq!(pml4e & !ADDR_MASK, PRESENT | WRITABLE | USER);
        let pt_frame = {
            let pdpte = read_entry(&ram, pml4e & ADDR_MASK, 0);
            read_entry(&ram, pdpte & ADDR_MASK, 0) & ADDR_MASK
        };
        let bits = 0x1f | GLOBAL;
        assert_eq!(read_entry(&ram, pt_frame, 0), 0x7000 | bits);
        assert_eq!(read_entry(&ram, pt_frame, 1), 0x8000 | PRESENT | NO_EXECUTE);
        assert_eq!(pt.translate(&ram, 0), Some((0x7000, all)));
        assert_eq!(
            pt.translate(&ram, 0x1000),
            Some((0x8000, MapFlags::empty()))
        );
    }
}

#[test]
fn permissions_combine_across_levels() {
    let (ram, mut fs) = setup(16);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        // A kernel leaf first: intermediates are not USER.
        pt.map(&ram, &mut fs, 0x2000, 0x9000, RW).unwrap();
        assert_eq!(read_entry(&ram, pt.root(), 0) & USER, 0);
        // A user leaf below widens them.
        pt.map(&ram, &mut fs, 0x3000, 0xa000, U | RW | X).unwrap();
        assert_ne!(read_entry(&ram, pt.root(), 0) & USER, 0);
        assert_eq!(pt.translate(&ram, 0x2000), Some((0x9000, RW)));
        // Narrow the PML4 entry by hand: RW gone, NX set.
        let e = read_entry(&ram, pt.root(), 0);
        write_entry(&ram, pt.root(), 0, (e & !WRITABLE) | NO_EXECUTE);
        assert_eq!(pt.translate(&ram, 0x3000), Some((0xa000, U)));
        write_entry(&ram, pt.root(), 0, e & !USER);
        assert_eq!(pt.translate(&ram, 0x3000), Some((0xa000, RW | X)));
        // Mapping an executable user leaf widens the entry back.
        pt.map(&ram, &mut fs, 0x4000, 0xb000, U | X).unwrap();
        assert_eq!(pt.translate(&ram, 0x3000), Some((0xa000, U | RW | X)));
    }
}

#[test]
fn bad_addresses() {
    let (ram, mut fs) = setup(8);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    let flags = MapFlags::empty();
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        assert_eq!(
            pt.map(&ram, &mut fs, 0x1001, 0, flags),
            Err(MapError::Misaligned)
        );
        assert_eq!(
            pt.map(&ram, &mut fs, 0x1000, 0x10, flags),
            Err(MapError::Misaligned)
        );
        let nc = 0x0000_8000_0000_0000;
        assert_eq!(
            pt.map(&ram, &mut fs, nc, 0, flags),
            Err(MapError::NonCanonical)
        );
        assert_eq!(
            pt.map(&ram, &mut fs, 0, 1 << 52, flags),
            Err(MapError::NonCanonical)
        );
        assert_eq!(pt.unmap(&ram, nc), Err(MapError::NonCanonical));
        assert_eq!(pt.unmap(&ram, 0x10), Err(MapError::Misaligned));
        assert_eq!(pt.translate(&ram, nc), None);
        assert_eq!(
            pt.map_2m(&ram, &mut fs, 0x1000, 0, flags),
            Err(MapError::Misaligned)
        );
        // The top of the upper half is canonical.
        let hi = 0xffff_ffff_ffff_f000;
        pt.map(&ram, &mut fs, hi, 0x3000, RW).unwrap();
        assert_eq!(pt.translate(&ram, hi + 5), Some((0x3005, RW)));
    }
    assert!(fs.out.len() == 4);
}

#[test]
fn huge_pages() {
    let (ram, mut fs) = setup(16);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    let va = 0x20_0000;
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        pt.map_2m(&ram, &mut fs, va, 0x4000_0000, RW).unwrap();
        assert_eq!(pt.translate(&ram, va + 0x12345), Some((0x4001_2345, RW)));
        assert_eq!(
            pt.map(&ram, &mut fs, va + 0x1000, 0, RW),
            Err(MapError::HugePage)
        );
        assert_eq!(pt.unmap(&ram, va), Err(MapError::HugePage));
        assert_eq!(
            pt.map_2m(&ram, &mut fs, va, 0, RW),
            Err(MapError::AlreadyMapped)
        );
        // A 4 KiB mapping in the next 2 MiB blocks a 2 MiB one there.
        pt.map(&ram, &mut fs, 2 * va, 0x5000, RW).unwrap();
        assert_eq!(
            pt.map_2m(&ram, &mut fs, 2 * va, 0, RW),
            Err(MapError::AlreadyMapped)
        );
        let mut n = 0;
        pt.clear_user_half(&ram, &mut fs, |v, p, f| {
            assert_eq!(f, RW);
            if v >= 2 * va {
                assert_eq!((v, p), (2 * va, 0x5000));
            } else {
                assert_eq!(p - 0x4000_0000, v - va);
            }
            n += 1;
        });
        assert_eq!(n, 513);
    }
    assert_eq!(fs.out.len(), 1);
}

#[test]
fn out_of_frames() {
    let (ram, mut fs) = setup(3);
    let mut pt = PageTable::new(&ram, &mut fs).unwrap();
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        assert_eq!(
            pt.map(&ram, &mut fs, 0x1000, 0x1000, RW),
            Err(MapError::OutOfFrames)
        );
        assert_eq!(pt.translate(&ram, 0x1000), None);
        pt.clear_user_half(&ram, &mut fs, |_, _, _| panic!("no leaves"));
    }
    assert_eq!(fs.out.len(), 1);
    let (ram, mut empty) = setup(1);
    assert!(matches!(
        PageTable::new(&ram, &mut empty),
        Err(MapError::OutOfFrames)
    ));
}

#[test]
fn clear_user_half_keeps_kernel_half() {
    let (ram, mut fs) = setup(64);
    let mut kernel = PageTable::new(&ram, &mut fs).unwrap();
    let kva = 0xffff_8000_0010_0000;
    // SAFETY: the fake RAM backs every frame these tables use, and only
    // this test touches them.
    unsafe {
        kernel
            .map(&ram, &mut fs, kva, 0x10_0000, RW | MapFlags::GLOBAL)
            .unwrap();
        let kernel_frames = fs.out.len();
        let mut pt = PageTable::new(&ram, &mut fs).unwrap();
        pt.share_kernel_half(&ram, &kernel);
        assert_eq!(
            pt.translate(&ram, kva),
            Some((0x10_0000, RW | MapFlags::GLOBAL))
        );
        let user = [0x40_0000, 0x7fff_ffff_e000, 0x1_0000_0000, 0x40_1000];
        for (i, &va) in user.iter().enumerate() {
            pt.map(&ram, &mut fs, va, (i as u64 + 1) << 12, U | RW)
                .unwrap();
        }
        let mut seen = Vec::new();
        pt.clear_user_half(&ram, &mut fs, |v, p, f| seen.push((v, p, f)));
        seen.sort_by_key(|t| t.0);
        let mut want: Vec<_> = user
            .iter()
            .enumerate()
            .map(|(i, &va)| (va, (i as u64 + 1) << 12, U | RW))
            .collect();
        want.sort_by_key(|t| t.0);
        assert_eq!(seen, want);
        // Only the kernel's tables plus the new root remain.
        assert_eq!(fs.out.len(), kernel_frames + 1);
        assert_eq!(pt.translate(&ram, 0x40_0000), None);
        assert_eq!(
            pt.translate(&ram, kva),
            Some((0x10_0000, RW | MapFlags::GLOBAL))
        );
        // The table is reusable after clearing.
        pt.map(&ram, &mut fs, 0x40_0000, 0x1000, U).unwrap();
        assert_eq!(pt.translate(&ram, 0x40_0000), Some((0x1000, U)));
    }
}

/// Virtual addresses that share and split tables at every level.
fn va_strategy() -> impl Strategy<Value = u64> {
    (0u64..3, 0u64..2, 0u64..2, 0u64..4).prop_map(|(a, b, c, d)| {
        ([0, 1, 255][a as usize] << 39) | ((b * 511) << 30) | (c << 21) | (d << 12)
    })
}

#[derive(Clone, Debug)]
enum Op {
    Map(u64, u64, u8),
    Unmap(u64),
}

proptest! {
    #[test]
    fn matches_a_hashmap_model(ops in prop::collection::vec(prop_oneof![
        (va_strategy(), 0u64..1 << 40, 0u8..32)
            .prop_map(|(va, pa, f)| Op::Map(va, pa << 12, f)),
        va_strategy().prop_map(Op::Unmap),
    ], 0..100)) {
        let (ram, mut fs) = setup(128);
        let mut pt = PageTable::new(&ram, &mut fs).unwrap();
        let mut model: HashMap<u64, (u64, MapFlags)> = HashMap::new();
        for op in ops {
            // SAFETY: the fake RAM backs every frame these tables use, and only
            // this test touches them.
            unsafe {
                match op {
                    Op::Map(va, pa, f) => {
                        let r = pt.map(&ram, &mut fs, va, pa, MapFlags(f));
                        if let std::collections::hash_map::Entry::Vacant(e) = model.entry(va) {
                            prop_assert_eq!(r, Ok(()));
                            e.insert((pa, MapFlags(f)));
                        } else {
                            prop_assert_eq!(r, Err(MapError::AlreadyMapped));
                        }
                    }
                    Op::Unmap(va) => {
                        let want = model.remove(&va).map(|m| m.0).ok_or(MapError::NotMapped);
                        prop_assert_eq!(pt.unmap(&ram, va), want);
                    }
                }
                for (&va, &(pa, f)) in &model {
                    prop_assert_eq!(pt.translate(&ram, va + 0xabc), Some((pa + 0xabc, f)));
                }
            }
        }
        let mut seen = HashMap::new();
        // SAFETY: the fake RAM backs every frame these tables use, and only
        // this test touches them.
        unsafe { pt.clear_user_half(&ram, &mut fs, |v, p, f| { seen.insert(v, (p, f)); }) };
        prop_assert_eq!(seen, model);
        prop_assert_eq!(fs.out.len(), 1);
        for va in [0u64, 1 << 39, 255 << 39] {
            // SAFETY: the fake RAM backs every frame these tables use, and only
            // this test touches them.
            prop_assert_eq!(unsafe { pt.translate(&ram, va) }, None);
        }
    }
}
