//! Tests for the shootdown protocol; std threads stand in for CPUs.

use super::*;
use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Barrier, Mutex as StdMutex};
use std::thread;
use std::vec;
use std::vec::Vec;

fn range(asid: u16, start: u64) -> Flush {
    Flush::Range {
        asid,
        start,
        pages: 1,
    }
}

fn collect(m: &Mailboxes, cpu: usize) -> Vec<Flush> {
    let mut got = Vec::new();
    m.service(cpu, |f| got.push(f));
    got
}

/// A tiny xorshift generator so threads make different, repeatable choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn post_service_done() {
    let m = Mailboxes::new(4);
    let f = range(3, 0x1000);
    let t = m.post(CpuSet(0b0110), f);
    assert_eq!(t.targets(), CpuSet(0b0110));
    assert!(!m.is_done(&t));
    assert_eq!(collect(&m, 1), [f]);
    assert!(!m.is_done(&t));
    assert_eq!(collect(&m, 2), [f]);
    assert!(m.is_done(&t));
    // Nothing left: servicing again applies nothing.
    assert_eq!(collect(&m, 1), []);
    assert_eq!(collect(&m, 0), []);
}

#[test]
fn batches_keep_order() {
    let m = Mailboxes::new(1);
    let fs = [range(1, 0), Flush::Asid(2), range(1, 0x2000)];
    let tickets: Vec<_> = fs.iter().map(|&f| m.post(CpuSet::single(0), f)).collect();
    assert_eq!(collect(&m, 0), fs);
    assert!(tickets.iter().all(|t| m.is_done(t)));
}

#[test]
fn overflow_degrades_to_all() {
    let m = Mailboxes::new(2);
    let tickets: Vec<_> = (0..=MAILBOX_CAPACITY as u64)
        .map(|i| m.post(CpuSet::single(1), range(0, i << 12)))
        .collect();
    assert_eq!(collect(&m, 1), [Flush::All]);
    assert!(tickets.iter().all(|t| m.is_done(t)));
    // Exactly at capacity: every request is kept.
    for i in 0..MAILBOX_CAPACITY as u64 {
        m.post(CpuSet::single(1), range(0, i << 12));
    }
    assert_eq!(collect(&m, 1).len(), MAILBOX_CAPACITY);
    // An All subsumes whatever else is pending.
    m.post(CpuSet::single(1), range(0, 0));
    m.post(CpuSet::single(1), Flush::All);
    m.post(CpuSet::single(1), range(0, 0));
    assert_eq!(collect(&m, 1), [Flush::All]);
}

#[test]
fn out_of_range_cpus_are_ignored() {
    let m = Mailboxes::new(2);
    let t = m.post(CpuSet::all(64), Flush::All);
    assert_eq!(t.targets(), CpuSet::all(2));
    m.service(2, |_| panic!("no mailbox 2"));
    m.service(usize::MAX, |_| panic!("no such mailbox"));
    let none = Mailboxes::new(0);
    let t = none.post(CpuSet::all(64), Flush::All);
    assert!(t.targets().is_empty() && none.is_done(&t));
    none.wait(&t, 0, |_| {});
    let big = Mailboxes::new(1000);
    let t = big.post(CpuSet::single(63), Flush::Asid(1));
    assert_eq!(collect(&big, 63), [Flush::Asid(1)]);
    assert!(big.is_done(&t));
}

#[test]
fn wait_services_own_mailbox() {
    let m = Mailboxes::new(2);
    let t = m.post(CpuSet::single(0), Flush::Asid(7));
    let mut got = Vec::new();
    m.wait(&t, 0, |f| got.push(f));
    assert_eq!(got, [Flush::Asid(7)]);
}

#[test]
fn busy_servicer_flag_makes_second_caller_return() {
    let m = Mailboxes::new(1);
    m.post(CpuSet::single(0), Flush::Asid(1));
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    m.service(0, |f| {
        outer.push(f);
        // A nested call (an IPI during servicing) must not block or steal.
        m.service(0, |g| inner.push(g));
    });
    assert_eq!(outer, [Flush::Asid(1)]);
    assert!(inner.is_empty());
}

#[test]
fn request_posted_during_service_is_not_stranded() {
    let m = Mailboxes::new(1);
    let first = m.post(CpuSet::single(0), Flush::Asid(1));
    let mut later = None;
    let mut got = Vec::new();
    m.service(0, |f| {
        got.push(f);
        if later.is_none() {
            // Posted while the servicer holds the flag; the nested IPI
            // handler returns at once, so the active servicer must loop.
            later = Some(m.post(CpuSet::single(0), Flush::Asid(2)));
            m.service(0, |_| {});
        }
    });
    assert_eq!(got, [Flush::Asid(1), Flush::Asid(2)]);
    assert!(m.is_done(&first));
    assert!(later.is_some_and(|t| m.is_done(&t)));
}

#[test]
fn mutual_shootdown_does_not_deadlock() {
    const ROUNDS: usize = 20_000;
    let m = Arc::new(Mailboxes::new(2));
    let start = Arc::new(Barrier::new(2));
    let finished = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2usize)
        .map(|me| {
            let (m, start, finished) = (Arc::clone(&m), Arc::clone(&start), Arc::clone(&finished));
            thread::spawn(move || {
                let mut applied = 0usize;
                start.wait();
                for i in 0..ROUNDS as u64 {
                    // Neither thread services except while waiting, like two
                    // CPUs spinning with interrupts disabled.
                    let t = m.post(CpuSet::single(1 - me), range(me as u16, i));
                    m.wait(&t, me, |_| applied += 1);
                }
                // Keep answering until the peer's last shootdown completed.
                finished.fetch_add(1, Ordering::SeqCst);
                while finished.load(Ordering::SeqCst) < 2 {
                    m.service(me, |_| applied += 1);
                    thread::yield_now();
                }
                applied
            })
        })
        .collect();
    for h in handles {
        // One request pending at a time: no overflow, so each was applied once.
        assert_eq!(h.join().expect("cpu thread panicked"), ROUNDS);
    }
}

/// Dedicated servicer CPUs plus poster CPUs; at most one request per poster
/// is pending per mailbox, so nothing overflows and every flush must show up
/// exactly in each target's log before `wait` returns.
#[test]
fn every_posted_flush_is_applied_before_wait_returns() {
    const SERVICERS: usize = 2;
    const POSTERS: usize = 3;
    const CPUS: usize = SERVICERS + POSTERS;
    const ROUNDS: u64 = 3_000;
    let m = Arc::new(Mailboxes::new(CPUS));
    let logs: Arc<Vec<StdMutex<HashSet<Flush>>>> =
        Arc::new((0..CPUS).map(|_| StdMutex::new(HashSet::new())).collect());
    let stop = Arc::new(AtomicBool::new(false));
    // Threads count failures instead of panicking: a panicked CPU would stop
    // servicing and hang its peers instead of failing the test.
    let errors = Arc::new(AtomicUsize::new(0));
    let record =
        |logs: &Vec<StdMutex<HashSet<Flush>>>, errors: &AtomicUsize, cpu: usize, f: Flush| {
            // No overflow expected, and each request is applied once.
            if f == Flush::All || !logs[cpu].lock().unwrap().insert(f) {
                errors.fetch_add(1, Ordering::SeqCst);
            }
        };
    let servicers: Vec<_> = (0..SERVICERS)
        .map(|cpu| {
            let (m, logs, stop) = (Arc::clone(&m), Arc::clone(&logs), Arc::clone(&stop));
            let errors = Arc::clone(&errors);
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    m.service(cpu, |f| record(&logs, &errors, cpu, f));
                    thread::yield_now();
                }
            })
        })
        .collect();
    let finished = Arc::new(AtomicUsize::new(0));
    let posters: Vec<_> = (SERVICERS..CPUS)
        .map(|me| {
            let (m, logs, finished) = (Arc::clone(&m), Arc::clone(&logs), Arc::clone(&finished));
            let errors = Arc::clone(&errors);
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ me as u64);
                for i in 0..ROUNDS {
                    let targets = CpuSet(rng.below(1 << CPUS)).intersect(CpuSet::all(CPUS));
                    let f = range(me as u16, i);
                    let t = m.post(targets, f);
                    m.wait(&t, me, |g| record(&logs, &errors, me, g));
                    for cpu in targets.iter() {
                        if !logs[cpu].lock().unwrap().contains(&f) {
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                // Other posters may still shoot this CPU down.
                finished.fetch_add(1, Ordering::SeqCst);
                while finished.load(Ordering::SeqCst) < POSTERS {
                    m.service(me, |g| record(&logs, &errors, me, g));
                    thread::yield_now();
                }
            })
        })
        .collect();
    for p in posters {
        p.join().expect("poster panicked");
    }
    stop.store(true, Ordering::SeqCst);
    for s in servicers {
        s.join().expect("servicer panicked");
    }
    assert_eq!(
        errors.load(Ordering::SeqCst),
        0,
        "missed or repeated flushes"
    );
}

/// Many posters hit one CPU before it services: the mailbox overflows and
/// the CPU applies a single `All`, which completes every ticket.
#[test]
fn concurrent_overflow_degrades_to_all() {
    const POSTERS: usize = 12;
    let m = Arc::new(Mailboxes::new(POSTERS + 1));
    let posted = Arc::new(Barrier::new(POSTERS + 1));
    let applied = Arc::new(StdMutex::new(Vec::new()));
    let target = {
        let (m, posted, applied) = (Arc::clone(&m), Arc::clone(&posted), Arc::clone(&applied));
        thread::spawn(move || {
            posted.wait();
            m.service(0, |f| applied.lock().unwrap().push(f));
        })
    };
    let posters: Vec<_> = (1..=POSTERS)
        .map(|me| {
            let (m, posted) = (Arc::clone(&m), Arc::clone(&posted));
            thread::spawn(move || {
                let t = m.post(CpuSet::single(0), range(0, me as u64));
                posted.wait();
                m.wait(&t, me, |_| {});
            })
        })
        .collect();
    for p in posters {
        p.join().expect("poster panicked");
    }
    target.join().expect("target panicked");
    assert_eq!(*applied.lock().unwrap(), [Flush::All]);
}

/// A simulated TLB per CPU: CPUs cache page-table versions and service their
/// mailboxes; posters change a page, shoot it down (in bursts large enough to
/// overflow mailboxes) and then check no target still caches the old version.
#[test]
fn no_stale_translation_survives_a_shootdown() {
    const CPUS: usize = 4;
    const PAGES: usize = 16;
    const ROUNDS: usize = 2_000;
    let m = Arc::new(Mailboxes::new(CPUS));
    let table: Arc<Vec<AtomicU64>> = Arc::new((0..PAGES).map(|_| AtomicU64::new(0)).collect());
    let tlbs: Arc<Vec<StdMutex<[Option<u64>; PAGES]>>> =
        Arc::new((0..CPUS).map(|_| StdMutex::new([None; PAGES])).collect());
    // Counted, not asserted, in the threads (see the test above).
    let stale = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let flush_on = |tlbs: &Vec<StdMutex<[Option<u64>; PAGES]>>, cpu: usize, f: Flush| {
        let mut tlb = tlbs[cpu].lock().unwrap();
        match f {
            Flush::Range { start, pages, .. } => {
                let first = (start >> 12) as usize;
                let end = first.saturating_add(pages as usize).min(PAGES);
                tlb[first.min(PAGES)..end].fill(None);
            }
            Flush::Asid(_) | Flush::All => tlb.fill(None),
        }
    };
    let cpus: Vec<_> = (0..CPUS)
        .map(|me| {
            let (m, table, tlbs) = (Arc::clone(&m), Arc::clone(&table), Arc::clone(&tlbs));
            let (stale, finished) = (Arc::clone(&stale), Arc::clone(&finished));
            thread::spawn(move || {
                let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (me as u64 + 1));
                let mut round = 0;
                // Keep servicing until every CPU is done posting.
                while round < ROUNDS || finished.load(Ordering::SeqCst) < CPUS {
                    let p = rng.below(PAGES as u64) as usize;
                    let v = table[p].load(Ordering::SeqCst);
                    tlbs[me].lock().unwrap()[p] = Some(v);
                    m.service(me, |f| flush_on(&tlbs, me, f));
                    if round < ROUNDS {
                        round += 1;
                        let targets = CpuSet(rng.below(1 << CPUS));
                        let mut changed = vec![];
                        for _ in 0..=rng.below(4) {
                            let p = rng.below(PAGES as u64) as usize;
                            let v = table[p].fetch_add(1, Ordering::SeqCst) + 1;
                            let f = match rng.below(8) {
                                0 => Flush::Asid(0),
                                _ => Flush::Range {
                                    asid: 0,
                                    start: (p as u64) << 12,
                                    pages: 1 + rng.below(2),
                                },
                            };
                            changed.push((p, v, m.post(targets, f)));
                        }
                        for (p, v, t) in changed {
                            m.wait(&t, me, |f| flush_on(&tlbs, me, f));
                            for cpu in t.targets().iter() {
                                let cached = tlbs[cpu].lock().unwrap()[p];
                                if cached.is_some_and(|c| c < v) {
                                    stale.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                        if round == ROUNDS {
                            finished.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    thread::yield_now();
                }
            })
        })
        .collect();
    for c in cpus {
        c.join().expect("cpu thread panicked");
    }
    assert_eq!(stale.load(Ordering::SeqCst), 0, "stale translations seen");
}
