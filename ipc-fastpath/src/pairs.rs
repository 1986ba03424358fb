//! The kernel-call lane's cache: for a pure kernel method (one that
//! answers at once and changes nothing), the request verdict and the
//! response verdict in one entry, so a kernel call costs one lookup
//! instead of two.
//!
//! An entry is only ever made from two allows of the core's
//! [`VerdictCache`] made at the same generation ([`PairCache::insert_from`]),
//! and it carries both shapes and that generation. It therefore hits
//! exactly when both single lookups would: the same key, the same
//! generation, request words of the request's shape, and (checked after
//! the method ran) response words of the response's shape. Both checks
//! still run on every call; only the second key comparison is saved.

use crate::cache::{Bounds, Key, VerdictCache};
use engine::EventKind;

/// Number of entries in one core's pair cache (direct-mapped).
pub const PAIR_SLOTS: usize = 16;

#[derive(Clone, Copy)]
struct Slot {
    /// The request key, packed.
    key: u64,
    /// `generation << 1 | 1` for an entry made at `generation`, 0 for an
    /// empty slot: one compare checks both.
    stamp: u64,
    request: Bounds,
    response: Bounds,
}

const EMPTY: Slot = Slot {
    key: 0,
    stamp: 0,
    request: Bounds::NONE,
    response: Bounds::NONE,
};

/// One core's cache of (request, response) allow pairs for kernel methods.
/// Only the owning core touches it, so it needs no lock.
pub struct PairCache {
    slots: [Slot; PAIR_SLOTS],
}

impl Default for PairCache {
    fn default() -> Self {
        Self::new()
    }
}

/// A request that hit: what its response must satisfy.
pub struct Pair<'a>(&'a Bounds);

impl Pair<'_> {
    /// Whether the response `words` have the response's shape (the second
    /// half of the hit).
    #[inline(always)]
    pub fn response_allows(&self, words: &[u64; 4]) -> bool {
        self.0.accepts(words)
    }
}

/// A slot's stamp at `generation` (which never comes near 2^63).
#[inline(always)]
fn stamp(generation: u64) -> u64 {
    generation << 1 | 1
}

#[inline(always)]
fn index(k: u64) -> usize {
    (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - PAIR_SLOTS.trailing_zeros())) as usize
}

/// The response key that answers the request `key`.
fn response_of(key: Key) -> Key {
    Key {
        kind: EventKind::Response,
        src: key.dst,
        dst: key.src,
        ..key
    }
}

impl PairCache {
    /// An empty cache.
    pub const fn new() -> PairCache {
        PairCache {
            slots: [EMPTY; PAIR_SLOTS],
        }
    }

    /// The entry for the request `key` made at `generation`, if the cache
    /// holds one and `words` have the request's shape. `None` means "ask
    /// the single verdicts", never "denied".
    #[inline(always)]
    pub fn request_allows(&self, key: Key, generation: u64, words: &[u64; 4]) -> Option<Pair<'_>> {
        let (k, kind) = key.pack();
        let s = &self.slots[index(k) % PAIR_SLOTS];
        (kind == 0 && s.key == k && s.stamp == stamp(generation) && s.request.accepts(words))
            .then_some(Pair(&s.response))
    }

    /// Makes the entry for the request `key` from `singles`, if it holds
    /// allows for both that request and its response at `generation`.
    /// Returns whether it did.
    pub fn insert_from(&mut self, singles: &VerdictCache, key: Key, generation: u64) -> bool {
        if key.kind != EventKind::Request {
            return false;
        }
        let (Some(request), Some(response)) = (
            singles.bounds(key, generation),
            singles.bounds(response_of(key), generation),
        ) else {
            return false;
        };
        let (k, _) = key.pack();
        self.slots[index(k) % PAIR_SLOTS] = Slot {
            key: k,
            stamp: stamp(generation),
            request,
            response,
        };
        true
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = PairCache::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Shape;
    use engine::tables::FieldType;
    use proptest::prelude::*;

    const TYPES: [FieldType; 4] = [
        FieldType::U8,
        FieldType::I16,
        FieldType::U64,
        FieldType::Bool,
    ];

    fn shape() -> impl Strategy<Value = Shape> {
        prop::collection::vec(prop::sample::select(TYPES.to_vec()), 0..=4)
            .prop_map(|f| Shape::of(&f).unwrap())
    }

    fn word() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(1u64),
            0u64..300,
            (-300i64..300).prop_map(|v| v as u64),
            any::<u64>(),
        ]
    }

    fn request(src: u16, method: u16) -> Key {
        Key {
            kind: EventKind::Request,
            src,
            dst: 0,
            iface: 3,
            method,
        }
    }

    proptest! {
        /// A pair hits (request, then response) exactly when both single
        /// verdicts would allow, whatever the singles held when the pair
        /// was made and whatever was asked afterwards.
        #[test]
        fn pair_hits_only_when_both_singles_would(
            // Singles: for a few request keys, maybe a request allow and
            // maybe a response allow, each with a shape and a generation.
            singles in prop::collection::vec(
                (1u16..4, 0u16..3, any::<bool>(), shape(), 0u64..3),
                0..12,
            ),
            made in (1u16..4, 0u16..3, 0u64..3),
            asked in (1u16..4, 0u16..3, 0u64..3),
            req_words in [word(), word(), word(), word()],
            resp_words in [word(), word(), word(), word()],
        ) {
            let mut cache = VerdictCache::new();
            for (src, method, is_response, shape, generation) in singles {
                let k = request(src, method);
                let k = if is_response { response_of(k) } else { k };
                cache.insert(k, generation, shape);
            }
            let mut pairs = PairCache::new();
            let (src, method, generation) = made;
            let inserted = pairs.insert_from(&cache, request(src, method), generation);
            prop_assert_eq!(
                inserted,
                cache.bounds(request(src, method), generation).is_some()
                    && cache.bounds(response_of(request(src, method)), generation).is_some()
            );

            let (src, method, generation) = asked;
            let k = request(src, method);
            let pair_hit = pairs
                .request_allows(k, generation, &req_words)
                .is_some_and(|p| p.response_allows(&resp_words));
            let singles_allow = cache.allows(k, generation, &req_words)
                && cache.allows(response_of(k), generation, &resp_words);
            // The singles may have been evicted or replaced since (direct-
            // mapped), so a pair hit implies what they said when the pair
            // was made; with nothing inserted since, that is what they say
            // now.
            prop_assert!(!pair_hit || singles_allow);
            if inserted && made == asked {
                prop_assert_eq!(pair_hit, singles_allow);
            }
        }
    }

    #[test]
    fn only_requests_make_pairs() {
        let any = Shape::of(&[FieldType::U64; 4]).unwrap();
        let mut cache = VerdictCache::new();
        let k = request(1, 0);
        cache.insert(k, 5, any);
        cache.insert(response_of(k), 5, any);
        let mut pairs = PairCache::new();
        assert!(!pairs.insert_from(&cache, response_of(k), 5));
        assert!(pairs.request_allows(response_of(k), 5, &[0; 4]).is_none());
        assert!(pairs.insert_from(&cache, k, 5));
        assert!(pairs.request_allows(k, 5, &[1, 2, 3, 4]).is_some());
        assert!(
            pairs.request_allows(k, 6, &[1, 2, 3, 4]).is_none(),
            "generation"
        );
        pairs.clear();
        assert!(pairs.request_allows(k, 5, &[1, 2, 3, 4]).is_none());
    }

    #[test]
    fn response_shape_is_checked() {
        let mut cache = VerdictCache::new();
        let k = request(2, 1);
        cache.insert(k, 0, Shape::of(&[]).unwrap());
        cache.insert(response_of(k), 0, Shape::of(&[FieldType::U8]).unwrap());
        let mut pairs = PairCache::new();
        assert!(pairs.insert_from(&cache, k, 0));
        assert!(
            pairs.request_allows(k, 0, &[1, 0, 0, 0]).is_none(),
            "request words"
        );
        let p = pairs.request_allows(k, 0, &[0; 4]).unwrap();
        assert!(p.response_allows(&[255, 0, 0, 0]));
        assert!(!p.response_allows(&[256, 0, 0, 0]));
        assert!(!p.response_allows(&[0, 1, 0, 0]));
    }
}
