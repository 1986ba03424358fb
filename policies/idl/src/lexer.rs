//! The lexer: source text to tokens with byte spans.
//!
//! Whitespace and `//` comments are dropped; `///` doc comments are kept as
//! tokens because they document the next interface or method (`////` and
//! longer are plain comments, as in Rust). The lexer never stops early: a bad
//! character becomes a diagnostic and lexing goes on, so one typo does not hide
//! the rest of the file's errors.

use crate::diag::Diagnostic;
use core::ops::Range;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A name: `[A-Za-z_][A-Za-z0-9_]*` (`interface` and `method` included).
    Ident(String),
    /// A decimal or `0x` hexadecimal number, `_` allowed between digits.
    Number(u64),
    /// A `///` comment line, without `///` and one following space.
    Doc(String),
    /// Text the lexer already reported as an error. The parser stays quiet
    /// about it, so one mistake gives one diagnostic.
    Error,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Colon,
    Semi,
    Eq,
    Arrow,
}

impl TokenKind {
    /// How the token is named in "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            TokenKind::Ident(s) => format!("`{s}`"),
            TokenKind::Number(n) => format!("number `{n}`"),
            TokenKind::Doc(_) => "doc comment".to_string(),
            TokenKind::Error => "invalid text".to_string(),
            TokenKind::LBrace => "`{`".to_string(),
            TokenKind::RBrace => "`}`".to_string(),
            TokenKind::LParen => "`(`".to_string(),
            TokenKind::RParen => "`)`".to_string(),
            TokenKind::Comma => "`,`".to_string(),
            TokenKind::Colon => "`:`".to_string(),
            TokenKind::Semi => "`;`".to_string(),
            TokenKind::Eq => "`=`".to_string(),
            TokenKind::Arrow => "`->`".to_string(),
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// Splits `src` into tokens. Lexical errors are returned beside the tokens
/// that could be made.
pub(crate) fn lex(file: &str, src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        file,
        src,
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    file: &'a str,
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: start..self.pos,
        });
    }

    /// Reports an error; the caller pushes a [`TokenKind::Error`] token.
    fn error(&mut self, span: Range<usize>, message: String, hint: Option<&str>) {
        let mut d = Diagnostic::new(self.file, span, message);
        d.hint = hint.map(str::to_string);
        self.errors.push(d);
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if self.rest().starts_with("//") {
                self.comment(start);
            } else if self.rest().starts_with("/*") {
                // Skip the whole block so its contents add no errors.
                let len = self.rest().find("*/").map_or(self.rest().len(), |i| i + 2);
                self.pos += len;
                let msg = "block comments are not supported".to_string();
                self.error(
                    start..start + 2,
                    msg,
                    Some("use `//` at the start of each line"),
                );
            } else if c.is_alphabetic() || c == '_' {
                // Take the whole word, non-ASCII letters included, so a name
                // like `Über` is one error rather than a character error and
                // a stray name.
                self.pos += self
                    .rest()
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(self.rest().len());
                let word = &self.src[start..self.pos];
                if word.is_ascii() {
                    self.push(TokenKind::Ident(word.to_string()), start);
                } else {
                    let msg = format!("name `{word}` is not ASCII");
                    let hint = Some("names use ASCII letters, digits and `_`");
                    self.error(start..self.pos, msg, hint);
                    self.push(TokenKind::Error, start);
                }
            } else if c.is_ascii_digit() {
                self.number(start);
            } else if self.rest().starts_with("->") {
                self.pos += 2;
                self.push(TokenKind::Arrow, start);
            } else if let Some(kind) = punctuation(c) {
                self.pos += 1;
                self.push(kind, start);
            } else {
                self.stray(start, c);
            }
        }
    }

    /// Text that is no token. A run of such characters (`[]`, `<T>`'s
    /// brackets) or a quoted string is one error, not one per character.
    fn stray(&mut self, start: usize, c: char) {
        if c == '"' || c == '\'' {
            let line_end = self.rest().find('\n').unwrap_or(self.rest().len());
            let close = self.rest()[1..line_end].find(c).map_or(line_end, |i| i + 2);
            self.pos += close;
            let msg = "interface files have no string literals".to_string();
            self.error(
                start..self.pos,
                msg,
                Some("names and numbers are written bare"),
            );
            self.push(TokenKind::Error, start);
            return;
        }
        // The run ends where anything that could start a token starts.
        let starts_token = |c: char| {
            c.is_whitespace()
                || c.is_alphanumeric()
                || matches!(c, '_' | '/' | '-' | '"' | '\'')
                || punctuation(c).is_some()
        };
        let rest = &self.rest()[c.len_utf8()..];
        self.pos += c.len_utf8() + rest.find(starts_token).unwrap_or(rest.len());
        let text = &self.src[start..self.pos];
        let hint = match c {
            '/' => Some("comments start with `//`"),
            '-' | '>' => Some("results are introduced by `->`"),
            '[' | ']' | '<' | '&' | '*' => {
                Some("only scalar types are supported: u8 u16 u32 u64 i8 i16 i32 i64 bool")
            }
            _ => None,
        };
        let msg = if text.chars().count() == 1 {
            format!("unexpected character `{}`", printable(c))
        } else {
            format!(
                "unexpected characters `{}`",
                text.chars().map(printable).collect::<String>()
            )
        };
        self.error(start..self.pos, msg, hint);
        self.push(TokenKind::Error, start);
    }

    /// `//` to the end of the line; `///` (but not `////`) is a doc comment.
    fn comment(&mut self, start: usize) {
        let len = self.rest().find('\n').unwrap_or(self.rest().len());
        let text = &self.src[start..start + len];
        self.pos += len;
        if let Some(doc) = text.strip_prefix("///")
            && !doc.starts_with('/')
        {
            let doc = doc.trim_end_matches('\r');
            let doc = doc.strip_prefix(' ').unwrap_or(doc);
            self.push(TokenKind::Doc(doc.to_string()), start);
        }
    }

    /// A decimal or hexadecimal number. The whole alphanumeric run is taken
    /// as one token, so `12ab` is one bad number rather than a number and a
    /// name.
    fn number(&mut self, start: usize) {
        self.pos += self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let text = &self.src[start..self.pos];
        let (digits, radix) = match text.strip_prefix("0x") {
            Some(hex) => (hex, 16),
            None => (text, 10),
        };
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        if clean.is_empty() {
            let msg = format!("number `{text}` has no digits");
            self.error(start..self.pos, msg, Some("write e.g. `0x100` or `256`"));
            self.push(TokenKind::Error, start);
            return;
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix) && *c != '_') {
            let kind = if radix == 16 {
                "hexadecimal"
            } else {
                "decimal"
            };
            let hint = if radix == 10 && bad.is_ascii_hexdigit() {
                Some("hexadecimal numbers start with `0x`")
            } else {
                None
            };
            let msg = format!("invalid digit `{bad}` in {kind} number `{text}`");
            self.error(start..self.pos, msg, hint);
            self.push(TokenKind::Error, start);
            return;
        }
        match u64::from_str_radix(&clean, radix) {
            Ok(n) => self.push(TokenKind::Number(n), start),
            Err(_) => {
                let msg = format!("number `{text}` is too large");
                self.error(start..self.pos, msg, Some("ids are at most 0xffff"));
                self.push(TokenKind::Error, start);
            }
        }
    }
}

/// The token of a one-character punctuation mark.
fn punctuation(c: char) -> Option<TokenKind> {
    Some(match c {
        '{' => TokenKind::LBrace,
        '}' => TokenKind::RBrace,
        '(' => TokenKind::LParen,
        ')' => TokenKind::RParen,
        ',' => TokenKind::Comma,
        ':' => TokenKind::Colon,
        ';' => TokenKind::Semi,
        '=' => TokenKind::Eq,
        _ => return None,
    })
}

/// A character as it should appear in a message: control characters
/// escaped, everything else as it is.
fn printable(c: char) -> String {
    if c.is_control() {
        c.escape_debug().to_string()
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let (tokens, errors) = lex("t", src);
        assert!(errors.is_empty(), "{errors:?}");
        tokens.into_iter().map(|t| t.kind).collect()
    }

    fn only_error(src: &str) -> Diagnostic {
        let (_, mut errors) = lex("t", src);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn tokens_and_spans() {
        use TokenKind::*;
        let src = "interface E = 0x1_00 { m(a: u8) -> () = 12; }";
        assert_eq!(
            kinds(src),
            vec![
                Ident("interface".into()),
                Ident("E".into()),
                Eq,
                Number(0x100),
                LBrace,
                Ident("m".into()),
                LParen,
                Ident("a".into()),
                Colon,
                Ident("u8".into()),
                RParen,
                Arrow,
                LParen,
                RParen,
                Eq,
                Number(12),
                Semi,
                RBrace,
            ]
        );
        let (tokens, _) = lex("t", src);
        assert_eq!(&src[tokens[3].span.clone()], "0x1_00");
    }

    #[test]
    fn comments_and_docs() {
        use TokenKind::*;
        let src = "// plain\n///  two spaces\r\n////not doc\n///\nx // tail";
        assert_eq!(
            kinds(src),
            vec![
                Doc(" two spaces".into()),
                Doc(String::new()),
                Ident("x".into())
            ]
        );
    }

    #[test]
    fn unexpected_characters() {
        let d = only_error("a / b");
        assert_eq!(d.message, "unexpected character `/`");
        assert_eq!(d.hint.as_deref(), Some("comments start with `//`"));
        assert_eq!(d.span, 2..3);
        let (tokens, errors) = lex("t", "a /* b $ */ c /* d");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].message, "block comments are not supported");
        assert_eq!(errors[0].span, 2..4);
        assert_eq!(tokens.len(), 2, "the comments are skipped: {tokens:?}");
        let d = only_error("é");
        assert_eq!(d.message, "name `é` is not ASCII");
        assert_eq!(d.span, 0..2);
        let d = only_error("a → b");
        assert_eq!(d.message, "unexpected character `→`");
        assert_eq!(d.span, 2..5);
        assert!(only_error("a - b").hint.unwrap().contains("`->`"));
        assert!(only_error("&u8").hint.unwrap().contains("scalar"));
        assert_eq!(
            only_error("a \"").message,
            "interface files have no string literals"
        );
        assert_eq!(only_error("a \"x y\" b").span, 2..7);
        assert_eq!(
            only_error("a 'x\ny").span,
            2..4,
            "a string ends at the line's end"
        );
        let d = only_error("u8[] x");
        assert_eq!(
            (d.message.as_str(), d.span.clone()),
            ("unexpected characters `[]`", 2..4)
        );
        assert_eq!(only_error("\u{7}").message, "unexpected character `\\u{7}`");
    }

    #[test]
    fn bad_numbers() {
        let d = only_error("0x");
        assert_eq!(d.message, "number `0x` has no digits");
        let d = only_error("12ab");
        assert_eq!(d.message, "invalid digit `a` in decimal number `12ab`");
        assert_eq!(
            d.hint.as_deref(),
            Some("hexadecimal numbers start with `0x`")
        );
        assert_eq!(d.span, 0..4);
        let d = only_error("0xfg");
        assert_eq!(d.message, "invalid digit `g` in hexadecimal number `0xfg`");
        let d = only_error("99999999999999999999999");
        assert_eq!(d.message, "number `99999999999999999999999` is too large");
    }

    #[test]
    fn lexing_continues_after_errors() {
        let (tokens, errors) = lex("t", "a $ b % c 0xg");
        assert_eq!(errors.len(), 3);
        let errs = tokens.iter().filter(|t| t.kind == TokenKind::Error).count();
        assert_eq!((tokens.len(), errs), (6, 3));
    }
}
