//! Property tests: the parser never panics and its spans are always
//! printable; printed models parse back to themselves; `Type::accepts`
//! agrees with an independent definition.

use idl::{Field, Interface, Method, Type};
use proptest::prelude::*;

const ECHO: &str = include_str!("../../interfaces/echo.idl");
const KITCHEN: &str = include_str!("golden/kitchen.idl");

/// Parses and, on failure, renders every diagnostic; checks every span is in
/// bounds. On success, generates code. Nothing may panic.
fn parse_and_render(src: &str) {
    match idl::parse("p.idl", src) {
        Ok(ifaces) => {
            let _ = idl::generate_rust(&ifaces);
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for d in &errors {
                assert!(d.span.start <= d.span.end, "{d:?}");
                assert!(d.span.end <= src.len(), "{d:?}");
                assert!(src.is_char_boundary(d.span.start) && src.is_char_boundary(d.span.end));
                assert!(!d.message.is_empty());
                let out = d.render(src);
                assert!(out.starts_with("error: "));
            }
        }
    }
}

/// Pieces that make mutations likely to reach deep into the grammar.
const VOCABULARY: &[&str] = &[
    "interface",
    "method",
    "{",
    "}",
    "(",
    ")",
    "->",
    "=",
    ";",
    ":",
    ",",
    "///",
    "//",
    "\n",
    "u8",
    "bool",
    "i64",
    "0x100",
    "0",
    "0xffff",
    "99999999999999999999",
    "caller",
    "type",
    "Echo",
    "é",
    "/*",
    "\"",
    "$",
    " ",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize, usize),
}

fn apply(src: &str, mutations: &[Mutation]) -> String {
    let mut s = src.to_string();
    let boundary = |s: &str, at: usize| {
        let mut at = at % (s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    for m in mutations {
        match *m {
            Mutation::Delete(a, len) => {
                let a = boundary(&s, a);
                let b = boundary(&s, (a + len % 16).min(s.len()));
                s.replace_range(a..b.max(a), "");
            }
            Mutation::Insert(at, word) => {
                let at = boundary(&s, at);
                s.insert_str(at, VOCABULARY[word % VOCABULARY.len()]);
            }
            Mutation::Duplicate(a, len, at) => {
                let a = boundary(&s, a);
                let b = boundary(&s, (a + len % 40).min(s.len())).max(a);
                let piece = s[a..b].to_string();
                let at = boundary(&s, at);
                s.insert_str(at, &piece);
            }
        }
    }
    s
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, w)| Mutation::Insert(a, w)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, l, t)| Mutation::Duplicate(a, l, t)),
    ]
}

// ---------------------------------------------------------------- printing

fn print(ifaces: &[Interface]) -> String {
    let mut out = String::new();
    let docs = |out: &mut String, doc: &str, indent: &str| {
        for line in doc.lines() {
            out.push_str(&format!("{indent}/// {line}\n"));
        }
    };
    let fields = |fs: &[Field]| {
        fs.iter()
            .map(|f| format!("{}: {}", f.name, f.ty.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for i in ifaces {
        docs(&mut out, &i.doc, "");
        out.push_str(&format!("interface {} = {:#x} {{\n", i.name, i.id));
        for m in &i.methods {
            docs(&mut out, &m.doc, "    ");
            out.push_str(&format!("    method {}({})", m.name, fields(&m.args)));
            if !m.results.is_empty() {
                out.push_str(&format!(" -> ({})", fields(&m.results)));
            }
            out.push_str(&format!(" = {};\n", m.id));
        }
        out.push_str("}\n\n");
    }
    out
}

fn ty() -> impl Strategy<Value = Type> {
    proptest::sample::select(Type::ALL.to_vec())
}

/// Distinct snake_case names (never `caller`, never a keyword: the `x`
/// prefix sees to both).
fn snake_names(max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("x[a-z0-9]{0,6}(_[a-z0-9]{1,4})?", 0..=max)
        .prop_map(|s| s.into_iter().collect())
}

fn doc() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z .,`é∑]{1,30}( ?\n[a-zA-Z .,]{1,30})?".prop_map(|s| {
            // A doc line keeps its inner spaces; the one after `///` is eaten,
            // and a line must not be empty or it is not a line at all.
            s.lines()
                .map(|l| l.trim_start().to_string())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
    ]
}

fn method() -> impl Strategy<Value = (Vec<Field>, Vec<Field>, String)> {
    let fields = || {
        (snake_names(4), proptest::collection::vec(ty(), 4)).prop_map(|(names, tys)| {
            names
                .into_iter()
                .zip(tys)
                .map(|(name, ty)| Field { name, ty })
                .collect::<Vec<_>>()
        })
    };
    (fields(), fields(), doc())
}

fn interfaces() -> impl Strategy<Value = Vec<Interface>> {
    let iface = (
        // The `X` keeps the module name clear of keywords, `abi` and `rt`.
        "X[a-zA-Z0-9]{0,8}",
        doc(),
        proptest::collection::btree_set(1u16..0xffff, 1..6),
        snake_names(6),
        proptest::collection::vec(method(), 6),
    )
        .prop_filter_map(
            "needs names for all methods",
            |(name, doc, ids, names, methods)| {
                let n = ids.len().min(names.len());
                if n == 0 {
                    return None;
                }
                let methods = ids
                    .into_iter()
                    .zip(names)
                    .zip(methods)
                    .map(|((id, name), (args, results, doc))| Method {
                        name,
                        id,
                        doc,
                        args,
                        results,
                        args_ool: None,
                        results_ool: None,
                    })
                    .collect::<Vec<_>>();
                Some(Interface {
                    name,
                    id: 0,
                    doc,
                    methods,
                })
            },
        );
    (
        proptest::collection::vec(iface, 1..4),
        proptest::collection::btree_set(0x100u16..=0xffff, 4),
    )
        .prop_filter_map("distinct generated names", |(mut ifaces, ids)| {
            for (i, id) in ifaces.iter_mut().zip(ids) {
                i.id = id;
            }
            let mut modules: Vec<String> = ifaces.iter().map(|i| i.name.to_lowercase()).collect();
            modules.sort();
            modules.dedup();
            // Method names whose CamelCase forms collide are rejected by
            // the checker; keep such cases out of the round trip.
            let camel_ok = ifaces.iter().all(|i| {
                let mut camel: Vec<String> =
                    i.methods.iter().map(|m| m.name.replace('_', "")).collect();
                camel.sort();
                camel.dedup();
                camel.len() == i.methods.len()
            });
            (modules.len() == ifaces.len() && camel_ok).then_some(ifaces)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        parse_and_render(&src);
    }

    #[test]
    fn token_soup_never_panics(words in proptest::collection::vec(0..VOCABULARY.len(), 0..60)) {
        let src: String = words.iter().map(|&w| VOCABULARY[w]).collect::<Vec<_>>().join(" ");
        parse_and_render(&src);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let src = apply(if which { ECHO } else { KITCHEN }, &mutations);
        parse_and_render(&src);
    }

    #[test]
    fn printed_models_parse_back(ifaces in interfaces()) {
        let text = print(&ifaces);
        match idl::parse("gen.idl", &text) {
            Ok(parsed) => prop_assert_eq!(parsed, ifaces),
            Err(errors) => prop_assert!(false, "{}\n{}", text, idl::render_all(&errors, &text)),
        }
    }

    /// `accepts` against a second definition: a word is valid when
    /// truncating it to the type and extending it back gives the same word.
    #[test]
    fn accepts_means_truncation_round_trips(word in prop_oneof![
        any::<u64>(),
        (0u64..300),
        any::<i16>().prop_map(|v| v as u64),
        any::<i32>().prop_map(|v| v as u64),
        (u64::MAX - 300..=u64::MAX),
    ]) {
        let signed = word as i64;
        prop_assert_eq!(Type::U8.accepts(word), u64::from(word as u8) == word);
        prop_assert_eq!(Type::U16.accepts(word), u64::from(word as u16) == word);
        prop_assert_eq!(Type::U32.accepts(word), u64::from(word as u32) == word);
        prop_assert_eq!(Type::I8.accepts(word), i64::from(signed as i8) == signed);
        prop_assert_eq!(Type::I16.accepts(word), i64::from(signed as i16) == signed);
        prop_assert_eq!(Type::I32.accepts(word), i64::from(signed as i32) == signed);
        prop_assert!(Type::U64.accepts(word) && Type::I64.accepts(word));
        prop_assert_eq!(Type::Bool.accepts(word), word == 0 || word == 1);
    }

    /// The shape checks are exactly "each value accepted, the rest zero".
    #[test]
    fn shape_checks_match_their_definition(
        tys in proptest::collection::vec(ty(), 0..=4),
        words in proptest::array::uniform4(prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()]),
    ) {
        let fields: Vec<Field> = tys.iter().enumerate().map(|(i, &ty)| Field { name: format!("f{i}"), ty }).collect();
        let m = Method { name: "m".into(), id: 1, doc: String::new(), args: fields.clone(), results: fields, args_ool: None, results_ool: None };
        let expected = (0..4).all(|i| match tys.get(i) {
            Some(t) => t.accepts(words[i]),
            None => words[i] == 0,
        });
        prop_assert_eq!(idl::request_shape_ok(&m, &words), expected);
        prop_assert_eq!(idl::reply_shape_ok(&m, &words), expected);
    }
}
