//! `hello`: says where it runs, then ticks five times 20 ms apart, logging the
//! CPU each time, and exits 0. Used by the boot scenario to show every CPU
//! running user code, and as a bystander in the fault and abuse scenarios.

#![no_std]
#![no_main]

use rt::kernel;

rt::entry!(main);

fn main() -> i32 {
    let info = kernel::info();
    rt::println!(
        "hello from domain {} on cpu {} of {}",
        info.domain,
        info.cpu,
        info.cpus_online
    );
    for i in 1..=5 {
        kernel::sleep_ns(20_000_000);
        rt::println!("tick {} on cpu {}", i, kernel::info().cpu);
    }
    0
}
