//! Links every program in this crate with the user linker script. The IPC
//! stubs come through the `gui` library, so nothing is generated here.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/../rt/user.ld");
    println!("cargo:rerun-if-changed={dir}/../rt/user.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
