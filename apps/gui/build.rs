//! Generates the IPC stubs from `policies/interfaces/*.idl` into
//! `$OUT_DIR/interfaces.rs`. Only the bare-metal build includes them (see
//! `src/window.rs`); a library does not link, so no linker script is needed
//! here: the programs that use this crate link with `apps/rt/user.ld`.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let interfaces = std::path::Path::new(&dir).join("../../policies/interfaces");
    if let Err(e) = idl::generate_for_build(&interfaces) {
        panic!("interface descriptions:\n{e}");
    }
}
