//! `abi::pci`, `abi::mmio`, `abi::dma` and `abi::irq`: what a driver domain may do with
//! the PCI devices the solution assigned to it (see `crate::pci`).
//!
//! Each request is checked twice: by the policy like every kernel call,
//! and here against the domain's own assignment. A domain without an
//! assigned device is refused everything (`NoRights`), and the refusal is
//! audited like a policy denial.

use crate::obj::domain::Domain;
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, PAGE_SIZE, dma, irq, mmio, pci};
use kcore::pci::Bar;

/// The caller's assigned device `index`, or the refusal.
fn device(
    caller: &Domain,
    iface: u16,
    method: u16,
    index: u64,
) -> Result<&'static crate::pci::Device, Error> {
    has_devices(caller, iface, method)?;
    caller.device(index).ok_or(Error::NotFound)
}

fn has_devices(caller: &Domain, iface: u16, method: u16) -> Result<(), Error> {
    if caller.assigned().is_empty() {
        crate::security::refuse(
            caller.context,
            iface,
            method,
            "no device is assigned to the domain",
        );
        return Err(Error::NoRights);
    }
    Ok(())
}

fn bar_words(bar: Option<Bar>) -> Result<[u64; MSG_WORDS], Error> {
    match bar.ok_or(Error::NotFound)? {
        Bar::Memory {
            base,
            size,
            prefetchable,
            is64,
        } => {
            let mut flags = 0;
            if is64 {
                flags |= pci::BAR_64;
            }
            if prefetchable {
                flags |= pci::BAR_PREFETCHABLE;
            }
            Ok([base, size, flags, 0])
        }
        Bar::Io { port, size } => Ok([u64::from(port), u64::from(size), pci::BAR_IO, 0]),
    }
}

fn words(w: [u64; MSG_WORDS]) -> Reply {
    Reply {
        tag: 0,
        badge: None,
        words: w,
    }
}

/// `abi::pci`.
pub fn call_pci(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    let d = device(caller, abi::iface::PCI, method, w[0])?;
    match method {
        pci::INFO => {
            let h = d.header;
            let bars = d
                .bars
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_some())
                .fold(0u64, |m, (i, _)| m | 1 << i);
            Ok(words([
                d.location(),
                u64::from(h.vendor) | u64::from(h.device) << 16,
                u64::from(h.class) << 16 | u64::from(h.subclass) << 8 | u64::from(h.prog_if),
                bars,
            ]))
        }
        pci::BAR => {
            let bar = usize::try_from(w[1])
                .ok()
                .and_then(|i| d.bars.get(i).copied().flatten());
            bar_words(bar).map(words)
        }
        pci::CONFIG_READ => {
            let offset = u16::try_from(w[1]).map_err(|_| Error::InvalidArgument)?;
            d.config_read(offset).map(|v| Reply::word(u64::from(v)))
        }
        pci::CONFIG_WRITE => {
            let offset = u16::try_from(w[1]).map_err(|_| Error::InvalidArgument)?;
            let value = u32::try_from(w[2]).map_err(|_| Error::InvalidArgument)?;
            d.config_write(offset, value).map(|()| Reply::empty())
        }
        _ => Err(Error::BadMethod),
    }
}

/// `abi::mmio`.
pub fn call_mmio(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    let d = device(caller, abi::iface::MMIO, method, w[0])?;
    match method {
        mmio::MAP => {
            let [_, bar, offset, len] = w;
            let bar = usize::try_from(bar)
                .ok()
                .and_then(|i| d.bars.get(i).copied().flatten());
            let Some(Bar::Memory { base, size, .. }) = bar else {
                return Err(Error::NotFound);
            };
            if len == 0 || !offset.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
                return Err(Error::Misaligned);
            }
            // BARs smaller than a page are mapped whole (the rest of the
            // page decodes to nothing) only if they start a page.
            let span = size.max(PAGE_SIZE);
            if !base.is_multiple_of(PAGE_SIZE) || offset.checked_add(len).is_none_or(|e| e > span) {
                return Err(Error::InvalidArgument);
            }
            if d.reserved(w[1] as usize, offset, len) {
                return Err(Error::InvalidArgument);
            }
            let result = caller.space.lock().map_device(base + offset, len);
            result.map(Reply::word).map_err(|(e, mapped)| {
                if let Some((start, pages)) = mapped {
                    crate::tlb::shootdown(caller, start, pages);
                }
                e
            })
        }
        _ => Err(Error::BadMethod),
    }
}

/// `abi::dma`.
pub fn call_dma(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    has_devices(caller, abi::iface::DMA, method)?;
    match method {
        dma::ALLOC => {
            let pages = w[0];
            caller.space.lock().dma_fits(pages)?;
            let pa = crate::mm::alloc_contiguous(pages as usize).ok_or(Error::NoMemory)?;
            let result = caller.space.lock().map_dma(pa, pages);
            match result {
                Ok(va) => Ok(words([va, pa, 0, 0])),
                Err((e, mapped)) => {
                    if let Some((start, n)) = mapped {
                        crate::tlb::shootdown(caller, start, n);
                    }
                    crate::mm::free_contiguous(pa, pages as usize);
                    Err(e)
                }
            }
        }
        dma::FREE => {
            let (pa, pages) = caller.space.lock().unmap_dma(w[0])?;
            // As for `mem::UNMAP`: other CPUs may cache the translations.
            crate::tlb::shootdown(caller, w[0], pages);
            crate::mm::free_contiguous(pa, pages as usize);
            Ok(Reply::empty())
        }
        _ => Err(Error::BadMethod),
    }
}

/// `abi::irq`.
pub fn call_irq(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    has_devices(caller, abi::iface::IRQ, method)?;
    match method {
        irq::BIND => {
            let index = usize::try_from(w[0]).map_err(|_| Error::NotFound)?;
            let device = *caller.assigned().get(index).ok_or(Error::NotFound)?;
            let entry = u16::try_from(w[1]).map_err(|_| Error::InvalidArgument)?;
            crate::irq::bind(&caller.irqs, device, entry, w[2]).map(|()| Reply::empty())
        }
        irq::WAIT => crate::irq::wait(&caller.irqs, w[0], w[1]).map(Reply::word),
        _ => Err(Error::BadMethod),
    }
}
