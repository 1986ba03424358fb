//! Links the benchmark programs with the user linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/../../apps/rt/user.ld");
    println!("cargo:rerun-if-changed={dir}/../../apps/rt/user.ld");
}
