//! The serial console and the kernel logger.
//!
//! COM1 (port 0x3F8) is driven by the `uart_16550` crate behind one spin lock.
//! The kernel runs with interrupts disabled, so the lock can never be taken
//! twice on one CPU, except by a panic or exception report that interrupts a
//! print; those use [`force_unlock`] to make sure the report gets out.
//!
//! Every line has the same shape, which the QEMU test harness relies on:
//! `[    1.234567] INFO  cpu2 hello-1: text`.

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::Uart16550;
use uart_16550::backend::PioBackend;

static COM1: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

struct Writer<'a>(&'a mut Uart16550<PioBackend>);

impl Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.send_bytes_exact(s.as_bytes());
        Ok(())
    }
}

/// Initialises COM1. Safe to call once, on the bootstrap CPU, before any log.
pub fn init() {
    // SAFETY: 0x3F8..0x400 is COM1 on every PC-compatible machine QEMU
    // emulates, and only this module touches those ports.
    let uart = unsafe { Uart16550::new_port(0x3f8) };
    if let Ok(mut uart) = uart {
        // A failed init (no UART) leaves the console silent, never panics.
        if uart.init(Default::default()).is_ok() {
            *COM1.lock() = Some(uart);
        }
    }
    log::set_logger(&LOGGER).ok();
    log::set_max_level(log::LevelFilter::Info);
}

/// Sets the most detailed level printed (from the `log=` command-line option).
pub fn set_level(level: log::LevelFilter) {
    log::set_max_level(level);
}

/// Writes one complete log line with the standard prefix.
pub fn write_line(level: log::Level, source: fmt::Arguments<'_>, text: fmt::Arguments<'_>) {
    let ns = crate::time::now_ns();
    let cpu = crate::percpu::cpu_index_or_boot();
    let mut guard = COM1.lock();
    if let Some(uart) = guard.as_mut() {
        let _ = writeln!(
            Writer(uart),
            "[{:5}.{:06}] {:<5} cpu{} {}: {}",
            ns / 1_000_000_000,
            (ns / 1000) % 1_000_000,
            level,
            cpu,
            source,
            text
        );
    }
}

/// Writes raw text with no prefix (panic and fault reports).
pub fn write_raw(args: fmt::Arguments<'_>) {
    let mut guard = COM1.lock();
    if let Some(uart) = guard.as_mut() {
        let _ = Writer(uart).write_fmt(args);
    }
}

/// Releases the console lock no matter who holds it. Only for the panic path,
/// where the holder will never run again.
pub fn force_unlock() {
    // SAFETY: called only when the system is stopping; a torn line is
    // better than a report that never appears.
    unsafe { COM1.force_unlock() };
}

struct Logger;
static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let target = r.target();
            let short = match target {
                "tessera_kernel" => "kernel",
                t => t.strip_prefix("tessera_kernel::").unwrap_or(t),
            };
            write_line(r.level(), format_args!("{short}"), *r.args());
        }
    }
    fn flush(&self) {}
}
