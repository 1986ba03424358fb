//! The compiled decision tables: their in-memory form ([`Tables`]) and their
//! byte encoding, which is what the policy compiler emits and the kernel links.
//!
//! This module is the single definition of the format. The compiler builds a
//! [`Tables`] and calls [`Tables::encode`]; the kernel calls
//! [`Tables::decode`], which validates every count, index and cross-reference,
//! so that evaluation never has to. Decoding never panics: every read is
//! bounds-checked and every failure is an [`EngineError`].
//!
//! # Encoding (all integers little-endian)
//!
//! ```text
//! header   "TSPL" u16:version u16:flags(bit0 = audit all allows)
//!          u16:contexts u16:methods u16:machines u16:rules
//! method   u16:iface u16:method u8:n_args u8:n_results [u8;4]:arg types [u8;4]:result types
//!          u8:request out-of-line kind u8:response out-of-line kind
//! machine  u8:states u8:transitions, then per transition u64:from-mask u8:to
//! rule     u8:kind u8:flags u16:src u16:dst u16:iface u16:method
//!          u8:guards u8:transitions u16:ops
//!          per guard u16:machine u64:state-mask
//!          per transition u16:machine u8:transition
//!          per op u8:opcode u8:word u64:a u64:b
//! ```
//!
//! Methods are sorted by (interface, method), strictly increasing, so that
//! lookups can binary-search. `0xFFFF` in a rule's src/dst means "any".

use alloc::vec::Vec;

use crate::EventKind;

/// Magic bytes at the start of every compiled policy.
pub const MAGIC: [u8; 4] = *b"TSPL";
/// Format version; bumped on every incompatible change.
pub const VERSION: u16 = 2;
/// Most words a message carries (and so most fields a method has).
pub const MAX_FIELDS: usize = 4;
/// Most states a machine may have (state sets are 64-bit masks).
pub const MAX_STATES: usize = 64;
/// Deepest expression stack a predicate may need.
pub const MAX_STACK: usize = 32;
/// Encoded "any" for a source or destination context.
pub const ANY_CONTEXT: u16 = 0xFFFF;

/// Why a byte string is not a valid compiled policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// The input ended in the middle of a table.
    Truncated,
    /// Bytes are left over after the last table.
    TrailingBytes,
    /// The magic bytes are wrong.
    BadMagic,
    /// The format version is not [`VERSION`].
    BadVersion,
    /// A field holds a value outside its domain (unknown type code, opcode,
    /// event kind, flag bits, or a count over its limit).
    BadValue,
    /// An index points outside the table it refers to.
    BadIndex,
    /// Methods are not sorted strictly by (interface, method).
    Unsorted,
    /// A predicate is malformed (stack underflow or overflow, wrong result
    /// count, predicate on an event without fields).
    BadExpression,
    /// The static verdict table these counts imply would be larger or
    /// slower to build than [`crate::MAX_STATIC_ENTRIES`] and
    /// [`crate::MAX_STATIC_WORK`] allow. It has two entries per (source,
    /// destination, method) and one per (source, destination), and each is
    /// computed by scanning the rules.
    TooLarge,
}

/// The type of one message field; decides which words are well-shaped and
/// whether comparisons are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FieldType {
    /// Unsigned 8-bit.
    U8 = 0,
    /// Unsigned 16-bit.
    U16 = 1,
    /// Unsigned 32-bit.
    U32 = 2,
    /// Unsigned 64-bit.
    U64 = 3,
    /// Signed 8-bit, sign-extended into the word.
    I8 = 4,
    /// Signed 16-bit, sign-extended into the word.
    I16 = 5,
    /// Signed 32-bit, sign-extended into the word.
    I32 = 6,
    /// Signed 64-bit.
    I64 = 7,
    /// 0 or 1.
    Bool = 8,
}

impl FieldType {
    fn from_code(c: u8) -> Option<FieldType> {
        use FieldType::*;
        [U8, U16, U32, U64, I8, I16, I32, I64, Bool]
            .get(usize::from(c))
            .copied()
    }

    /// Whether values of this type compare as signed integers.
    pub const fn signed(self) -> bool {
        matches!(
            self,
            FieldType::I8 | FieldType::I16 | FieldType::I32 | FieldType::I64
        )
    }

    /// Whether `word` is a valid encoding of a value of this type.
    pub const fn accepts(self, word: u64) -> bool {
        let s = word as i64;
        match self {
            FieldType::U8 => word <= u8::MAX as u64,
            FieldType::U16 => word <= u16::MAX as u64,
            FieldType::U32 => word <= u32::MAX as u64,
            FieldType::U64 | FieldType::I64 => true,
            FieldType::I8 => s >= i8::MIN as i64 && s <= i8::MAX as i64,
            FieldType::I16 => s >= i16::MIN as i64 && s <= i16::MAX as i64,
            FieldType::I32 => s >= i32::MIN as i64 && s <= i32::MAX as i64,
            FieldType::Bool => word <= 1,
        }
    }
}

/// The out-of-line part a message carries besides its register words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Ool {
    /// None: a register-only message.
    #[default]
    None = 0,
    /// A byte buffer copied by the kernel.
    Bytes = 1,
    /// A handle passed on with (at most) its rights.
    Handle = 2,
    /// Memory shared with the receiver.
    Memory = 3,
}

impl Ool {
    /// The kind with the given code (the ABI's `ool::BYTES`, ...).
    pub const fn from_code(c: u8) -> Option<Ool> {
        match c {
            0 => Some(Ool::None),
            1 => Some(Ool::Bytes),
            2 => Some(Ool::Handle),
            3 => Some(Ool::Memory),
            _ => None,
        }
    }
}

/// One method's signature: the shape check runs against it before any rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodSig {
    /// Interface number.
    pub iface: u16,
    /// Method number within the interface.
    pub method: u16,
    /// Request fields, one word each, in order.
    pub args: Vec<FieldType>,
    /// Response fields, one word each, in order.
    pub results: Vec<FieldType>,
    /// The out-of-line part a request must carry.
    pub args_ool: Ool,
    /// The out-of-line part a (successful) response must carry.
    pub results_ool: Ool,
}

/// A finite-state machine; state 0 is the initial state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Number of states (1..=[`MAX_STATES`]).
    pub states: u8,
    /// The named transitions, by index.
    pub transitions: Vec<Transition>,
}

/// A transition: fires from any state in `from` and moves to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Bit `s` set: the transition may fire in state `s`.
    pub from: u64,
    /// The state it moves to.
    pub to: u8,
}

/// A rule's guard: the machine's current state must be in `states`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guard {
    /// Machine index.
    pub machine: u16,
    /// Bit `s` set: state `s` satisfies the guard.
    pub states: u64,
}

/// A transition a rule fires when it allows a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionRef {
    /// Machine index.
    pub machine: u16,
    /// Transition index within the machine.
    pub transition: u8,
}

/// Comparison operators of field predicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as the policy language writes it.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// One instruction of a predicate in postfix form. Comparisons read a field
/// word and push a boolean; `And`/`Or`/`Not` combine the top of the stack.
/// Signedness comes from the method signature, not from the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Push `word <op> lit`.
    Cmp {
        /// Field index.
        word: u8,
        /// Operator.
        op: CmpOp,
        /// Literal, in the field's word encoding.
        lit: u64,
    },
    /// Push `lo <= word <= hi`.
    Range {
        /// Field index.
        word: u8,
        /// Inclusive lower bound.
        lo: u64,
        /// Inclusive upper bound.
        hi: u64,
    },
    /// Pop two, push their conjunction.
    And,
    /// Pop two, push their disjunction.
    Or,
    /// Pop one, push its negation.
    Not,
}

/// One rule, in source order (its index is the `rule` of a [`crate::Decision`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Event kind it applies to.
    pub kind: EventKind,
    /// `deny` rule (else `allow`).
    pub deny: bool,
    /// Per-rule audit override (`audit` / `no audit`); `None` = global default.
    pub audit: Option<bool>,
    /// Source context, or `None` for any.
    pub src: Option<u16>,
    /// Destination context, or `None` for any.
    pub dst: Option<u16>,
    /// Interface, or `None` for any (always `None` for execute rules).
    pub iface: Option<u16>,
    /// Method, or `None` for any (needs `iface`).
    pub method: Option<u16>,
    /// Field predicate in postfix form; empty = always true.
    pub expr: Vec<Op>,
    /// Model guards; all must hold.
    pub guards: Vec<Guard>,
    /// Transitions fired on allow (allow rules only, one per machine).
    pub transitions: Vec<TransitionRef>,
}

impl Rule {
    /// A rule is static when its verdict depends only on (event, source,
    /// destination, interface, method): no predicate, guard or transition.
    pub fn is_static(&self) -> bool {
        self.expr.is_empty() && self.guards.is_empty() && self.transitions.is_empty()
    }
}

/// Everything a compiled policy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// Audit allows by default (`audit all;`); denials are always audited.
    pub audit_all: bool,
    /// Number of security contexts.
    pub contexts: u16,
    /// Method signatures, sorted by (iface, method).
    pub methods: Vec<MethodSig>,
    /// State machines.
    pub machines: Vec<Machine>,
    /// Rules in source order.
    pub rules: Vec<Rule>,
}

fn kind_code(k: EventKind) -> u8 {
    match k {
        EventKind::Request => 0,
        EventKind::Response => 1,
        EventKind::Execute => 2,
    }
}

const RULE_DENY: u8 = 1 << 0;
const RULE_HAS_AUDIT: u8 = 1 << 1;
const RULE_AUDIT: u8 = 1 << 2;
const RULE_ANY_IFACE: u8 = 1 << 3;
const RULE_ANY_METHOD: u8 = 1 << 4;
const RULE_FLAGS: u8 = 0x1f;

const OP_CMP_BASE: u8 = 0; // 0..=5: Cmp with CmpOp in order Eq..Ge
const OP_RANGE: u8 = 6;
const OP_AND: u8 = 7;
const OP_OR: u8 = 8;
const OP_NOT: u8 = 9;
const CMP_OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], EngineError> {
        let end = self.at.checked_add(N).ok_or(EngineError::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(EngineError::Truncated)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, EngineError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, EngineError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, EngineError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
}

fn len_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn len_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Tables {
    /// Encodes the tables. The result decodes back to an equal value if the
    /// tables are valid (the compiler only builds valid ones; `decode` checks).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(&MAGIC);
        w.u16(VERSION);
        w.u16(u16::from(self.audit_all));
        w.u16(self.contexts);
        w.u16(len_u16(self.methods.len()));
        w.u16(len_u16(self.machines.len()));
        w.u16(len_u16(self.rules.len()));
        for m in &self.methods {
            w.u16(m.iface);
            w.u16(m.method);
            w.u8(len_u8(m.args.len()));
            w.u8(len_u8(m.results.len()));
            for list in [&m.args, &m.results] {
                for i in 0..MAX_FIELDS {
                    w.u8(list.get(i).map_or(0, |t| *t as u8));
                }
            }
            w.u8(m.args_ool as u8);
            w.u8(m.results_ool as u8);
        }
        for m in &self.machines {
            w.u8(m.states);
            w.u8(len_u8(m.transitions.len()));
            for t in &m.transitions {
                w.u64(t.from);
                w.u8(t.to);
            }
        }
        for r in &self.rules {
            w.u8(kind_code(r.kind));
            let mut flags = 0;
            if r.deny {
                flags |= RULE_DENY;
            }
            if let Some(a) = r.audit {
                flags |= RULE_HAS_AUDIT | if a { RULE_AUDIT } else { 0 };
            }
            if r.iface.is_none() {
                flags |= RULE_ANY_IFACE;
            }
            if r.method.is_none() {
                flags |= RULE_ANY_METHOD;
            }
            w.u8(flags);
            w.u16(r.src.unwrap_or(ANY_CONTEXT));
            w.u16(r.dst.unwrap_or(ANY_CONTEXT));
            w.u16(r.iface.unwrap_or(0));
            w.u16(r.method.unwrap_or(0));
            w.u8(len_u8(r.guards.len()));
            w.u8(len_u8(r.transitions.len()));
            w.u16(len_u16(r.expr.len()));
            for g in &r.guards {
                w.u16(g.machine);
                w.u64(g.states);
            }
            for t in &r.transitions {
                w.u16(t.machine);
                w.u8(t.transition);
            }
            for op in &r.expr {
                let (code, word, a, b) = match *op {
                    Op::Cmp { word, op, lit } => {
                        let i = CMP_OPS.iter().position(|o| *o == op).unwrap_or(0);
                        (OP_CMP_BASE + i as u8, word, lit, 0)
                    }
                    Op::Range { word, lo, hi } => (OP_RANGE, word, lo, hi),
                    Op::And => (OP_AND, 0, 0, 0),
                    Op::Or => (OP_OR, 0, 0, 0),
                    Op::Not => (OP_NOT, 0, 0, 0),
                };
                w.u8(code);
                w.u8(word);
                w.u64(a);
                w.u64(b);
            }
        }
        w.0
    }

    /// Decodes and fully validates tables. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Tables, EngineError> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take::<4>()? != MAGIC {
            return Err(EngineError::BadMagic);
        }
        if r.u16()? != VERSION {
            return Err(EngineError::BadVersion);
        }
        let audit_all = match r.u16()? {
            0 => false,
            1 => true,
            _ => return Err(EngineError::BadValue),
        };
        let contexts = r.u16()?;
        if contexts == 0 || contexts == ANY_CONTEXT {
            return Err(EngineError::BadValue);
        }
        let n_methods = r.u16()?;
        let n_machines = r.u16()?;
        let n_rules = r.u16()?;
        // Rule indices travel as u16 with u16::MAX meaning "no rule".
        if n_rules == u16::MAX {
            return Err(EngineError::BadValue);
        }
        let mut methods: Vec<MethodSig> = Vec::new();
        for _ in 0..n_methods {
            let iface = r.u16()?;
            let method = r.u16()?;
            let na = usize::from(r.u8()?);
            let nr = usize::from(r.u8()?);
            if na > MAX_FIELDS || nr > MAX_FIELDS {
                return Err(EngineError::BadValue);
            }
            let mut lists = [Vec::new(), Vec::new()];
            for (li, n) in [na, nr].into_iter().enumerate() {
                for i in 0..MAX_FIELDS {
                    let code = r.u8()?;
                    if i < n {
                        lists[li].push(FieldType::from_code(code).ok_or(EngineError::BadValue)?);
                    } else if code != 0 {
                        return Err(EngineError::BadValue);
                    }
                }
            }
            if let Some(prev) = methods.last()
                && (prev.iface, prev.method) >= (iface, method)
            {
                return Err(EngineError::Unsorted);
            }
            let args_ool = Ool::from_code(r.u8()?).ok_or(EngineError::BadValue)?;
            let results_ool = Ool::from_code(r.u8()?).ok_or(EngineError::BadValue)?;
            let [args, results] = lists;
            methods.push(MethodSig {
                iface,
                method,
                args,
                results,
                args_ool,
                results_ool,
            });
        }
        let mut machines = Vec::new();
        for _ in 0..n_machines {
            let states = r.u8()?;
            if states == 0 || usize::from(states) > MAX_STATES {
                return Err(EngineError::BadValue);
            }
            let all = state_mask(states);
            let n = r.u8()?;
            let mut transitions = Vec::new();
            for _ in 0..n {
                let from = r.u64()?;
                let to = r.u8()?;
                if from & !all != 0 || to >= states {
                    return Err(EngineError::BadIndex);
                }
                transitions.push(Transition { from, to });
            }
            machines.push(Machine {
                states,
                transitions,
            });
        }
        let mut rules = Vec::new();
        for _ in 0..n_rules {
            rules.push(decode_rule(&mut r, contexts, &methods, &machines)?);
        }
        if r.at != bytes.len() {
            return Err(EngineError::TrailingBytes);
        }
        Ok(Tables {
            audit_all,
            contexts,
            methods,
            machines,
            rules,
        })
    }

    /// Index of the signature of (iface, method), by binary search.
    pub fn method_index(&self, iface: u16, method: u16) -> Option<usize> {
        self.methods
            .binary_search_by(|m| (m.iface, m.method).cmp(&(iface, method)))
            .ok()
    }
}

/// The mask with one bit per state of a machine with `states` states.
pub fn state_mask(states: u8) -> u64 {
    if usize::from(states) >= MAX_STATES {
        u64::MAX
    } else {
        (1u64 << states) - 1
    }
}

fn decode_rule(
    r: &mut Reader<'_>,
    contexts: u16,
    methods: &[MethodSig],
    machines: &[Machine],
) -> Result<Rule, EngineError> {
    let kind = match r.u8()? {
        0 => EventKind::Request,
        1 => EventKind::Response,
        2 => EventKind::Execute,
        _ => return Err(EngineError::BadValue),
    };
    let flags = r.u8()?;
    if flags & !RULE_FLAGS != 0 {
        return Err(EngineError::BadValue);
    }
    let ctx = |v: u16| -> Result<Option<u16>, EngineError> {
        match v {
            ANY_CONTEXT => Ok(None),
            v if v < contexts => Ok(Some(v)),
            _ => Err(EngineError::BadIndex),
        }
    };
    let src = ctx(r.u16()?)?;
    let dst = ctx(r.u16()?)?;
    let iface_raw = r.u16()?;
    let method_raw = r.u16()?;
    let any_iface = flags & RULE_ANY_IFACE != 0;
    let any_method = flags & RULE_ANY_METHOD != 0;
    // Normalised encoding: "any" selectors carry zero, a method needs an
    // interface, and execute rules select no interface at all.
    if (any_iface && (iface_raw != 0 || !any_method))
        || (any_method && method_raw != 0)
        || (kind == EventKind::Execute && !any_iface)
    {
        return Err(EngineError::BadValue);
    }
    let iface = (!any_iface).then_some(iface_raw);
    let method = (!any_method).then_some(method_raw);
    let sig = match (iface, method) {
        (Some(i), Some(m)) => Some(
            methods
                .binary_search_by(|s| (s.iface, s.method).cmp(&(i, m)))
                .map_err(|_| EngineError::BadIndex)?,
        ),
        _ => None,
    };
    let n_guards = r.u8()?;
    let n_trans = r.u8()?;
    let n_ops = r.u16()?;
    let mut guards = Vec::new();
    for _ in 0..n_guards {
        let machine = r.u16()?;
        let states = r.u64()?;
        let m = machines
            .get(usize::from(machine))
            .ok_or(EngineError::BadIndex)?;
        if states == 0 || states & !state_mask(m.states) != 0 {
            return Err(EngineError::BadIndex);
        }
        guards.push(Guard { machine, states });
    }
    let mut transitions: Vec<TransitionRef> = Vec::new();
    for _ in 0..n_trans {
        let machine = r.u16()?;
        let transition = r.u8()?;
        let m = machines
            .get(usize::from(machine))
            .ok_or(EngineError::BadIndex)?;
        if usize::from(transition) >= m.transitions.len() {
            return Err(EngineError::BadIndex);
        }
        if transitions.iter().any(|t| t.machine == machine) {
            return Err(EngineError::BadValue);
        }
        transitions.push(TransitionRef {
            machine,
            transition,
        });
    }
    if flags & RULE_DENY != 0 && !transitions.is_empty() {
        return Err(EngineError::BadValue);
    }
    let mut expr = Vec::new();
    let mut depth: usize = 0;
    for _ in 0..n_ops {
        let code = r.u8()?;
        let word = r.u8()?;
        let a = r.u64()?;
        let b = r.u64()?;
        let op = match code {
            0..=5 => Op::Cmp {
                word,
                op: CMP_OPS[usize::from(code - OP_CMP_BASE)],
                lit: a,
            },
            OP_RANGE => Op::Range { word, lo: a, hi: b },
            OP_AND => Op::And,
            OP_OR => Op::Or,
            OP_NOT => Op::Not,
            _ => return Err(EngineError::BadValue),
        };
        match op {
            Op::Cmp { .. } | Op::Range { .. } => {
                let s = sig
                    .and_then(|i| methods.get(i))
                    .ok_or(EngineError::BadExpression)?;
                let fields = match kind {
                    EventKind::Request => &s.args,
                    EventKind::Response => &s.results,
                    EventKind::Execute => return Err(EngineError::BadExpression),
                };
                if usize::from(word) >= fields.len() {
                    return Err(EngineError::BadExpression);
                }
                if matches!(op, Op::Cmp { .. }) && b != 0 {
                    return Err(EngineError::BadValue);
                }
                depth += 1;
                if depth > MAX_STACK {
                    return Err(EngineError::BadExpression);
                }
            }
            Op::And | Op::Or => {
                if depth < 2 || word != 0 || a != 0 || b != 0 {
                    return Err(EngineError::BadExpression);
                }
                depth -= 1;
            }
            Op::Not => {
                if depth < 1 || word != 0 || a != 0 || b != 0 {
                    return Err(EngineError::BadExpression);
                }
            }
        }
        expr.push(op);
    }
    if !expr.is_empty() && depth != 1 {
        return Err(EngineError::BadExpression);
    }
    Ok(Rule {
        kind,
        deny: flags & RULE_DENY != 0,
        audit: (flags & RULE_HAS_AUDIT != 0).then_some(flags & RULE_AUDIT != 0),
        src,
        dst,
        iface,
        method,
        expr,
        guards,
        transitions,
    })
}
