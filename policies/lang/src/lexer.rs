//! The lexer: source text to tokens with byte spans.
//!
//! Identifiers may contain `-` between alphanumerics (program names such as
//! `input-service`), but never before `>`, so `client->echo` lexes as
//! `client`, `->`, `echo`. Keywords are ordinary identifiers here; the parser
//! decides. Comments run from `//` to the end of the line.

use crate::diag::Diag;
use core::ops::Range;

/// A token kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword.
    Ident(String),
    /// An integer literal (decimal, `0x` hex or `0b` binary, `_` allowed).
    Int(u128),
    /// Punctuation: one of `-> * . , ; : { } ( ) | == != < <= > >= .. ..= -`.
    Punct(&'static str),
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Byte range in the source.
    pub span: Range<usize>,
}

const PUNCTS: [&str; 20] = [
    "->", "..=", "..", "==", "!=", "<=", ">=", "*", ".", ",", ";", ":", "{", "}", "(", ")", "|",
    "<", ">", "-",
];

/// Splits `src` into tokens; the last one is [`Tok::Eof`].
pub fn lex(src: &str) -> Result<Vec<Token>, Diag> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() {
                let d = b[i];
                let dash_ok = d == b'-'
                    && b.get(i + 1)
                        .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_');
                if d.is_ascii_alphanumeric() || d == b'_' || dash_ok {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: start..i,
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let text = src[start..i].replace('_', "");
            let (digits, radix) = if let Some(h) = text.strip_prefix("0x") {
                (h, 16)
            } else if let Some(h) = text.strip_prefix("0b") {
                (h, 2)
            } else {
                (text.as_str(), 10)
            };
            let v = u128::from_str_radix(digits, radix).map_err(|_| {
                let msg = if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) {
                    "integer literal is too large"
                } else {
                    "invalid integer literal"
                };
                Diag::error(start..i, msg).label("here")
            })?;
            out.push(Token {
                tok: Tok::Int(v),
                span: start..i,
            });
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            out.push(Token {
                tok: Tok::Punct(p),
                span: i..i + p.len(),
            });
            i += p.len();
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            let end = i + ch.len_utf8();
            return Err(Diag::error(i..end, format!("unexpected character `{ch}`"))
                .label("not part of the policy language"));
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: b.len()..b.len(),
    });
    Ok(out)
}
