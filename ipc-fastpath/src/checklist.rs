//! The checklist items that are decisions on plain values.

/// Why an attempt left the fast path. The kernel counts these per core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Miss {
    /// The fast path is switched off (boot option `fastpath=off`).
    Disabled = 0,
    /// The tag has an out-of-line part, unexpected flags, reserved bits, or
    /// a kernel interface.
    Tag = 1,
    /// The handle is not a domain endpoint with the needed right (the slow
    /// path reports the exact error).
    Handle = 2,
    /// No cached allow for the key at the current generation, or the words
    /// do not have the method's shape.
    Verdict = 3,
    /// Nobody waits: no receiver for a call, no caller for a reply, or
    /// callers are already queued for the next receive.
    NoPartner = 4,
    /// The partner's home is another core.
    OtherCore = 5,
    /// The partner is not blocked in a fast-path wait (it blocked in the
    /// slow path, or a wake-up is on its way to it).
    NotResumable = 6,
    /// A queued thread has at least the partner's priority.
    Priority = 7,
    /// A wake-up, kill or reschedule request is pending here.
    Pending = 8,
}

impl Miss {
    /// Number of reasons.
    pub const COUNT: usize = 9;

    /// Every reason, in code order.
    pub const ALL: [Miss; Miss::COUNT] = [
        Miss::Disabled,
        Miss::Tag,
        Miss::Handle,
        Miss::Verdict,
        Miss::NoPartner,
        Miss::OtherCore,
        Miss::NotResumable,
        Miss::Priority,
        Miss::Pending,
    ];

    /// Short name for statistics lines.
    pub const fn name(self) -> &'static str {
        match self {
            Miss::Disabled => "disabled",
            Miss::Tag => "tag",
            Miss::Handle => "handle",
            Miss::Verdict => "verdict",
            Miss::NoPartner => "no-partner",
            Miss::OtherCore => "other-core",
            Miss::NotResumable => "not-resumable",
            Miss::Priority => "priority",
            Miss::Pending => "pending",
        }
    }
}

/// Item 2: the raw tag must carry exactly `flags` (no out-of-line part, no
/// reserved bits) and a user interface (kernel endpoints are served in the
/// kernel, not by a thread to switch to). Returns (interface, method).
#[inline(always)]
pub fn tag_ok(raw: u64, flags: u8, first_user_iface: u16) -> Result<(u16, u16), Miss> {
    // Everything above the method (flags, reserved bits, interface) in one
    // range check: `flags` exactly, then an interface from
    // `first_user_iface` up.
    let lowest = (u64::from(flags) << 16) | u64::from(first_user_iface);
    if (raw >> 16).wrapping_sub(lowest) > u64::from(u16::MAX - first_user_iface) {
        return Err(Miss::Tag);
    }
    Ok(((raw >> 16) as u16, raw as u16))
}

/// What the kernel read about the partner thread, under the locks that
/// keep it still.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partner {
    /// Its home core is the current core.
    pub same_core: bool,
    /// It is blocked inside a fast-path wait: its kernel stack holds
    /// nothing but its user frame, so it can be resumed by returning to
    /// user mode with that frame.
    pub resumable: bool,
    /// Its scheduling state is "blocked" (no wake-up has made it ready).
    pub blocked: bool,
    /// Its domain is being killed.
    pub killed: bool,
    /// Its priority.
    pub priority: u8,
}

/// The facts of [`Partner`] as [`partner_ok`] asks for them, one at a
/// time, so that the kernel reads each only when the check before it has
/// passed (a [`Partner`] answers from its fields).
pub trait PartnerFacts {
    /// See [`Partner::same_core`].
    fn same_core(&self) -> bool;
    /// See [`Partner::resumable`].
    fn resumable(&self) -> bool;
    /// See [`Partner::blocked`].
    fn blocked(&self) -> bool;
    /// See [`Partner::killed`].
    fn killed(&self) -> bool;
}

impl PartnerFacts for Partner {
    fn same_core(&self) -> bool {
        self.same_core
    }
    fn resumable(&self) -> bool {
        self.resumable
    }
    fn blocked(&self) -> bool {
        self.blocked
    }
    fn killed(&self) -> bool {
        self.killed
    }
}

/// Item 5 (first half): the partner can be switched to directly.
#[inline(always)]
pub fn partner_ok(p: &impl PartnerFacts) -> Result<(), Miss> {
    if !p.same_core() {
        return Err(Miss::OtherCore);
    }
    if !p.resumable() || !p.blocked() || p.killed() {
        return Err(Miss::NotResumable);
    }
    Ok(())
}

/// Item 5 (second half): switching straight to a thread of priority
/// `target` picks the thread the slow path's scheduler would pick. The slow
/// path blocks the current thread, makes `target` ready behind everything
/// queued, and runs the highest priority, first come first served; so
/// `target` runs only if every queued thread has a strictly lower priority.
#[inline(always)]
pub fn priority_allows(target: u8, highest_queued: Option<u8>) -> bool {
    highest_queued.is_none_or(|h| h < target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use smp::sched::CoreSched;

    #[test]
    fn tags() {
        let t = |iface: u64, method: u64, flags: u64| (flags << 32) | (iface << 16) | method;
        assert_eq!(tag_ok(t(0x100, 1, 0), 0, 0x100), Ok((0x100, 1)));
        assert_eq!(tag_ok(t(0x100, 1, 2), 2, 0x100), Ok((0x100, 1)));
        assert_eq!(
            tag_ok(t(0x100, 1, 1), 0, 0x100),
            Err(Miss::Tag),
            "out of line"
        );
        assert_eq!(
            tag_ok(t(0x100, 1, 3), 2, 0x100),
            Err(Miss::Tag),
            "reply with OOL"
        );
        assert_eq!(
            tag_ok(t(0x100, 1, 0), 2, 0x100),
            Err(Miss::Tag),
            "flag missing"
        );
        assert_eq!(tag_ok(t(3, 1, 0), 0, 0x100), Err(Miss::Tag), "kernel iface");
        assert_eq!(tag_ok(t(0x100, 1, 0) | 1 << 50, 0, 0x100), Err(Miss::Tag));
    }

    #[test]
    fn partner_items() {
        let ok = Partner {
            same_core: true,
            resumable: true,
            blocked: true,
            killed: false,
            priority: 5,
        };
        assert_eq!(partner_ok(&ok), Ok(()));
        let with = |f: fn(&mut Partner)| {
            let mut p = ok;
            f(&mut p);
            partner_ok(&p)
        };
        assert_eq!(with(|p| p.same_core = false), Err(Miss::OtherCore));
        assert_eq!(with(|p| p.resumable = false), Err(Miss::NotResumable));
        assert_eq!(with(|p| p.blocked = false), Err(Miss::NotResumable));
        assert_eq!(with(|p| p.killed = true), Err(Miss::NotResumable));
    }

    #[test]
    fn miss_codes_follow_all() {
        for (i, m) in Miss::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }

    proptest! {
        /// The range check equals the item as the checklist states it.
        #[test]
        fn tag_ok_is_exact_flags_and_a_user_interface(
            raw in prop_oneof![
                any::<u64>(),
                (any::<u16>(), 0u64..4, any::<u16>()).prop_map(|(i, f, m)| {
                    (f << 32) | (u64::from(i) << 16) | u64::from(m)
                }),
            ],
            flags in 0u8..4,
            first in prop_oneof![Just(0x100u16), any::<u16>()],
        ) {
            let iface = (raw >> 16) as u16;
            let want = (raw >> 32 == u64::from(flags) && iface >= first)
                .then_some((iface, raw as u16))
                .ok_or(Miss::Tag);
            prop_assert_eq!(tag_ok(raw, flags, first), want);
        }

        /// Differential against the slow path's scheduler: whenever the
        /// fast path would switch straight to `target`, the per-core
        /// scheduler, given the slow path's steps (the current thread
        /// blocks, the target is woken), picks the target too; and when it
        /// would not pick the target, the fast path declines.
        #[test]
        fn direct_switch_picks_what_the_scheduler_picks(
            current in 1u8..32,
            target in 1u8..32,
            queued in prop::collection::vec(1u8..32, 0..6),
            now in 0u64..300,
        ) {
            let mut s: CoreSched<u32> = CoreSched::new(100);
            // Thread ids: 0 current, 1 target, 2.. queued.
            s.enqueue(0, current);
            prop_assert_eq!(s.schedule(0, true).map(|(t, _)| t), Some(0));
            for (i, p) in queued.iter().enumerate() {
                s.enqueue(2 + i as u32, *p);
            }
            let fast = priority_allows(target, queued.iter().copied().max());
            // Slow path: the target becomes ready, the current thread blocks.
            s.enqueue(1, target);
            let picked = s.schedule(now, false).map(|(t, _)| t);
            prop_assert_eq!(fast, picked == Some(1));
        }
    }
}
