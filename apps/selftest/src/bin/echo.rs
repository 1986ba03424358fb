//! `echo`: a test server for interface `Echo` (`policies/interfaces/echo.idl`)
//! on its inbox endpoint (`handles::INBOX`), built on the server trait and
//! dispatch code generated from the interface file.
//!
//! It exits once `arg` clients have called `done`.

#![no_std]
#![no_main]

use rt::abi::handles;
use rt::{kernel, sys};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::{Caller, EchoClient, EchoServer, dispatch_echo, echo};

rt::entry!(main);

struct Echo {
    clients: u64,
    done: u64,
    served: u64,
}

impl EchoServer for Echo {
    fn ping(
        &mut self,
        _: &Caller,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
    ) -> Result<echo::PingReply, rt::abi::Error> {
        let one = |x: u64| x.wrapping_add(1);
        Ok(echo::PingReply {
            a: one(a),
            b: one(b),
            c: one(c),
            d: one(d),
        })
    }

    fn who(&mut self, caller: &Caller) -> Result<echo::WhoReply, rt::abi::Error> {
        Ok(echo::WhoReply {
            badge: caller.badge,
            cpu: kernel::info().cpu,
        })
    }

    fn crash(&mut self, caller: &Caller) -> Result<(), rt::abi::Error> {
        rt::println!("echo: crashing on request from badge {}", caller.badge);
        // SAFETY: a deliberate fault; address 0 is never mapped.
        unsafe { core::ptr::write_volatile(core::ptr::null_mut::<u64>(), 1) };
        Ok(())
    }

    fn slow(&mut self, _: &Caller, ms: u32) -> Result<(), rt::abi::Error> {
        kernel::sleep_ns(u64::from(ms) * 1_000_000);
        Ok(())
    }

    fn put(&mut self, _: &Caller, data: &[u8]) -> Result<echo::PutReply, rt::abi::Error> {
        Ok(echo::PutReply {
            len: data.len() as u64,
            sum: data.iter().map(|&b| u64::from(b)).sum(),
        })
    }

    fn adopt(&mut self, _: &Caller, peer: rt::abi::Handle) -> Result<u64, rt::abi::Error> {
        let peer = EchoClient { handle: peer };
        Ok(peer.who()?.badge)
    }

    fn view(&mut self, _: &Caller, region: sys::Shared) -> Result<u64, rt::abi::Error> {
        let len = usize::try_from(region.len).map_err(|_| rt::abi::Error::InvalidArgument)?;
        // SAFETY: the kernel mapped `len` readable bytes at `addr` for this
        // domain when the request arrived, and nothing else here uses them.
        let bytes = unsafe { core::slice::from_raw_parts(region.addr as *const u8, len) };
        let sum = bytes.iter().map(|&b| u64::from(b)).sum();
        if region.writable && len > 0 {
            // SAFETY: mapped writable, as `writable` says.
            unsafe { core::ptr::write_volatile(region.addr as *mut u8, 0xab) };
        }
        // SAFETY: `bytes` is not used after this point.
        unsafe { kernel::unmap(region.addr, region.len)? };
        Ok(sum)
    }

    fn scribble(&mut self, _: &Caller, region: sys::Shared) -> Result<(), rt::abi::Error> {
        rt::println!(
            "echo: scribbling on shared memory at {:#x} (writable: {})",
            region.addr,
            region.writable
        );
        // SAFETY: deliberately hostile: a read-only share must make this
        // write fault (and end this domain), nothing else.
        unsafe { core::ptr::write_volatile(region.addr as *mut u8, 0xee) };
        Ok(())
    }

    fn done(&mut self, _: &Caller) -> Result<(), rt::abi::Error> {
        self.done += 1;
        Ok(())
    }
}

fn main() -> i32 {
    let mut server = Echo {
        clients: rt::arg().max(1),
        done: 0,
        served: 0,
    };
    rt::println!(
        "echo: serving {} client(s) on cpu {}",
        server.clients,
        kernel::info().cpu
    );
    let served = sys::serve(handles::INBOX, |request| {
        server.served += 1;
        let reply = dispatch_echo(&mut server, request);
        (reply, server.done == server.clients)
    });
    match served {
        Ok(()) => {
            rt::println!(
                "echo: all {} clients done after {} requests",
                server.clients,
                server.served
            );
            0
        }
        Err(e) => {
            rt::error!("echo: serving failed: {}", e);
            1
        }
    }
}
