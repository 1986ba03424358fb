//! The interfaces a policy can name: the kernel's built-in ones (from the
//! ABI, which has no interface file) plus the solution's IDL interfaces.
//!
//! The kernel methods get argument and result names here so that predicates
//! can test them, e.g. `Memory.map where prot <= 3`. Every kernel word is
//! typed `u64` (or `i64` for an exit code) on purpose: the kernel validates
//! its own arguments and answers a bad one with a precise error, so the
//! shape check must not turn those into `Denied`.

use engine::tables::{FieldType, Ool};

/// The context of the kernel: the destination of kernel-interface requests
/// and the source of their responses and (for now) of execute events.
pub const KERNEL_CONTEXT: &str = "kernel";

/// One interface as the checker sees it.
#[derive(Clone, Debug)]
pub struct Iface {
    /// Name as written in policies.
    pub name: String,
    /// Interface number.
    pub id: u16,
    /// Served by the kernel (only `kernel` may be the destination).
    pub kernel: bool,
    /// Methods.
    pub methods: Vec<Meth>,
}

/// One method as the checker sees it.
#[derive(Clone, Debug)]
pub struct Meth {
    /// Name.
    pub name: String,
    /// Method number.
    pub id: u16,
    /// Request fields (name, type), word 0 first.
    pub args: Vec<(String, FieldType)>,
    /// Response fields (name, type), word 0 first.
    pub results: Vec<(String, FieldType)>,
    /// The request's out-of-line part.
    pub args_ool: Ool,
    /// The response's out-of-line part.
    pub results_ool: Ool,
}

fn ool(f: &Option<idl::OolField>) -> Ool {
    match f.as_ref().map(|f| f.kind) {
        None => Ool::None,
        Some(idl::OolKind::Bytes) => Ool::Bytes,
        Some(idl::OolKind::Handle) => Ool::Handle,
        Some(idl::OolKind::Memory) => Ool::Memory,
    }
}

fn field_type(t: idl::Type) -> FieldType {
    match t {
        idl::Type::U8 => FieldType::U8,
        idl::Type::U16 => FieldType::U16,
        idl::Type::U32 => FieldType::U32,
        idl::Type::U64 => FieldType::U64,
        idl::Type::I8 => FieldType::I8,
        idl::Type::I16 => FieldType::I16,
        idl::Type::I32 => FieldType::I32,
        idl::Type::I64 => FieldType::I64,
        idl::Type::Bool => FieldType::Bool,
    }
}

fn fields(f: &[idl::Field]) -> Vec<(String, FieldType)> {
    f.iter()
        .map(|f| (f.name.clone(), field_type(f.ty)))
        .collect()
}

fn typed(names: &[&str]) -> Vec<(String, FieldType)> {
    names
        .iter()
        .map(|n| {
            let ty = if *n == "code" {
                FieldType::I64
            } else {
                FieldType::U64
            };
            (n.to_string(), ty)
        })
        .collect()
}

/// The kernel's interfaces, from the ABI's table (`abi::kernel_ifaces`).
pub fn kernel_interfaces() -> Vec<Iface> {
    abi::kernel_ifaces::ALL
        .iter()
        .map(|i| Iface {
            name: i.name.to_string(),
            id: i.id,
            kernel: true,
            methods: i
                .methods
                .iter()
                .map(|m| Meth {
                    name: m.name.to_string(),
                    id: m.id,
                    args: typed(m.args),
                    results: typed(m.results),
                    args_ool: Ool::None,
                    results_ool: Ool::None,
                })
                .collect(),
        })
        .collect()
}

/// Kernel interfaces followed by the IDL interfaces.
pub fn all_interfaces(idl: &[idl::Interface]) -> Vec<Iface> {
    let mut out = kernel_interfaces();
    out.extend(idl.iter().map(|i| {
        Iface {
            name: i.name.clone(),
            id: i.id,
            kernel: false,
            methods: i
                .methods
                .iter()
                .map(|m| Meth {
                    name: m.name.clone(),
                    id: m.id,
                    args: fields(&m.args),
                    results: fields(&m.results),
                    args_ool: ool(&m.args_ool),
                    results_ool: ool(&m.results_ool),
                })
                .collect(),
        }
    }));
    out
}
