//! `terminal`: a text console in a window on the display server (channel
//! `"display"`), with a line editor and a small shell whose commands ask
//! the kernel about the system through its endpoints, each call checked by
//! the policy like any other message. The same program is meant to run
//! under several security contexts: what a command shows depends on what
//! the policy lets that context do, and a denial is printed, never hidden.
//!
//! The window is 352x256 (a cell of the desktop's grid), in `FONT_6X10`:
//! [`ROWS`] rows of scrollback (the newest lines that fit; longer lines
//! wrap) and the input line below the last one. The line editor inserts
//! printable characters at the cursor (a block; an outline while the
//! window has no focus), erases with Backspace and Delete, moves with
//! Left, Right, Home and End, walks the command history with Up and Down
//! (key codes `0x10000` + evdev code, as the input service sends them) and
//! runs the line with Enter. Line, history and scrollback are bounded (see
//! the `console` crate, which holds this logic and its host tests).
//!
//! Commands (`help` lists them), with the kernel methods they need:
//! - `ps`: the running domains (`Task.list`, `Task.label`): id, label,
//!   priority, threads, memory charged;
//! - `cpu`: each CPU's load over [`CPU_SAMPLE_NS`] (`Stats.cpu`, sampled
//!   twice);
//! - `mem`: the kernel's memory (`Stats.memory`) and this domain's
//!   (`Memory.stats`);
//! - `audit [N]`: the last N records of the audit ring (`Audit.read`);
//! - `start NAME`, `stop ID|LABEL`: start an on-demand program instance,
//!   stop a domain (`Task.start`, `Task.stop`, and the policy's `execute`
//!   rules; a label is found through `Task.list` and `Task.label`);
//! - `bench [N]`: N round trips of a kernel call (`Memory.stats`) and of an
//!   IPC with the display server (`Window.event` on this window), timed
//!   with `Time.now`: mean and median in ns;
//! - `echo TEXT`, `clear`, `help`.
//!
//! A denied call prints `<command>: denied by the policy (<method>)`; any
//! other failure a line that says what failed. Nothing typed can make the
//! program panic: commands only print.
//!
//! Log lines (a test hook: scenarios judge the output through the serial
//! log), each written once the screen shows what it reports:
//! - `terminal: window <id> ready`, `terminal: focus gained`;
//! - `terminal: $ <line>` for each command line run;
//! - `terminal: > <text>` for each line of output;
//! - `terminal: <what>: <error>` if a window request fails; the program
//!   then exits with 1.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use console::command::{self, Command, Target};
use console::editor::{Edit, LineEditor};
use console::report;
use console::scrollback::{Scrollback, Style};
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use gui::{Event, Key, Rgb888, Window};
use rt::abi::Error;
use rt::abi::audit::{RING_SIZE, Record};
use rt::kernel;

rt::entry!(main);

const WIDTH: u32 = 352;
const HEIGHT: u32 = 256;
/// Text cell of `FONT_6X10`.
const CELL_W: i32 = 6;
const CELL_H: i32 = 10;
/// Where the first row starts, in window coordinates.
const LEFT: i32 = 4;
const TOP: i32 = 3;
/// Characters per row.
const COLUMNS: usize = ((WIDTH as i32 - 2 * LEFT) / CELL_W) as usize;
/// Rows of scrollback; the input line takes one more below them.
const ROWS: usize = ((HEIGHT as i32 - TOP) / CELL_H) as usize - 1;
const PROMPT: &str = "$ ";

const BACKGROUND: Rgb888 = Rgb888::new(0x10, 0x18, 0x20);
const TEXT: Rgb888 = Rgb888::new(0xd8, 0xe0, 0xe8);
const COMMAND: Rgb888 = Rgb888::new(0x80, 0xc8, 0xff);
const ERROR: Rgb888 = Rgb888::new(0xff, 0x90, 0x70);
const CURSOR: Rgb888 = Rgb888::new(0xf0, 0xd0, 0x40);

/// How long `cpu` watches the counters.
const CPU_SAMPLE_NS: u64 = 200_000_000;
/// The most CPUs `cpu` lists, and domains `ps` and `stop` look at.
const MAX_CPUS: u64 = 64;
const MAX_DOMAINS: usize = 128;
/// Events kept while `bench` polls the window (the server queues no more
/// than 64 per window, so a longer backlog is pointer moves, dropped).
const MAX_PENDING: usize = 256;
/// Events handled between two presents.
const BATCH: usize = 64;
const POLL_INTERVAL_NS: u64 = 10_000_000;

/// A command's output: lines and how to draw each.
type Output = Vec<(String, Style)>;

fn say(out: &mut Output, line: String) {
    out.push((line, Style::Output));
}

fn complain(out: &mut Output, line: String) {
    out.push((line, Style::Error));
}

/// The line for a failed kernel call `method` of `command`.
fn failure(command: &str, method: &str, e: Error) -> String {
    match e {
        Error::Denied => format!("{command}: denied by the policy ({method})"),
        e => format!("{command}: {method} failed: {e}"),
    }
}

struct Terminal {
    editor: LineEditor,
    scroll: Scrollback,
    focused: bool,
    /// Events `bench` fetched while it timed the window protocol, handled
    /// before any new one.
    pending: VecDeque<Event>,
}

impl Terminal {
    fn draw_all(&self, win: &mut Window) {
        // Drawing on a window's memory cannot fail (`Infallible`).
        let _ = win.clear(BACKGROUND);
        for (i, (row, style)) in self.scroll.rows().enumerate() {
            let color = match style {
                Style::Command => COMMAND,
                Style::Output => TEXT,
                Style::Error => ERROR,
            };
            let _ = gui::text(win, row, LEFT, row_y(i), color, &gui::FONT_6X10);
        }
        self.draw_prompt(win);
    }

    /// The input line, under the last row of scrollback, with its cursor.
    fn draw_prompt(&self, win: &mut Window) {
        let y = row_y(self.scroll.len());
        let row = Rectangle::new(Point::new(0, y), Size::new(WIDTH, CELL_H as u32));
        let _ = win.fill_solid(&row, BACKGROUND);
        let font = &gui::FONT_6X10;
        let _ = gui::text(win, PROMPT, LEFT, y, COMMAND, font);
        let x = LEFT + PROMPT.len() as i32 * CELL_W;
        let (shown, col) = self.editor.view(COLUMNS - PROMPT.len());
        let _ = gui::text(win, shown, x, y, TEXT, font);
        let cell = Rectangle::new(
            Point::new(x + col as i32 * CELL_W, y),
            Size::new(CELL_W as u32, CELL_H as u32),
        );
        if self.focused {
            let _ = win.fill_solid(&cell, CURSOR);
            if let Some(c) = shown.get(col..=col) {
                let _ = gui::text(win, c, cell.top_left.x, y, BACKGROUND, font);
            }
        } else {
            let _ = cell
                .into_styled(PrimitiveStyle::with_stroke(CURSOR, 1))
                .draw(win);
        }
    }

    /// Handles one event; `Err` only for a failed window request.
    fn handle(&mut self, win: &mut Window, event: Event) -> Result<(), gui::Error> {
        let key = match event {
            Event::FocusGained | Event::FocusLost => {
                self.focused = event == Event::FocusGained;
                self.draw_prompt(win);
                if self.focused {
                    win.present()?;
                    rt::println!("terminal: focus gained");
                }
                return Ok(());
            }
            Event::KeyDown(Key::Char(c)) => u32::from(c),
            Event::KeyDown(Key::Code(code)) => code,
            _ => return Ok(()),
        };
        let Some(edit) = Edit::from_key_code(key) else {
            return Ok(());
        };
        match self.editor.apply(edit) {
            (Some(line), _) => self.run(win, &line),
            (None, true) => {
                self.draw_prompt(win);
                Ok(())
            }
            (None, false) => Ok(()),
        }
    }

    /// Runs a command line: shows it, logs it, runs it, then shows and
    /// logs its output. Each log line follows the present that shows it.
    fn run(&mut self, win: &mut Window, line: &str) -> Result<(), gui::Error> {
        self.scroll.push(&format!("{PROMPT}{line}"), Style::Command);
        self.draw_all(win);
        win.present()?;
        let parsed = command::parse(line);
        if parsed == Ok(Command::Nothing) {
            return Ok(());
        }
        rt::println!("terminal: $ {}", line);
        let mut out = Output::new();
        match parsed {
            Ok(Command::Clear) => self.scroll.clear(),
            Ok(cmd) => self.execute(win, cmd, &mut out),
            Err(e) => complain(&mut out, format!("{e}")),
        }
        for (text, style) in &out {
            self.scroll.push(text, *style);
        }
        self.draw_all(win);
        win.present()?;
        for (text, _) in &out {
            rt::println!("terminal: > {}", text);
        }
        Ok(())
    }

    fn execute(&mut self, win: &mut Window, cmd: Command, out: &mut Output) {
        match cmd {
            Command::Nothing | Command::Clear => {}
            Command::Help => {
                say(out, String::from("commands:"));
                for (name, what) in command::HELP {
                    say(out, format!("  {name:<14}{what}"));
                }
                say(out, String::from(command::KEYS_HELP));
            }
            Command::Echo(text) => say(out, text),
            Command::Ps => ps(out),
            Command::Cpu => cpu(out),
            Command::Mem => mem(out),
            Command::Audit(n) => audit(n, out),
            Command::Start(name) => start(&name, out),
            Command::Stop(target) => stop(&target, out),
            Command::Bench(n) => self.bench(win, n, out),
        }
    }

    /// `bench N`: times N round trips of a clock read, of a kernel call
    /// and of a window-protocol request to the display server. Means come
    /// from one clock read around the whole loop; medians from a clock
    /// read around each round trip, less the median cost of a clock read.
    fn bench(&mut self, win: &Window, n: u64, out: &mut Output) {
        if let Err(e) = kernel::try_now_ns() {
            return complain(out, failure("bench", "Time.now", e));
        }
        let n = n as usize;
        let mut times: Vec<u64> = Vec::with_capacity(n);
        for _ in 0..WARM_UP {
            now();
        }
        for _ in 0..n {
            let t0 = now();
            times.push(now().saturating_sub(t0));
        }
        let clock = report::median(&mut times);
        say(out, format!("bench: {n} round trips of each"));
        say(out, format!("clock read (Time.now): median {clock} ns"));

        let kernel_call = |_: usize| kernel::mem_stats().map(|_| ());
        match time(n, clock, &mut times, kernel_call) {
            Ok((mean, median)) => say(
                out,
                format!("kernel (Memory.stats): mean {mean}, median {median} ns"),
            ),
            Err(e) => complain(out, failure("bench", "Memory.stats", e)),
        }

        let pending = &mut self.pending;
        let ipc = |_: usize| match win.poll_event() {
            Ok(Some(event)) => {
                if pending.len() == MAX_PENDING {
                    pending.pop_front();
                }
                pending.push_back(event);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(gui::Error::Event(e)) => Err(e),
            Err(_) => Err(Error::InvalidArgument),
        };
        match time(n, clock, &mut times, ipc) {
            Ok((mean, median)) => say(
                out,
                format!("IPC (Window.event): mean {mean}, median {median} ns"),
            ),
            Err(e) => complain(out, failure("bench", "Window.event", e)),
        }
    }
}

/// Untimed calls before each measurement: under QEMU's TCG the first runs
/// of a code path include translating it.
const WARM_UP: usize = 16;

/// Times `n` calls of `op` (stopping at its first error), after
/// [`WARM_UP`] untimed ones: the mean over one loop and the median of
/// single calls, each less the clock read's share (`clock`, the median
/// cost of one read). `times` is scratch space.
fn time(
    n: usize,
    clock: u64,
    times: &mut Vec<u64>,
    mut op: impl FnMut(usize) -> Result<(), Error>,
) -> Result<(u64, u64), Error> {
    for i in 0..WARM_UP {
        op(i)?;
    }
    let t0 = now();
    for i in 0..n {
        op(i)?;
    }
    let mean = now().saturating_sub(t0).saturating_sub(clock) / n as u64;
    times.clear();
    for i in 0..n {
        let t = now();
        op(i)?;
        times.push(now().saturating_sub(t).saturating_sub(clock));
    }
    Ok((mean, report::median(times)))
}

/// The monotonic clock, 0 if the policy denies it (`bench` and `cpu`
/// check first and report a denial), so no command can panic on it.
fn now() -> u64 {
    kernel::try_now_ns().unwrap_or(0)
}

/// The top of row `i`, in window coordinates.
fn row_y(i: usize) -> i32 {
    TOP + i as i32 * CELL_H
}

/// Up to [`MAX_DOMAINS`] running domains, in id order.
fn domains() -> Result<Vec<kernel::DomainInfo>, Error> {
    let mut list = Vec::new();
    kernel::for_each_domain(|d| {
        if list.len() < MAX_DOMAINS {
            list.push(*d);
        }
    })?;
    Ok(list)
}

fn ps(out: &mut Output) {
    let list = match domains() {
        Ok(list) => list,
        Err(e) => return complain(out, failure("ps", "Task.list", e)),
    };
    say(
        out,
        format!(
            "{:>4} {:<16} {:>3} {:>3} {:>9}",
            "ID", "LABEL", "PRI", "THR", "MEMORY"
        ),
    );
    let mut label_error = None;
    for d in &list {
        let label = match kernel::label(d.id) {
            Ok(label) => label,
            Err(Error::NotFound) => String::from("(ended)"),
            Err(e) => {
                label_error = Some(e);
                String::from("?")
            }
        };
        let memory = report::size(d.memory);
        say(
            out,
            format!(
                "{:>4} {:<16} {:>3} {:>3} {:>9}",
                d.id, label, d.priority, d.threads, memory
            ),
        );
    }
    say(out, format!("{} domain(s)", list.len()));
    if let Some(e) = label_error {
        complain(out, failure("ps", "Task.label", e));
    }
}

fn cpu(out: &mut Output) {
    let cpus = match kernel::cpu_stats(0) {
        Ok(s) => s.cpus.clamp(1, MAX_CPUS),
        Err(e) => return complain(out, failure("cpu", "Stats.cpu", e)),
    };
    if let Err(e) = kernel::try_now_ns() {
        return complain(out, failure("cpu", "Time.now", e));
    }
    let sample =
        || -> Result<Vec<kernel::CpuStats>, Error> { (0..cpus).map(kernel::cpu_stats).collect() };
    let t0 = now();
    let before = sample();
    kernel::sleep_ns(CPU_SAMPLE_NS);
    let t1 = now();
    let after = sample();
    let (before, after) = match (before, after) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) => return complain(out, failure("cpu", "Stats.cpu", e)),
    };
    let ns = t1.saturating_sub(t0);
    say(
        out,
        format!("cpu: {} CPU(s), load over {} ms", cpus, ns / 1_000_000),
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let busy = report::busy_pct(b.idle_ns, a.idle_ns, ns);
        let switches = report::per_s(a.switches.saturating_sub(b.switches), ns);
        say(
            out,
            format!("cpu{i} {busy:>3}% busy, {switches} switches/s"),
        );
    }
}

fn mem(out: &mut Output) {
    match kernel::kernel_memory() {
        Ok(k) => {
            say(
                out,
                format!(
                    "kernel: {} free of {}",
                    report::size(k.free),
                    report::size(k.total)
                ),
            );
            say(
                out,
                format!(
                    "kernel heap {}, stack pool {}",
                    report::size(k.heap_used),
                    report::size(k.stack_pool)
                ),
            );
        }
        Err(e) => complain(out, failure("mem", "Stats.memory", e)),
    }
    match kernel::mem_stats() {
        Ok(m) => say(
            out,
            format!(
                "this domain: {} mapped, {} tables, quota {}",
                report::size(m.mapped),
                report::size(m.tables),
                report::size(m.quota)
            ),
        ),
        Err(e) => complain(out, failure("mem", "Memory.stats", e)),
    }
}

fn audit(n: u64, out: &mut Output) {
    let mut last: VecDeque<Record> = VecDeque::new();
    let mut after = 0;
    // The ring holds RING_SIZE records; new ones may arrive as it is read,
    // so the walk is bounded too.
    for _ in 0..2 * RING_SIZE {
        match kernel::audit_read(after) {
            Ok(r) => {
                if last.len() as u64 == n {
                    last.pop_front();
                }
                after = r.seq;
                last.push_back(r);
            }
            Err(Error::NotFound) => break,
            Err(e) => return complain(out, failure("audit", "Audit.read", e)),
        }
    }
    if last.is_empty() {
        return say(out, String::from("audit: no records"));
    }
    say(
        out,
        format!("audit: last {} of {} record(s)", last.len(), after),
    );
    for r in &last {
        say(out, report::record(r));
    }
}

fn start(name: &str, out: &mut Output) {
    match kernel::start(name) {
        Ok((id, instance)) => {
            let label = kernel::label(id).unwrap_or_else(|_| format!("{name}-{instance}"));
            say(out, format!("started {label} (domain {id})"));
        }
        Err(Error::Denied) => complain(out, format!("start: {name}: denied by the policy")),
        Err(Error::NotFound) => complain(out, format!("start: no program '{name}'")),
        Err(Error::QuotaExceeded) => complain(out, format!("start: all instances of {name} run")),
        Err(Error::InvalidArgument) => complain(out, format!("start: bad name '{name}'")),
        Err(e) => complain(out, format!("start: {name}: {e}")),
    }
}

fn stop(target: &Target, out: &mut Output) {
    let (id, label) = match target {
        Target::Id(id) => (*id, kernel::label(*id).ok()),
        Target::Label(label) => match find(label) {
            Ok(Some(id)) => (id, Some(label.clone())),
            Ok(None) => return complain(out, format!("stop: no domain '{label}'")),
            Err((method, e)) => return complain(out, failure("stop", method, e)),
        },
    };
    let who = match &label {
        Some(label) => format!("{label} (domain {id})"),
        None => format!("domain {id}"),
    };
    match kernel::stop(id) {
        Ok(()) => say(out, format!("stopped {who}")),
        Err(Error::NotFound) => complain(out, format!("stop: no domain {id}")),
        Err(Error::Denied) => complain(out, format!("stop: {who}: denied by the policy")),
        Err(e) => complain(out, format!("stop: {who}: {e}")),
    }
}

/// The id of the running domain labelled `label`; the error names the
/// kernel method that failed.
fn find(label: &str) -> Result<Option<u64>, (&'static str, Error)> {
    for d in domains().map_err(|e| ("Task.list", e))? {
        match kernel::label(d.id) {
            Ok(l) if l == label => return Ok(Some(d.id)),
            Ok(_) | Err(Error::NotFound) => {}
            Err(e) => return Err(("Task.label", e)),
        }
    }
    Ok(None)
}

fn main() -> i32 {
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("terminal: {}", e);
            return 1;
        }
    };
    let mut term = Terminal {
        editor: LineEditor::new(),
        scroll: Scrollback::new(ROWS, COLUMNS),
        focused: false,
        pending: VecDeque::new(),
    };
    term.scroll
        .push("Tessera terminal: type 'help'", Style::Output);
    term.draw_all(&mut win);
    if let Err(e) = win.present() {
        rt::error!("terminal: {}", e);
        return 1;
    }
    rt::println!("terminal: window {} ready", win.id());
    match event_loop(&mut win, &mut term) {
        Ok(()) => 0,
        Err(e) => {
            rt::error!("terminal: {}", e);
            1
        }
    }
}

/// Handles events (those `bench` set aside first) and presents after each
/// batch; sleeps when none is waiting. Returns only on a failed request.
fn event_loop(win: &mut Window, term: &mut Terminal) -> Result<(), gui::Error> {
    loop {
        let mut handled = 0;
        while handled < BATCH {
            let event = match term.pending.pop_front() {
                Some(event) => event,
                None => match win.poll_event()? {
                    Some(event) => event,
                    None => break,
                },
            };
            handled += 1;
            term.handle(win, event)?;
        }
        win.present()?;
        if handled < BATCH {
            kernel::sleep_ns(POLL_INTERVAL_NS);
        }
    }
}
