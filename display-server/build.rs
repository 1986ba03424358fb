//! Links the display server with the user linker script, and generates the
//! IPC stubs from `policies/interfaces/*.idl`. On the host, where only the
//! library and a stub program build, there is nothing to link specially.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/../apps/rt/user.ld");
    }
    println!("cargo:rerun-if-changed={dir}/../apps/rt/user.ld");
    println!("cargo:rerun-if-changed=build.rs");
    let interfaces = std::path::Path::new(&dir).join("../policies/interfaces");
    if let Err(e) = idl::generate_for_build(&interfaces) {
        panic!("interface descriptions:\n{e}");
    }
}
