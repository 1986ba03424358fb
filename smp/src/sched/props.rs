//! Property tests for [`CoreSched`]: several cores driven by random wake-ups,
//! schedules, timer checks, kills and migrations, checked against a model
//! that knows only which core each runnable thread lives on.
//!
//! Checked after every step: no thread is lost or duplicated (each runnable
//! thread is queued or current on exactly one core, exactly once), strict
//! priority, `should_preempt` agreeing with `schedule`, and, in separate
//! properties, round-robin fairness within the top priority.

use super::*;
use crate::cpuset::{pick_cpu, resolve_affinity};
use alloc::vec::Vec;
use proptest::prelude::*;

const CORES: usize = 3;
const THREADS: usize = 10;
const SLICE: u64 = 100;

#[derive(Clone, Debug)]
enum Op {
    /// Wake thread `t` on the least-loaded core its affinity allows; if
    /// `react`, the chosen core reschedules when told to preempt.
    Wake { t: usize, mask: u64, react: bool },
    /// `core` reschedules `dt` ns later; its current thread blocks unless
    /// `runnable`.
    Schedule {
        core: usize,
        dt: u64,
        runnable: bool,
    },
    /// Timer interrupt on `core` `dt` ns later.
    Tick { core: usize, dt: u64 },
    /// Thread `t` is killed wherever it is.
    Kill { t: usize },
    /// A queued `t` is moved to the least-loaded core of `mask`.
    Migrate { t: usize, mask: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..THREADS;
    let core = 0..CORES;
    prop_oneof![
        3 => (t.clone(), 0u64..16, any::<bool>()).prop_map(|(t, mask, react)| Op::Wake { t, mask, react }),
        3 => (core.clone(), 0u64..250, any::<bool>())
            .prop_map(|(core, dt, runnable)| Op::Schedule { core, dt, runnable }),
        2 => (core, 0u64..250).prop_map(|(core, dt)| Op::Tick { core, dt }),
        1 => t.clone().prop_map(|t| Op::Kill { t }),
        1 => (t, 0u64..16).prop_map(|(t, mask)| Op::Migrate { t, mask }),
    ]
}

struct World {
    cores: Vec<CoreSched<usize>>,
    prio: Vec<u8>,
    /// The model: the core each runnable thread lives on.
    home: Vec<Option<usize>>,
    now: u64,
}

impl World {
    fn loads(&self) -> Vec<u32> {
        self.cores.iter().map(|c| c.runnable() as u32).collect()
    }

    fn place(&mut self, t: usize, mask: u64) -> Result<(usize, bool), TestCaseError> {
        let allowed = resolve_affinity(mask, CORES);
        let loads = self.loads();
        let Some(c) = pick_cpu(allowed, &loads) else {
            return Err(TestCaseError::fail("no cpu picked"));
        };
        prop_assert!(allowed.contains(c));
        prop_assert!(allowed.iter().all(|o| loads[c] <= loads[o]));
        let expect = self.cores[c]
            .current()
            .is_none_or(|&(_, p)| self.prio[t] > p);
        let preempt = self.cores[c].enqueue(t, self.prio[t]);
        prop_assert_eq!(preempt, expect);
        self.home[t] = Some(c);
        Ok((c, preempt))
    }

    /// Runs `schedule` on `core` and checks strict priority and that a
    /// pending `should_preempt` really switches threads.
    fn schedule(&mut self, core: usize, runnable: bool) -> Result<(), TestCaseError> {
        let now = self.now;
        let c = &mut self.cores[core];
        let before = c.current().cloned();
        let wanted_switch = runnable && c.should_preempt(now);
        if !runnable && let Some((t, _)) = before {
            self.home[t] = None;
        }
        let got = c.schedule(now, runnable);
        match &got {
            None => prop_assert!(c.rq.is_empty()),
            Some((t, p)) => {
                prop_assert_eq!(*p, self.prio[*t]);
                prop_assert!(c.rq.highest_priority().is_none_or(|q| q <= *p));
                prop_assert_eq!(self.home[*t], Some(core));
            }
        }
        prop_assert_eq!(got.as_ref(), c.current());
        if wanted_switch {
            prop_assert_ne!(got.map(|g| g.0), before.map(|b| b.0));
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for (t, home) in self.home.iter().enumerate() {
            let on: Vec<usize> = (0..CORES).filter(|&c| self.cores[c].contains(&t)).collect();
            prop_assert_eq!(on, home.iter().copied().collect::<Vec<_>>(), "thread {}", t);
        }
        // Each runnable thread is found at least once and the entries number
        // exactly the runnable threads, so none is duplicated or stray
        // (in particular, none is both queued and current).
        let total: usize = self.cores.iter().map(CoreSched::runnable).sum();
        prop_assert_eq!(total, self.home.iter().flatten().count());
        for c in &self.cores {
            prop_assert_eq!(c.slice_end().is_some(), c.current().is_some());
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cores_never_lose_or_duplicate_threads(
        prio in proptest::collection::vec(0u8..4, THREADS),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let mut w = World {
            cores: (0..CORES).map(|_| CoreSched::new(SLICE)).collect(),
            prio,
            home: alloc::vec![None; THREADS],
            now: 0,
        };
        for op in ops {
            match op {
                Op::Wake { t, mask, react } => match w.home[t] {
                    Some(c) => {
                        let before = w.cores[c].runnable();
                        prop_assert!(!w.cores[c].enqueue(t, w.prio[t]));
                        prop_assert_eq!(w.cores[c].runnable(), before);
                    }
                    None => {
                        let (c, preempt) = w.place(t, mask)?;
                        prop_assert!(w.cores[c].should_preempt(w.now) || !preempt);
                        if react && preempt {
                            w.schedule(c, true)?;
                        }
                    }
                },
                Op::Schedule { core, dt, runnable } => {
                    w.now += dt;
                    w.schedule(core, runnable)?;
                }
                Op::Tick { core, dt } => {
                    w.now += dt;
                    if w.cores[core].should_preempt(w.now) {
                        w.schedule(core, true)?;
                    }
                }
                Op::Kill { t } => {
                    for c in 0..CORES {
                        let found = w.cores[c].remove(&t);
                        prop_assert_eq!(found, w.home[t] == Some(c));
                    }
                    w.home[t] = None;
                }
                Op::Migrate { t, mask } => {
                    let Some(c) = w.home[t] else { continue };
                    if w.cores[c].current().is_some_and(|&(cur, _)| cur == t) {
                        continue;
                    }
                    prop_assert!(w.cores[c].remove(&t));
                    w.home[t] = None;
                    w.place(t, mask)?;
                }
            }
            w.check()?;
        }
    }

    /// With only slice expiries, the top priority's threads run strictly in
    /// turn: every window of `k` schedules shows all `k` of them.
    #[test]
    fn round_robin_within_top_priority(
        prio in proptest::collection::vec(0u8..4, 1..THREADS),
        rounds in 1usize..6,
    ) {
        let mut c = CoreSched::new(SLICE);
        for (t, &p) in prio.iter().enumerate() {
            c.enqueue(t, p);
        }
        let top = prio.iter().copied().max().unwrap_or(0);
        let k = prio.iter().filter(|&&p| p == top).count();
        let mut now = 0;
        let mut ran = Vec::new();
        for _ in 0..k * (rounds + 1) {
            let got = c.schedule(now, true);
            prop_assert!(got.is_some_and(|(_, p)| p == top));
            ran.extend(got.map(|g| g.0));
            now = c.slice_end().unwrap_or(now);
        }
        for window in ran.windows(k) {
            let mut w = window.to_vec();
            w.sort_unstable();
            w.dedup();
            prop_assert_eq!(w.len(), k);
        }
    }

    /// Mid-slice preemptions by a higher priority do not skew the share:
    /// each top-priority thread gets exactly one slice per turn, so their
    /// received CPU time never differs by more than one slice.
    #[test]
    fn preemption_keeps_fair_share(
        k in 1usize..5,
        high in 2u8..10,
        events in proptest::collection::vec((any::<bool>(), 1u64..SLICE, 1u64..50), 1..200),
    ) {
        const HIGH: usize = 99;
        let mut c = CoreSched::new(SLICE);
        for t in 0..k {
            c.enqueue(t, 1);
        }
        let mut used = alloc::vec![0u64; k];
        let mut now = 0;
        c.schedule(now, true);
        for (burst, frac, high_runs) in events {
            let Some(&(t, _)) = c.current() else {
                return Err(TestCaseError::fail("idle with runnable threads"));
            };
            let end = c.slice_end().unwrap_or(now);
            prop_assert!(end > now);
            if burst {
                // A high-priority thread wakes part-way into what is left.
                let step = (end - now) * frac / SLICE;
                now += step;
                used[t] += step;
                prop_assert!(c.enqueue(HIGH, high));
                prop_assert_eq!(c.schedule(now, true), Some((HIGH, high)));
                now += high_runs;
                // The preempted thread resumes with the rest of its slice.
                prop_assert_eq!(c.schedule(now, false), Some((t, 1)));
                prop_assert_eq!(c.slice_end(), Some(now + (end - (now - high_runs))));
            } else {
                used[t] += end - now;
                now = end;
                c.schedule(now, true);
            }
            let max = used.iter().max().copied().unwrap_or(0);
            let min = used.iter().min().copied().unwrap_or(0);
            prop_assert!(max - min <= SLICE, "used {:?}", used);
        }
    }
}
