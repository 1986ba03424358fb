//! The `[test]` table of a solution file: the runs, the log checks and the
//! steps (`[[test.step]]` and `[[test.screen]]` entries) of a QEMU
//! scenario. The schema is documented with the rest of the file's in the
//! parent module; the steps' meaning is in `step.rs`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{DEFAULT_TIMEOUT_SECS, MAX_SMP, is_label};
use crate::judge::Checks;
use crate::screen::{PixelCheck, Rgb};
use crate::step::{Click, Step};

/// One QEMU configuration a scenario runs in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RunSpec {
    /// Number of CPUs (`-smp`).
    pub smp: u32,
    /// CPU model (`-cpu`).
    pub cpu: String,
    /// Kernel command-line options added to the scenario's `append` for
    /// this run only (for example `fastpath=off`).
    pub append: String,
    /// Log regexes this run must show, besides the scenario's `expect`.
    pub expect: Vec<String>,
    /// Run QEMU with `-icount` (single-threaded TCG, the guest's clock
    /// following the instructions it runs, not the host's clock): guest
    /// timings no longer depend on how busy the host is.
    pub icount: bool,
}

/// The `[test]` table of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestSpec {
    /// What the scenario shows.
    pub description: String,
    /// Wall-clock limit of one run, in seconds.
    pub timeout_secs: u64,
    /// Kernel command line.
    pub append: String,
    /// The QEMU configurations to run.
    pub runs: Vec<RunSpec>,
    /// The log checks.
    pub checks: Checks,
    /// The steps (`[[test.step]]`, or `[[test.screen]]` entries as
    /// steps), in order.
    pub steps: Vec<Step>,
}

/// The runs a scenario gets when it names none.
pub fn default_runs() -> Vec<RunSpec> {
    [(4, "max"), (1, "max"), (4, "qemu64")]
        .into_iter()
        .map(|(smp, cpu)| RunSpec {
            smp,
            cpu: cpu.to_string(),
            ..RunSpec::default()
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTest {
    #[serde(default)]
    description: String,
    timeout_secs: Option<i64>,
    #[serde(default)]
    append: String,
    runs: Option<Vec<RawRun>>,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    expect_smp: Vec<String>,
    #[serde(default)]
    forbid: Vec<String>,
    #[serde(default)]
    order: Vec<Vec<String>>,
    #[serde(default)]
    screen: Vec<RawScreen>,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScreen {
    after: String,
    name: String,
    #[serde(default)]
    pixels: Vec<RawPixel>,
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    after: Option<String>,
    screen: Option<String>,
    #[serde(default)]
    pixels: Vec<RawPixel>,
    #[serde(default)]
    windows: Vec<String>,
    click: Option<RawClick>,
    drag: Option<Vec<Vec<i64>>>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    forbid: Vec<String>,
    within_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClick {
    x: i64,
    y: i64,
    button: Option<String>,
    window: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPixel {
    x: i64,
    y: i64,
    rgb: String,
    tolerance: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    smp: Option<i64>,
    cpu: Option<String>,
    #[serde(default)]
    append: String,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    icount: bool,
}

pub(super) fn convert_test(t: &RawTest) -> Result<TestSpec, String> {
    let timeout_secs = t.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS as i64);
    if timeout_secs < 1 {
        return Err(format!(
            "[test] timeout_secs = {timeout_secs} must be at least 1"
        ));
    }
    let runs = match &t.runs {
        None => default_runs(),
        Some(runs) if runs.is_empty() => {
            return Err("[test] runs is empty (leave it out for the default runs)".into());
        }
        Some(runs) => runs.iter().map(convert_run).collect::<Result<_, _>>()?,
    };
    let mut order = Vec::new();
    for pair in &t.order {
        match pair.as_slice() {
            [a, b] => order.push((a.clone(), b.clone())),
            _ => {
                return Err(format!(
                    "[test] order entries are pairs [\"a\", \"b\"], found {pair:?}"
                ));
            }
        }
    }
    let checks = Checks {
        expect: t.expect.clone(),
        expect_smp: t.expect_smp.clone(),
        forbid: t.forbid.clone(),
        order,
    };
    checks.validate().map_err(|e| format!("[test] {e}"))?;
    if !t.screen.is_empty() && !t.step.is_empty() {
        return Err(
            "[test] has both [[test.screen]] and [[test.step]] entries; write the screens as \
             steps (`after`, `screen`, `pixels`, `keys`), so their order is plain"
                .into(),
        );
    }
    let mut steps: Vec<Step> = Vec::new();
    for (i, raw) in t.screen.iter().enumerate() {
        let step = convert_screen(raw).map_err(|e| {
            format!(
                "[[test.screen]] number {} (name {:?}): {e}",
                i + 1,
                raw.name
            )
        })?;
        steps.push(step);
    }
    for (i, raw) in t.step.iter().enumerate() {
        let step =
            convert_step(i + 1, raw).map_err(|e| format!("[[test.step]] number {}: {e}", i + 1))?;
        steps.push(step);
    }
    let mut names = BTreeSet::new();
    for name in steps.iter().filter_map(|s| s.screen.as_ref()) {
        if !names.insert(name) {
            let entry = if t.step.is_empty() {
                "[[test.screen]] name"
            } else {
                "[[test.step]] screen"
            };
            return Err(format!(
                "{entry} {name:?} is used twice (it names the PNG file)"
            ));
        }
    }
    Ok(TestSpec {
        description: t.description.clone(),
        timeout_secs: timeout_secs as u64,
        append: t.append.clone(),
        runs,
        checks,
        steps,
    })
}

/// Longest `[[test.screen]]` name (and `[[test.step]]` screen).
pub const SCREEN_NAME_LEN: usize = 32;

fn check_screen_name(name: &str) -> Result<(), String> {
    if !is_label(name) || name.len() > SCREEN_NAME_LEN {
        return Err(format!(
            "name must be 1 to {SCREEN_NAME_LEN} characters of [a-z0-9_-]"
        ));
    }
    Ok(())
}

fn convert_pixels(raw: &[RawPixel]) -> Result<Vec<PixelCheck>, String> {
    let coordinate = |axis: &str, v: i64| {
        u32::try_from(v).map_err(|_| format!("pixel {axis} = {v} is outside 0..={}", u32::MAX))
    };
    let mut pixels = Vec::new();
    for p in raw {
        let tolerance = p.tolerance.unwrap_or(0);
        pixels.push(PixelCheck {
            x: coordinate("x", p.x)?,
            y: coordinate("y", p.y)?,
            rgb: Rgb::parse(&p.rgb)?,
            tolerance: u8::try_from(tolerance)
                .map_err(|_| format!("pixel tolerance = {tolerance} is outside 0..=255"))?,
        });
    }
    Ok(pixels)
}

fn check_keys(keys: &[String]) -> Result<(), String> {
    for key in keys {
        crate::qmp::parse_chord(key)?;
    }
    Ok(())
}

fn check_regex(what: &str, pattern: &str) -> Result<(), String> {
    crate::judge::compile(pattern, 4)
        .map(|_| ())
        .map_err(|e| format!("bad regex in `{what}`: {e}"))
}

fn convert_screen(s: &RawScreen) -> Result<Step, String> {
    check_screen_name(&s.name)?;
    check_regex("after", &s.after)?;
    let pixels = convert_pixels(&s.pixels)?;
    check_keys(&s.keys)?;
    Ok(Step {
        label: format!("screen `{}`", s.name),
        after: Some(s.after.clone()),
        screen: Some(s.name.clone()),
        pixels,
        windows: Vec::new(),
        click: None,
        drag: Vec::new(),
        keys: s.keys.clone(),
        expect: Vec::new(),
        forbid: Vec::new(),
        within_ms: None,
    })
}

/// The largest click coordinate: QEMU's screens are far smaller.
pub const MAX_CLICK: i64 = 0xffff;

/// The longest `within_ms` bound: ten minutes, longer than any run.
pub const MAX_WITHIN_MS: i64 = 600_000;

/// A step's `within_ms`: 1..=[`MAX_WITHIN_MS`], and only on a step with
/// `expect` (the bound is on its lines).
fn convert_within(within_ms: Option<i64>, expect: &[String]) -> Result<Option<u64>, String> {
    let Some(ms) = within_ms else {
        return Ok(None);
    };
    if expect.is_empty() {
        return Err("`within_ms` bounds the `expect` lines, and the step has none".into());
    }
    match u64::try_from(ms) {
        Ok(v) if (1..=MAX_WITHIN_MS).contains(&ms) => Ok(Some(v)),
        _ => Err(format!(
            "within_ms = {ms} is outside 1..={MAX_WITHIN_MS} (milliseconds)"
        )),
    }
}

/// `[[test.step]]` number `number` (from 1).
fn convert_step(number: usize, s: &RawStep) -> Result<Step, String> {
    if number == 1 && s.after.is_none() {
        return Err(
            "the first step needs `after`: the line that shows the guest is ready for it".into(),
        );
    }
    if let Some(after) = &s.after {
        check_regex("after", after)?;
    }
    if let Some(name) = &s.screen {
        check_screen_name(name).map_err(|e| format!("screen: {e}"))?;
    }
    if s.screen.is_none() && !s.pixels.is_empty() {
        return Err("`pixels` needs `screen` (the name of the screenshot to check)".into());
    }
    if s.screen.is_none() && !s.windows.is_empty() {
        return Err("`windows` needs `screen` (the name of the screenshot to check)".into());
    }
    if let Some(bad) = s.windows.iter().find(|l| !super::is_label(l)) {
        return Err(format!(
            "windows: {bad:?} is not a domain label ([a-z0-9_-])"
        ));
    }
    let pixels = convert_pixels(&s.pixels)?;
    let click = s.click.as_ref().map(convert_click).transpose()?;
    let drag = s.drag.as_deref().map(convert_drag).transpose()?;
    check_keys(&s.keys)?;
    for p in &s.expect {
        check_regex("expect", p)?;
    }
    for p in &s.forbid {
        check_regex("forbid", p)?;
    }
    let within_ms = convert_within(s.within_ms, &s.expect)?;
    let idle = s.after.is_none()
        && s.screen.is_none()
        && click.is_none()
        && drag.is_none()
        && s.keys.is_empty()
        && s.expect.is_empty()
        && s.forbid.is_empty();
    if idle {
        return Err(
            "the step does nothing: give it `after`, `screen`, `click`, `drag`, `keys`, \
             `expect` or `forbid`"
                .into(),
        );
    }
    let label = match &s.screen {
        Some(name) => format!("step {number} (screen `{name}`)"),
        None => format!("step {number}"),
    };
    Ok(Step {
        label,
        after: s.after.clone(),
        screen: s.screen.clone(),
        pixels,
        windows: s.windows.clone(),
        click,
        drag: drag.unwrap_or_default(),
        keys: s.keys.clone(),
        expect: s.expect.clone(),
        forbid: s.forbid.clone(),
        within_ms,
    })
}

fn convert_click(c: &RawClick) -> Result<Click, String> {
    let coordinate = |axis: &str, v: i64| {
        u32::try_from(v)
            .ok()
            .filter(|&v| i64::from(v) <= MAX_CLICK)
            .ok_or_else(|| format!("click {axis} = {v} is outside 0..={MAX_CLICK}"))
    };
    let button = c.button.clone().unwrap_or_else(|| "left".into());
    if !crate::qmp::BUTTONS.contains(&button.as_str()) {
        return Err(format!(
            "click button {button:?} is not a QEMU pointer button (one of {})",
            crate::qmp::BUTTONS.join(", ")
        ));
    }
    if let Some(label) = c.window.as_deref().filter(|l| !super::is_label(l)) {
        return Err(format!(
            "click window {label:?} is not a domain label ([a-z0-9_-])"
        ));
    }
    Ok(Click {
        x: coordinate("x", c.x)?,
        y: coordinate("y", c.y)?,
        button,
        window: c.window.clone(),
    })
}

/// Most points of one drag: enough to draw any path, few enough to stay
/// well inside the guest's input queues (each point is one report, sent
/// [`DRAG_PACE`](crate::qmp::DRAG_PACE) apart).
pub const MAX_DRAG_POINTS: usize = 32;

fn convert_drag(points: &[Vec<i64>]) -> Result<Vec<(u32, u32)>, String> {
    if !(2..=MAX_DRAG_POINTS).contains(&points.len()) {
        return Err(format!(
            "drag has {} point(s); it needs 2 to {MAX_DRAG_POINTS} (where the button goes \
             down, then each point it moves to)",
            points.len()
        ));
    }
    let mut path = Vec::new();
    for (i, point) in points.iter().enumerate() {
        let &[x, y] = point.as_slice() else {
            return Err(format!(
                "drag point {} is {point:?}; a point is [x, y]",
                i + 1
            ));
        };
        let coordinate = |axis: &str, v: i64| {
            u32::try_from(v)
                .ok()
                .filter(|&v| i64::from(v) <= MAX_CLICK)
                .ok_or_else(|| {
                    format!(
                        "drag point {} [{x}, {y}]: {axis} = {v} is outside 0..={MAX_CLICK}",
                        i + 1
                    )
                })
        };
        path.push((coordinate("x", x)?, coordinate("y", y)?));
    }
    Ok(path)
}

fn convert_run(r: &RawRun) -> Result<RunSpec, String> {
    let smp = r.smp.unwrap_or(4);
    if !(1..=MAX_SMP as i64).contains(&smp) {
        return Err(format!("[test] run smp = {smp} is outside 1..={MAX_SMP}"));
    }
    let cpu = r.cpu.clone().unwrap_or_else(|| "max".into());
    let cpu_ok = !cpu.is_empty()
        && cpu
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.,=+".contains(&b));
    if !cpu_ok {
        return Err(format!("[test] run cpu = {cpu:?} is not a QEMU CPU model"));
    }
    let checks = Checks {
        expect: r.expect.clone(),
        ..Checks::default()
    };
    checks.validate().map_err(|e| format!("[test] run: {e}"))?;
    Ok(RunSpec {
        smp: smp as u32,
        cpu,
        append: r.append.trim().to_string(),
        expect: r.expect.clone(),
        icount: r.icount,
    })
}
