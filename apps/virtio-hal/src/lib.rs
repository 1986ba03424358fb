//! What virtio-drivers needs from the system, built on the kernel's PCI,
//! MMIO and DMA endpoints (`rt::kernel::pci_*`, `mmio_map`, `dma_*`).
//!
//! - DMA memory comes from `Dma.alloc`: contiguous, zeroed, with its
//!   physical address.
//! - Device registers are mapped on demand with `Mmio.map`, page by page
//!   around the range the driver asks for.
//! - Buffers the driver shares with the device (requests and responses on
//!   its heap) go through bounce buffers: `share` copies them into a fresh
//!   DMA block, `unshare` copies the device's answer back and frees it.
//!   The heap's physical addresses are never exposed, and a device never
//!   writes outside memory allocated for it.
//! - Configuration space is read and written through the kernel's filter
//!   (`KernelCam`), for the devices the solution assigned to us.

#![no_std]

extern crate alloc;

use alloc::collections::BTreeMap;
use core::ptr::NonNull;
use rt::abi::PAGE_SIZE;
use rt::kernel;
use spin::Mutex;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// Bounce buffers in use: physical address -> (address, pages).
static BOUNCE: Mutex<BTreeMap<u64, (u64, u64)>> = Mutex::new(BTreeMap::new());

fn pages(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(PAGE_SIZE).max(1)
}

/// The runtime's implementation of `virtio_drivers::Hal`.
pub struct TesseraHal;

// SAFETY: `dma_alloc` returns zeroed, physically contiguous pages that stay
// mapped until `dma_dealloc`; `mmio_phys_to_virt` maps exactly the device
// range asked for (or panics); `share` hands the device a bounce buffer
// that lives until `unshare`.
unsafe impl Hal for TesseraHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match kernel::dma_alloc(pages as u64) {
            Ok((va, pa)) => (
                pa,
                NonNull::new(va as *mut u8).expect("the kernel maps above 0"),
            ),
            // virtio-drivers treats physical address 0 as failure.
            Err(_) => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // SAFETY: virtio-drivers frees a block only when its device no
        // longer uses it (the `Hal` contract).
        match unsafe { kernel::dma_free(vaddr.as_ptr() as u64) } {
            Ok(()) => 0,
            Err(_) => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        // Every BAR of every device assigned to us, until `NotFound`.
        for index in 0.. {
            if kernel::pci_info(index).is_err() {
                break;
            }
            for bar in 0..6 {
                let Ok((base, len, flags)) = kernel::pci_bar(index, bar) else {
                    continue;
                };
                if flags & rt::abi::pci::BAR_IO != 0 || paddr < base || paddr - base >= len {
                    continue;
                }
                let offset = paddr - base;
                let first = offset / PAGE_SIZE * PAGE_SIZE;
                let end = (offset + size as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
                match kernel::mmio_map(index, bar, first, end - first) {
                    Ok(va) => {
                        return NonNull::new((va + (offset - first)) as *mut u8)
                            .expect("the kernel maps above 0");
                    }
                    Err(e) => panic!("mapping device memory {paddr:#x}+{size:#x}: {e}"),
                }
            }
        }
        panic!("device memory {paddr:#x} is in no BAR of our devices");
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let len = buffer.len();
        let n = pages(len);
        let (va, pa) = kernel::dma_alloc(n).expect("no DMA memory for a bounce buffer");
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: `buffer` is valid for reads of `len` bytes (the `Hal`
            // contract) and the bounce block holds at least `len` bytes.
            unsafe {
                core::ptr::copy_nonoverlapping(buffer.as_ptr().cast::<u8>(), va as *mut u8, len)
            };
        }
        BOUNCE.lock().insert(pa, (va, n));
        pa
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let Some((va, _)) = BOUNCE.lock().remove(&paddr) else {
            panic!("unshare of {paddr:#x}, which was never shared");
        };
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: `buffer` is valid for writes of its length (the `Hal`
            // contract), the same length `share` copied.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    va as *const u8,
                    buffer.as_ptr().cast::<u8>(),
                    buffer.len(),
                )
            };
        }
        // SAFETY: the device is done with the bounce block (it was
        // unshared), and nothing else refers to it.
        let _ = unsafe { kernel::dma_free(va) };
    }
}

/// Configuration-space access to our assigned device `index` through the
/// kernel. The kernel answers BAR sizing and refuses writes that would move
/// a BAR; a refused write is dropped, as hardware drops writes to
/// read-only registers. Any other function reads as absent.
pub struct KernelCam {
    /// Our index of the device (`rt::kernel::pci_info`).
    pub index: u64,
    /// Its location, as virtio-drivers names it.
    pub function: DeviceFunction,
}

impl KernelCam {
    /// Access to assigned device `index`, if there is one.
    pub fn new(index: u64) -> Option<KernelCam> {
        let info = kernel::pci_info(index).ok()?;
        Some(KernelCam {
            index,
            function: DeviceFunction {
                bus: (info.location >> 8) as u8,
                device: ((info.location >> 3) & 0x1f) as u8,
                function: (info.location & 7) as u8,
            },
        })
    }
}

impl ConfigurationAccess for KernelCam {
    fn read_word(&self, f: DeviceFunction, offset: u8) -> u32 {
        if f != self.function {
            return u32::MAX;
        }
        kernel::pci_config_read(self.index, offset).unwrap_or(u32::MAX)
    }

    fn write_word(&mut self, f: DeviceFunction, offset: u8, data: u32) {
        if f == self.function {
            let _ = kernel::pci_config_write(self.index, offset, data);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        KernelCam {
            index: self.index,
            function: self.function,
        }
    }
}

/// The virtio PCI transport of assigned device `index`, with memory
/// decoding and bus mastering turned on.
pub fn transport(index: u64) -> Result<PciTransport, alloc::string::String> {
    let cam = KernelCam::new(index).ok_or_else(|| alloc::format!("no device {index}"))?;
    let function = cam.function;
    let mut root = PciRoot::new(cam);
    root.set_command(function, Command::MEMORY_SPACE | Command::BUS_MASTER);
    PciTransport::new::<TesseraHal, _>(&mut root, function).map_err(|e| alloc::format!("{e:?}"))
}

/// PCI capability id of the virtio structures (virtio 1.2, 4.1.4).
const CAP_VENDOR: u8 = 0x09;
/// `cfg_type` of the common configuration structure.
const VIRTIO_PCI_CAP_COMMON_CFG: u8 = 1;
/// Offsets in the common configuration structure (virtio 1.2, 4.1.4.3).
const COMMON_QUEUE_SELECT: usize = 0x16;
const COMMON_QUEUE_MSIX_VECTOR: usize = 0x1a;
const COMMON_CFG_LEN: usize = 0x38;

/// Reads configuration byte `offset` of assigned device `index`.
fn config_byte(index: u64, offset: u8) -> Result<u8, alloc::string::String> {
    let word = kernel::pci_config_read(index, offset & !3)
        .map_err(|e| alloc::format!("configuration read at {offset:#x}: {e}"))?;
    Ok((word >> (8 * (offset & 3))) as u8)
}

/// Points virtqueue `queue` of virtio device `index` at MSI-X table entry
/// `entry` (the device's `queue_msix_vector`). The entry itself is
/// programmed by the kernel (`rt::kernel::irq_bind`), never by us. Fails
/// when the device has no common configuration structure or refuses the
/// entry (it then reads back `NO_VECTOR`).
pub fn route_queue(index: u64, queue: u16, entry: u16) -> Result<(), alloc::string::String> {
    let mut at = config_byte(index, 0x34)? & !3;
    let mut seen = 0;
    while at != 0 && seen < 48 {
        seen += 1;
        let id = config_byte(index, at)?;
        let next = config_byte(index, at + 1)? & !3;
        if id == CAP_VENDOR && config_byte(index, at + 3)? == VIRTIO_PCI_CAP_COMMON_CFG {
            let bar = config_byte(index, at + 4)?;
            let offset = kernel::pci_config_read(index, at + 8)
                .map_err(|e| alloc::format!("virtio capability: {e}"))?;
            let (base, _, _) =
                kernel::pci_bar(index, bar.into()).map_err(|e| alloc::format!("BAR {bar}: {e}"))?;
            // SAFETY: the range is inside a memory BAR of our device (the
            // kernel checks it when mapping); `mmio_phys_to_virt` maps it
            // and returns the address of its first byte.
            let common =
                unsafe { TesseraHal::mmio_phys_to_virt(base + u64::from(offset), COMMON_CFG_LEN) }
                    .as_ptr();
            // SAFETY: both registers lie inside the mapped common
            // configuration structure and are naturally aligned 16-bit
            // device registers; nothing else touches them concurrently
            // (the driver is single-threaded).
            let read_back = unsafe {
                core::ptr::write_volatile(common.add(COMMON_QUEUE_SELECT).cast::<u16>(), queue);
                core::ptr::write_volatile(
                    common.add(COMMON_QUEUE_MSIX_VECTOR).cast::<u16>(),
                    entry,
                );
                core::ptr::read_volatile(common.add(COMMON_QUEUE_MSIX_VECTOR).cast::<u16>())
            };
            return if read_back == entry {
                Ok(())
            } else {
                Err(alloc::format!(
                    "the device refused MSI-X entry {entry} for queue {queue}"
                ))
            };
        }
        at = next;
    }
    Err(alloc::string::String::from(
        "no virtio common configuration capability",
    ))
}
