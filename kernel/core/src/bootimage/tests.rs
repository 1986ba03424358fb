//! Tests for the parent module.

use super::*;
use alloc::vec;
use proptest::prelude::*;

fn sample_solution() -> Solution {
    Solution {
        name: "preempt".into(),
        exit_when_done: true,
        programs: vec![
            ProgramSpec {
                name: "spinner".into(),
                image: "spinner".into(),
                priority: 8,
                affinity: 1 << 1,
                arg: 0,
                expect: Expect::Any,
            },
            ProgramSpec {
                name: "hello-1".into(),
                image: "hello".into(),
                priority: 31,
                affinity: 0,
                arg: u64::MAX,
                expect: Expect::Exit(-7),
            },
            ProgramSpec {
                name: "crash".into(),
                image: "crash".into(),
                priority: 1,
                affinity: u64::MAX,
                arg: 42,
                expect: Expect::Fault,
            },
        ],
    }
}

#[test]
fn image_round_trip_and_alignment() {
    let big = vec![0xabu8; 10_000];
    let entries: [(&str, &[u8]); 4] = [
        ("solution", b"sol"),
        ("hello", &big),
        ("empty", b""),
        ("x", b"1"),
    ];
    let bytes = build_image(&entries).unwrap();
    let image = BootImage::parse(&bytes).unwrap();
    assert_eq!(image.len(), 4);
    assert!(!image.is_empty());
    let got: Vec<_> = image.entries().collect();
    assert_eq!(got, entries.to_vec());
    assert_eq!(image.get("hello"), Some(&big[..]));
    assert_eq!(image.get("empty"), Some(&b""[..]));
    assert_eq!(image.get("nope"), None);
    for (_, data) in image.entries() {
        let offset = data.as_ptr() as usize - bytes.as_ptr() as usize;
        assert_eq!(offset % DATA_ALIGN, 0);
    }
}

#[test]
fn empty_image() {
    let bytes = build_image(&[]).unwrap();
    let image = BootImage::parse(&bytes).unwrap();
    assert!(image.is_empty());
    assert_eq!(image.entries().count(), 0);
}

#[test]
fn trailing_padding_is_ignored() {
    let mut bytes = build_image(&[("a", b"data")]).unwrap();
    bytes.extend_from_slice(&[0xff; 100]);
    let image = BootImage::parse(&bytes).unwrap();
    assert_eq!(image.get("a"), Some(&b"data"[..]));
}

#[test]
fn build_rejects_bad_names() {
    let long = "x".repeat(NAME_LEN + 1);
    let exact = "y".repeat(NAME_LEN);
    assert_eq!(build_image(&[(&long, b"")]), Err(ImageError::NameTooLong));
    assert!(build_image(&[(&exact, b"")]).is_ok());
    assert_eq!(build_image(&[("", b"")]), Err(ImageError::BadEntry));
    assert_eq!(build_image(&[("a\0b", b"")]), Err(ImageError::BadEntry));
    assert_eq!(
        build_image(&[("a", b""), ("a", b"1")]),
        Err(ImageError::Duplicate)
    );
    let many: Vec<String> = (0..=MAX_ENTRIES).map(|i| alloc::format!("e{i}")).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|n| (n.as_str(), &b""[..])).collect();
    assert_eq!(build_image(&many), Err(ImageError::BadEntry));
    assert!(build_image(&many[..MAX_ENTRIES]).is_ok());
}

#[test]
fn parse_rejects_malformed_archives() {
    let good = build_image(&[("a", b"aaaa"), ("b", b"bbbb")]).unwrap();
    assert_eq!(
        BootImage::parse(&good[..10]).unwrap_err(),
        ImageError::Truncated
    );
    assert_eq!(
        BootImage::parse(&good[..good.len() - 1]).unwrap_err(),
        ImageError::Truncated
    );

    let mut bad = good.clone();
    bad[0] = b'X';
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadMagic);

    // Second entry renamed to "a": duplicate.
    let mut bad = good.clone();
    bad[HEADER_LEN + ENTRY_LEN + ENTRY_NAME_AT] = b'a';
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::Duplicate);

    // Name length over NAME_LEN.
    let mut bad = good.clone();
    bad[HEADER_LEN + 16] = NAME_LEN as u8 + 1;
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::NameTooLong);

    // Misaligned data offset.
    let mut bad = good.clone();
    bad[HEADER_LEN] = 1;
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadEntry);

    // Second entry's data overlapping the first's.
    let mut bad = good.clone();
    bad[HEADER_LEN + ENTRY_LEN..HEADER_LEN + ENTRY_LEN + 8]
        .copy_from_slice(&(DATA_ALIGN as u64).to_le_bytes());
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadEntry);

    // Non-zero padding after the name.
    let mut bad = good.clone();
    bad[HEADER_LEN + ENTRY_NAME_AT + 5] = b'z';
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadEntry);

    // Reserved header field.
    let mut bad = good.clone();
    bad[12] = 1;
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadEntry);

    // Huge entry count.
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::BadEntry);

    // Data length pointing past the end.
    let mut bad = good;
    bad[HEADER_LEN + 8..HEADER_LEN + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(BootImage::parse(&bad).unwrap_err(), ImageError::Truncated);
}

#[test]
fn solution_round_trip() {
    let s = sample_solution();
    let bytes = s.encode().unwrap();
    assert_eq!(Solution::decode(&bytes), Ok(s));
}

#[test]
fn solution_rejects_bad_priority() {
    for bad in [0u8, 32, 255] {
        let mut s = sample_solution();
        s.programs[0].priority = bad;
        assert!(matches!(s.encode(), Err(ImageError::BadSolution(_))));
        // Forge the bytes directly: decode must reject them too.
        s.programs[0].priority = 8;
        let mut bytes = s.encode().unwrap();
        let at = priority_offset(&s);
        assert_eq!(bytes[at], 8);
        bytes[at] = bad;
        assert!(matches!(
            Solution::decode(&bytes),
            Err(ImageError::BadSolution(_))
        ));
    }
}

/// Offset of the first program's priority byte in the encoding.
fn priority_offset(s: &Solution) -> usize {
    let p = &s.programs[0];
    8 + 1 + 1 + s.name.len() + 2 + 1 + p.name.len() + 1 + p.image.len()
}

#[test]
fn solution_rejects_malformed() {
    let s = sample_solution();
    let bytes = s.encode().unwrap();
    for cut in 0..bytes.len() {
        assert!(Solution::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert_eq!(
        Solution::decode(&extra),
        Err(ImageError::BadSolution("trailing bytes"))
    );
    let mut magic = bytes.clone();
    magic[0] = 0;
    assert_eq!(
        Solution::decode(&magic),
        Err(ImageError::BadSolution("bad magic"))
    );
    let mut flags = bytes;
    flags[8] = 0x80;
    assert_eq!(
        Solution::decode(&flags),
        Err(ImageError::BadSolution("unknown flags"))
    );

    let mut dup = sample_solution();
    dup.programs[1].name = dup.programs[0].name.clone();
    assert_eq!(dup.encode(), Err(ImageError::Duplicate));
    let mut long = sample_solution();
    long.programs[0].image = "i".repeat(NAME_LEN + 1);
    assert_eq!(long.encode(), Err(ImageError::NameTooLong));
    let mut empty = sample_solution();
    empty.name.clear();
    assert!(matches!(empty.encode(), Err(ImageError::BadSolution(_))));
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9_-]{1,32}"
}

fn expect_strategy() -> impl Strategy<Value = Expect> {
    prop_oneof![
        Just(Expect::Any),
        Just(Expect::Fault),
        any::<i64>().prop_map(Expect::Exit),
    ]
}

fn program_strategy() -> impl Strategy<Value = ProgramSpec> {
    (
        name_strategy(),
        name_strategy(),
        1u8..=31,
        any::<u64>(),
        any::<u64>(),
        expect_strategy(),
    )
        .prop_map(
            |(name, image, priority, affinity, arg, expect)| ProgramSpec {
                name,
                image,
                priority,
                affinity,
                arg,
                expect,
            },
        )
}

fn solution_strategy() -> impl Strategy<Value = Solution> {
    (
        name_strategy(),
        any::<bool>(),
        proptest::collection::vec(program_strategy(), 0..8),
    )
        .prop_map(|(name, exit_when_done, mut programs)| {
            // Make program names unique by suffixing their index.
            for (i, p) in programs.iter_mut().enumerate() {
                p.name.truncate(NAME_LEN - 3);
                p.name.push_str(&alloc::format!("-{i}"));
            }
            Solution {
                name,
                exit_when_done,
                programs,
            }
        })
}

proptest! {
    #[test]
    fn prop_solution_round_trip(s in solution_strategy()) {
        let bytes = s.encode().unwrap();
        prop_assert_eq!(Solution::decode(&bytes), Ok(s));
    }

    #[test]
    fn prop_image_round_trip(
        blobs in proptest::collection::btree_map(name_strategy(), proptest::collection::vec(any::<u8>(), 0..9000), 0..6)
    ) {
        let entries: Vec<(&str, &[u8])> = blobs.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        let bytes = build_image(&entries).unwrap();
        let image = BootImage::parse(&bytes).unwrap();
        prop_assert_eq!(image.entries().collect::<Vec<_>>(), entries.clone());
        for (name, data) in &entries {
            prop_assert_eq!(image.get(name), Some(*data));
        }
    }

    #[test]
    fn prop_parse_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = BootImage::parse(&bytes);
        let _ = Solution::decode(&bytes);
        // The same bytes behind a valid magic get further into the parsers.
        let mut image = IMAGE_MAGIC.to_vec();
        image.extend_from_slice(&bytes);
        let _ = BootImage::parse(&image);
        let mut sol = SOLUTION_MAGIC.to_vec();
        sol.extend_from_slice(&bytes);
        let _ = Solution::decode(&sol);
    }

    #[test]
    fn prop_parse_never_panics_on_mutated_images(
        s in solution_strategy(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let sol = s.encode().unwrap();
        let elf = vec![0x7fu8; 300];
        let mut bytes = build_image(&[(SOLUTION_ENTRY, &sol), ("prog", &elf)]).unwrap();
        let mut sol_bytes = sol.clone();
        for (k, (at, value)) in flips.iter().enumerate() {
            // Half of the flips land in the header and table, where the
            // parser makes its decisions; the rest anywhere.
            let span = if k % 2 == 0 { bytes.len().min(HEADER_LEN + 2 * ENTRY_LEN) } else { bytes.len() };
            let i = at.index(span);
            bytes[i] = *value;
            let j = at.index(sol_bytes.len());
            sol_bytes[j] = *value;
        }
        if let Ok(image) = BootImage::parse(&bytes) {
            // Whatever survived validation must be readable.
            for (name, data) in image.entries() {
                prop_assert!(!name.is_empty() && name.len() <= NAME_LEN);
                let start = data.as_ptr() as usize - bytes.as_ptr() as usize;
                prop_assert_eq!(start % DATA_ALIGN, 0);
            }
            if let Some(sol) = image.get(SOLUTION_ENTRY) {
                let _ = Solution::decode(sol);
            }
        }
        if let Ok(decoded) = Solution::decode(&sol_bytes) {
            for p in &decoded.programs {
                prop_assert!((MIN_PRIORITY..=MAX_PRIORITY).contains(&p.priority));
            }
        }
        let n = cut.index(bytes.len());
        let _ = BootImage::parse(&bytes[..n]);
        let _ = Solution::decode(&sol_bytes[..cut.index(sol_bytes.len())]);
    }
}
