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
                restarts: 0,
                on_demand: false,
                instances: 1,
            },
            ProgramSpec {
                name: "hello-1".into(),
                image: "hello".into(),
                priority: 31,
                affinity: 0,
                arg: u64::MAX,
                expect: Expect::Exit(-7),
                restarts: 0,
                on_demand: false,
                instances: 1,
            },
            ProgramSpec {
                name: "crash".into(),
                image: "crash".into(),
                priority: 1,
                affinity: u64::MAX,
                arg: 42,
                expect: Expect::Fault,
                restarts: 3,
                on_demand: false,
                instances: 1,
            },
            ProgramSpec {
                name: "paint".into(),
                image: "paint".into(),
                priority: 8,
                affinity: 0,
                arg: 1,
                expect: Expect::Any,
                restarts: 1,
                on_demand: true,
                instances: 3,
            },
        ],
        channels: vec![
            channel("echo", "hello-1", "spinner"),
            ChannelSpec {
                grant: true,
                ..channel("log", "crash", "hello-1")
            },
            // Same name, different client: allowed.
            channel("echo", "crash", "spinner"),
            // Second channel of one client to the same server: allowed.
            channel("echo2", "hello-1", "spinner"),
            // An on-demand program may be a client.
            channel("echo", "paint", "spinner"),
        ],
        devices: vec![
            DeviceSpec {
                program: "spinner".into(),
                select: "1af4:1050".into(),
            },
            DeviceSpec {
                program: "crash".into(),
                select: "class:03".into(),
            },
        ],
    }
}

#[test]
fn device_selections_are_checked() {
    let mut s = sample_solution();
    s.devices[0].program = "nobody".into();
    assert_eq!(
        s.encode(),
        Err(ImageError::BadSolution("device selection names no program"))
    );
    let mut s = sample_solution();
    s.devices[1].select = "1af4".into();
    assert!(matches!(s.encode(), Err(ImageError::BadSolution(_))));
    let s = sample_solution();
    assert_eq!(Solution::decode(&s.encode().unwrap()), Ok(s));
}

fn channel(name: &str, client: &str, server: &str) -> ChannelSpec {
    ChannelSpec {
        name: name.into(),
        client: client.into(),
        server: server.into(),
        grant: false,
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

/// The sample without device selections: its channel list ends the
/// encoding but for the device count (two zero bytes).
fn without_devices() -> Solution {
    let mut s = sample_solution();
    s.devices.clear();
    s
}

#[test]
fn solution_without_channels_round_trips() {
    let mut s = without_devices();
    s.channels.clear();
    let bytes = s.encode().unwrap();
    // The channel count and the device count are the last fields.
    assert_eq!(&bytes[bytes.len() - 4..], &[0, 0, 0, 0]);
    assert_eq!(Solution::decode(&bytes), Ok(s));
}

#[test]
fn solution_rejects_old_format() {
    for old in [b"TSSOL001", b"TSSOL002", b"TSSOL003"] {
        let mut bytes = sample_solution().encode().unwrap();
        bytes[..8].copy_from_slice(old);
        assert_eq!(
            Solution::decode(&bytes),
            Err(ImageError::BadSolution("bad magic"))
        );
    }
}

#[test]
fn on_demand_rules() {
    let s = sample_solution();
    let back = Solution::decode(&s.encode().unwrap()).unwrap();
    assert!(back.programs[3].on_demand);
    assert_eq!(back.programs[3].instances, 3);
    assert_eq!(back.programs[3].instance_label(1), "paint-1");
    assert_eq!(back.programs[0].instance_label(1), "spinner");
    let mut bad = sample_solution();
    bad.programs[3].instances = MAX_ON_DEMAND_INSTANCES + 1;
    assert_rejected(
        &bad,
        ImageError::BadSolution("an on-demand program has 1..=8 instances"),
    );
    bad.programs[3].instances = 0;
    assert_rejected(
        &bad,
        ImageError::BadSolution("an on-demand program has 1..=8 instances"),
    );
    let mut bad = sample_solution();
    bad.programs[0].instances = 2;
    assert_rejected(
        &bad,
        ImageError::BadSolution("a boot program has exactly one instance"),
    );
    // `spinner` serves channels and has a device.
    let mut bad = sample_solution();
    bad.programs[0].on_demand = true;
    assert_rejected(
        &bad,
        ImageError::BadSolution("an on-demand program cannot serve a channel"),
    );
    let mut bad = sample_solution();
    bad.devices.push(DeviceSpec {
        program: "paint".into(),
        select: "1af4:1050".into(),
    });
    assert_rejected(
        &bad,
        ImageError::BadSolution("an on-demand program cannot have devices"),
    );
    let mut bad = sample_solution();
    bad.programs[3].expect = Expect::Exit(0);
    assert_rejected(
        &bad,
        ImageError::BadSolution("an on-demand program can only be expected to end any way"),
    );
}

#[test]
fn restart_rules() {
    let mut s = sample_solution();
    s.programs[2].restarts = MAX_RESTARTS;
    let bytes = s.encode().unwrap();
    assert_eq!(Solution::decode(&bytes).unwrap().programs[2].restarts, 8);
    // One more than the limit, in the description and forged in the bytes.
    s.programs[2].restarts = MAX_RESTARTS + 1;
    assert_rejected(&s, ImageError::BadSolution("more than 8 restarts"));
    // `hello-1` serves the `log` channel of `crash`.
    let mut server = sample_solution();
    server.programs[1].restarts = 1;
    assert_rejected(
        &server,
        ImageError::BadSolution("a program that serves a channel cannot be restarted"),
    );
}

/// `s` is rejected with `err` by `encode`, and its forged encoding by
/// `decode`.
#[track_caller]
fn assert_rejected(s: &Solution, err: ImageError) {
    assert_eq!(s.encode().err().as_ref(), Some(&err));
    assert_eq!(Solution::decode(&s.encode_unchecked()), Err(err));
}

/// The sample solution with its first channel replaced.
fn with_channel(name: &str, client: &str, server: &str) -> Solution {
    let mut s = sample_solution();
    s.channels[0] = channel(name, client, server);
    s
}

#[test]
fn channel_name_rules() {
    let ok = with_channel(&"n".repeat(CHANNEL_NAME_LEN), "hello-1", "spinner");
    assert_eq!(Solution::decode(&ok.encode().unwrap()), Ok(ok));
    let ok = with_channel("a_b-9", "hello-1", "spinner");
    assert!(ok.encode().is_ok());

    assert_rejected(
        &with_channel(&"n".repeat(CHANNEL_NAME_LEN + 1), "hello-1", "spinner"),
        ImageError::BadSolution("channel name longer than 24 bytes"),
    );
    // Longer than any encoded string: the reader stops at NAME_LEN.
    let huge = with_channel(&"n".repeat(NAME_LEN + 1), "hello-1", "spinner");
    assert_eq!(
        huge.encode(),
        Err(ImageError::BadSolution("channel name longer than 24 bytes"))
    );
    assert_eq!(
        Solution::decode(&huge.encode_unchecked()),
        Err(ImageError::NameTooLong)
    );
    assert_rejected(
        &with_channel("", "hello-1", "spinner"),
        ImageError::BadSolution("empty channel name"),
    );
    for bad in ["Echo", "e cho", "e\0", "e.x", "é"] {
        assert_rejected(
            &with_channel(bad, "hello-1", "spinner"),
            ImageError::BadSolution("channel name has a character outside [a-z0-9_-]"),
        );
    }
}

#[test]
fn channel_ends_must_name_programs() {
    assert_rejected(
        &with_channel("echo", "hello", "spinner"),
        ImageError::BadSolution("channel client names no program"),
    );
    assert_rejected(
        &with_channel("echo", "hello-1", "spin"),
        ImageError::BadSolution("channel server names no program"),
    );
    assert_rejected(
        &with_channel("echo", "", "spinner"),
        ImageError::BadSolution("empty name or NUL in name"),
    );
    assert_rejected(
        &with_channel("echo", "hello-1", &"s".repeat(NAME_LEN + 1)),
        ImageError::NameTooLong,
    );
    // A solution without programs can have no channels.
    let mut s = sample_solution();
    s.programs.clear();
    assert_rejected(
        &s,
        ImageError::BadSolution("channel client names no program"),
    );
}

#[test]
fn channel_to_itself_is_rejected() {
    assert_rejected(
        &with_channel("echo", "spinner", "spinner"),
        ImageError::BadSolution("channel from a domain to itself (client == server)"),
    );
}

#[test]
fn duplicate_channel_name_of_one_client_is_rejected() {
    let mut s = sample_solution();
    // Same client and name, even to another server (`crash`, which then
    // may not be restarted).
    s.programs[2].restarts = 0;
    s.channels.push(channel("echo", "hello-1", "crash"));
    assert_rejected(
        &s,
        ImageError::BadSolution("two channels of one client have the same name"),
    );
    // An exact repeat too.
    let mut s = sample_solution();
    s.channels.push(s.channels[2].clone());
    assert_rejected(
        &s,
        ImageError::BadSolution("two channels of one client have the same name"),
    );
}

#[test]
fn channel_count_limit() {
    let mut s = without_devices();
    s.channels = (0..MAX_CHANNELS)
        .map(|i| channel(&alloc::format!("c{i}"), "hello-1", "spinner"))
        .collect();
    let bytes = s.encode().unwrap();
    assert_eq!(Solution::decode(&bytes), Ok(s.clone()));
    s.channels.push(channel("one-too-many", "crash", "spinner"));
    assert_rejected(&s, ImageError::BadSolution("too many channels"));
    // A forged count over the limit is rejected before the list is read.
    let mut forged = without_devices().encode().unwrap();
    let mut empty = without_devices();
    empty.channels.clear();
    let at = empty.encode().unwrap().len() - 4;
    forged[at..at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        Solution::decode(&forged),
        Err(ImageError::BadSolution("too many channels"))
    );
}

#[test]
fn channel_count_must_match_the_list() {
    let s = without_devices();
    let bytes = s.encode().unwrap();
    let mut empty = s.clone();
    empty.channels.clear();
    let at = empty.encode().unwrap().len() - 4;
    let n = s.channels.len() as u16;
    let mut more = bytes.clone();
    more[at..at + 2].copy_from_slice(&(n + 1).to_le_bytes());
    assert_eq!(Solution::decode(&more), Err(ImageError::Truncated));
    // One channel fewer: the last channel's bytes are read as the device
    // list, which does not decode.
    let mut fewer = bytes;
    fewer[at..at + 2].copy_from_slice(&(n - 1).to_le_bytes());
    assert!(matches!(
        Solution::decode(&fewer),
        Err(ImageError::BadSolution(_) | ImageError::Truncated)
    ));
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
        0..=MAX_RESTARTS,
        prop_oneof![Just(None), (1..=MAX_ON_DEMAND_INSTANCES).prop_map(Some)],
    )
        .prop_map(
            |(name, image, priority, affinity, arg, expect, restarts, on_demand)| ProgramSpec {
                name,
                image,
                priority,
                affinity,
                arg,
                expect: if on_demand.is_some() {
                    Expect::Any
                } else {
                    expect
                },
                restarts,
                on_demand: on_demand.is_some(),
                instances: on_demand.unwrap_or(1),
            },
        )
}

fn channel_name_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9_-]{1,24}"
}

fn solution_strategy() -> impl Strategy<Value = Solution> {
    (
        name_strategy(),
        any::<bool>(),
        proptest::collection::vec(program_strategy(), 0..8),
        proptest::collection::vec(
            (
                // Few distinct names, so the same name for several clients
                // is common.
                prop_oneof![
                    channel_name_strategy(),
                    Just(String::from("echo")),
                    Just(String::from("log")),
                ],
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
            ),
            0..16,
        ),
    )
        .prop_map(|(name, exit_when_done, mut programs, raw_channels)| {
            // Make program names unique by suffixing their index.
            for (i, p) in programs.iter_mut().enumerate() {
                p.name.truncate(NAME_LEN - 3);
                p.name.push_str(&alloc::format!("-{i}"));
            }
            // Keep only the channels the rules allow: two different domains,
            // a name not yet used by that client.
            let mut channels: Vec<ChannelSpec> = Vec::new();
            if !programs.is_empty() {
                for (name, client, server) in raw_channels {
                    let client = &programs[client.index(programs.len())].name;
                    let server = &programs[server.index(programs.len())].name;
                    let taken = channels
                        .iter()
                        .any(|c| &c.client == client && c.name == name);
                    if client != server && !taken {
                        channels.push(channel(&name, client, server));
                    }
                }
            }
            // Servers cannot be restarted or started on demand.
            for p in programs.iter_mut() {
                if channels.iter().any(|c| c.server == p.name) {
                    p.restarts = 0;
                    p.on_demand = false;
                    p.instances = 1;
                }
            }
            Solution {
                name,
                exit_when_done,
                programs,
                channels,
                devices: Vec::new(),
            }
        })
}

/// What every decoded solution guarantees about its channels.
fn channels_are_consistent(s: &Solution) -> bool {
    let is_domain = |n: &str| s.programs.iter().any(|p| p.name == n);
    s.channels.len() <= MAX_CHANNELS
        && s.channels.iter().enumerate().all(|(i, c)| {
            !c.name.is_empty()
                && c.name.len() <= CHANNEL_NAME_LEN
                && is_domain(&c.client)
                && is_domain(&c.server)
                && c.client != c.server
                && !s.channels[..i]
                    .iter()
                    .any(|d| d.client == c.client && d.name == c.name)
        })
}

proptest! {
    #[test]
    fn prop_solution_round_trip(s in solution_strategy()) {
        let bytes = s.encode().unwrap();
        prop_assert_eq!(s.encode_unchecked(), bytes.clone());
        prop_assert_eq!(Solution::decode(&bytes), Ok(s));
    }

    #[test]
    fn prop_decode_never_panics_on_forged_solutions(
        s in solution_strategy(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..6),
            1..4,
        ),
    ) {
        // Break the structure rather than the bytes: rewire channel ends,
        // repeat channels, rename things. Whatever decode accepts must be
        // consistent and re-encode to the same bytes.
        let mut s = s;
        let names = ["", "echo", "Echo", "hello-1", "x\0y", "n234567890123456789012345"];
        for (a, b, kind) in edits {
            let domains: Vec<String> = s.programs.iter().map(|p| p.name.clone()).collect();
            let pick = |i: prop::sample::Index| {
                if domains.is_empty() { String::from("ghost") } else { domains[i.index(domains.len())].clone() }
            };
            match (kind, s.channels.is_empty()) {
                (0, false) => {
                    let i = a.index(s.channels.len());
                    s.channels[i].client = pick(b);
                }
                (1, false) => {
                    let i = a.index(s.channels.len());
                    s.channels[i].server = pick(b);
                }
                (2, false) => {
                    let c = s.channels[a.index(s.channels.len())].clone();
                    s.channels.push(c);
                }
                (3, false) => {
                    let i = a.index(s.channels.len());
                    s.channels[i].name = String::from(names[b.index(names.len())]);
                }
                (4, _) if !s.programs.is_empty() => {
                    let i = a.index(s.programs.len());
                    s.programs[i].name = String::from(names[b.index(names.len())]);
                }
                _ => s.channels.push(channel(names[b.index(names.len())], &pick(a), &pick(b))),
            }
        }
        let bytes = s.encode_unchecked();
        let decoded = Solution::decode(&bytes);
        prop_assert_eq!(decoded.is_ok(), s.encode().is_ok());
        if let Ok(d) = decoded {
            prop_assert!(channels_are_consistent(&d));
            prop_assert_eq!(d.encode().unwrap(), bytes);
            prop_assert_eq!(d, s);
        }
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
            prop_assert!(channels_are_consistent(&decoded));
            // Decode and encode stay symmetric on whatever survived.
            prop_assert_eq!(decoded.encode().unwrap(), sol_bytes.clone());
        }
        let n = cut.index(bytes.len());
        let _ = BootImage::parse(&bytes[..n]);
        let _ = Solution::decode(&sol_bytes[..cut.index(sol_bytes.len())]);
    }
}
