//! `benchsrv`: the server side of the IPC round-trip benchmarks, on the
//! `Echo` server trait generated from `policies/interfaces/echo.idl`.
//! Exits after `arg` clients have called `done`.

#![no_std]
#![no_main]

use rt::abi::{Error, handles};
use rt::sys;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::{Caller, EchoServer, dispatch_echo, echo};

rt::entry!(main);

struct Server {
    done: u64,
}

impl EchoServer for Server {
    fn ping(
        &mut self,
        _: &Caller,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
    ) -> Result<echo::PingReply, Error> {
        let one = |x: u64| x.wrapping_add(1);
        Ok(echo::PingReply {
            a: one(a),
            b: one(b),
            c: one(c),
            d: one(d),
        })
    }
    fn who(&mut self, caller: &Caller) -> Result<echo::WhoReply, Error> {
        Ok(echo::WhoReply {
            badge: caller.badge,
            cpu: 0,
        })
    }
    fn crash(&mut self, _: &Caller) -> Result<(), Error> {
        Err(Error::Denied)
    }
    fn slow(&mut self, _: &Caller, _: u32) -> Result<(), Error> {
        Ok(())
    }
    fn put(&mut self, _: &Caller, data: &[u8]) -> Result<echo::PutReply, Error> {
        // The bytes are not read: `bulk_copy_4k_roundtrip` measures the
        // kernel's copy, not a checksum.
        Ok(echo::PutReply {
            len: data.len() as u64,
            sum: 0,
        })
    }
    fn adopt(&mut self, _: &Caller, _: rt::abi::Handle) -> Result<u64, Error> {
        Err(Error::Denied)
    }
    fn view(&mut self, _: &Caller, _: rt::sys::Shared) -> Result<u64, Error> {
        Err(Error::Denied)
    }
    fn scribble(&mut self, _: &Caller, _: rt::sys::Shared) -> Result<(), Error> {
        Err(Error::Denied)
    }
    fn done(&mut self, _: &Caller) -> Result<(), Error> {
        self.done += 1;
        Ok(())
    }
}

fn main() -> i32 {
    let clients = rt::arg().max(1);
    let mut server = Server { done: 0 };
    let served = sys::serve(handles::INBOX, |request| {
        let reply = dispatch_echo(&mut server, request);
        (reply, server.done == clients)
    });
    match served {
        Ok(()) => 0,
        Err(e) => {
            rt::error!("benchsrv: serving failed: {}", e);
            1
        }
    }
}
