//! The input service's build script: IPC stubs from
//! `policies/interfaces/*.idl`, and the user linker script for the program
//! (see `idl::build_script`).

fn main() {
    idl::build_script("..", true);
}
