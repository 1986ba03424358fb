//! IPC stubs from `policies/interfaces/*.idl` into `$OUT_DIR/interfaces.rs`.
//! Only the bare-metal build includes them (see `src/window.rs`). A library
//! does not link, so no linker script here: the programs that use this
//! crate link with `apps/rt/user.ld`.

fn main() {
    idl::build_script("../..", false);
}
