//! `input-service`: the user-space driver of virtio-keyboard and
//! virtio-tablet.
//!
//! It drives every virtio-input device the solution assigns to it
//! (`devices = ["1af4:1052"]`) through virtio-drivers, translates evdev
//! events (key codes to characters with a US layout and modifiers, the
//! tablet's absolute position, buttons) and sends them to the display
//! server over its `display` channel (`policies/interfaces/input.idl`).
//! The policy lets it send to no one else.
//!
//! Each device's event queue interrupts through MSI-X: the kernel binds
//! table entry 0 to a notification bit (`Irq.bind`), the driver points the
//! queue at that entry, and the service sleeps in `Irq.wait` until a device
//! has events. If a device cannot interrupt, the service polls every few
//! milliseconds instead, and says so.
//!
//! Fault injection for tests: a non-zero program argument N makes the
//! service crash (a write into the never-mapped first page, a page fault
//! the kernel ends it for) at the N-th key press it forwards, so a scenario can check that the
//! kernel restarts it (`restart = ...` in the solution) and input works
//! again.

use alloc::vec::Vec;
use ifaces::InputClient;
use input::keymap::Keymap;
use rt::kernel;
use virtio_drivers::device::input::VirtIOInput;
use virtio_drivers::transport::pci::PciTransport;
use virtio_hal::TesseraHal;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}

rt::entry!(main);

const EV_SYN: u16 = 0;
const EV_KEY: u16 = 1;
const EV_ABS: u16 = 3;
const ABS_X: u16 = 0;
const ABS_Y: u16 = 1;
const BTN_LEFT: u16 = 0x110;
const BTN_RIGHT: u16 = 0x111;
const BTN_MIDDLE: u16 = 0x112;
/// Poll interval when a device cannot interrupt.
const POLL_NS: u64 = 5_000_000;
/// The MSI-X table entry each device's event queue uses.
const EVENT_ENTRY: u16 = 0;

/// Routes the event queue of device `index` to notification bit `bit`.
fn interrupts(index: u64, bit: u32) -> Result<(), alloc::string::String> {
    kernel::irq_bind(index, EVENT_ENTRY, bit).map_err(|e| alloc::format!("Irq.bind: {e}"))?;
    virtio_hal::route_queue(index, 0, EVENT_ENTRY)
}

/// The injected fault: a write into the first page, which the kernel never
/// maps for user space.
fn crash() -> ! {
    rt::println!("input-service: crashing on purpose (fault injection)");
    let target = core::ptr::without_provenance_mut::<u64>(8);
    // SAFETY: the write faults on purpose (page 0 is never mapped), and the
    // kernel ends the domain at the fault, so no memory of ours changes.
    unsafe { core::ptr::write_volatile(target, 0) };
    unreachable!("the write into page 0 faults")
}

/// Pointer state between `EV_SYN`s.
#[derive(Default)]
struct Pointer {
    x: u32,
    y: u32,
    moved: bool,
}

fn main() -> i32 {
    let mut devices: Vec<VirtIOInput<TesseraHal, PciTransport>> = Vec::new();
    let mut bits = 0u64;
    let mut polling = false;
    for index in 0.. {
        let Ok(info) = kernel::pci_info(index) else {
            break;
        };
        let device = virtio_hal::transport(index)
            .map_err(|e| alloc::string::ToString::to_string(&e))
            .and_then(|t| VirtIOInput::new(t).map_err(|e| alloc::format!("{e:?}")));
        match device {
            Ok(mut d) => {
                let name = d.name().unwrap_or_default();
                let name = name.trim_end_matches(|c: char| c == '\0' || c.is_control());
                rt::println!(
                    "input-service: {:02x}:{:02x}.{} {}",
                    info.location >> 8,
                    (info.location >> 3) & 0x1f,
                    info.location & 7,
                    name
                );
                let bit = devices.len() as u32;
                match interrupts(index, bit) {
                    Ok(()) => bits |= 1 << bit,
                    Err(e) => {
                        rt::println!(
                            "input-service: device {}: no interrupts ({}), polling",
                            index,
                            e
                        );
                        polling = true;
                    }
                }
                devices.push(d);
            }
            Err(e) => rt::println!("input-service: device {}: {}", index, e),
        }
    }
    if devices.is_empty() {
        rt::println!("input-service: no input device");
        return 1;
    }
    let display = match kernel::channel("display") {
        Ok(h) => InputClient { handle: h },
        Err(e) => {
            rt::println!("input-service: no channel to the display server: {}", e);
            return 1;
        }
    };
    rt::println!(
        "input-service: {} device(s) ready, {}",
        devices.len(),
        if polling {
            "polling"
        } else {
            "interrupt-driven"
        }
    );
    let crash_at = rt::start::arg();
    let mut presses = 0u64;
    let mut keys = Keymap::default();
    let mut pointer = Pointer::default();
    loop {
        for d in devices.iter_mut() {
            while let Some(ev) = d.pop_pending_event() {
                let value = ev.value as i32;
                let sent = match (ev.event_type, ev.code) {
                    (EV_KEY, BTN_LEFT | BTN_RIGHT | BTN_MIDDLE) => {
                        display.button(u32::from(ev.code - BTN_LEFT), value != 0)
                    }
                    (EV_KEY, code) => {
                        let k = keys.key(code, value);
                        if k.down {
                            presses += 1;
                            if presses == crash_at {
                                crash();
                            }
                        }
                        display.key(k.code, k.down, k.modifiers)
                    }
                    (EV_ABS, ABS_X) => {
                        pointer.x = ev.value.min(32767);
                        pointer.moved = true;
                        Ok(())
                    }
                    (EV_ABS, ABS_Y) => {
                        pointer.y = ev.value.min(32767);
                        pointer.moved = true;
                        Ok(())
                    }
                    (EV_SYN, _) if pointer.moved => {
                        pointer.moved = false;
                        display.pointer(pointer.x, pointer.y)
                    }
                    _ => Ok(()),
                };
                if let Err(e) = sent {
                    rt::println!("input-service: display server: {}", e);
                }
            }
        }
        if polling {
            kernel::sleep_ns(POLL_NS);
        } else if let Err(e) = kernel::irq_wait(bits, u64::MAX) {
            rt::println!("input-service: Irq.wait: {}; polling from now on", e);
            polling = true;
        }
    }
}
