//! Naming rules and the Rust names derived from interface-file names.
//!
//! Interface names are UpperCamelCase and method and field names snake_case,
//! so the generated Rust code follows Rust's own conventions without renaming
//! anything by surprise. The derived names (`serve_echo`, `PingReply`, ...)
//! come from the helpers here, which both the checker (to reject collisions and
//! keywords up front) and the generator use.

/// Rust keywords, strict and reserved (2024 edition): none may name a
/// generated item or parameter.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Crate names the generated code refers to by path; a generated module with
/// one of these names would hide the crate.
pub(crate) const RESERVED_MODULES: &[&str] = &["abi", "rt"];

/// Whether `s` is a Rust keyword.
pub(crate) fn is_rust_keyword(s: &str) -> bool {
    RUST_KEYWORDS.contains(&s)
}

/// `Echo`, `BlockDevice`, `Http2`: an uppercase letter, then letters and
/// digits.
pub(crate) fn is_upper_camel(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `ping`, `set_mode`, `read2`: a lowercase letter, then lowercase letters,
/// digits and single underscores, not ending in an underscore.
pub(crate) fn is_snake(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// `BlockDevice` -> `block_device`, `HTTPServer` -> `http_server`. Also
/// used to suggest a fix for a badly named method or field.
pub(crate) fn to_snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let after_word = prev.is_lowercase() || prev.is_ascii_digit();
            if (after_word || (prev.is_uppercase() && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
        }
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    out.trim_end_matches('_').to_string()
}

/// `set_mode` -> `SetMode`. Also used to suggest a fix for a badly named
/// interface.
pub(crate) fn to_upper_camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `set_mode` -> `SET_MODE`.
pub(crate) fn to_upper_snake(s: &str) -> String {
    s.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_checks() {
        for ok in ["Echo", "BlockDevice", "Http2", "X"] {
            assert!(is_upper_camel(ok), "{ok}");
        }
        for bad in ["echo", "Block_Device", "", "_X", "Éa"] {
            assert!(!is_upper_camel(bad), "{bad}");
        }
        for ok in ["ping", "set_mode", "read2", "a_1", "type_x"] {
            assert!(is_snake(ok), "{ok}");
        }
        for bad in ["Ping", "setMode", "_x", "x_", "a__b", "", "2a"] {
            assert!(!is_snake(bad), "{bad}");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(to_snake("Echo"), "echo");
        assert_eq!(to_snake("BlockDevice"), "block_device");
        assert_eq!(to_snake("HTTPServer"), "http_server");
        assert_eq!(to_snake("Http2Proxy"), "http2_proxy");
        assert_eq!(to_snake("setMode"), "set_mode");
        assert_eq!(to_snake("__Odd__Name_"), "odd_name");
        assert_eq!(to_upper_camel("set_mode"), "SetMode");
        assert_eq!(to_upper_camel("echo"), "Echo");
        assert_eq!(to_upper_camel("a__b_"), "AB");
        assert_eq!(to_upper_snake("set_mode2"), "SET_MODE2");
    }

    #[test]
    fn keywords() {
        assert!(is_rust_keyword("type"));
        assert!(is_rust_keyword("self"));
        assert!(!is_rust_keyword("ping"));
        assert!(!is_rust_keyword("union"), "contextual keywords are fine");
    }
}
