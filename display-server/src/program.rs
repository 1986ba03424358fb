//! `display-server`: the user-space virtio-gpu driver and compositor.
//!
//! It drives the virtio-gpu device the solution assigns to it
//! (`devices = ["1af4:1050"]`) through virtio-drivers over the PCI
//! transport, with the `Hal` of `apps/virtio-hal`, built on the kernel's
//! PCI, MMIO and DMA endpoints. It sets the resolution (the program argument,
//! `width << 16 | height`; 0 means 1280x800), draws the desktop and
//! presents it.
//!
//! Then it serves the window protocol (`policies/interfaces/window.idl`)
//! on its inbox: clients open windows backed by memory they share
//! read-only, and present damaged rectangles; the desktop (`desktop`)
//! composes them under server-drawn frames and labels, and the server
//! flushes the screen when something changed. It logs
//! `display-server: frame <n> presented, <k> window(s) shown` for the
//! first frame and whenever the number of windows shown changes.
//!
//! Memory a request shares with the server belongs to the server only once
//! a window holds it: for every request that is answered with an error the
//! serve loop unmaps the memory that came with it, whichever method it
//! named (`rt::sys::serve`).

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}

use display::desktop::{self, Desktop, Pixels, Refusal};
use display::frame::Frame;
use embedded_graphics::prelude::*;
use ifaces::{Caller, InputServer, WindowServer, dispatch_input, dispatch_window, input, window};
use rt::abi::{Error, handles};
use rt::kernel;
use virtio_drivers::device::gpu::VirtIOGpu;
use virtio_drivers::transport::pci::PciTransport;
use virtio_hal::TesseraHal;

rt::entry!(main);

/// Default resolution.
const DEFAULT_SIZE: (u32, u32) = (1280, 800);
/// The resolution the program argument asks for.
fn requested_size() -> (u32, u32) {
    let arg = rt::start::arg();
    let (w, h) = ((arg >> 16) as u32 & 0xffff, arg as u32 & 0xffff);
    if arg == 0 {
        DEFAULT_SIZE
    } else if (320..=4096).contains(&w) && (200..=4096).contains(&h) {
        (w, h)
    } else {
        rt::println!(
            "display-server: argument {:#x} is not a resolution (width << 16 | height, 320x200 to 4096x4096); using {}x{}",
            arg,
            DEFAULT_SIZE.0,
            DEFAULT_SIZE.1
        );
        DEFAULT_SIZE
    }
}

/// The window server: the desktop, the screen and the GPU to flush it.
struct Server<'a> {
    desktop: Desktop,
    frame: Frame<'a>,
    gpu: VirtIOGpu<TesseraHal, PciTransport>,
    frames: u64,
    /// The window count the last logged frame showed.
    logged_shown: Option<usize>,
    /// The hardware cursor is set up.
    cursor: bool,
    /// When [`Server::sweep`] last looked for ended clients.
    swept_ns: u64,
    /// The policy refused `Task.list`: the panel lists no domains, and
    /// the server stops asking.
    list_denied: bool,
}

/// How often the server looks for clients that have ended.
const SWEEP_NS: u64 = 250_000_000;

impl Server<'_> {
    /// Closes the windows of clients that have ended (the kernel no longer
    /// knows their domain id), at most every [`SWEEP_NS`], and unmaps
    /// their memory. Called after each request: live clients and input
    /// keep requests coming, so a dead client's windows go soon after.
    fn sweep(&mut self) {
        let now = kernel::now_ns();
        if now.saturating_sub(self.swept_ns) < SWEEP_NS {
            return;
        }
        self.swept_ns = now;
        for owner in self.desktop.owners() {
            if !matches!(kernel::label(owner), Err(Error::NotFound)) {
                continue;
            }
            let gone = self.desktop.close_owner(owner);
            rt::println!(
                "display-server: client {} has ended; {} window(s) closed",
                owner,
                gone.len()
            );
            for w in gone {
                rt::println!("display-server: window {} closed", w.id);
                unmap(w.into_pixels());
            }
        }
        self.refresh_panel();
        self.update();
    }

    /// Asks the kernel which domains run (`Task.list`, `Task.label`) and
    /// gives the panel their labels; logs the list when it changes.
    fn refresh_panel(&mut self) {
        if self.list_denied {
            return;
        }
        let mut labels = alloc::vec::Vec::new();
        let listed = kernel::for_each_domain(|d| {
            // A domain that ended between the two calls is left out.
            if let Ok(label) = kernel::label(d.id) {
                labels.push(label);
            }
        });
        if let Err(e) = listed {
            rt::println!("display-server: panel: listing domains: {}", e);
            self.list_denied = e == Error::Denied;
            return;
        }
        if self.desktop.set_domains(labels) {
            rt::println!(
                "display-server: panel: {} domain(s): {}",
                self.desktop.domains().len(),
                self.desktop.domains().join(" ")
            );
        }
    }

    /// Composes what changed and flushes the screen; nothing changed,
    /// nothing happens.
    fn update(&mut self) {
        if self.desktop.compose(&mut self.frame).is_none() {
            return;
        }
        match self.gpu.flush() {
            Ok(()) => {
                self.frames += 1;
                // Logged when the number of windows on screen changes (the
                // first frame too), not for every frame: a client that
                // animates would otherwise fill the log.
                let shown = self.desktop.shown();
                if self.logged_shown != Some(shown) {
                    self.logged_shown = Some(shown);
                    rt::println!(
                        "display-server: frame {} presented, {} window(s) shown",
                        self.frames,
                        shown
                    );
                }
            }
            Err(e) => rt::println!("display-server: flush: {:?}", e),
        }
    }
}

impl InputServer for Server<'_> {
    fn key(&mut self, _: &Caller, code: u32, down: bool, modifiers: u32) -> Result<(), Error> {
        // The secure chord moves the focus and redraws frames; other keys
        // change nothing on the screen, and `update` then does nothing.
        self.desktop.key(code, down, modifiers);
        self.update();
        Ok(())
    }

    fn pointer(&mut self, _: &Caller, x: u32, y: u32) -> Result<(), Error> {
        let size = self.desktop.size;
        let sx = desktop::abs_to_pixel(x, size.width);
        let sy = desktop::abs_to_pixel(y, size.height);
        self.desktop.pointer_to(Point::new(sx, sy));
        if self.cursor {
            let _ = self.gpu.move_cursor(sx as u32, sy as u32);
        }
        Ok(())
    }

    fn button(&mut self, _: &Caller, button: u32, down: bool) -> Result<(), Error> {
        self.desktop.button(button, down);
        self.update();
        Ok(())
    }
}

/// The pointer's image: a 64x64 BGRA arrow (white with a black edge), hot
/// spot at its tip.
fn cursor_image() -> alloc::vec::Vec<u8> {
    let mut img = alloc::vec![0u8; 64 * 64 * 4];
    for y in 0..20usize {
        for x in 0..=y.min(13) {
            let edge = x == 0 || x == y.min(13) || y == 19;
            let v = if edge { 0x00 } else { 0xff };
            let i = (y * 64 + x) * 4;
            img[i..i + 4].copy_from_slice(&[v, v, v, 0xff]);
        }
    }
    img
}

fn unpack(v: u32) -> (i32, i32) {
    ((v >> 16) as i32, (v & 0xffff) as i32)
}

/// The protocol's error for a refusal.
fn refused(r: Refusal) -> Error {
    match r {
        Refusal::NotFound => Error::NotFound,
        Refusal::Size => Error::InvalidArgument,
        Refusal::Quota => Error::QuotaExceeded,
    }
}

/// The desktop's view of memory a client shared.
fn pixels(shared: &rt::sys::Shared) -> Pixels {
    // SAFETY: the kernel mapped `len` bytes at `addr` (page-aligned, so
    // aligned for u32) readable in this domain, and only this server
    // unmaps them: after the desktop hands the `Pixels` back (`close`,
    // `resize`), or, for a refused request, in `rt::sys::serve`. The
    // client may keep writing; the desktop reads with volatile loads.
    unsafe { Pixels::new(shared.addr as *const u32, shared.len as usize) }
}

/// Unmaps pixel memory the desktop handed back.
fn unmap(p: Pixels) {
    // SAFETY: the desktop handed `p` back, so no window reads it any more,
    // and nothing else in this server refers to the mapping.
    let _ = unsafe { kernel::unmap(p.as_ptr() as u64, p.len() as u64) };
}

impl WindowServer for Server<'_> {
    fn create(
        &mut self,
        caller: &Caller,
        width: u32,
        height: u32,
        shared: rt::sys::Shared,
    ) -> Result<u32, Error> {
        let label = kernel::label(caller.badge)?;
        let id = self
            .desktop
            .open(caller.badge, label.clone(), width, height, pixels(&shared))
            .map_err(|(r, _)| refused(r))?;
        // Where it went, so a test can find the window on the screen.
        let at = self
            .desktop
            .windows
            .iter()
            .find(|w| w.id == id)
            .map_or(Point::zero(), |w| w.content.top_left);
        rt::println!(
            "display-server: window {} ({}x{}) for {} at {},{}",
            id,
            width,
            height,
            label,
            at.x,
            at.y
        );
        self.update();
        Ok(id)
    }

    fn present(
        &mut self,
        caller: &Caller,
        window: u32,
        origin: u32,
        size: u32,
    ) -> Result<(), Error> {
        let (x, y) = unpack(origin);
        let (w, h) = unpack(size);
        self.desktop
            .present(caller.badge, window, x, y, w as u32, h as u32)
            .map_err(refused)?;
        self.update();
        Ok(())
    }

    fn event(&mut self, caller: &Caller, window: u32) -> Result<window::EventReply, Error> {
        let ev = self
            .desktop
            .next_event(caller.badge, window)
            .ok_or(Error::NotFound)?;
        // Focus changes redraw frames; show them with the next poll.
        self.update();
        let (kind, code, x, y) = ev.unwrap_or((0, 0, 0, 0));
        Ok(window::EventReply { kind, code, x, y })
    }

    fn close(&mut self, caller: &Caller, window: u32) -> Result<(), Error> {
        let w = self
            .desktop
            .close(caller.badge, window)
            .ok_or(Error::NotFound)?;
        rt::println!("display-server: window {} closed", w.id);
        unmap(w.into_pixels());
        self.update();
        Ok(())
    }

    fn resize(
        &mut self,
        caller: &Caller,
        window: u32,
        width: u32,
        height: u32,
        shared: rt::sys::Shared,
    ) -> Result<(), Error> {
        let old = self
            .desktop
            .resize(caller.badge, window, width, height, pixels(&shared))
            .map_err(|(r, _)| refused(r))?;
        unmap(old);
        rt::println!(
            "display-server: window {} resized to {}x{}",
            window,
            width,
            height
        );
        self.update();
        Ok(())
    }
}

fn main() -> i32 {
    let info = match kernel::pci_info(0) {
        Ok(i) => i,
        Err(e) => {
            rt::println!("display-server: no device assigned: {}", e);
            return 1;
        }
    };
    if (info.vendor, info.device) != (0x1af4, 0x1050) {
        rt::println!(
            "display-server: device 0 is {:04x}:{:04x}, not virtio-gpu",
            info.vendor,
            info.device
        );
        return 1;
    }
    let transport = match virtio_hal::transport(0) {
        Ok(t) => t,
        Err(e) => {
            rt::println!("display-server: virtio PCI transport: {}", e);
            return 1;
        }
    };
    let mut gpu = match VirtIOGpu::<TesseraHal, _>::new(transport) {
        Ok(g) => g,
        Err(e) => {
            rt::println!("display-server: virtio-gpu: {:?}", e);
            return 1;
        }
    };
    let native = gpu.resolution().unwrap_or(DEFAULT_SIZE);
    let (width, height) = requested_size();
    let (fb, fb_len) = match gpu.change_resolution(width, height) {
        Ok(b) => (b.as_mut_ptr(), b.len()),
        Err(e) => {
            rt::println!("display-server: {}x{} frame buffer: {:?}", width, height, e);
            return 1;
        }
    };
    // SAFETY: the frame buffer is a DMA block the driver keeps until the
    // resolution changes again or the driver is dropped; neither happens
    // while `buf` is in use (the driver lives until the program ends). The
    // driver itself never touches the bytes (it only tells the device to
    // read them), so this is the only reference to them.
    let buf = unsafe { core::slice::from_raw_parts_mut(fb, fb_len) };
    rt::println!(
        "display-server: virtio-gpu at {:02x}:{:02x}.{}, display {}x{}, frame buffer {}x{} ({} KiB)",
        info.location >> 8,
        (info.location >> 3) & 0x1f,
        info.location & 7,
        native.0,
        native.1,
        width,
        height,
        buf.len() / 1024
    );
    let Some(frame) = Frame::new(buf, width, height) else {
        rt::println!("display-server: frame buffer too small");
        return 1;
    };
    let cursor = match gpu.setup_cursor(&cursor_image(), width / 2, height / 2, 0, 0) {
        Ok(()) => true,
        Err(e) => {
            rt::println!("display-server: no hardware cursor: {:?}", e);
            false
        }
    };
    let mut server = Server {
        desktop: Desktop::new(width, height),
        frame,
        gpu,
        frames: 0,
        logged_shown: None,
        cursor,
        swept_ns: 0,
        list_denied: false,
    };
    server.refresh_panel();
    server.update();
    let served = rt::sys::serve(handles::INBOX, |request| {
        let reply = if request.msg.tag.interface() == input::INTERFACE {
            dispatch_input(&mut server, request)
        } else {
            dispatch_window(&mut server, request)
        };
        // `serve` unmaps the shared memory of refused requests.
        server.sweep();
        (reply, false)
    });
    rt::println!("display-server: serving ended: {:?}", served);
    1
}
