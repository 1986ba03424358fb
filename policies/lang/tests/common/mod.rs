//! Shared fixtures: the Echo and Files interfaces and small solutions.
#![allow(dead_code)]

pub use idl;
use policy::Solution;

fn field(name: &str, ty: idl::Type) -> idl::Field {
    idl::Field {
        name: name.to_string(),
        ty,
    }
}

fn method(name: &str, id: u16, args: Vec<idl::Field>, results: Vec<idl::Field>) -> idl::Method {
    idl::Method {
        name: name.to_string(),
        id,
        doc: String::new(),
        args,
        results,
        args_ool: None,
        results_ool: None,
    }
}

/// `interface Echo = 0x100 { ping(a,b,c,d: u64) -> (a,b,c,d: u64) = 1; who() -> (badge, cpu) = 2;
///  slow(ms: u32) = 4; done() = 9; level(v: i8, on: bool) = 10; }`
pub fn echo() -> idl::Interface {
    use idl::Type::*;
    let abcd = || {
        ["a", "b", "c", "d"]
            .iter()
            .map(|n| field(n, U64))
            .collect::<Vec<_>>()
    };
    idl::Interface {
        name: "Echo".into(),
        id: 0x100,
        doc: String::new(),
        methods: vec![
            method("ping", 1, abcd(), abcd()),
            method(
                "who",
                2,
                vec![],
                vec![field("badge", U64), field("cpu", U64)],
            ),
            method("slow", 4, vec![field("ms", U32)], vec![]),
            method("done", 9, vec![], vec![]),
            method("level", 10, vec![field("v", I8), field("on", Bool)], vec![]),
        ],
    }
}

/// `interface Files = 0x101 { open(mode: u8) = 1; read(len: u32) -> (n: u32) = 2; close() = 3; }`
pub fn files() -> idl::Interface {
    use idl::Type::*;
    idl::Interface {
        name: "Files".into(),
        id: 0x101,
        doc: String::new(),
        methods: vec![
            method("open", 1, vec![field("mode", U8)], vec![]),
            method("read", 2, vec![field("len", U32)], vec![field("n", U32)]),
            method("close", 3, vec![], vec![]),
        ],
    }
}

pub fn ifaces() -> Vec<idl::Interface> {
    vec![echo(), files()]
}

/// Programs client, echo, fs, lonely; channels client->echo and client->fs.
pub fn solution() -> Solution {
    Solution {
        programs: ["client", "echo", "fs", "lonely"]
            .map(String::from)
            .to_vec(),
        channels: vec![
            ("client".into(), "echo".into()),
            ("client".into(), "fs".into()),
        ],
    }
}

/// Rules that satisfy the solution's channels; prepend to test policies.
pub const BASE: &str = "allow request client -> echo Echo.*;\nallow request client -> fs Files.*;\n\
allow response echo -> client Echo.*;\nallow response fs -> client Files.*;\n";
