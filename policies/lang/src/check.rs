//! The checker and lowering: a parsed [`ast::File`] plus the interfaces and
//! the solution become engine [`Tables`], or diagnostics.
//!
//! Every name is resolved here (contexts, interfaces, methods, fields,
//! machines, states, transitions), every literal is typed against its field,
//! and the solution-wide checks run: each channel needs a rule allowing some
//! request over it. Lowering keeps source order, so a rule's index in
//! [`Tables::rules`] is its position among the rules of the file.

use std::collections::{BTreeMap, HashSet};

use engine::tables::{
    self, FieldType, Guard, Machine, MethodSig, Op, Rule, Tables, Transition, TransitionRef,
};
use engine::{ERROR_METHOD, EventKind};

use crate::Solution;
use crate::ast::{self, CmpOp, Event, Expr, Ident, Item, Lit, Pattern, Span};
use crate::diag::{Diag, with_suggestion};
use crate::interfaces::{Iface, KERNEL_CONTEXT, Meth};

/// The checker's result.
pub struct Checked {
    /// The tables, if there was no error.
    pub tables: Option<Tables>,
    /// Context names; index = context number in events.
    pub contexts: Vec<String>,
    /// Errors and warnings, in source order of discovery.
    pub diagnostics: Vec<Diag>,
}

struct MachineInfo {
    states: Vec<String>,
    transitions: Vec<String>,
}

struct Ctx<'a> {
    ifaces: &'a [Iface],
    contexts: Vec<String>,
    machines: BTreeMap<String, (u16, MachineInfo)>,
    diags: Vec<Diag>,
}

fn join(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expr_span(e: &Expr) -> Span {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => expr_span(a).start..expr_span(b).end,
        Expr::Not(a) => expr_span(a),
        Expr::Cmp(f, _, l) => f.span.start..l.span().end,
        Expr::Range { field, hi, .. } => field.span.start..hi.span().end,
        Expr::Flag(f) => f.span.clone(),
    }
}

/// Inclusive value range of a field type, in i128.
fn type_range(t: FieldType) -> (i128, i128) {
    match t {
        FieldType::U8 => (0, u8::MAX.into()),
        FieldType::U16 => (0, u16::MAX.into()),
        FieldType::U32 => (0, u32::MAX.into()),
        FieldType::U64 => (0, u64::MAX.into()),
        FieldType::I8 => (i8::MIN.into(), i8::MAX.into()),
        FieldType::I16 => (i16::MIN.into(), i16::MAX.into()),
        FieldType::I32 => (i32::MIN.into(), i32::MAX.into()),
        FieldType::I64 => (i64::MIN.into(), i64::MAX.into()),
        FieldType::Bool => (0, 1),
    }
}

/// The name of a field type as written in interface files.
pub fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::U8 => "u8",
        FieldType::U16 => "u16",
        FieldType::U32 => "u32",
        FieldType::U64 => "u64",
        FieldType::I8 => "i8",
        FieldType::I16 => "i16",
        FieldType::I32 => "i32",
        FieldType::I64 => "i64",
        FieldType::Bool => "bool",
    }
}

/// A value in a field's word encoding (sign-extended for signed types).
fn encode(v: i128) -> u64 {
    if v < 0 { v as i64 as u64 } else { v as u64 }
}

impl Ctx<'_> {
    fn err(&mut self, d: Diag) {
        self.diags.push(d);
    }

    fn context(&mut self, p: &Pattern) -> Result<Option<u16>, ()> {
        let Pattern::Name(id) = p else {
            return Ok(None);
        };
        if let Some(i) = self.contexts.iter().position(|c| *c == id.name) {
            return Ok(Some(i as u16));
        }
        let d = Diag::error(id.span.clone(), format!("unknown context `{}`", id.name))
            .label("not a program of the solution, nor `kernel`");
        let d = with_suggestion(d, &id.name, self.contexts.iter().map(String::as_str))
            .note(format!("the contexts are {}", join(&self.contexts)));
        self.err(d);
        Err(())
    }

    fn iface(&mut self, id: &Ident) -> Result<usize, ()> {
        if let Some(i) = self.ifaces.iter().position(|f| f.name == id.name) {
            return Ok(i);
        }
        let d = Diag::error(id.span.clone(), format!("unknown interface `{}`", id.name))
            .label("no interface file or kernel interface has this name");
        let d = with_suggestion(d, &id.name, self.ifaces.iter().map(|f| f.name.as_str()));
        self.err(d);
        Err(())
    }

    fn method(&mut self, iface: &Iface, id: &Ident) -> Result<usize, ()> {
        if let Some(i) = iface.methods.iter().position(|m| m.name == id.name) {
            return Ok(i);
        }
        let names: Vec<String> = iface.methods.iter().map(|m| m.name.clone()).collect();
        let d = Diag::error(
            id.span.clone(),
            format!("interface `{}` has no method `{}`", iface.name, id.name),
        )
        .label("unknown method");
        let d = with_suggestion(d, &id.name, names.iter().map(String::as_str)).note(format!(
            "`{}` has the methods {}",
            iface.name,
            join(&names)
        ));
        self.err(d);
        Err(())
    }

    fn lit(&mut self, lit: &Lit, ty: FieldType, field: &Ident, slack: i128) -> Result<i128, ()> {
        let (lo, hi) = type_range(ty);
        match (lit, ty) {
            (Lit::Bool(b, _), FieldType::Bool) => Ok(i128::from(*b)),
            (Lit::Int(v, s), t) if t != FieldType::Bool => {
                if *v < lo || *v > hi + slack {
                    self.err(
                        Diag::error(
                            s.clone(),
                            format!("literal `{v}` is out of range for `{}`", field.name),
                        )
                        .label(format!("does not fit in `{}`", type_name(ty)))
                        .note(format!(
                            "`{}` is a `{}` field: {lo}..={hi}",
                            field.name,
                            type_name(ty)
                        )),
                    );
                    return Err(());
                }
                Ok(*v)
            }
            (Lit::Int(v, s), _) => {
                self.err(
                    Diag::error(s.clone(), format!("expected a boolean, found `{v}`"))
                        .label(format!("`{}` is a `bool` field", field.name))
                        .help("write `true` or `false`"),
                );
                Err(())
            }
            (Lit::Bool(b, s), _) => {
                self.err(
                    Diag::error(s.clone(), format!("expected an integer, found `{b}`"))
                        .label(format!("`{}` is a `{}` field", field.name, type_name(ty))),
                );
                Err(())
            }
        }
    }

    fn field(
        &mut self,
        fields: &[(String, FieldType)],
        id: &Ident,
        what: &str,
    ) -> Result<(u8, FieldType), ()> {
        if let Some(i) = fields.iter().position(|(n, _)| *n == id.name) {
            return Ok((i as u8, fields[i].1));
        }
        let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
        let d = Diag::error(id.span.clone(), format!("unknown field `{}`", id.name))
            .label(format!("not a field of {what}"));
        let d = with_suggestion(d, &id.name, names.iter().map(String::as_str));
        let d = if names.is_empty() {
            d.note(format!("{what} has no fields"))
        } else {
            d.note(format!("{what} has the fields {}", join(&names)))
        };
        self.err(d);
        Err(())
    }

    fn expr(
        &mut self,
        e: &Expr,
        fields: &[(String, FieldType)],
        what: &str,
        out: &mut Vec<Op>,
    ) -> Result<(), ()> {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let ra = self.expr(a, fields, what, out);
                let rb = self.expr(b, fields, what, out);
                out.push(if matches!(e, Expr::And(..)) {
                    Op::And
                } else {
                    Op::Or
                });
                ra.and(rb)
            }
            Expr::Not(a) => {
                let r = self.expr(a, fields, what, out);
                out.push(Op::Not);
                r
            }
            Expr::Flag(f) => {
                let (word, ty) = self.field(fields, f, what)?;
                if ty != FieldType::Bool {
                    self.err(
                        Diag::error(
                            f.span.clone(),
                            format!("`{}` is not a boolean field", f.name),
                        )
                        .label(format!("a `{}` field", type_name(ty)))
                        .help(format!("compare it with a value, e.g. `{} != 0`", f.name)),
                    );
                    return Err(());
                }
                out.push(Op::Cmp {
                    word,
                    op: tables::CmpOp::Eq,
                    lit: 1,
                });
                Ok(())
            }
            Expr::Cmp(f, op, lit) => {
                let (word, ty) = self.field(fields, f, what)?;
                let v = self.lit(lit, ty, f, 0)?;
                if ty == FieldType::Bool && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    self.err(
                        Diag::error(
                            expr_span(e),
                            format!("`{}` cannot order booleans", op.text()),
                        )
                        .label(format!("`{}` is a `bool` field", f.name))
                        .help("use `==` or `!=`"),
                    );
                    return Err(());
                }
                out.push(Op::Cmp {
                    word,
                    op: *op,
                    lit: encode(v),
                });
                Ok(())
            }
            Expr::Range {
                field,
                lo,
                hi,
                inclusive,
            } => {
                let (word, ty) = self.field(fields, field, what)?;
                if ty == FieldType::Bool {
                    self.err(
                        Diag::error(expr_span(e), "a range needs an integer field")
                            .label(format!("`{}` is a `bool` field", field.name)),
                    );
                    return Err(());
                }
                let l = self.lit(lo, ty, field, 0);
                let h = self.lit(hi, ty, field, if *inclusive { 0 } else { 1 });
                let (l, h) = (l?, h?);
                let h = if *inclusive { h } else { h - 1 };
                if l > h {
                    self.err(
                        Diag::error(expr_span(e), "this range is empty")
                            .label("no value lies in it")
                            .help("`lo..hi` excludes `hi`; `lo..=hi` includes it"),
                    );
                    return Err(());
                }
                out.push(Op::Range {
                    word,
                    lo: encode(l),
                    hi: encode(h),
                });
                Ok(())
            }
        }
    }

    fn machine_ref(&mut self, id: &Ident) -> Result<u16, ()> {
        if let Some((i, _)) = self.machines.get(&id.name) {
            return Ok(*i);
        }
        let names: Vec<String> = self.machines.keys().cloned().collect();
        let d = Diag::error(id.span.clone(), format!("unknown machine `{}`", id.name))
            .label("no `machine` declares this name");
        self.err(with_suggestion(
            d,
            &id.name,
            names.iter().map(String::as_str),
        ));
        Err(())
    }

    fn state_ref(&mut self, machine: &str, id: &Ident) -> Result<u8, ()> {
        let states = &self.machines[machine].1.states;
        if let Some(i) = states.iter().position(|s| *s == id.name) {
            return Ok(i as u8);
        }
        let states = states.clone();
        let d = Diag::error(
            id.span.clone(),
            format!("machine `{machine}` has no state `{}`", id.name),
        )
        .label("unknown state");
        let d = with_suggestion(d, &id.name, states.iter().map(String::as_str))
            .note(format!("`{machine}` has the states {}", join(&states)));
        self.err(d);
        Err(())
    }

    fn machine_decl(&mut self, m: &ast::Machine) -> Option<Machine> {
        if let Some(prev) = self.machines.get(&m.name.name) {
            let _ = prev;
            self.err(
                Diag::error(
                    m.name.span.clone(),
                    format!("machine `{}` is declared twice", m.name.name),
                )
                .label("second declaration"),
            );
            return None;
        }
        let mut ok = true;
        let mut states: Vec<String> = Vec::new();
        for (i, s) in m.states.iter().enumerate() {
            if let Some(first) = m.states[..i].iter().find(|p| p.name == s.name) {
                self.err(
                    Diag::error(s.span.clone(), format!("duplicate state `{}`", s.name))
                        .label("declared again here")
                        .secondary(first.span.clone(), "first declared here"),
                );
                ok = false;
            }
            states.push(s.name.clone());
        }
        if states.len() > tables::MAX_STATES {
            self.err(
                Diag::error(
                    m.name.span.clone(),
                    format!("machine `{}` has too many states", m.name.name),
                )
                .note(format!(
                    "a machine has at most {} states",
                    tables::MAX_STATES
                )),
            );
            return None;
        }
        let find = |ctx: &mut Self, id: &Ident| -> Option<u8> {
            match states.iter().position(|s| *s == id.name) {
                Some(i) => Some(i as u8),
                None => {
                    let d = Diag::error(
                        id.span.clone(),
                        format!("machine `{}` has no state `{}`", m.name.name, id.name),
                    )
                    .label("unknown state");
                    let d = with_suggestion(d, &id.name, states.iter().map(String::as_str)).note(
                        format!("`{}` has the states {}", m.name.name, join(&states)),
                    );
                    ctx.err(d);
                    None
                }
            }
        };
        let mut transitions = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (i, t) in m.transitions.iter().enumerate() {
            if let Some(first) = m.transitions[..i]
                .iter()
                .find(|p| p.name.name == t.name.name)
            {
                self.err(
                    Diag::error(
                        t.name.span.clone(),
                        format!("duplicate transition `{}`", t.name.name),
                    )
                    .label("declared again here")
                    .secondary(first.name.span.clone(), "first declared here"),
                );
                ok = false;
            }
            names.push(t.name.name.clone());
            let mut from = 0u64;
            for f in &t.from {
                match find(self, f) {
                    Some(s) => from |= 1 << s,
                    None => ok = false,
                }
            }
            match find(self, &t.to) {
                Some(to) => transitions.push(Transition { from, to }),
                None => ok = false,
            }
        }
        if m.transitions.len() > 255 {
            self.err(Diag::error(
                m.name.span.clone(),
                "a machine has at most 255 transitions",
            ));
            ok = false;
        }
        if ok {
            // States reachable from the initial state (state 0).
            let mut reach = 1u64;
            loop {
                let next = transitions
                    .iter()
                    .filter(|t| t.from & reach != 0)
                    .fold(reach, |r, t| r | 1 << t.to);
                if next == reach {
                    break;
                }
                reach = next;
            }
            for (t, decl) in transitions.iter().zip(&m.transitions) {
                for f in &decl.from {
                    let s = states.iter().position(|s| *s == f.name).unwrap_or(0);
                    if reach & (1 << s) == 0 {
                        self.err(
                            Diag::error(
                                f.span.clone(),
                                format!(
                                    "transition `{}` starts from state `{}`, which can never be reached",
                                    decl.name.name, f.name
                                ),
                            )
                            .label("unreachable state")
                            .note(format!(
                                "no chain of transitions leads from the initial state `{}` to `{}`",
                                states[0], f.name
                            )),
                        );
                        ok = false;
                    }
                }
                let _ = t;
            }
        }
        let idx = self.machines.len() as u16;
        self.machines.insert(
            m.name.name.clone(),
            (
                idx,
                MachineInfo {
                    states: states.clone(),
                    transitions: names,
                },
            ),
        );
        ok.then_some(Machine {
            states: states.len() as u8,
            transitions,
        })
    }

    fn rule(&mut self, r: &ast::Rule) -> Result<Rule, ()> {
        let kind = match r.event {
            Event::Request => EventKind::Request,
            Event::Response => EventKind::Response,
            Event::Execute => EventKind::Execute,
        };
        let src = self.context(&r.src);
        let dst = self.context(&r.dst);
        let (src, dst) = (src?, dst?);
        let mut iface = None;
        let mut method = None;
        let mut sig: Option<(usize, usize)> = None;
        if kind == EventKind::Execute {
            if let Some((i, m)) = &r.target {
                self.err(
                    Diag::error(i.span().start..m.span().end, "execute events select no interface")
                        .label("remove this")
                        .note("an execute event is a program start: it has a source and a destination only"),
                );
                return Err(());
            }
            if let Some(p) = &r.predicate {
                self.err(
                    Diag::error(expr_span(p), "predicates on execute events make no sense")
                        .label("an execute event carries no message fields")
                        .help("select the program with `execute SRC -> PROGRAM;` and use `if` guards for state"),
                );
                return Err(());
            }
        } else if let Some((Pattern::Name(iid), mp)) = &r.target {
            let ii = self.iface(iid)?;
            let f = &self.ifaces[ii];
            iface = Some(f.id);
            // The side that serves the interface: dst of a request, src of a response.
            let (server, server_ctx) = match kind {
                EventKind::Response => (&r.src, src),
                _ => (&r.dst, dst),
            };
            let kernel_idx = Some(0u16);
            if f.kernel && server_ctx.is_some() && server_ctx != kernel_idx {
                self.err(
                    Diag::error(
                        iid.span.clone(),
                        format!("`{}` is a kernel interface", f.name),
                    )
                    .label("only `kernel` serves it")
                    .secondary(server.span(), "but this names another context"),
                );
                return Err(());
            }
            if !f.kernel && server_ctx == kernel_idx {
                self.err(
                    Diag::error(
                        iid.span.clone(),
                        format!("the kernel does not serve `{}`", f.name),
                    )
                    .label("a user interface")
                    .secondary(server.span(), "this is the kernel")
                    .note("the kernel serves `Log`, `Task`, `Time` and `Memory`"),
                );
                return Err(());
            }
            if let Pattern::Name(mid) = mp {
                let f = f.clone();
                let mi = self.method(&f, mid)?;
                method = Some(f.methods[mi].id);
                sig = Some((ii, mi));
            }
        }
        let mut expr = Vec::new();
        if let Some(p) = &r.predicate {
            let Some((ii, mi)) = sig else {
                self.err(
                    Diag::error(expr_span(p), "field predicates need a single method")
                        .label("which method's fields?")
                        .help("select one method, e.g. `Iface.method where ...`"),
                );
                return Err(());
            };
            let f = &self.ifaces[ii];
            let m: &Meth = &f.methods[mi];
            let (fields, what) = match kind {
                EventKind::Request => (
                    m.args.clone(),
                    format!("the request `{}.{}`", f.name, m.name),
                ),
                _ => (
                    m.results.clone(),
                    format!("the response `{}.{}`", f.name, m.name),
                ),
            };
            self.expr(p, &fields, &what, &mut expr)?;
            let mut depth = 0usize;
            let mut max = 0usize;
            for op in &expr {
                match op {
                    Op::Cmp { .. } | Op::Range { .. } => depth += 1,
                    Op::And | Op::Or => depth -= 1,
                    Op::Not => {}
                }
                max = max.max(depth);
            }
            if max > tables::MAX_STACK || expr.len() > usize::from(u16::MAX) {
                self.err(
                    Diag::error(expr_span(p), "this predicate is too deeply nested").note(format!(
                        "at most {} comparisons may be pending at once",
                        tables::MAX_STACK
                    )),
                );
                return Err(());
            }
        }
        let mut guards: Vec<Guard> = Vec::new();
        let mut ok = true;
        for g in &r.guards {
            let Ok(mi) = self.machine_ref(&g.machine) else {
                ok = false;
                continue;
            };
            if guards.iter().any(|x| x.machine == mi) {
                self.err(
                    Diag::error(
                        g.machine.span.clone(),
                        format!("machine `{}` is guarded twice", g.machine.name),
                    )
                    .help("list every accepted state in one guard: `m in a | b`"),
                );
                ok = false;
                continue;
            }
            let mut states = 0u64;
            for s in &g.states {
                match self.state_ref(&g.machine.name, s) {
                    Ok(i) => states |= 1 << i,
                    Err(()) => ok = false,
                }
            }
            guards.push(Guard {
                machine: mi,
                states,
            });
        }
        let mut transitions: Vec<TransitionRef> = Vec::new();
        if r.deny && !r.transitions.is_empty() {
            let (m, t) = &r.transitions[0];
            self.err(
                Diag::error(
                    m.span.start..t.span.end,
                    "deny rules cannot fire transitions",
                )
                .label("a denied message changes no state")
                .help("move the transition to an `allow` rule"),
            );
            return Err(());
        }
        for (m, t) in &r.transitions {
            let Ok(mi) = self.machine_ref(m) else {
                ok = false;
                continue;
            };
            let info = &self.machines[&m.name].1;
            let Some(ti) = info.transitions.iter().position(|x| *x == t.name) else {
                let names = info.transitions.clone();
                let d = Diag::error(
                    t.span.clone(),
                    format!("machine `{}` has no transition `{}`", m.name, t.name),
                )
                .label("unknown transition");
                let d = with_suggestion(d, &t.name, names.iter().map(String::as_str))
                    .note(format!("`{}` has the transitions {}", m.name, join(&names)));
                self.err(d);
                ok = false;
                continue;
            };
            if transitions.iter().any(|x| x.machine == mi) {
                self.err(
                    Diag::error(
                        m.span.clone(),
                        format!("two transitions of machine `{}` in one rule", m.name),
                    )
                    .label("a rule fires at most one transition per machine"),
                );
                ok = false;
                continue;
            }
            transitions.push(TransitionRef {
                machine: mi,
                transition: ti as u8,
            });
        }
        if let Some((false, span)) = &r.audit
            && r.deny
        {
            self.err(
                Diag::error(span.clone(), "denials are always audited")
                    .label("`no audit` on a deny rule")
                    .help("remove `no audit`"),
            );
            return Err(());
        }
        if !ok {
            return Err(());
        }
        Ok(Rule {
            kind,
            deny: r.deny,
            audit: r.audit.as_ref().map(|(a, _)| *a),
            src,
            dst,
            iface,
            method,
            expr,
            guards,
            transitions,
        })
    }
}

/// Whether every key `b` selects is also selected by `a`.
fn covers(a: &Rule, b: &Rule) -> bool {
    a.kind == b.kind
        && (a.src.is_none() || a.src == b.src)
        && (a.dst.is_none() || a.dst == b.dst)
        && (a.iface.is_none() || a.iface == b.iface)
        && (a.method.is_none() || a.method == b.method)
}

/// Checks a parsed policy and lowers it to tables.
pub fn check(file: &ast::File, ifaces: &[Iface], solution: &Solution) -> Checked {
    let mut contexts = vec![KERNEL_CONTEXT.to_string()];
    let mut seen: HashSet<String> = contexts.iter().cloned().collect();
    for p in &solution.programs {
        if seen.insert(p.clone()) {
            contexts.push(p.clone());
        }
    }
    let mut cx = Ctx {
        ifaces,
        contexts,
        machines: BTreeMap::new(),
        diags: Vec::new(),
    };
    let mut audit_all = false;
    let mut audit_span: Option<Span> = None;
    let mut machines = Vec::new();
    let mut failed = false;
    for item in &file.items {
        match item {
            Item::Audit { all, span } => {
                if let Some(prev) = &audit_span {
                    cx.err(
                        Diag::error(span.clone(), "the audit default is set twice")
                            .label("second setting")
                            .secondary(prev.clone(), "first set here"),
                    );
                    failed = true;
                }
                audit_all = *all;
                audit_span = Some(span.clone());
            }
            Item::Machine(m) => match cx.machine_decl(m) {
                Some(t) => machines.push(t),
                None => failed = true,
            },
            Item::Rule(_) => {}
        }
    }
    let mut rules = Vec::new();
    let mut rule_spans = Vec::new();
    for item in &file.items {
        if let Item::Rule(r) = item {
            match cx.rule(r) {
                Ok(l) => {
                    rules.push(l);
                    rule_spans.push(r.span.clone());
                }
                Err(()) => failed = true,
            }
        }
    }
    if rules.len() >= usize::from(engine::NO_RULE) {
        cx.err(Diag::file_error("too many rules (at most 65534)"));
        failed = true;
    }
    for (client, server) in &solution.channels {
        let c = cx
            .contexts
            .iter()
            .position(|x| x == client)
            .map(|i| i as u16);
        let s = cx
            .contexts
            .iter()
            .position(|x| x == server)
            .map(|i| i as u16);
        let any = |kind: EventKind, from: Option<u16>, to: Option<u16>| {
            rules.iter().any(|r| {
                !r.deny
                    && r.kind == kind
                    && (r.src.is_none() || r.src == from)
                    && (r.dst.is_none() || r.dst == to)
            })
        };
        if !failed && !any(EventKind::Request, c, s) {
            cx.err(
                Diag::file_error(format!(
                    "channel `{client} -> {server}` has no rule allowing any request from `{client}` to `{server}`"
                ))
                .note("the solution declares this channel, so the policy must allow something over it")
                .help(format!("add a rule such as `allow request {client} -> {server} Iface.method;`")),
            );
            failed = true;
        } else if !failed && !any(EventKind::Response, s, c) {
            cx.diags.push(Diag {
                severity: crate::diag::Severity::Warning,
                ..Diag::file_error(format!(
                    "channel `{client} -> {server}`: requests are allowed but no response from `{server}` to `{client}` is"
                ))
                .help(format!("add a rule such as `allow response {server} -> {client} Iface.*;`"))
            });
        }
    }
    if !failed {
        for (j, b) in rules.iter().enumerate() {
            if b.deny {
                continue;
            }
            let shadow = rules
                .iter()
                .enumerate()
                .find(|(i, a)| a.is_static() && covers(a, b) && (a.deny || *i < j));
            if let Some((i, a)) = shadow {
                let why = if a.deny {
                    "every message it selects is denied by a static deny rule"
                } else {
                    "an earlier static allow rule decides every message it selects"
                };
                cx.diags.push(
                    Diag::warning(rule_spans[j].clone(), "this rule can never decide anything")
                        .label(why)
                        .secondary(rule_spans[i].clone(), "this rule takes precedence"),
                );
            }
        }
    }
    let mut methods: Vec<MethodSig> = Vec::new();
    for f in ifaces {
        for m in &f.methods {
            methods.push(MethodSig {
                iface: f.id,
                method: m.id,
                args: m.args.iter().map(|a| a.1).collect(),
                results: m.results.iter().map(|a| a.1).collect(),
                args_ool: m.args_ool,
                results_ool: m.results_ool,
            });
        }
        methods.push(MethodSig {
            iface: f.id,
            method: ERROR_METHOD,
            args: Vec::new(),
            results: vec![FieldType::U64],
            args_ool: engine::tables::Ool::None,
            results_ool: engine::tables::Ool::None,
        });
    }
    methods.sort_by_key(|m| (m.iface, m.method));
    methods.dedup_by_key(|m| (m.iface, m.method));
    let tables = (!failed
        && !cx
            .diags
            .iter()
            .any(|d| d.severity == crate::diag::Severity::Error))
    .then_some(Tables {
        audit_all,
        contexts: cx.contexts.len() as u16,
        methods,
        machines,
        rules,
    });
    // Report in file order; file-wide findings last.
    cx.diags.sort_by_key(|d| {
        (
            d.primary.is_none(),
            d.primary.as_ref().map_or(0, |p| p.0.start),
        )
    });
    Checked {
        tables,
        contexts: cx.contexts,
        diagnostics: cx.diags,
    }
}
