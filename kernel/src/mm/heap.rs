//! The kernel heap: one physically contiguous block reached through the
//! direct map, managed by `linked_list_allocator`.

use linked_list_allocator::LockedHeap;

/// Heap size. Kernel objects are small; user memory never comes from here.
pub const HEAP_SIZE: usize = 16 << 20;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Carves the heap out of physical memory. Runs once at boot.
pub fn init() {
    let pages = HEAP_SIZE / 4096;
    let pa = super::alloc_contiguous(pages).expect("no memory for the kernel heap");
    // SAFETY: the block is freshly allocated, mapped writable in the direct
    // map, and handed to the allocator exactly once.
    unsafe {
        HEAP.lock()
            .init(super::phys_to_virt(pa) as *mut u8, HEAP_SIZE)
    };
}

/// Bytes of the heap in use.
pub fn used_bytes() -> u64 {
    HEAP.lock().used() as u64
}
