//! The per-core verdict cache and the register message shape check.

use engine::tables::{FieldType, Ool};
use engine::{Decision, ERROR_METHOD, Event, EventKind, ModelState, Policy, Verdict};

/// Number of entries in one core's cache (direct-mapped). A desktop's
/// working set is a few keys per domain and direction (its kernel calls,
/// its window requests and their answers); with 64 slots, four windowed
/// domains already put two keys in one slot so often that they took
/// turns evicting each other and half the verdicts were evaluations.
pub const SLOTS: usize = 256;

/// What a cached verdict is about: the event kind, the source context, the
/// endpoint (the serving domain's context and the interface) and the method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Request or response (execute events are never cached).
    pub kind: EventKind,
    /// Sending context: the client for a request, the server for a response.
    pub src: u16,
    /// Receiving context.
    pub dst: u16,
    /// Interface number.
    pub iface: u16,
    /// Method number.
    pub method: u16,
}

impl Key {
    /// The key of `ev`.
    pub const fn of(ev: &Event) -> Key {
        Key {
            kind: ev.kind,
            src: ev.src,
            dst: ev.dst,
            iface: ev.iface,
            method: ev.method,
        }
    }

    /// All fields in one word, plus the kind's bit.
    #[inline(always)]
    pub(crate) fn pack(self) -> (u64, u64) {
        let k = ((self.src as u64) << 48)
            | ((self.dst as u64) << 32)
            | ((self.iface as u64) << 16)
            | self.method as u64;
        let kind = match self.kind {
            EventKind::Request => 0,
            EventKind::Response => 1,
            EventKind::Execute => 2,
        };
        (k, kind)
    }
}

/// The shape of a method's message: one code per data word, checked as
/// `word + bias <= max` (wrapping add), which covers every field type and
/// "word unused, must be zero".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape(u32);

/// Code of an unused word.
const ABSENT: u8 = 9;

/// `(bias, max)` per code: the field types in `FieldType` order, then
/// `ABSENT`; padded to 16 so a code indexes it with a mask. Codes 10..16
/// are never built and accept only zero.
const BOUNDS: [(u64, u64); 16] = [
    (0, 0xff),                  // u8
    (0, 0xffff),                // u16
    (0, 0xffff_ffff),           // u32
    (0, u64::MAX),              // u64
    (0x80, 0xff),               // i8: -128..=127 moves to 0..=255
    (0x8000, 0xffff),           // i16
    (0x8000_0000, 0xffff_ffff), // i32
    (0, u64::MAX),              // i64
    (0, 1),                     // bool
    (0, 0),                     // unused word
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
];

fn code(t: FieldType) -> u8 {
    match t {
        FieldType::U8 => 0,
        FieldType::U16 => 1,
        FieldType::U32 => 2,
        FieldType::U64 => 3,
        FieldType::I8 => 4,
        FieldType::I16 => 5,
        FieldType::I32 => 6,
        FieldType::I64 => 7,
        FieldType::Bool => 8,
    }
}

impl Shape {
    /// The shape of a field list; `None` if it has more than four fields.
    pub fn of(fields: &[FieldType]) -> Option<Shape> {
        if fields.len() > 4 {
            return None;
        }
        let mut s = 0u32;
        for (i, shift) in (0..32).step_by(8).enumerate() {
            let c = fields.get(i).map_or(ABSENT, |t| code(*t));
            s |= u32::from(c) << shift;
        }
        Some(Shape(s))
    }

    /// The shape of the request (or response) of a method of `policy`.
    pub fn for_method(policy: &Policy, kind: EventKind, iface: u16, method: u16) -> Option<Shape> {
        let t = policy.tables();
        let sig = t.methods.get(t.method_index(iface, method)?)?;
        match kind {
            EventKind::Request => Shape::of(&sig.args),
            EventKind::Response => Shape::of(&sig.results),
            EventKind::Execute => None,
        }
    }

    /// `(bias, max)` of word `i`.
    fn bounds(self, i: usize) -> (u64, u64) {
        BOUNDS[((self.0 >> (8 * i)) & 0xf) as usize]
    }

    /// Whether `words` are valid encodings of the fields (and unused words
    /// are zero). Equals the engine's own shape check for the same fields.
    #[inline(always)]
    pub fn accepts(self, words: &[u64; 4]) -> bool {
        let mut ok = true;
        for (i, w) in words.iter().enumerate() {
            let (bias, max) = self.bounds(i);
            ok &= w.wrapping_add(bias) <= max;
        }
        ok
    }
}

/// A shape unpacked into the `(bias, max)` of each word, so a check does
/// four additions and compares and no table lookups; or, when every word
/// is a 64-bit field (any value fits), no check at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Every word accepts every value.
    open: bool,
    bias: [u64; 4],
    max: [u64; 4],
}

impl Bounds {
    pub(crate) const NONE: Bounds = Bounds {
        open: false,
        bias: [0; 4],
        max: [0; 4],
    };

    fn of(shape: Shape) -> Bounds {
        let mut b = Bounds::NONE;
        for (i, (bias, max)) in b.bias.iter_mut().zip(b.max.iter_mut()).enumerate() {
            (*bias, *max) = shape.bounds(i);
        }
        b.open = b.bias == [0; 4] && b.max == [u64::MAX; 4];
        b
    }

    /// Whether `words` fit (equals [`Shape::accepts`] of the shape), with
    /// every word tested (the verdict cache tests `open` first; the pair
    /// cache's kernel methods have narrower fields or unused words).
    #[inline(always)]
    pub(crate) fn accepts(&self, words: &[u64; 4]) -> bool {
        let mut ok = true;
        for ((w, bias), max) in words.iter().zip(self.bias).zip(self.max) {
            ok &= w.wrapping_add(bias) <= max;
        }
        ok
    }
}

#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    /// `VALID | kind`.
    /// `generation << 3 | VALID | kind`: one compare checks all three.
    stamp: u64,
    shape: Bounds,
}

const EMPTY: Slot = Slot {
    key: 0,
    stamp: 0,
    shape: Bounds::NONE,
};

/// Above every kind (0 request, 1 response, 2 execute, see `Key::pack`).
const VALID: u64 = 1 << 2;

/// A slot's stamp for an entry of `kind` made at `generation`. The shift
/// drops the generation's top three bits; the generations of one policy
/// are consecutive from its base (`Policy::generation_base`), so two that
/// differ only there never meet.
#[inline(always)]
fn stamp(generation: u64, kind: u64) -> u64 {
    generation << 3 | VALID | kind
}

/// One core's cache of static allow verdicts. Direct-mapped: a new entry
/// replaces whatever was in its slot. Only the owning core touches it, so
/// it needs no lock.
pub struct VerdictCache {
    slots: [Slot; SLOTS],
}

impl Default for VerdictCache {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
fn index(k: u64, kind: u64) -> usize {
    // Multiplicative hashing; the top bits are the best mixed.
    ((k ^ kind).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOTS.trailing_zeros())) as usize
}

impl VerdictCache {
    /// An empty cache.
    pub const fn new() -> VerdictCache {
        VerdictCache {
            slots: [EMPTY; SLOTS],
        }
    }

    /// Whether the cache holds an allow for `key` made at `generation`, and
    /// `words` have the method's shape. `false` means "ask the slow path",
    /// never "denied".
    #[inline(always)]
    pub fn allows(&self, key: Key, generation: u64, words: &[u64; 4]) -> bool {
        self.allows_with(key, generation, || *words)
    }

    /// [`VerdictCache::allows`], with the words fetched only if the shape
    /// needs them (an entry whose words are all 64-bit fields does not).
    #[inline(always)]
    pub fn allows_with(&self, key: Key, generation: u64, words: impl FnOnce() -> [u64; 4]) -> bool {
        let (k, kind) = key.pack();
        let s = &self.slots[index(k, kind) % SLOTS];
        s.key == k
            && s.stamp == stamp(generation, kind)
            && (s.shape.open || s.shape.accepts(&words()))
    }

    /// The unpacked shape of the allow for `key` made at `generation`, if
    /// the cache holds one.
    pub fn bounds(&self, key: Key, generation: u64) -> Option<Bounds> {
        let (k, kind) = key.pack();
        let s = &self.slots[index(k, kind) % SLOTS];
        (s.key == k && s.stamp == stamp(generation, kind)).then_some(s.shape)
    }

    /// Records an allow for `key` at `generation`, with the method's shape.
    pub fn insert(&mut self, key: Key, generation: u64, shape: Shape) {
        let (k, kind) = key.pack();
        if kind > 1 {
            return;
        }
        self.slots[index(k, kind) % SLOTS] = Slot {
            key: k,
            stamp: stamp(generation, kind),
            shape: Bounds::of(shape),
        };
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = VerdictCache::new();
    }

    /// Entries in use (whatever their generation).
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.stamp & VALID != 0).count()
    }

    /// Whether no entry is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the decision for `ev` may enter a verdict cache: a static allow
/// (its verdict depends only on the key), not audited (an audited decision
/// must reach the audit ring every time), of a register-only request or
/// response (the cache's shape check covers words only), and not an error
/// reply (whose shape check is special).
pub fn cacheable(d: &Decision, ev: &Event) -> bool {
    d.cacheable
        && d.verdict == Verdict::Allow
        && !d.audit
        && !d.malformed
        && ev.kind != EventKind::Execute
        && ev.ool == Ool::None
        && ev.method != ERROR_METHOD
}

/// The slow path's decision: the engine's full evaluation, after which an
/// eligible verdict is cached under the generation the model state has
/// after the evaluation.
pub fn decide(
    policy: &Policy,
    state: &mut ModelState,
    cache: &mut VerdictCache,
    ev: &Event,
) -> Decision {
    let d = policy.evaluate(state, ev);
    if cacheable(&d, ev)
        && let Some(shape) = Shape::for_method(policy, ev.kind, ev.iface, ev.method)
    {
        cache.insert(Key::of(ev), state.generation(), shape);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TYPES: [FieldType; 9] = [
        FieldType::U8,
        FieldType::U16,
        FieldType::U32,
        FieldType::U64,
        FieldType::I8,
        FieldType::I16,
        FieldType::I32,
        FieldType::I64,
        FieldType::Bool,
    ];

    fn word() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            0u64..300,
            (-300i64..300).prop_map(|v| v as u64),
            prop::sample::select(vec![
                0xff,
                0x100,
                0xffff,
                0x1_0000,
                0xffff_ffff,
                0x1_0000_0000,
                i8::MIN as u64,
                i8::MAX as u64,
                i16::MIN as u64,
                i32::MIN as u64,
                i32::MAX as u64,
                (i32::MIN as i64 - 1) as u64,
                u64::MAX,
            ]),
        ]
    }

    proptest! {
        /// The shape check equals the engine's per-field check, unused
        /// words included.
        #[test]
        fn shape_matches_field_types(
            fields in prop::collection::vec(prop::sample::select(TYPES.to_vec()), 0..=4),
            words in [word(), word(), word(), word()],
        ) {
            let want = words.iter().enumerate().all(|(i, w)| match fields.get(i) {
                Some(t) => t.accepts(*w),
                None => *w == 0,
            });
            let shape = Shape::of(&fields).unwrap();
            prop_assert_eq!(shape.accepts(&words), want);
            // The unpacked form the cache keeps (which skips the check when
            // all four words are 64-bit fields) agrees.
            prop_assert_eq!(Bounds::of(shape).accepts(&words), want);
        }

        /// A hit needs the same key, kind and generation as the insert.
        #[test]
        fn hits_only_the_exact_key_and_generation(
            a in (0u16..8, 0u16..8, 0x100u16..0x104, 0u16..6, any::<bool>()),
            b in (0u16..8, 0u16..8, 0x100u16..0x104, 0u16..6, any::<bool>()),
            g1 in 0u64..4, g2 in 0u64..4,
        ) {
            let key = |(src, dst, iface, method, resp): (u16, u16, u16, u16, bool)| Key {
                kind: if resp { EventKind::Response } else { EventKind::Request },
                src, dst, iface, method,
            };
            let mut c = VerdictCache::new();
            let any = Shape::of(&[FieldType::U64; 4]).unwrap();
            c.insert(key(a), g1, any);
            let hit = c.allows(key(b), g2, &[1, 2, 3, 4]);
            prop_assert_eq!(hit, a == b && g1 == g2);
        }
    }

    #[test]
    fn sixty_four_bit_fields_skip_the_check_and_nothing_else_does() {
        use FieldType::{I64, U32, U64};
        let key = |method| Key {
            kind: EventKind::Request,
            src: 1,
            dst: 2,
            iface: 0x100,
            method,
        };
        // One entry at a time: the cache is direct-mapped, and two of
        // these keys may share a slot.
        let mut c = VerdictCache::new();
        c.insert(key(1), 7, Shape::of(&[U64, I64, U64, U64]).unwrap());
        assert!(c.allows(key(1), 7, &[u64::MAX, 1 << 63, 0, 7]));
        // An all-64-bit entry never asks for the words.
        assert!(c.allows_with(key(1), 7, || unreachable!("words fetched")));
        // Three 64-bit fields leave the fourth word unused: it must be zero.
        c.insert(key(2), 7, Shape::of(&[U64, U64, U64]).unwrap());
        assert!(c.allows(key(2), 7, &[1, 2, 3, 0]));
        assert!(!c.allows(key(2), 7, &[1, 2, 3, 4]));
        c.insert(key(3), 7, Shape::of(&[U64, U64, U64, U32]).unwrap());
        assert!(c.allows(key(3), 7, &[0, 0, 0, 1]));
        assert!(!c.allows(key(3), 7, &[0, 0, 0, 1 << 32]));
    }

    /// A desktop's working set fits: eight windowed domains, each with
    /// `Time.now`, `Time.sleep`, `Window.event` and `Window.present`
    /// requests and their answers (64 keys), leave at most a quarter of
    /// the keys sharing a slot with another. (With 64 slots it was 47 of
    /// 64, and the `desktop-monitor` scenario showed half its verdicts
    /// evaluated; with 256 it is 13.)
    #[test]
    fn a_desktop_working_set_fits() {
        const WINDOW: u16 = 0x200;
        let methods = [
            (abi::iface::TIME, abi::time::NOW, 0),
            (abi::iface::TIME, abi::time::SLEEP, 0),
            (WINDOW, 2, 1),
            (WINDOW, 3, 1),
        ];
        let mut slots = Vec::new();
        for domain in 2..10 {
            for (iface, method, server) in methods {
                for (kind, src, dst) in [
                    (EventKind::Request, domain, server),
                    (EventKind::Response, server, domain),
                ] {
                    let (k, kind) = Key {
                        kind,
                        src,
                        dst,
                        iface,
                        method,
                    }
                    .pack();
                    slots.push(index(k, kind));
                }
            }
        }
        let shared = slots
            .iter()
            .filter(|s| slots.iter().filter(|t| t == s).count() > 1)
            .count();
        assert!(
            shared <= slots.len() / 4,
            "{shared} of {} keys share a slot",
            slots.len()
        );
    }

    #[test]
    fn too_many_fields_have_no_shape() {
        assert_eq!(Shape::of(&[FieldType::U8; 5]), None);
    }

    #[test]
    fn execute_events_are_never_cached() {
        let mut c = VerdictCache::new();
        let k = Key {
            kind: EventKind::Execute,
            src: 0,
            dst: 1,
            iface: 0,
            method: 0,
        };
        c.insert(k, 0, Shape::of(&[]).unwrap());
        assert!(c.is_empty());
        assert!(!c.allows(k, 0, &[0; 4]));
    }

    #[test]
    fn execute_lookups_never_hit_other_kinds() {
        // Whatever slot an execute key maps to, an entry for the same
        // fields of another kind does not answer it.
        let any = Shape::of(&[FieldType::U64; 4]).unwrap();
        for src in 0..256 {
            let key = |kind| Key {
                kind,
                src,
                dst: 1,
                iface: 0x100,
                method: 2,
            };
            let mut c = VerdictCache::new();
            c.insert(key(EventKind::Request), 3, any);
            c.insert(key(EventKind::Response), 3, any);
            assert!(!c.allows(key(EventKind::Execute), 3, &[0; 4]));
            assert_eq!(c.bounds(key(EventKind::Execute), 3), None);
        }
    }

    #[test]
    fn clear_empties_the_cache() {
        let mut c = VerdictCache::new();
        let k = Key {
            kind: EventKind::Request,
            src: 1,
            dst: 2,
            iface: 0x100,
            method: 1,
        };
        c.insert(k, 7, Shape::of(&[]).unwrap());
        assert!(c.allows(k, 7, &[0; 4]));
        assert!(!c.allows(k, 7, &[1, 0, 0, 0]), "unused words must be zero");
        c.clear();
        assert!(!c.allows(k, 7, &[0; 4]));
    }
}
