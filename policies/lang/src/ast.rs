//! The syntax tree of a policy file, and its printer.
//!
//! Every name and literal keeps its byte span so the checker can point at
//! it. The printer ([`core::fmt::Display`] on [`File`]) writes source text
//! that parses back to the same tree (spans aside); the property tests rely
//! on that to generate policies as trees.

use core::fmt;
use core::ops::Range;

/// A byte range in the source.
pub type Span = Range<usize>;

/// A name with its span.
#[derive(Clone, Debug)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

impl Ident {
    /// A name with an empty span (for generated trees).
    pub fn new(name: &str) -> Ident {
        Ident {
            name: name.to_string(),
            span: 0..0,
        }
    }
}

/// A whole policy file.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug)]
pub enum Item {
    /// `audit denials;` or `audit all;`
    Audit {
        /// `true` for `all`.
        all: bool,
        /// The whole item.
        span: Span,
    },
    /// A state machine declaration.
    Machine(Machine),
    /// An allow or deny rule.
    Rule(Box<Rule>),
}

/// `machine NAME { states A, B, ...; T: A, B -> C; ... }`
#[derive(Clone, Debug)]
pub struct Machine {
    /// Machine name.
    pub name: Ident,
    /// States; the first is the initial state.
    pub states: Vec<Ident>,
    /// Named transitions.
    pub transitions: Vec<TransitionDecl>,
}

/// `NAME: FROM, FROM -> TO;`
#[derive(Clone, Debug)]
pub struct TransitionDecl {
    /// Transition name.
    pub name: Ident,
    /// States it may fire from.
    pub from: Vec<Ident>,
    /// State it moves to.
    pub to: Ident,
}

/// The event kind keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `request`
    Request,
    /// `response`
    Response,
    /// `execute`
    Execute,
}

/// A name or `*`.
#[derive(Clone, Debug)]
pub enum Pattern {
    /// `*`
    Any(Span),
    /// A name.
    Name(Ident),
}

impl Pattern {
    /// The span of the pattern.
    pub fn span(&self) -> Span {
        match self {
            Pattern::Any(s) => s.clone(),
            Pattern::Name(i) => i.span.clone(),
        }
    }
}

/// `allow|deny EVENT SRC -> DST [TARGET] [where EXPR] [if GUARDS] [then TRANSITIONS] [audit|no audit];`
#[derive(Clone, Debug)]
pub struct Rule {
    /// `deny` (else `allow`).
    pub deny: bool,
    /// Event kind.
    pub event: Event,
    /// Span of the event keyword.
    pub event_span: Span,
    /// Source context.
    pub src: Pattern,
    /// Destination context.
    pub dst: Pattern,
    /// `Iface.method`, `Iface.*`, `*`; `None` when absent (only valid for
    /// execute rules; a request/response rule without one selects `*`).
    pub target: Option<(Pattern, Pattern)>,
    /// `where` predicate.
    pub predicate: Option<Expr>,
    /// `if` guards.
    pub guards: Vec<GuardDecl>,
    /// `then` transitions.
    pub transitions: Vec<(Ident, Ident)>,
    /// `audit` (true) / `no audit` (false), with its span.
    pub audit: Option<(bool, Span)>,
    /// The whole rule.
    pub span: Span,
}

/// `MACHINE in STATE | STATE ...`
#[derive(Clone, Debug)]
pub struct GuardDecl {
    /// Machine name.
    pub machine: Ident,
    /// Accepted states.
    pub states: Vec<Ident>,
}

/// Comparison operators: the engine's own, so the compiler needs no mapping.
pub use engine::tables::CmpOp;

/// A literal.
#[derive(Clone, Debug)]
pub enum Lit {
    /// An integer (possibly negative).
    Int(i128, Span),
    /// `true` / `false`.
    Bool(bool, Span),
}

impl Lit {
    /// Where it is.
    pub fn span(&self) -> Span {
        match self {
            Lit::Int(_, s) | Lit::Bool(_, s) => s.clone(),
        }
    }
}

/// A field predicate.
#[derive(Clone, Debug)]
pub enum Expr {
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `field OP literal`
    Cmp(Ident, CmpOp, Lit),
    /// `field in lo..hi` (exclusive) or `field in lo..=hi` (inclusive).
    Range {
        /// The field.
        field: Ident,
        /// Lower bound.
        lo: Lit,
        /// Upper bound.
        hi: Lit,
        /// `..=`
        inclusive: bool,
    },
    /// A bare boolean field: `field` means `field == true`.
    Flag(Ident),
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Int(v, _) => write!(f, "{v}"),
            Lit::Bool(b, _) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Any(_) => f.write_str("*"),
            Pattern::Name(i) => f.write_str(&i.name),
        }
    }
}

impl fmt::Display for Expr {
    /// Fully parenthesised below the top level, so precedence never matters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::Not(a) => write!(f, "not {a}"),
            Expr::Cmp(i, op, l) => write!(f, "{} {} {l}", i.name, op.text()),
            Expr::Range {
                field,
                lo,
                hi,
                inclusive,
            } => {
                let dots = if *inclusive { "..=" } else { ".." };
                write!(f, "{} in {lo}{dots}{hi}", field.name)
            }
            Expr::Flag(i) => f.write_str(&i.name),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ev = match self.event {
            Event::Request => "request",
            Event::Response => "response",
            Event::Execute => "execute",
        };
        let eff = if self.deny { "deny" } else { "allow" };
        write!(f, "{eff} {ev} {} -> {}", self.src, self.dst)?;
        if let Some((i, m)) = &self.target {
            match i {
                Pattern::Any(_) => write!(f, " *")?,
                Pattern::Name(_) => write!(f, " {i}.{m}")?,
            }
        }
        if let Some(p) = &self.predicate {
            write!(f, " where {p}")?;
        }
        for (n, g) in self.guards.iter().enumerate() {
            let kw = if n == 0 { "if" } else { "and" };
            let states: Vec<&str> = g.states.iter().map(|s| s.name.as_str()).collect();
            write!(f, " {kw} {} in {}", g.machine.name, states.join(" | "))?;
        }
        for (n, (m, t)) in self.transitions.iter().enumerate() {
            let kw = if n == 0 { " then" } else { "," };
            write!(f, "{kw} {}.{}", m.name, t.name)?;
        }
        match self.audit {
            Some((true, _)) => write!(f, " audit")?,
            Some((false, _)) => write!(f, " no audit")?,
            None => {}
        }
        f.write_str(";")
    }
}

impl fmt::Display for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match item {
                Item::Audit { all, .. } => {
                    writeln!(f, "audit {};", if *all { "all" } else { "denials" })?
                }
                Item::Machine(m) => {
                    let states: Vec<&str> = m.states.iter().map(|s| s.name.as_str()).collect();
                    writeln!(f, "machine {} {{", m.name.name)?;
                    writeln!(f, "    states {};", states.join(", "))?;
                    for t in &m.transitions {
                        let from: Vec<&str> = t.from.iter().map(|s| s.name.as_str()).collect();
                        writeln!(
                            f,
                            "    {}: {} -> {};",
                            t.name.name,
                            from.join(", "),
                            t.to.name
                        )?;
                    }
                    writeln!(f, "}}")?;
                }
                Item::Rule(r) => writeln!(f, "{r}")?,
            }
        }
        Ok(())
    }
}
