//! The global allocator: a linked-list heap in one contiguous region that grows
//! on demand.
//!
//! The heap lives at [`HEAP_BASE`]. Start-up maps [`HEAP_INITIAL`] bytes there;
//! when an allocation does not fit, the allocator maps more pages directly
//! above the current end (`mem::MAP` with an explicit address, so the region
//! stays contiguous) and extends the heap, up to [`HEAP_MAX`] in total. Past
//! that, allocation returns null and `alloc`'s error handling panics.
//!
//! One lock guards the heap. A thread that finds it taken yields instead of
//! spinning, because the holder may be preempted on the same CPU.

use crate::kernel;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use linked_list_allocator::Heap;
use spin::RelaxStrategy;
use spin::mutex::Mutex;

/// Base address of the heap region.
pub const HEAP_BASE: u64 = 0x0000_2000_0000_0000;
/// Bytes mapped at start-up.
pub const HEAP_INITIAL: u64 = 256 * 1024;
/// The most the heap grows to.
pub const HEAP_MAX: u64 = 64 * 1024 * 1024;
/// The smallest growth step, so that many small allocations do not each cost
/// a `MAP`.
const GROW_MIN: u64 = 256 * 1024;
const PROT_RW: u64 = abi::mem::PROT_READ | abi::mem::PROT_WRITE;

/// Lock contention strategy: let another thread run (perhaps the holder).
struct YieldRelax;

impl RelaxStrategy for YieldRelax {
    fn relax() {
        kernel::yield_now();
    }
}

/// The heap and how much of its region is mapped.
struct State {
    heap: Heap,
    /// Bytes mapped from [`HEAP_BASE`] upward; 0 until the first growth.
    mapped: u64,
}

impl State {
    /// Maps at least `at_least` more bytes at the end of the region and hands
    /// them to the heap. Returns false if the cap or the kernel says no.
    fn grow(&mut self, at_least: u64) -> bool {
        let remaining = HEAP_MAX - self.mapped;
        let Some(wanted) = at_least.checked_next_multiple_of(abi::PAGE_SIZE) else {
            return false;
        };
        if wanted > remaining {
            return false;
        }
        let len = wanted.max(GROW_MIN).min(remaining);
        let addr = HEAP_BASE + self.mapped;
        match kernel::map(addr, len, PROT_RW) {
            Ok(got) if got == addr => {}
            Ok(got) => {
                // A kernel that ignored the address: give the memory back.
                // SAFETY: the range was mapped just now and nothing uses it.
                let _ = unsafe { kernel::unmap(got, len) };
                return false;
            }
            Err(_) => return false,
        }
        let len_usize = len as usize;
        if self.mapped == 0 {
            // SAFETY: [addr, addr + len) is freshly mapped read-write memory
            // that nothing else uses and that is never unmapped.
            unsafe { self.heap.init(addr as *mut u8, len_usize) };
        } else {
            // SAFETY: the new pages sit directly above the heap's region,
            // are mapped read-write, and stay mapped for the program's life.
            unsafe { self.heap.extend(len_usize) };
        }
        self.mapped += len;
        true
    }
}

/// The allocator type behind `#[global_allocator]`.
struct RtAllocator {
    state: Mutex<State, YieldRelax>,
}

#[global_allocator]
static ALLOCATOR: RtAllocator = RtAllocator {
    state: Mutex::new(State {
        heap: Heap::empty(),
        mapped: 0,
    }),
};

// SAFETY: memory comes only from `Heap::allocate_first_fit` on mapped pages
// and goes back through `Heap::deallocate` with the same layout; the lock
// serialises all access.
unsafe impl GlobalAlloc for RtAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut state = self.state.lock();
        if state.mapped == 0 && !state.grow(HEAP_INITIAL) {
            return ptr::null_mut();
        }
        loop {
            if let Ok(p) = state.heap.allocate_first_fit(layout) {
                return p.as_ptr();
            }
            // Room for the block, its alignment slack and hole bookkeeping.
            let need = layout.size() as u64 + layout.align() as u64 + 4 * size_of::<usize>() as u64;
            if !state.grow(need) {
                return ptr::null_mut();
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with
            // this same layout.
            unsafe { self.state.lock().heap.deallocate(p, layout) };
        }
    }
}

/// Maps the initial heap region. Called once by the start-up code; until
/// then (or if it fails) the first allocation tries again.
pub(crate) fn init() {
    let mut state = ALLOCATOR.state.lock();
    if state.mapped == 0 && !state.grow(HEAP_INITIAL) {
        drop(state);
        crate::warn!("rt: could not map the initial heap");
    }
}

/// How much of the heap is mapped and in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUsage {
    /// Bytes of the heap region mapped so far.
    pub mapped: u64,
    /// Bytes handed out to live allocations (including alignment padding).
    pub used: u64,
}

/// Reports the heap's current size and use.
#[must_use]
pub fn usage() -> HeapUsage {
    let state = ALLOCATOR.state.lock();
    HeapUsage {
        mapped: state.mapped,
        used: state.heap.used() as u64,
    }
}
