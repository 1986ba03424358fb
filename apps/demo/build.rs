//! Links every program in this crate with the user linker script, and
//! generates the IPC stubs from `policies/interfaces/*.idl` for the
//! programs that speak the protocols without the `gui` library
//! (`scribble`).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/../rt/user.ld");
    println!("cargo:rerun-if-changed={dir}/../rt/user.ld");
    println!("cargo:rerun-if-changed=build.rs");
    let interfaces = std::path::Path::new(&dir).join("../../policies/interfaces");
    if let Err(e) = idl::generate_for_build(&interfaces) {
        panic!("interface descriptions:\n{e}");
    }
}
