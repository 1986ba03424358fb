//! The parser: tokens to [`crate::ast::File`], by recursive descent.
//!
//! On a syntax error the parser records it and skips to the next `;` or `}`
//! at the top level, so one typo does not hide the errors after it.

use crate::ast::*;
use crate::diag::Diag;
use crate::lexer::{Tok, Token, lex};

struct Parser {
    toks: Vec<Token>,
    at: usize,
}

type PResult<T> = Result<T, Diag>;

const KEYWORDS: [&str; 8] = ["where", "if", "then", "audit", "no", "and", "or", "not"];

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(v) => format!("`{v}`"),
        Tok::Punct(p) => format!("`{p}`"),
        Tok::Eof => "end of file".to_string(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[self.at.min(last)]
    }
    fn peek_at(&self, n: usize) -> &Tok {
        let last = self.toks.len() - 1;
        &self.toks[(self.at + n).min(last)].tok
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == kw)
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.bump();
        }
        hit
    }
    fn eat_punct(&mut self, p: &str) -> bool {
        let hit = self.is_punct(p);
        if hit {
            self.bump();
        }
        hit
    }
    fn unexpected(&self, expected: &str) -> Diag {
        let t = self.peek();
        Diag::error(
            t.span.clone(),
            format!("expected {expected}, found {}", describe(&t.tok)),
        )
        .label(format!("expected {expected}"))
    }
    fn expect_punct(&mut self, p: &str) -> PResult<Token> {
        if self.is_punct(p) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("`{p}`")))
        }
    }
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match &self.peek().tok {
            Tok::Ident(s) => {
                let name = s.clone();
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.unexpected(what)),
        }
    }
    fn pattern(&mut self, what: &str) -> PResult<Pattern> {
        if self.is_punct("*") {
            return Ok(Pattern::Any(self.bump().span));
        }
        match &self.peek().tok {
            Tok::Ident(s) if KEYWORDS.contains(&s.as_str()) => Err(self.unexpected(what)),
            _ => self.ident(what).map(Pattern::Name),
        }
    }

    fn file(&mut self, errors: &mut Vec<Diag>) -> File {
        let mut items = Vec::new();
        while self.peek().tok != Tok::Eof {
            match self.item() {
                Ok(i) => items.push(i),
                Err(d) => {
                    errors.push(d);
                    self.recover();
                }
            }
        }
        File { items }
    }

    /// Skips past the next `;` or `}` (or to the end).
    fn recover(&mut self) {
        loop {
            let t = self.bump();
            if matches!(t.tok, Tok::Eof | Tok::Punct(";") | Tok::Punct("}")) {
                return;
            }
        }
    }

    fn item(&mut self) -> PResult<Item> {
        let start = self.peek().span.start;
        if self.eat_kw("audit") {
            let all = if self.eat_kw("all") {
                true
            } else if self.eat_kw("denials") {
                false
            } else {
                return Err(self
                    .unexpected("`all` or `denials`")
                    .note("denials are always audited; `audit all;` audits allows too"));
            };
            let end = self.expect_punct(";")?.span.end;
            return Ok(Item::Audit {
                all,
                span: start..end,
            });
        }
        if self.eat_kw("machine") {
            return self.machine().map(Item::Machine);
        }
        if self.is_kw("allow") || self.is_kw("deny") {
            return self.rule().map(|r| Item::Rule(Box::new(r)));
        }
        Err(self
            .unexpected("`allow`, `deny`, `machine` or `audit`")
            .help("every item starts with `allow`, `deny`, `machine` or `audit`"))
    }

    fn machine(&mut self) -> PResult<Machine> {
        let name = self.ident("a machine name")?;
        self.expect_punct("{")?;
        if !self.eat_kw("states") {
            return Err(self
                .unexpected("`states`")
                .help("a machine starts with its states, e.g. `states closed, open;`"));
        }
        let mut states = vec![self.ident("a state name")?];
        while self.eat_punct(",") {
            states.push(self.ident("a state name")?);
        }
        self.expect_punct(";")?;
        let mut transitions = Vec::new();
        while !self.eat_punct("}") {
            let tname = self.ident("a transition name or `}`")?;
            self.expect_punct(":")?;
            let mut from = vec![self.ident("a state name")?];
            while self.eat_punct(",") {
                from.push(self.ident("a state name")?);
            }
            self.expect_punct("->")?;
            let to = self.ident("a state name")?;
            self.expect_punct(";")?;
            transitions.push(TransitionDecl {
                name: tname,
                from,
                to,
            });
        }
        Ok(Machine {
            name,
            states,
            transitions,
        })
    }

    fn rule(&mut self) -> PResult<Rule> {
        let start = self.peek().span.start;
        let deny = self.bump().tok == Tok::Ident("deny".into());
        let ev = self.peek().clone();
        let event = match &ev.tok {
            Tok::Ident(s) if s == "request" => Event::Request,
            Tok::Ident(s) if s == "response" => Event::Response,
            Tok::Ident(s) if s == "execute" => Event::Execute,
            _ => return Err(self.unexpected("`request`, `response` or `execute`")),
        };
        self.bump();
        let src = self.pattern("a source context or `*`")?;
        if !self.is_punct("->") {
            return Err(self
                .unexpected("`->`")
                .help("write the source and destination as `SRC -> DST`"));
        }
        self.bump();
        let dst = self.pattern("a destination context or `*`")?;
        let target = if self.is_punct("*") {
            let s = self.bump().span;
            if self.eat_punct(".") {
                let m = self.expect_punct("*")?.span;
                Some((Pattern::Any(s), Pattern::Any(m)))
            } else {
                Some((Pattern::Any(s.clone()), Pattern::Any(s)))
            }
        } else if matches!(&self.peek().tok, Tok::Ident(s) if !KEYWORDS.contains(&s.as_str())) {
            let iface = self.ident("an interface")?;
            if !self.is_punct(".") {
                return Err(self.unexpected("`.`").help(format!(
                    "select a method as `{}.method` or `{}.*`",
                    iface.name, iface.name
                )));
            }
            self.bump();
            let method = self.pattern("a method name or `*`")?;
            Some((Pattern::Name(iface), method))
        } else {
            None
        };
        // `where`, `if` and `then` clauses, each at most once, in any order.
        let mut predicate = None;
        let mut guards = Vec::new();
        let mut transitions = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(kw) = ["where", "if", "then"].into_iter().find(|k| self.is_kw(k)) {
            let at = self.bump().span;
            if seen.contains(&kw) {
                return Err(Diag::error(at, format!("a second `{kw}` clause"))
                    .label("each clause may appear once per rule")
                    .help(if kw == "where" {
                        "combine the conditions with `and` / `or`"
                    } else if kw == "if" {
                        "join guards with `and`: `if m in a and n in b`"
                    } else {
                        "list transitions with commas: `then m.t, n.u`"
                    }));
            }
            seen.push(kw);
            match kw {
                "where" => predicate = Some(self.expr()?),
                "if" => loop {
                    let machine = self.ident("a machine name")?;
                    if !self.eat_kw("in") {
                        return Err(self.unexpected("`in`").help(format!(
                            "a guard reads `if {} in STATE | STATE`",
                            machine.name
                        )));
                    }
                    let mut states = vec![self.ident("a state name")?];
                    while self.eat_punct("|") {
                        states.push(self.ident("a state name")?);
                    }
                    guards.push(GuardDecl { machine, states });
                    if !self.eat_kw("and") {
                        break;
                    }
                },
                _ => loop {
                    let m = self.ident("a machine name")?;
                    self.expect_punct(".")?;
                    let t = self.ident("a transition name")?;
                    transitions.push((m, t));
                    if !self.eat_punct(",") {
                        break;
                    }
                },
            }
        }
        let audit = if self.is_kw("audit") {
            Some((true, self.bump().span))
        } else if self.is_kw("no") {
            let s = self.bump().span;
            if !self.is_kw("audit") {
                return Err(self.unexpected("`audit` after `no`"));
            }
            let e = self.bump().span;
            Some((false, s.start..e.end))
        } else {
            None
        };
        if !self.is_punct(";") {
            let d = match &self.peek().tok {
                Tok::Ident(s) => crate::diag::with_suggestion(
                    self.unexpected("`;`"),
                    s,
                    ["where", "if", "then", "audit"],
                ),
                _ => self.unexpected("`;`"),
            };
            return Err(d
                .note("a rule reads: allow|deny EVENT SRC -> DST [Iface.method] [where ...] [if ...] [then ...] [audit|no audit];"));
        }
        let end = self.bump().span.end;
        Ok(Rule {
            deny,
            event,
            event_span: ev.span,
            src,
            dst,
            target,
            predicate,
            guards,
            transitions,
            audit,
            span: start..end,
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        let mut e = self.and_expr()?;
        while self.eat_kw("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
        }
        Ok(e)
    }
    fn and_expr(&mut self) -> PResult<Expr> {
        let mut e = self.unary()?;
        while self.eat_kw("and") {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }
    fn unary(&mut self) -> PResult<Expr> {
        if self.eat_kw("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat_punct("(") {
            let e = self.expr()?;
            self.expect_punct(")")?;
            return Ok(e);
        }
        let field = match &self.peek().tok {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => self.ident("a field name")?,
            _ => return Err(self.unexpected("a field name, `not` or `(`")),
        };
        let op = match &self.peek().tok {
            Tok::Punct("==") => Some(CmpOp::Eq),
            Tok::Punct("!=") => Some(CmpOp::Ne),
            Tok::Punct("<") => Some(CmpOp::Lt),
            Tok::Punct("<=") => Some(CmpOp::Le),
            Tok::Punct(">") => Some(CmpOp::Gt),
            Tok::Punct(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let lit = self.lit()?;
            return Ok(Expr::Cmp(field, op, lit));
        }
        let negated = self.is_kw("not") && matches!(self.peek_at(1), Tok::Ident(s) if s == "in");
        if negated {
            self.bump();
        }
        if self.eat_kw("in") {
            let lo = self.lit()?;
            let inclusive = if self.eat_punct("..=") {
                true
            } else if self.eat_punct("..") {
                false
            } else {
                return Err(self.unexpected("`..` or `..=`"));
            };
            let hi = self.lit()?;
            let r = Expr::Range {
                field,
                lo,
                hi,
                inclusive,
            };
            return Ok(if negated { Expr::Not(Box::new(r)) } else { r });
        }
        Ok(Expr::Flag(field))
    }
    fn lit(&mut self) -> PResult<Lit> {
        let start = self.peek().span.start;
        let neg = self.eat_punct("-");
        let t = self.peek().clone();
        match &t.tok {
            Tok::Int(v) => {
                self.bump();
                let v = i128::try_from(*v).unwrap_or(i128::MAX);
                Ok(Lit::Int(if neg { -v } else { v }, start..t.span.end))
            }
            Tok::Ident(s) if !neg && (s == "true" || s == "false") => {
                self.bump();
                Ok(Lit::Bool(s == "true", t.span))
            }
            _ => Err(self.unexpected("a literal (integer, `true` or `false`)")),
        }
    }
}

/// Parses a policy; returns the tree (of the items that parsed) and every
/// syntax error found.
pub fn parse(src: &str) -> (File, Vec<Diag>) {
    let toks = match lex(src) {
        Ok(t) => t,
        Err(d) => return (File::default(), vec![d]),
    };
    let mut p = Parser { toks, at: 0 };
    let mut errors = Vec::new();
    let f = p.file(&mut errors);
    (f, errors)
}
