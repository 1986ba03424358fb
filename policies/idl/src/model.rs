//! The checked model of an interface description, and the message-shape rules
//! derived from it.
//!
//! Everything here has passed the checker: ids are in range and unique, names
//! are unique, and no method has more arguments or results than a message has
//! words. The policy compiler and the code generator rely on that and never
//! re-check it.
//!
//! A *shape* is how a method's values sit in the [`abi::MSG_WORDS`] register
//! words of a message: value `i` in word `i`, each encoded as a full 64-bit
//! word ([`Type::accepts`]), and every word past the last value zero. A
//! message whose words break that is malformed, whatever the policy says.

/// Method number of an error reply.
///
/// A server that fails a request answers with this method number and the
/// [`abi::Error`] code in word 0 (words 1 to 3 zero); the interface number
/// stays the request's. Method ids in interface files are therefore limited to
/// `1..=0xfffe` (0 is never a method either).
pub const ERROR_METHOD: u16 = 0xffff;

/// One interface: a named set of methods with a number unique in the solution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// The interface name (UpperCamelCase).
    pub name: String,
    /// The interface number carried in the message tag (at least
    /// [`abi::iface::FIRST_USER`]).
    pub id: u16,
    /// The `///` doc comment, one line per comment line, without the
    /// leading `///` and the one space after it.
    pub doc: String,
    /// The methods, in declaration order.
    pub methods: Vec<Method>,
}

/// One method: a request with typed arguments answered by a reply with typed
/// results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method {
    /// The method name (snake_case).
    pub name: String,
    /// The method number carried in the message tag (`1..=0xfffe`).
    pub id: u16,
    /// The `///` doc comment (see [`Interface::doc`]).
    pub doc: String,
    /// The request values, word 0 first (at most [`abi::MSG_WORDS`]).
    pub args: Vec<Field>,
    /// The reply values, word 0 first (at most [`abi::MSG_WORDS`]).
    pub results: Vec<Field>,
    /// The request's out-of-line part, if the method takes one (a `bytes`
    /// or `handle` argument, which occupies no word).
    pub args_ool: Option<OolField>,
    /// The reply's out-of-line part. The checker accepts none yet (the
    /// kernel can carry one; the generated code cannot).
    pub results_ool: Option<OolField>,
}

/// What an out-of-line value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OolKind {
    /// `bytes`: a buffer the kernel copies (at most `abi::ool::MAX_BYTES`).
    Bytes,
    /// `handle`: a handle passed on with the rights the sender gives.
    Handle,
    /// `memory`: pages of the sender's memory shared with the receiver.
    Memory,
}

impl OolKind {
    /// The name used in interface files.
    pub fn name(self) -> &'static str {
        match self {
            OolKind::Bytes => "bytes",
            OolKind::Handle => "handle",
            OolKind::Memory => "memory",
        }
    }

    /// The kind with the given name, if there is one.
    pub fn from_name(name: &str) -> Option<OolKind> {
        [OolKind::Bytes, OolKind::Handle, OolKind::Memory]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// A named out-of-line value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OolField {
    /// The field name (snake_case).
    pub name: String,
    /// Its kind.
    pub kind: OolKind,
}

/// A named, typed value that occupies one message word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name (snake_case); policies refer to message fields by it.
    pub name: String,
    /// The field type.
    pub ty: Type,
}

/// A scalar type that travels in one 64-bit register word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Unsigned 8-bit, zero-extended.
    U8,
    /// Unsigned 16-bit, zero-extended.
    U16,
    /// Unsigned 32-bit, zero-extended.
    U32,
    /// Unsigned 64-bit: any word.
    U64,
    /// Signed 8-bit, sign-extended.
    I8,
    /// Signed 16-bit, sign-extended.
    I16,
    /// Signed 32-bit, sign-extended.
    I32,
    /// Signed 64-bit: any word.
    I64,
    /// Boolean: exactly 0 (false) or 1 (true).
    Bool,
}

impl Type {
    /// Every type, in the order the language reference lists them.
    pub const ALL: [Type; 9] = [
        Type::U8,
        Type::U16,
        Type::U32,
        Type::U64,
        Type::I8,
        Type::I16,
        Type::I32,
        Type::I64,
        Type::Bool,
    ];

    /// Whether a register word is a valid encoding of this type
    /// (zero-extended unsigned, sign-extended signed, bool 0/1).
    pub fn accepts(self, word: u64) -> bool {
        // Reinterpreting the word as signed is the point: a sign-extended
        // value is valid exactly when it fits the narrower signed range.
        let signed = word as i64;
        match self {
            Type::U8 => word <= u64::from(u8::MAX),
            Type::U16 => word <= u64::from(u16::MAX),
            Type::U32 => word <= u64::from(u32::MAX),
            Type::U64 | Type::I64 => true,
            Type::I8 => i8::try_from(signed).is_ok(),
            Type::I16 => i16::try_from(signed).is_ok(),
            Type::I32 => i32::try_from(signed).is_ok(),
            Type::Bool => word <= 1,
        }
    }

    /// The name used in interface files and in generated Rust code.
    pub fn name(self) -> &'static str {
        match self {
            Type::U8 => "u8",
            Type::U16 => "u16",
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::I8 => "i8",
            Type::I16 => "i16",
            Type::I32 => "i32",
            Type::I64 => "i64",
            Type::Bool => "bool",
        }
    }

    /// The type with the given name, if there is one.
    pub fn from_name(name: &str) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl core::fmt::Display for Type {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Interface {
    /// The method with the given name.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.name == name)
    }

    /// The method with the given number.
    pub fn method_by_id(&self, id: u16) -> Option<&Method> {
        self.methods.iter().find(|m| m.id == id)
    }
}

impl Method {
    /// The argument with the given name and its word index.
    pub fn arg(&self, name: &str) -> Option<(usize, &Field)> {
        self.args.iter().enumerate().find(|(_, f)| f.name == name)
    }

    /// The result with the given name and its word index.
    pub fn result(&self, name: &str) -> Option<(usize, &Field)> {
        self.results
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }
}

/// Whether `words` is a valid encoding of `fields`: each field's word is
/// accepted by its type, and every word past the last field is zero.
fn shape_ok(fields: &[Field], words: &[u64; abi::MSG_WORDS]) -> bool {
    fields.len() <= words.len()
        && words.iter().enumerate().all(|(i, &w)| match fields.get(i) {
            Some(f) => f.ty.accepts(w),
            None => w == 0,
        })
}

/// Shape check used by the security module: words beyond the arg count must
/// be zero and each arg word must be accepted by its type.
pub fn request_shape_ok(m: &Method, words: &[u64; 4]) -> bool {
    shape_ok(&m.args, words)
}

/// Shape check of a successful reply (tag method = the request's method):
/// words beyond the result count must be zero and each result word must be
/// accepted by its type.
pub fn reply_shape_ok(m: &Method, words: &[u64; 4]) -> bool {
    shape_ok(&m.results, words)
}

/// Shape check of an error reply (tag method [`ERROR_METHOD`]): word 0 is an
/// [`abi::Error`] code and words 1 to 3 are zero.
pub fn error_reply_shape_ok(words: &[u64; 4]) -> bool {
    matches!(abi::Error::from_status(words[0]), Some(Err(_))) && words[1..] == [0; 3]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: Type) -> Field {
        Field {
            name: "x".into(),
            ty,
        }
    }

    fn method(args: &[Type], results: &[Type]) -> Method {
        Method {
            args_ool: None,
            results_ool: None,
            name: "m".into(),
            id: 1,
            doc: String::new(),
            args: args.iter().copied().map(field).collect(),
            results: results.iter().copied().map(field).collect(),
        }
    }

    #[test]
    fn accepts_at_every_boundary() {
        let neg = |v: i64| v as u64;
        let cases: &[(Type, &[u64], &[u64])] = &[
            (Type::U8, &[0, 1, 0xff], &[0x100, u64::MAX, neg(-1)]),
            (Type::U16, &[0, 0xff, 0xffff], &[0x1_0000, u64::MAX]),
            (
                Type::U32,
                &[0, 0xffff_ffff],
                &[0x1_0000_0000, u64::MAX, neg(-1)],
            ),
            (Type::U64, &[0, 1, u64::MAX, 1 << 63], &[]),
            (
                Type::I8,
                &[0, 127, neg(-1), neg(-128)],
                &[128, 0xff, neg(-129), 0x80, u64::MAX >> 1],
            ),
            (
                Type::I16,
                &[0, 0x7fff, neg(-0x8000), neg(-1)],
                &[0x8000, 0xffff, neg(-0x8001)],
            ),
            (
                Type::I32,
                &[0, 0x7fff_ffff, neg(-0x8000_0000), neg(-1)],
                &[0x8000_0000, 0xffff_ffff, neg(-0x8000_0001)],
            ),
            (Type::I64, &[0, u64::MAX, 1 << 63, (1 << 63) - 1], &[]),
            (Type::Bool, &[0, 1], &[2, u64::MAX, neg(-1)]),
        ];
        for (ty, good, bad) in cases {
            for &w in *good {
                assert!(ty.accepts(w), "{ty} should accept {w:#x}");
            }
            for &w in *bad {
                assert!(!ty.accepts(w), "{ty} should reject {w:#x}");
            }
        }
        assert_eq!(cases.len(), Type::ALL.len());
    }

    #[test]
    fn accepts_matches_rust_casts() {
        // Encoding a value the way generated code does always gives an
        // accepted word.
        for v in [i64::MIN, -129, -128, -1, 0, 1, 127, 128, 255, 256, i64::MAX] {
            let w = v as u64;
            assert_eq!(Type::I8.accepts(w), i8::try_from(v).is_ok());
            assert_eq!(Type::I16.accepts(w), i16::try_from(v).is_ok());
            assert_eq!(Type::I32.accepts(w), i32::try_from(v).is_ok());
            assert_eq!(Type::U8.accepts(w), u8::try_from(w).is_ok());
        }
    }

    #[test]
    fn names_round_trip() {
        for t in Type::ALL {
            assert_eq!(Type::from_name(t.name()), Some(t));
        }
        assert_eq!(Type::from_name("u128"), None);
        assert_eq!(Type::from_name("U8"), None);
    }

    #[test]
    fn request_shape() {
        let m = method(&[Type::U8, Type::Bool], &[]);
        assert!(request_shape_ok(&m, &[0xff, 1, 0, 0]));
        assert!(request_shape_ok(&m, &[0, 0, 0, 0]));
        assert!(!request_shape_ok(&m, &[0x100, 1, 0, 0]), "u8 too wide");
        assert!(!request_shape_ok(&m, &[0, 2, 0, 0]), "bool not 0/1");
        assert!(!request_shape_ok(&m, &[0, 0, 1, 0]), "word past the args");
        assert!(!request_shape_ok(&m, &[0, 0, 0, u64::MAX]), "last word");
        let none = method(&[], &[]);
        assert!(request_shape_ok(&none, &[0; 4]));
        for i in 0..4 {
            let mut w = [0; 4];
            w[i] = 1;
            assert!(!request_shape_ok(&none, &w));
        }
        let full = method(&[Type::U64, Type::I64, Type::I8, Type::U32], &[]);
        assert!(request_shape_ok(&full, &[u64::MAX, u64::MAX, u64::MAX, 7]));
        assert!(!request_shape_ok(&full, &[0, 0, 0x80, 0]));
    }

    #[test]
    fn reply_shape_uses_results_not_args() {
        let m = method(&[Type::U64; 4], &[Type::I16]);
        assert!(reply_shape_ok(&m, &[(-5i64) as u64, 0, 0, 0]));
        assert!(!reply_shape_ok(&m, &[0, 1, 0, 0]));
        assert!(!reply_shape_ok(&m, &[0x8000, 0, 0, 0]));
        assert!(request_shape_ok(&m, &[1, 2, 3, 4]));
    }

    #[test]
    fn error_reply_shape() {
        for e in abi::Error::ALL {
            assert!(error_reply_shape_ok(&[e.code(), 0, 0, 0]));
            assert!(!error_reply_shape_ok(&[e.code(), 0, 1, 0]));
        }
        assert!(!error_reply_shape_ok(&[0; 4]), "success is not an error");
        assert!(!error_reply_shape_ok(&[999, 0, 0, 0]), "unknown code");
    }

    #[test]
    fn lookups() {
        let mut a = method(&[Type::U8], &[]);
        a.name = "a".into();
        let mut b = method(&[], &[Type::U8]);
        b.name = "b".into();
        b.id = 7;
        let i = Interface {
            name: "I".into(),
            id: 0x100,
            doc: String::new(),
            methods: vec![a, b],
        };
        assert_eq!(i.method("b").map(|m| m.id), Some(7));
        assert_eq!(i.method_by_id(1).map(|m| m.name.as_str()), Some("a"));
        assert!(i.method("c").is_none());
        assert!(i.method_by_id(2).is_none());
        assert_eq!(i.methods[0].arg("x").map(|(n, _)| n), Some(0));
        assert!(i.methods[0].result("x").is_none());
    }
}
