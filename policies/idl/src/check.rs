//! The checker: syntax tree to model, enforcing every rule that is not
//! grammar.
//!
//! Rules, each with its own diagnostic:
//! - interface ids are in `0x100..=0xffff` (below is the kernel's), method
//!   ids in `1..=0xfffe` (0xffff is [`crate::ERROR_METHOD`]);
//! - interface names are UpperCamelCase, method and field names snake_case,
//!   none a Rust keyword, and no interface generates a Rust module named like
//!   a crate the generated code uses (`abi`, `rt`); no argument is named
//!   `caller`, the generated server methods' own parameter;
//! - at most [`abi::MSG_WORDS`] arguments and as many results;
//! - an interface has at least one method;
//! - uniqueness: interface names, ids and generated module names across all
//!   files; method names, ids and generated type names within an interface;
//!   argument names and result names within a method.
//!
//! A duplicate is reported at its second occurrence, with a hint pointing at
//! the first.

use crate::diag::{Diagnostic, line_col};
use crate::model::{ERROR_METHOD, Field, Interface, Method, OolField};
use crate::names;
use crate::parser::{AstField, AstInterface, AstMethod, AstType};
use core::ops::Range;
use std::collections::HashMap;

/// The files being checked together, as (name, source).
pub(crate) type Files<'a> = [(&'a str, &'a str)];

/// A checked interface with what the cross-file checks need to point at.
pub(crate) struct Located {
    pub file: usize,
    pub name_span: Range<usize>,
    pub id_span: Range<usize>,
    pub iface: Interface,
}

/// `file:line:col` of a byte offset, for "first defined at" hints.
fn location(files: &Files, file: usize, at: usize) -> String {
    let (name, src) = files[file];
    let (line, col) = line_col(src, at);
    format!("{name}:{line}:{col}")
}

/// Reports the second and later occurrences of equal keys.
struct Unique<'f, 'a> {
    files: &'f Files<'a>,
    seen: HashMap<String, (String, usize, Range<usize>)>,
}

impl<'f, 'a> Unique<'f, 'a> {
    fn new(files: &'f Files<'a>) -> Self {
        Unique {
            files,
            seen: HashMap::new(),
        }
    }

    /// Records `key` for the item `label` at `span` in `file`. If the key was
    /// seen, returns the earlier item's label and location.
    fn add(
        &mut self,
        key: String,
        label: &str,
        file: usize,
        span: &Range<usize>,
    ) -> Option<(String, String)> {
        match self.seen.get(&key) {
            Some((first, f, s)) => Some((first.clone(), location(self.files, *f, s.start))),
            None => {
                self.seen
                    .insert(key, (label.to_string(), file, span.clone()));
                None
            }
        }
    }
}

/// Checks one interface; every problem becomes a diagnostic in `errors`.
pub(crate) fn check_interface(
    files: &Files,
    file: usize,
    ast: AstInterface,
    errors: &mut Vec<Diagnostic>,
) -> Located {
    let (name, src) = files[file];
    let err = |span: &Range<usize>, msg: String, hint: String| {
        Diagnostic::new(name, span.clone(), msg).with_hint(hint)
    };
    let id_text = &src[ast.id_span.clone()];

    if !names::is_upper_camel(&ast.name) {
        let fix = names::to_upper_camel(&names::to_snake(&ast.name));
        let hint = if names::is_upper_camel(&fix) {
            format!("write `{fix}`")
        } else {
            "interface names start with an uppercase letter and use only letters and digits, e.g. `Echo`".to_string()
        };
        errors.push(err(
            &ast.name_span,
            format!("interface name `{}` is not UpperCamelCase", ast.name),
            hint,
        ));
    } else {
        let module = names::to_snake(&ast.name);
        let why = if names::is_rust_keyword(&module) {
            Some("which is a Rust keyword".to_string())
        } else if names::RESERVED_MODULES.contains(&module.as_str()) {
            Some(format!(
                "which would hide the `{module}` crate the generated code uses"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            let msg = format!(
                "interface name `{}` generates the Rust module `{module}`, {why}",
                ast.name
            );
            errors.push(err(&ast.name_span, msg, "rename the interface".to_string()));
        }
    }

    let range_hint = format!(
        "user interfaces are numbered {:#x}..=0xffff (abi::iface::FIRST_USER and up)",
        abi::iface::FIRST_USER
    );
    let id = match u16::try_from(ast.id) {
        Ok(id) if id >= abi::iface::FIRST_USER => id,
        Ok(_) => {
            let msg = format!("interface id {id_text} is reserved for the kernel");
            errors.push(err(&ast.id_span, msg, range_hint));
            0
        }
        Err(_) => {
            let msg = format!("interface id {id_text} does not fit in 16 bits");
            errors.push(err(&ast.id_span, msg, range_hint));
            0
        }
    };

    if ast.methods.is_empty() && !ast.broken {
        let msg = format!("interface `{}` has no methods", ast.name);
        errors.push(err(
            &ast.name_span,
            msg,
            "add at least one `method name(...) = 1;`".to_string(),
        ));
    }

    let mut by_name = Unique::new(files);
    let mut by_id = Unique::new(files);
    let mut by_rust_name = Unique::new(files);
    let mut methods = Vec::new();
    for m in ast.methods {
        let method = check_method(files, file, &ast.name, &m, errors);
        if let Some((_, at)) = by_name.add(m.name.clone(), &m.name, file, &m.name_span) {
            let msg = format!("method `{}` is defined twice in `{}`", m.name, ast.name);
            errors.push(err(
                &m.name_span,
                msg,
                format!("the first definition is at {at}"),
            ));
        } else if let Some((first, at)) =
            by_rust_name.add(names::to_upper_camel(&m.name), &m.name, file, &m.name_span)
        {
            let msg = format!(
                "methods `{first}` and `{}` both generate the Rust name `{}`",
                m.name,
                names::to_upper_camel(&m.name)
            );
            errors.push(err(
                &m.name_span,
                msg,
                format!("rename one of them (`{first}` is at {at})"),
            ));
        }
        if method.id != 0
            && let Some((first, at)) = by_id.add(method.id.to_string(), &m.name, file, &m.id_span)
        {
            let msg = format!(
                "method id {} is already used by `{first}`",
                &src[m.id_span.clone()]
            );
            errors.push(err(
                &m.id_span,
                msg,
                format!("`{first}` is at {at}; each method needs its own id"),
            ));
        }
        methods.push(method);
    }

    Located {
        file,
        name_span: ast.name_span,
        id_span: ast.id_span,
        iface: Interface {
            name: ast.name,
            id,
            doc: ast.doc,
            methods,
        },
    }
}

/// Checks one method. An out-of-range id becomes 0 in the result (and an
/// error), so that it takes no part in the duplicate-id check.
fn check_method(
    files: &Files,
    file: usize,
    iface: &str,
    m: &AstMethod,
    errors: &mut Vec<Diagnostic>,
) -> Method {
    let (name, src) = files[file];
    let err = |span: &Range<usize>, msg: String, hint: String| {
        Diagnostic::new(name, span.clone(), msg).with_hint(hint)
    };

    check_name(name, "method", &m.name, &m.name_span, errors);

    let id_text = &src[m.id_span.clone()];
    let range_hint = "method ids are 1..=0xfffe".to_string();
    let id = match u16::try_from(m.id) {
        Ok(0) => {
            errors.push(err(
                &m.id_span,
                "method id 0 is reserved".to_string(),
                range_hint,
            ));
            0
        }
        Ok(ERROR_METHOD) => {
            let msg = format!("method id {id_text} is reserved for error replies");
            errors.push(err(&m.id_span, msg, range_hint));
            0
        }
        Ok(id) => id,
        Err(_) => {
            let msg = format!("method id {id_text} does not fit in 16 bits");
            errors.push(err(&m.id_span, msg, range_hint));
            0
        }
    };

    let (args, args_ool) = check_fields(files, file, "argument", &m.name, &m.args, errors);
    let (results, _) = check_fields(files, file, "result", &m.name, &m.results, errors);
    if let Some(f) = m.results.iter().find(|f| matches!(f.ty, AstType::Ool(_))) {
        let msg = format!(
            "method `{iface}.{}` returns an out-of-line value; only arguments can be out of line",
            m.name
        );
        let hint = "the kernel carries a reply buffer, but the generated code does not yet; \
                    return the data as words, or ask for it with a request that takes a buffer";
        errors.push(err(&f.ty_span, msg, hint.to_string()));
    }
    for (fields, what, part) in [
        (&m.args, "arguments", "a request"),
        (&m.results, "results", "a reply"),
    ] {
        let words: Vec<&AstField> = fields
            .iter()
            .filter(|f| matches!(f.ty, AstType::Word(_)))
            .collect();
        if let Some(extra) = words.get(abi::MSG_WORDS) {
            let last = words[words.len() - 1];
            let msg = format!(
                "method `{iface}.{}` has {} {what}, but {part} carries at most {} words",
                m.name,
                words.len(),
                abi::MSG_WORDS
            );
            let hint = "each value travels in one register word; pass larger data as one \
                        `bytes` argument, an out-of-line part the kernel copies";
            errors.push(err(
                &(extra.name_span.start..last.ty_span.end),
                msg,
                hint.to_string(),
            ));
        }
    }

    Method {
        name: m.name.clone(),
        id,
        doc: m.doc.clone(),
        args,
        results,
        args_ool,
        // Rejected above; the model keeps the slot for the kernel's reply
        // buffers.
        results_ool: None,
    }
}

fn check_fields(
    files: &Files,
    file: usize,
    what: &str,
    method: &str,
    fields: &[AstField],
    errors: &mut Vec<Diagnostic>,
) -> (Vec<Field>, Option<OolField>) {
    let name = files[file].0;
    let mut seen = Unique::new(files);
    let mut out = Vec::new();
    let mut ool: Option<(OolField, Range<usize>)> = None;
    for f in fields {
        check_name(name, what, &f.name, &f.name_span, errors);
        if what == "argument" && f.name == "caller" {
            let msg = "argument name `caller` is reserved".to_string();
            let hint = "generated server methods take the caller (`&Caller`) as a parameter of that name; \
                        choose another name";
            errors.push(Diagnostic::new(name, f.name_span.clone(), msg).with_hint(hint));
        }
        if let Some((_, at)) = seen.add(f.name.clone(), &f.name, file, &f.name_span) {
            let msg = format!("{what} `{}` is declared twice in `{method}`", f.name);
            errors.push(
                Diagnostic::new(name, f.name_span.clone(), msg)
                    .with_hint(format!("the first is at {at}")),
            );
        }
        match f.ty {
            AstType::Word(ty) => out.push(Field {
                name: f.name.clone(),
                ty,
            }),
            AstType::Ool(kind) => {
                if let Some((first, span)) = &ool {
                    let msg = format!(
                        "`{method}` has a second out-of-line {what} `{}`; a message carries at most one",
                        f.name
                    );
                    let (l, c) = line_col(files[file].1, span.start);
                    let hint = format!("`{}` at {name}:{l}:{c} is the first", first.name);
                    errors.push(Diagnostic::new(name, f.ty_span.clone(), msg).with_hint(hint));
                } else {
                    ool = Some((
                        OolField {
                            name: f.name.clone(),
                            kind,
                        },
                        f.ty_span.clone(),
                    ));
                }
            }
        }
    }
    (out, ool.map(|(f, _)| f))
}

/// Method and field names: snake_case, not a Rust keyword.
fn check_name(
    file: &str,
    what: &str,
    name: &str,
    span: &Range<usize>,
    errors: &mut Vec<Diagnostic>,
) {
    if !names::is_snake(name) {
        let fix = names::to_snake(name);
        let hint = if names::is_snake(&fix) && !names::is_rust_keyword(&fix) {
            format!("write `{fix}`")
        } else {
            format!(
                "{what} names are lowercase letters, digits and single underscores, e.g. `set_mode`"
            )
        };
        let msg = format!("{what} name `{name}` is not snake_case");
        errors.push(Diagnostic::new(file, span.clone(), msg).with_hint(hint));
    } else if names::is_rust_keyword(name) {
        let msg = format!("{what} name `{name}` is a Rust keyword");
        let hint = "the generated Rust code uses the name as it is; choose another";
        errors.push(Diagnostic::new(file, span.clone(), msg).with_hint(hint));
    }
}

/// Cross-file rules: interface names, ids and generated module names are
/// unique among all interfaces checked together.
pub(crate) fn check_unique_interfaces(
    files: &Files,
    all: &[Located],
    errors: &mut Vec<Diagnostic>,
) {
    let mut by_name = Unique::new(files);
    let mut by_id = Unique::new(files);
    let mut by_module = Unique::new(files);
    for l in all {
        let file = files[l.file].0;
        let name = &l.iface.name;
        if let Some((_, at)) = by_name.add(name.clone(), name, l.file, &l.name_span) {
            let msg = format!("interface `{name}` is defined twice");
            errors.push(
                Diagnostic::new(file, l.name_span.clone(), msg)
                    .with_hint(format!("the first definition is at {at}")),
            );
        } else if let Some((first, at)) =
            by_module.add(names::to_snake(name), name, l.file, &l.name_span)
        {
            let msg = format!(
                "interfaces `{first}` and `{name}` both generate the Rust module `{}`",
                names::to_snake(name)
            );
            errors.push(
                Diagnostic::new(file, l.name_span.clone(), msg)
                    .with_hint(format!("rename one of them (`{first}` is at {at})")),
            );
        }
        if l.iface.id != 0
            && let Some((first, at)) = by_id.add(l.iface.id.to_string(), name, l.file, &l.id_span)
        {
            let msg = format!(
                "interface id {:#x} is already used by `{first}`",
                l.iface.id
            );
            let hint = format!("`{first}` is at {at}; each interface needs its own id");
            errors.push(Diagnostic::new(file, l.id_span.clone(), msg).with_hint(hint));
        }
    }
}
