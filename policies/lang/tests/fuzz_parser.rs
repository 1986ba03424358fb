//! Structured fuzzing on stable: random and mutated policy sources fed to
//! `compile`, which must never panic (errors are fine). CI runs it briefly;
//! `PROPTEST_CASES=100000 cargo test -p tessera-policy --test fuzz_parser`
//! runs it longer.

mod common;
use common::{ifaces, solution};
use proptest::prelude::*;

const SEED: &str = include_str!("../../examples/files.policy");

const TOKENS: &[&str] = &[
    "allow",
    "deny",
    "request",
    "response",
    "execute",
    "client",
    "echo",
    "fs",
    "kernel",
    "*",
    "->",
    "Echo",
    ".",
    "ping",
    "Files",
    "open",
    "read",
    "where",
    "if",
    "then",
    "audit",
    "no",
    "and",
    "or",
    "not",
    "in",
    "a",
    "ms",
    "v",
    "on",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "..",
    "..=",
    "-",
    "0",
    "255",
    "0xffffffffffffffff",
    "99999999999999999999999999999999999999999",
    "true",
    "false",
    ";",
    ":",
    ",",
    "{",
    "}",
    "(",
    ")",
    "|",
    "machine",
    "states",
    "file",
    "closed",
    "//",
    "\n",
    "é",
    "\u{0}",
    "Memory",
    "map",
    "prot",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_parser(
        toks in prop::collection::vec(prop::sample::select(TOKENS), 0..60),
        muts in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..3), 0..6),
        raw in ".{0,40}",
    ) {
        // 1. Token soup.
        let soup = toks.join(" ");
        let _ = policy::compile("soup.policy", &soup, &ifaces(), &solution());
        // 2. A real policy with spliced tokens, deletions and raw text.
        let mut src = SEED.to_string();
        for (at, tok, how) in muts {
            let mut i = at.index(src.len() + 1);
            while !src.is_char_boundary(i) {
                i -= 1;
            }
            match how {
                0 => src.insert_str(i, TOKENS[tok.index(TOKENS.len())]),
                1 => {
                    let mut j = (i + 1 + tok.index(8)).min(src.len());
                    while !src.is_char_boundary(j) {
                        j -= 1;
                    }
                    src.replace_range(i..j.max(i), "");
                }
                _ => src.insert_str(i, &raw),
            }
        }
        if let Err(e) = policy::compile("mutated.policy", &src, &ifaces(), &solution()) {
            prop_assert!(e.contains("error"));
        }
    }
}
