//! Rust code generation: client stubs, server traits and dispatch loops.
//!
//! The output is `no_std` Rust without `unsafe`, meant to be `include!`d into
//! one module of a user program. It names the crates it uses by plain paths,
//! `abi::...` and `rt::sys::...`, so `abi` and `rt` must resolve in the
//! including module (a program that depends on `tessera-abi` and
//! `tessera-rt` has both). One generated file per module: the shared items
//! (`Caller`, `ERROR_METHOD`, the private helpers) are emitted once per call
//! to [`generate_rust`]. Every top-level item carries `#[allow(dead_code)]`,
//! because a program uses only some of the methods.
//!
//! For each interface `Echo` it emits:
//! - `mod echo`: `INTERFACE`, the method numbers in `echo::method`, and a
//!   `PingReply` struct for each method with more than one result;
//! - `EchoClient { handle }`, with one method per IPC method that encodes the
//!   arguments, calls, and checks and decodes the reply;
//! - `trait EchoServer`, with one method per IPC method, taking a
//!   `&Caller { badge }` and the decoded arguments;
//! - `dispatch_echo(server, request) -> abi::Message`, which checks and
//!   decodes one request, calls the server and encodes the reply;
//! - `serve_echo(server, inbox) -> abi::Error`, the `Recv` / `Reply`+`Recv`
//!   loop around `dispatch_echo`.
//!
//! # Wire convention
//!
//! - A request has tag `(interface, method)` without flags; argument `i` is
//!   in word `i` (zero-extended unsigned, sign-extended signed, `bool` as 0
//!   or 1) and the words after the last argument are zero.
//! - A successful reply has the request's tag and the results laid out the
//!   same way.
//! - A failed request is answered with tag `(interface, ERROR_METHOD)`
//!   (`0xffff`), the `abi::Error` code in word 0 and words 1 to 3 zero.
//!   Dispatch answers `BadInterface` for another interface's tag, `BadTag`
//!   for a tag with flags, `BadMethod` for an unknown method and
//!   `InvalidArgument` for words that do not fit the method's arguments;
//!   a server method's own `Err(e)` is sent as `e`.
//! - A client returns the error of an error reply as its own `Err`, and
//!   `Err(BadTag)` for any reply that breaks the convention (other
//!   interface or method, flags, bad result words, unknown error code).
//!
//! The text is laid out the way `rustfmt` would lay it out, so golden files
//! stay readable and diffs stay small.

use crate::model::{Field, Interface, Method, OolKind, Type};
use crate::names::{to_snake, to_upper_camel, to_upper_snake};
use layout::Gen;
use std::fmt::Write;

mod layout;

/// Generates the Rust stubs for `ifaces` (see the module docs for what and
/// the wire convention). The interfaces must come from [`crate::parse`] or
/// [`crate::load`], whose checks guarantee that the output compiles.
pub fn generate_rust(ifaces: &[Interface]) -> String {
    let mut g = Gen { out: String::new() };
    g.header(ifaces);
    for iface in ifaces {
        g.module(iface);
        g.client(iface);
        g.server(iface);
        g.dispatch(iface);
        g.serve(iface);
    }
    g.out
}

/// Types that need a decoding helper (the others are a plain word or cast).
fn needs_decoder(ty: Type) -> bool {
    !matches!(ty, Type::U64 | Type::I64)
}

/// Rust expression decoding `word` (a `u64` expression) into `ty`, failing
/// with `error`.
fn decode(ty: Type, word: &str, error: &str) -> String {
    match ty {
        Type::U64 => word.to_string(),
        Type::I64 => format!("{word} as i64"),
        _ => format!("decode_{}({word}).ok_or(abi::Error::{error})?", ty.name()),
    }
}

/// Rust expression encoding `value` of type `ty` as a `u64` word.
fn encode(ty: Type, value: &str) -> String {
    match ty {
        Type::U64 => value.to_string(),
        Type::I64 => format!("{value} as u64"),
        Type::I8 | Type::I16 | Type::I32 => format!("i64::from({value}) as u64"),
        Type::U8 | Type::U16 | Type::U32 | Type::Bool => format!("u64::from({value})"),
    }
}

/// The Rust result type of a method: `()`, the type, or its reply struct.
fn result_type(iface: &Interface, m: &Method) -> String {
    match m.results.as_slice() {
        [] => "()".to_string(),
        [one] => one.ty.name().to_string(),
        _ => format!(
            "{}::{}Reply",
            to_snake(&iface.name),
            to_upper_camel(&m.name)
        ),
    }
}

fn params(fields: &[Field]) -> impl Iterator<Item = String> + '_ {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.name, f.ty.name()))
}

/// The out-of-line argument as a Rust parameter (it comes after the word
/// arguments): client side (`&[u8]` or `rt::sys::Grant`) or server side
/// (`&[u8]` or the installed `abi::Handle`).
fn ool_param(m: &Method, client: bool) -> Option<String> {
    let f = m.args_ool.as_ref()?;
    let ty = match (f.kind, client) {
        (OolKind::Bytes, _) => "&[u8]",
        (OolKind::Handle, true) => "rt::sys::Grant",
        (OolKind::Handle, false) => "abi::Handle",
        (OolKind::Memory, true) => "rt::sys::Share",
        (OolKind::Memory, false) => "rt::sys::Shared",
    };
    Some(format!("{}: {ty}", f.name))
}

fn method_const(iface: &Interface, m: &Method) -> String {
    format!(
        "{}::method::{}",
        to_snake(&iface.name),
        to_upper_snake(&m.name)
    )
}

/// The `abi::MSG_WORDS` words of a message: `values` then zeros.
fn padded(values: Vec<String>) -> Vec<String> {
    let zeros = abi::MSG_WORDS.saturating_sub(values.len());
    values
        .into_iter()
        .chain((0..zeros).map(|_| "0".to_string()))
        .collect()
}

impl Gen {
    fn header(&mut self, ifaces: &[Interface]) {
        self.out += "\
// @generated by tessera-idl from interface descriptions. Do not edit.
//
// Wire convention: a request's tag is (interface, method) and its words hold
// the arguments in order, one per word, the rest zero. A successful reply has
// the request's tag and the results laid out the same way. A failed request is
// answered with method ERROR_METHOD (0xffff) and the abi::Error code in word 0.
";
        if ifaces.is_empty() {
            return;
        }
        self.out += "
/// Who sent a request, as the kernel reported it to the server.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The badge of the client's handle (the client's domain id).
    pub badge: u64,
}

/// Method number of an error reply; word 0 holds the `abi::Error` code.
#[allow(dead_code)]
pub const ERROR_METHOD: u16 = 0xffff;

/// Checks a reply to the request with tag `request` that should carry
/// `results` result words, and returns its words. An error reply gives its
/// error; anything malformed gives `BadTag`.
#[allow(dead_code)]
fn reply_words(
    reply: abi::Message,
    request: abi::Tag,
    results: usize,
) -> Result<[u64; abi::MSG_WORDS], abi::Error> {
    let tag = reply.tag;
    let words = reply.words;
    // The usual answer first, in one test of the tag.
    if tag == request && words[results..].iter().all(|&w| w == 0) {
        return Ok(words);
    }
    if tag.interface() != request.interface() || tag.flags() != 0 {
        return Err(abi::Error::BadTag);
    }
    if tag.method() == ERROR_METHOD {
        return match abi::Error::from_status(words[0]) {
            Some(Err(e)) if words[1..].iter().all(|&w| w == 0) => Err(e),
            _ => Err(abi::Error::BadTag),
        };
    }
    if tag.method() != request.method() || words[results..].iter().any(|&w| w != 0) {
        return Err(abi::Error::BadTag);
    }
    Ok(words)
}

/// The reply to the request with tag `request`: its tag and the result words,
/// or an error reply.
#[allow(dead_code)]
fn reply_message(
    request: abi::Tag,
    answer: Result<[u64; abi::MSG_WORDS], abi::Error>,
) -> abi::Message {
    let interface = request.interface();
    match answer {
        Ok(words) => abi::Message::new(abi::Tag::new(interface, request.method()), words),
        Err(e) => abi::Message::new(abi::Tag::new(interface, ERROR_METHOD), [e.code(), 0, 0, 0]),
    }
}
";
        let mut used: Vec<Type> = Vec::new();
        for m in ifaces.iter().flat_map(|i| &i.methods) {
            for f in m.args.iter().chain(&m.results) {
                if needs_decoder(f.ty) && !used.contains(&f.ty) {
                    used.push(f.ty);
                }
            }
        }
        for ty in Type::ALL.into_iter().filter(|t| used.contains(t)) {
            self.decoder(ty);
        }
    }

    fn decoder(&mut self, ty: Type) {
        let name = ty.name();
        let _ = write!(
            self.out,
            "\n/// Decodes a `{name}` from a word; `None` if the word is not a valid encoding.\n\
             #[allow(dead_code)]\n\
             fn decode_{name}(word: u64) -> Option<{name}> {{\n"
        );
        let body = match ty {
            Type::Bool => "    match word {\n        0 => Some(false),\n        1 => Some(true),\n        _ => None,\n    }\n".to_string(),
            Type::I8 | Type::I16 | Type::I32 => format!("    {name}::try_from(word as i64).ok()\n"),
            _ => format!("    {name}::try_from(word).ok()\n"),
        };
        self.out += &body;
        self.out += "}\n";
    }

    fn module(&mut self, iface: &Interface) {
        let module = to_snake(&iface.name);
        self.line(0, "");
        self.docs(
            0,
            "",
            &format!("Numbers and reply types of interface `{}`.", iface.name),
        );
        self.line(0, "#[allow(dead_code)]");
        self.line(0, &format!("pub mod {module} {{"));
        self.line(4, &format!("/// Interface number of `{}`.", iface.name));
        self.line(4, &format!("pub const INTERFACE: u16 = {:#x};", iface.id));
        self.line(0, "");
        self.line(4, &format!("/// Method numbers of `{}`.", iface.name));
        self.line(4, "pub mod method {");
        for (i, m) in iface.methods.iter().enumerate() {
            if i > 0 {
                self.line(0, "");
            }
            self.line(8, &format!("/// Method `{}`.", m.name));
            self.line(
                8,
                &format!("pub const {}: u16 = {};", to_upper_snake(&m.name), m.id),
            );
        }
        self.line(4, "}");
        for m in iface.methods.iter().filter(|m| m.results.len() > 1) {
            self.line(0, "");
            self.line(4, &format!("/// Results of method `{}`.", m.name));
            self.line(4, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]");
            self.line(
                4,
                &format!("pub struct {}Reply {{", to_upper_camel(&m.name)),
            );
            for (i, f) in m.results.iter().enumerate() {
                self.line(8, &format!("/// Result word {i}."));
                self.line(8, &format!("pub {}: {},", f.name, f.ty.name()));
            }
            self.line(4, "}");
        }
        self.line(0, "}");
    }

    fn client(&mut self, iface: &Interface) {
        let name = &iface.name;
        let extra = format!(
            "Client of interface `{name}` ({:#x}): one method per IPC method.",
            iface.id
        );
        self.line(0, "");
        self.docs(0, &iface.doc, &extra);
        self.line(0, "#[allow(dead_code)]");
        self.line(0, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]");
        self.line(0, &format!("pub struct {name}Client {{"));
        self.line(4, "/// The channel handle to the server.");
        self.line(4, "pub handle: abi::Handle,");
        self.line(0, "}");
        self.line(0, "");
        self.line(0, "#[allow(dead_code)]");
        self.line(0, &format!("impl {name}Client {{"));
        for (i, m) in iface.methods.iter().enumerate() {
            if i > 0 {
                self.line(0, "");
            }
            self.client_method(iface, m);
        }
        self.line(0, "}");
    }

    fn client_method(&mut self, iface: &Interface, m: &Method) {
        let default_doc = format!("Calls method `{}` ({}).", m.name, m.id);
        self.docs(4, &m.doc, if m.doc.is_empty() { &default_doc } else { "" });
        let ps: Vec<String> = std::iter::once("&self".to_string())
            .chain(params(&m.args))
            .chain(ool_param(m, true))
            .collect();
        let ret = format!("Result<{}, abi::Error>", result_type(iface, m));
        self.signature(4, &format!("pub fn {}", m.name), &ps, &ret, " {");
        // The arguments are read only here, before any local is bound, so an
        // argument named like a local (`words`, `tag`) is harmless.
        // The out-of-line part is bound first, to `send_`: interface-file
        // names never end in `_`, so no argument is shadowed.
        if let Some(f) = &m.args_ool {
            let send = match f.kind {
                OolKind::Bytes => "Bytes",
                OolKind::Handle => "Handle",
                OolKind::Memory => "Share",
            };
            self.line(
                8,
                &format!("let send_ = rt::sys::Send::{send}({});", f.name),
            );
        }
        let words = padded(m.args.iter().map(|f| encode(f.ty, &f.name)).collect());
        self.array(8, "let words = ", &words, ";");
        let iface_const = format!("{}::INTERFACE", to_snake(&iface.name));
        let tag_args = [iface_const, method_const(iface, m)];
        self.call(8, "let tag = ", "abi::Tag::new", &tag_args, ";");
        if m.args_ool.is_some() {
            self.line(
                8,
                "let reply = rt::sys::call_with(self.handle, abi::Message::new(tag, words), send_)?;",
            );
        } else {
            self.line(
                8,
                "let reply = rt::sys::call(self.handle, abi::Message::new(tag, words))?;",
            );
        }
        let n = m.results.len();
        match m.results.as_slice() {
            [] => {
                self.line(8, "reply_words(reply, tag, 0)?;");
                self.line(8, "Ok(())");
            }
            [one] => {
                self.line(8, "let words = reply_words(reply, tag, 1)?;");
                let value = decode(one.ty, "words[0]", "BadTag");
                let tail = match value.strip_suffix('?') {
                    Some(fallible) => fallible.to_string(),
                    None => format!("Ok({value})"),
                };
                self.line(8, &tail);
            }
            _ => {
                self.line(8, &format!("let words = reply_words(reply, tag, {n})?;"));
                self.line(8, &format!("Ok({} {{", result_type(iface, m)));
                for (i, f) in m.results.iter().enumerate() {
                    let value = decode(f.ty, &format!("words[{i}]"), "BadTag");
                    self.line(12, &format!("{}: {value},", f.name));
                }
                self.line(8, "})");
            }
        }
        self.line(4, "}");
    }

    fn server(&mut self, iface: &Interface) {
        let name = &iface.name;
        let serve = format!("serve_{}", to_snake(name));
        let extra = format!(
            "Server of interface `{name}` ({:#x}): implement one method per IPC method,\n\
             then run [`{serve}`]. An `Err` is sent to the client as an error reply.",
            iface.id
        );
        self.line(0, "");
        self.docs(0, &iface.doc, &extra);
        self.line(0, "#[allow(dead_code)]");
        self.line(0, &format!("pub trait {name}Server {{"));
        for (i, m) in iface.methods.iter().enumerate() {
            if i > 0 {
                self.line(0, "");
            }
            let default_doc = format!("Serves method `{}` ({}).", m.name, m.id);
            self.docs(4, &m.doc, if m.doc.is_empty() { &default_doc } else { "" });
            let ps: Vec<String> = ["&mut self".to_string(), "caller: &Caller".to_string()]
                .into_iter()
                .chain(params(&m.args))
                .chain(ool_param(m, false))
                .collect();
            let ret = format!("Result<{}, abi::Error>", result_type(iface, m));
            self.signature(4, &format!("fn {}", m.name), &ps, &ret, ";");
        }
        self.line(0, "}");
    }

    fn dispatch(&mut self, iface: &Interface) {
        let name = &iface.name;
        let module = to_snake(name);
        self.line(0, "");
        self.doc(
            0,
            &format!(
                "Answers one request to interface `{name}`: checks its tag and argument words,\n\
                 calls `server` and returns the reply to send."
            ),
        );
        self.line(0, "#[allow(dead_code)]");
        let ps = [
            format!("server: &mut impl {name}Server"),
            "request: &rt::sys::Request".to_string(),
        ];
        self.signature(
            0,
            &format!("pub fn dispatch_{module}"),
            &ps,
            "abi::Message",
            " {",
        );
        let ps = [
            format!("server: &mut impl {name}Server"),
            "caller: &Caller".to_string(),
            "tag: abi::Tag".to_string(),
            "words: [u64; abi::MSG_WORDS]".to_string(),
            "ool: rt::sys::Received<'_>".to_string(),
        ];
        self.signature(
            4,
            "fn answer",
            &ps,
            "Result<[u64; abi::MSG_WORDS], abi::Error>",
            " {",
        );
        self.line(8, &format!("if !tag.requests({module}::INTERFACE) {{"));
        self.line(12, &format!("if tag.interface() != {module}::INTERFACE {{"));
        self.line(16, "return Err(abi::Error::BadInterface);");
        self.line(12, "}");
        self.line(12, "return Err(abi::Error::BadTag);");
        self.line(8, "}");
        self.line(8, "match tag.method() {");
        for m in &iface.methods {
            self.dispatch_arm(iface, m);
        }
        self.line(12, "_ => Err(abi::Error::BadMethod),");
        self.line(8, "}");
        self.line(4, "}");
        self.line(4, "let caller = Caller {");
        self.line(8, "badge: request.badge,");
        self.line(4, "};");
        let args = [
            "server",
            "&caller",
            "request.msg.tag",
            "request.msg.words",
            "request.ool",
        ]
        .map(String::from);
        self.call(4, "let result = ", "answer", &args, ";");
        self.line(4, "reply_message(request.msg.tag, result)");
        self.line(0, "}");
    }

    fn dispatch_arm(&mut self, iface: &Interface, m: &Method) {
        self.line(12, &format!("{} => {{", method_const(iface, m)));
        match m.args_ool.as_ref().map(|f| f.kind) {
            None => {
                self.line(16, "if !ool.is_none() {");
                self.line(20, "return Err(abi::Error::BadTag);");
                self.line(16, "}");
            }
            Some(OolKind::Bytes) => {
                // A request whose bytes did not all arrive is refused.
                self.line(
                    16,
                    "let rt::sys::Received::Bytes { data: ool, total } = ool else {",
                );
                self.line(20, "return Err(abi::Error::InvalidArgument);");
                self.line(16, "};");
                self.line(16, "if total != ool.len() {");
                self.line(20, "return Err(abi::Error::InvalidArgument);");
                self.line(16, "}");
            }
            Some(OolKind::Handle) => {
                self.line(16, "let rt::sys::Received::Handle(ool) = ool else {");
                self.line(20, "return Err(abi::Error::InvalidArgument);");
                self.line(16, "};");
            }
            Some(OolKind::Memory) => {
                self.line(16, "let rt::sys::Received::Memory(ool) = ool else {");
                self.line(20, "return Err(abi::Error::InvalidArgument);");
                self.line(16, "};");
            }
        }
        let n = m.args.len();
        if n < abi::MSG_WORDS {
            let unused = if n == 0 {
                "words.iter()".to_string()
            } else {
                format!("words[{n}..].iter()")
            };
            self.line(16, &format!("if {unused}.any(|&w| w != 0) {{"));
            self.line(20, "return Err(abi::Error::InvalidArgument);");
            self.line(16, "}");
        }
        // Positional locals: interface-file names never become locals here,
        // so they cannot shadow `server`, `caller` or `words`.
        let mut call_args = vec!["caller".to_string()];
        for (i, f) in m.args.iter().enumerate() {
            let value = decode(f.ty, &format!("words[{i}]"), "InvalidArgument");
            self.line(16, &format!("let arg{i} = {value};"));
            call_args.push(format!("arg{i}"));
        }
        if m.args_ool.is_some() {
            call_args.push("ool".to_string());
        }
        let call = format!("server.{}({})?", m.name, call_args.join(", "));
        match m.results.as_slice() {
            [] => {
                self.line(16, &format!("{call};"));
                self.array(16, "Ok(", &padded(Vec::new()), ")");
            }
            [one] => {
                self.line(16, &format!("let reply = {call};"));
                self.array(16, "Ok(", &padded(vec![encode(one.ty, "reply")]), ")");
            }
            results => {
                self.line(16, &format!("let reply = {call};"));
                let words = results
                    .iter()
                    .map(|f| encode(f.ty, &format!("reply.{}", f.name)));
                self.array(16, "Ok(", &padded(words.collect()), ")");
            }
        }
        self.line(12, "}");
    }

    fn serve(&mut self, iface: &Interface) {
        let name = &iface.name;
        let module = to_snake(name);
        self.line(0, "");
        self.doc(
            0,
            &format!(
                "Serves interface `{name}` on `inbox` with `rt::sys::serve`: receives a\n\
                 request, answers it with [`dispatch_{module}`], then replies and receives the\n\
                 next one in one system call; the shared memory of a request answered with an\n\
                 error is unmapped. Returns only when receiving fails, with that error."
            ),
        );
        self.line(0, "#[allow(dead_code)]");
        let ps = [
            format!("server: &mut impl {name}Server"),
            "inbox: abi::Handle".to_string(),
        ];
        self.signature(
            0,
            &format!("pub fn serve_{module}"),
            &ps,
            "abi::Error",
            " {",
        );
        // `rt::sys::serve` is the loop (it also unmaps the shared memory of
        // refused requests); it stops only on an error here, as the
        // closure never asks it to.
        self.out += &format!(
            "    let served = rt::sys::serve(inbox, |request| {{
        let reply = dispatch_{module}(server, request);
        (reply, false)
    }});
    match served {{
        Ok(()) => abi::Error::PeerGone,
        Err(e) => e,
    }}
}}
"
        );
    }
}
