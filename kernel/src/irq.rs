//! Device interrupts for user-space drivers: MSI-X messages turned into
//! notification bits of the driver's domain (`abi::irq`).
//!
//! `Irq.bind` gives an MSI-X table entry of an assigned device a vector
//! from [`FIRST_VECTOR`]..=[`LAST_VECTOR`] aimed at the caller's CPU. When
//! it fires, [`deliver`] masks the entry, sets the domain's bit and wakes
//! the thread waiting in `Irq.wait`; the driver's next `wait` naming the
//! bit unmasks the entry again (the acknowledgement). While an entry is
//! masked the device keeps further messages pending, so nothing is lost
//! and a driver that never acknowledges costs the kernel one interrupt.
//!
//! Only the kernel writes MSI-X tables (their pages are never mapped for
//! user space), so a driver cannot aim an interrupt at another vector or
//! CPU.

use crate::obj::thread::ThreadRef;
use crate::percpu;
use crate::time::now_ns;
use abi::Error;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// First vector for device interrupts (above the exceptions and the timer).
pub const FIRST_VECTOR: u8 = 0x40;
/// Last vector for device interrupts (below the IPI vectors).
pub const LAST_VECTOR: u8 = 0xdf;
const VECTORS: usize = (LAST_VECTOR - FIRST_VECTOR) as usize + 1;

/// What a vector is bound to.
struct Binding {
    /// Index of the device in `pci::devices()`.
    device: usize,
    /// Its MSI-X table entry.
    entry: u16,
    /// The owner's notifications and the bit to set.
    notes: Arc<Notifications>,
    bit: u8,
}

/// Vector `FIRST_VECTOR + i` -> binding.
static TABLE: Mutex<[Option<Binding>; VECTORS]> = Mutex::new([const { None }; VECTORS]);

/// A domain's 64 notification bits.
pub struct Notifications {
    /// Bit -> vector, for the bound bits.
    bound: Mutex<[Option<u8>; abi::irq::BITS as usize]>,
    /// Signalled and not yet returned by a `wait`.
    pending: AtomicU64,
    /// Delivered (so their entries are masked) and not yet acknowledged.
    delivered: AtomicU64,
    /// The thread blocked in `wait`, if any.
    waiter: Mutex<Option<ThreadRef>>,
}

impl Notifications {
    /// No bits bound.
    pub fn new() -> Notifications {
        Notifications {
            bound: Mutex::new([None; abi::irq::BITS as usize]),
            pending: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            waiter: Mutex::new(None),
        }
    }

    fn bound_mask(&self) -> u64 {
        let b = self.bound.lock();
        (0..b.len())
            .filter(|&i| b[i].is_some())
            .fold(0, |m, i| m | 1 << i)
    }
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications::new()
    }
}

/// Whether `vector` is a device-interrupt vector.
pub fn is_device_vector(vector: u64) -> bool {
    (u64::from(FIRST_VECTOR)..=u64::from(LAST_VECTOR)).contains(&vector)
}

/// `Irq.bind`: routes entry `entry` of the caller's device `device` (an
/// index into `pci::devices()` the caller owns) to bit `bit` of `notes`.
pub fn bind(notes: &Arc<Notifications>, device: usize, entry: u16, bit: u64) -> Result<(), Error> {
    let d = crate::pci::devices().get(device).ok_or(Error::NotFound)?;
    if bit >= abi::irq::BITS || entry >= d.msix_entries() {
        return Err(Error::InvalidArgument);
    }
    let mut table = TABLE.lock();
    if table
        .iter()
        .flatten()
        .any(|b| b.device == device && b.entry == entry)
    {
        return Err(Error::InvalidArgument);
    }
    let mut bound = notes.bound.lock();
    if bound[bit as usize].is_some() {
        return Err(Error::InvalidArgument);
    }
    let slot = table
        .iter()
        .position(Option::is_none)
        .ok_or(Error::NoMemory)?;
    let vector = FIRST_VECTOR + slot as u8;
    if !d.msix_program(entry, percpu::this().apic_id, vector) {
        return Err(Error::InvalidArgument);
    }
    table[slot] = Some(Binding {
        device,
        entry,
        notes: notes.clone(),
        bit: bit as u8,
    });
    bound[bit as usize] = Some(vector);
    // The entry starts masked, like one just delivered: the first `wait`
    // naming the bit unmasks it.
    notes.delivered.fetch_or(1 << bit, Ordering::AcqRel);
    Ok(())
}

/// The interrupt handler's part (interrupts are off): masks the entry,
/// sets the owner's bit and wakes its waiter.
pub fn deliver(vector: u8) {
    let (device, entry, notes, bit) = {
        let table = TABLE.lock();
        let Some(b) = table
            .get(usize::from(vector.wrapping_sub(FIRST_VECTOR)))
            .and_then(Option::as_ref)
        else {
            // Unbound since the device sent it: nothing to do.
            return;
        };
        (b.device, b.entry, b.notes.clone(), b.bit)
    };
    if let Some(d) = crate::pci::devices().get(device) {
        d.msix_mask(entry, true);
    }
    notes.delivered.fetch_or(1 << bit, Ordering::AcqRel);
    notes.pending.fetch_or(1 << bit, Ordering::AcqRel);
    if let Some(t) = notes.waiter.lock().as_ref() {
        crate::sched::wake(t);
    }
}

/// Unmasks the entries of the delivered bits among `bits`.
fn acknowledge(notes: &Notifications, bits: u64) {
    let ack = notes.delivered.fetch_and(!bits, Ordering::AcqRel) & bits;
    if ack == 0 {
        return;
    }
    let table = TABLE.lock();
    let vectors = *notes.bound.lock();
    for (bit, v) in vectors.iter().enumerate() {
        if ack & 1 << bit == 0 {
            continue;
        }
        let binding = v.and_then(|v| table[usize::from(v - FIRST_VECTOR)].as_ref());
        if let Some(b) = binding
            && let Some(d) = crate::pci::devices().get(b.device)
        {
            d.msix_mask(b.entry, false);
        }
    }
}

/// `Irq.wait`: acknowledges the delivered bits among `bits`, then waits
/// for one of `bits` until `timeout` nanoseconds have passed. Returns the
/// signalled bits (cleared), or 0 on timeout or when the thread is killed.
pub fn wait(notes: &Notifications, bits: u64, timeout: u64) -> Result<u64, Error> {
    if bits == 0 || bits & !notes.bound_mask() != 0 {
        return Err(Error::InvalidArgument);
    }
    let pc = percpu::this();
    let me = pc.current();
    {
        let mut w = notes.waiter.lock();
        if w.is_some() {
            return Err(Error::AddressInUse);
        }
        *w = Some(me.clone());
    }
    acknowledge(notes, bits);
    let deadline = (timeout != u64::MAX).then(|| now_ns().saturating_add(timeout));
    let got = loop {
        let got = notes.pending.fetch_and(!bits, Ordering::AcqRel) & bits;
        if got != 0 || deadline.is_some_and(|d| now_ns() >= d) || me.kill.load(Ordering::Acquire) {
            break got;
        }
        // A signal between the check above and the block below finds
        // `waiter` set and leaves a pending wake-up, which cancels the block.
        if let Some(d) = deadline {
            pc.sleepers.lock().insert(d, me.clone());
        }
        crate::sched::block_current();
        if deadline.is_some() {
            pc.sleepers.lock().remove(&me);
        }
    };
    notes.waiter.lock().take();
    Ok(got)
}

/// The domain that owns `notes` has ended: masks and frees every vector
/// bound to it. Runs before the devices are released.
pub fn release(notes: &Notifications) {
    // Lock order everywhere: `TABLE`, then `bound`.
    let mut table = TABLE.lock();
    let mut bound = notes.bound.lock();
    for v in bound.iter_mut() {
        let Some(vector) = v.take() else { continue };
        if let Some(b) = table[usize::from(vector - FIRST_VECTOR)].take()
            && let Some(d) = crate::pci::devices().get(b.device)
        {
            d.msix_mask(b.entry, true);
        }
    }
    notes.pending.store(0, Ordering::Release);
    notes.delivered.store(0, Ordering::Release);
}
