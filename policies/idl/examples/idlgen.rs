//! Prints the Rust code generated for interface files, or their diagnostics:
//!
//! ```text
//! cargo run -p tessera-idl --example idlgen -- policies/interfaces/*.idl
//! ```
//!
//! Exits with status 1 if any file has errors.

fn main() {
    let mut files = Vec::new();
    for path in std::env::args().skip(1) {
        match std::fs::read_to_string(&path) {
            Ok(src) => files.push((path, src)),
            Err(e) => {
                eprintln!("error: cannot read {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    match idl::load(&files) {
        Ok(ifaces) => print!("{}", idl::generate_rust(&ifaces)),
        Err(errors) => {
            for d in &errors {
                let src = files
                    .iter()
                    .find(|(f, _)| *f == d.file)
                    .map_or("", |(_, s)| s);
                eprintln!("{}", d.render(src));
            }
            std::process::exit(1);
        }
    }
}
