//! IPC stubs from `policies/interfaces/*.idl` for the programs that speak
//! the protocols without the `gui` library (`scribble`), and the user
//! linker script for every program (see `idl::build_script`).

fn main() {
    idl::build_script("../..", true);
}
