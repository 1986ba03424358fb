//! The parser: tokens to a syntax tree that still carries spans.
//!
//! The grammar is small enough for plain recursive descent:
//!
//! ```text
//! file      = { docs interface }
//! interface = "interface" NAME "=" NUMBER "{" { docs method } "}"
//! method    = "method" NAME "(" fields ")" [ "->" "(" fields ")" ] "=" NUMBER ";"
//! fields    = [ field { "," field } [ "," ] ]
//! field     = NAME ":" TYPE
//! docs      = { "///" comment line }
//! ```
//!
//! Only syntax is checked here; ids, names and counts are the checker's
//! business ([`crate::check`]), which needs the spans kept in the tree. On a
//! syntax error the parser reports it and skips to the end of the method (`;`)
//! or interface (`}`), so later mistakes in the file are reported too.

use crate::diag::Diagnostic;
use crate::lexer::{Token, TokenKind};
use crate::model::{OolKind, Type};
use core::ops::Range;

/// A parsed interface, before checking.
#[derive(Clone, Debug)]
pub(crate) struct AstInterface {
    pub name: String,
    pub name_span: Range<usize>,
    pub id: u64,
    pub id_span: Range<usize>,
    pub doc: String,
    pub methods: Vec<AstMethod>,
    /// Some of the body did not parse (and was reported), so missing methods
    /// are no news.
    pub broken: bool,
}

/// A parsed method, before checking.
#[derive(Clone, Debug)]
pub(crate) struct AstMethod {
    pub name: String,
    pub name_span: Range<usize>,
    pub id: u64,
    pub id_span: Range<usize>,
    pub doc: String,
    pub args: Vec<AstField>,
    pub results: Vec<AstField>,
}

/// A parsed argument or result.
#[derive(Clone, Debug)]
pub(crate) struct AstField {
    pub name: String,
    pub name_span: Range<usize>,
    pub ty: AstType,
    pub ty_span: Range<usize>,
}

/// A parsed type: a register word, or an out-of-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AstType {
    Word(Type),
    Ool(OolKind),
}

/// Parses a token list. Returns every interface that parsed without a
/// syntax error, and the syntax errors.
pub(crate) fn parse_tokens(
    file: &str,
    src_len: usize,
    tokens: Vec<Token>,
) -> (Vec<AstInterface>, Vec<Diagnostic>) {
    let mut p = Parser {
        file,
        eof: src_len..src_len,
        tokens,
        pos: 0,
        errors: Vec::new(),
    };
    let interfaces = p.file();
    (interfaces, p.errors)
}

/// A syntax error was reported; the caller resynchronises.
struct Reported;

type PResult<T> = Result<T, Reported>;

struct Parser<'a> {
    file: &'a str,
    eof: Range<usize>,
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<Diagnostic>,
}

const DOC_HINT: &str = "doc comments (`///`) go right before `interface` or `method`; \
                        use `//` for a plain comment";

impl Parser<'_> {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn span(&self) -> Range<usize> {
        self.tokens
            .get(self.pos)
            .map_or(self.eof.clone(), |t| t.span.clone())
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(TokenKind::Ident(s)) if s == kw)
    }

    /// Reports "expected `what`, found ..." at the current token.
    /// Nothing is reported at an [`TokenKind::Error`] token: the lexer
    /// already did.
    fn expected<T>(&mut self, what: &str, hint: Option<&str>) -> PResult<T> {
        if self.peek() == Some(&TokenKind::Error) {
            return Err(Reported);
        }
        let found = self
            .peek()
            .map_or("end of file".to_string(), TokenKind::describe);
        let mut d = Diagnostic::new(
            self.file,
            self.span(),
            format!("expected {what}, found {found}"),
        );
        d.hint = match self.peek() {
            Some(TokenKind::Doc(_)) => Some(DOC_HINT.to_string()),
            _ => hint.map(str::to_string),
        };
        self.errors.push(d);
        Err(Reported)
    }

    fn expect(&mut self, kind: TokenKind, hint: Option<&str>) -> PResult<Range<usize>> {
        if self.peek() == Some(&kind) {
            return Ok(self.span_and_bump());
        }
        let result = self.expected(&kind.describe(), hint);
        // A missing `;` is best shown right after the text it should end,
        // as rustc does, not at the next token (often on the next line).
        if kind == TokenKind::Semi
            && let Some(prev) = self.pos.checked_sub(1).and_then(|i| self.tokens.get(i))
            && let Some(d) = self.errors.last_mut()
        {
            d.span = prev.span.end..prev.span.end;
        }
        result
    }

    fn span_and_bump(&mut self) -> Range<usize> {
        let span = self.span();
        self.bump();
        span
    }

    fn name(&mut self, what: &str) -> PResult<(String, Range<usize>)> {
        match self.peek() {
            Some(TokenKind::Ident(s)) => {
                let s = s.clone();
                Ok((s, self.span_and_bump()))
            }
            _ => self.expected(what, None),
        }
    }

    fn number(&mut self, what: &str, hint: &str) -> PResult<(u64, Range<usize>)> {
        match self.peek() {
            Some(&TokenKind::Number(n)) => Ok((n, self.span_and_bump())),
            _ => self.expected(what, Some(hint)),
        }
    }

    /// Consecutive doc comments, joined with newlines, and where they start.
    fn docs(&mut self) -> Option<(String, Range<usize>)> {
        let start = self.span();
        let mut lines = Vec::new();
        while let Some(TokenKind::Doc(line)) = self.peek() {
            lines.push(line.clone());
            self.bump();
        }
        (!lines.is_empty()).then(|| (lines.join("\n"), start))
    }

    fn dangling_doc(&mut self, span: Range<usize>, what: &str) {
        let msg = format!("doc comment does not document {what}");
        self.errors
            .push(Diagnostic::new(self.file, span, msg).with_hint(DOC_HINT));
    }

    fn file(&mut self) -> Vec<AstInterface> {
        let mut out = Vec::new();
        loop {
            let docs = self.docs();
            if self.peek().is_none() {
                if let Some((_, span)) = docs {
                    self.dangling_doc(span, "an interface");
                }
                return out;
            }
            if !self.at_keyword("interface") {
                let hint = "an interface file is a list of `interface Name = 0x100 { ... }`";
                let _ = self.expected::<()>("`interface`", Some(hint));
                self.skip_to_interface();
                continue;
            }
            let doc = docs.map(|(d, _)| d).unwrap_or_default();
            match self.interface(doc) {
                Ok(i) => out.push(i),
                Err(Reported) => self.skip_to_interface(),
            }
        }
    }

    /// Recovery at file level: skip the rest of a broken interface, up to
    /// its `}` or the next `interface`.
    fn skip_to_interface(&mut self) {
        while let Some(kind) = self.peek() {
            match kind {
                TokenKind::Ident(s) if s == "interface" => return,
                TokenKind::RBrace => {
                    self.bump();
                    return;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// Recovery inside an interface: skip to the end of the broken method.
    /// Stops before a `}` (the interface's end) and after a `;`.
    fn skip_method(&mut self) {
        while let Some(kind) = self.peek() {
            match kind {
                TokenKind::RBrace => return,
                TokenKind::Semi => {
                    self.bump();
                    return;
                }
                TokenKind::Ident(s) if s == "interface" => return,
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn interface(&mut self, doc: String) -> PResult<AstInterface> {
        self.bump(); // `interface`
        let (name, name_span) = self.name("an interface name")?;
        let id_hint = "give the interface number: `interface Name = 0x100 {`";
        self.expect(TokenKind::Eq, Some(id_hint))?;
        let (id, id_span) = self.number("an interface id", id_hint)?;
        self.expect(TokenKind::LBrace, None)?;
        let mut methods = Vec::new();
        let mut broken = false;
        loop {
            let docs = self.docs();
            match self.peek() {
                Some(TokenKind::RBrace) => {
                    if let Some((_, span)) = docs {
                        self.dangling_doc(span, "a method");
                    }
                    self.bump();
                    break;
                }
                Some(TokenKind::Ident(s)) if s == "method" => {
                    let doc = docs.map(|(d, _)| d).unwrap_or_default();
                    match self.method(doc) {
                        Ok(m) => methods.push(m),
                        Err(Reported) => {
                            broken = true;
                            self.skip_method();
                        }
                    }
                }
                _ => {
                    let hint =
                        format!("interface `{name}` is not closed, or a method lacks `method`");
                    if let Some((_, span)) = docs.filter(|_| self.peek().is_none()) {
                        self.dangling_doc(span, "a method");
                    }
                    let _ = self.expected::<()>("`method` or `}`", Some(&hint));
                    if self.peek().is_none() || self.at_keyword("interface") {
                        return Err(Reported);
                    }
                    broken = true;
                    self.skip_method();
                }
            }
        }
        Ok(AstInterface {
            name,
            name_span,
            id,
            id_span,
            doc,
            methods,
            broken,
        })
    }

    fn method(&mut self, doc: String) -> PResult<AstMethod> {
        self.bump(); // `method`
        let (name, name_span) = self.name("a method name")?;
        self.expect(
            TokenKind::LParen,
            Some("a method needs an argument list, e.g. `()`"),
        )?;
        let args = self.fields("argument")?;
        let id_hint = "give the method number: `method name(...) = 1;`";
        let results = match self.peek() {
            Some(TokenKind::Arrow) => {
                self.bump();
                let hint = "results are named and in parentheses: `-> (count: u64)`";
                self.expect(TokenKind::LParen, Some(hint))?;
                self.fields("result")?
            }
            Some(TokenKind::Eq) => Vec::new(),
            _ => return self.expected("`->` or `=`", Some(id_hint)),
        };
        self.expect(TokenKind::Eq, Some(id_hint))?;
        let (id, id_span) = self.number("a method id", id_hint)?;
        self.expect(TokenKind::Semi, Some("a method ends with `;`"))?;
        Ok(AstMethod {
            name,
            name_span,
            id,
            id_span,
            doc,
            args,
            results,
        })
    }

    /// Fields up to and including the closing `)`; the `(` is consumed.
    fn fields(&mut self, what: &str) -> PResult<Vec<AstField>> {
        let mut out = Vec::new();
        loop {
            if self.peek() == Some(&TokenKind::RParen) {
                self.bump();
                return Ok(out);
            }
            let (name, name_span) = self.name(&format!("{what} name or `)`"))?;
            let hint = format!("write the {what} as `{name}: u64`");
            self.expect(TokenKind::Colon, Some(&hint))?;
            let (ty, ty_span) = self.ty()?;
            out.push(AstField {
                name,
                name_span,
                ty,
                ty_span,
            });
            match self.peek() {
                Some(TokenKind::Comma) => {
                    self.bump();
                }
                Some(TokenKind::RParen) => {}
                _ => return self.expected("`,` or `)`", None),
            }
        }
    }

    fn ty(&mut self) -> PResult<(AstType, Range<usize>)> {
        let types = Type::ALL.map(Type::name).join(" ");
        let hint = format!("the types are: {types}, and out of line: bytes handle memory");
        match self.peek() {
            Some(TokenKind::Ident(s)) => {
                let found = Type::from_name(s)
                    .map(AstType::Word)
                    .or_else(|| OolKind::from_name(s).map(AstType::Ool));
                let s = s.clone();
                let span = self.span_and_bump();
                match found {
                    Some(ty) => Ok((ty, span)),
                    None => {
                        let mut hint = hint;
                        if let Some(t) = Type::from_name(&s.to_ascii_lowercase()) {
                            hint = format!("did you mean `{t}`?");
                        } else if s == "usize" || s == "isize" {
                            hint =
                                format!("sizes are explicit on the wire: use u64 or i64; {hint}");
                        }
                        let msg = format!("unknown type `{s}`");
                        self.errors
                            .push(Diagnostic::new(self.file, span, msg).with_hint(hint));
                        Err(Reported)
                    }
                }
            }
            _ => self.expected("a type", Some(&hint)),
        }
    }
}
