//! `benchsrv`: the server side of the IPC round-trip benchmarks. Answers
//! method 1 with the request's words, and exits after `arg` clients have
//! sent method 9 (done).

#![no_std]
#![no_main]

use rt::abi::{Message, Tag, handles};
use rt::sys;

rt::entry!(main);

fn main() -> i32 {
    let clients = rt::arg().max(1);
    let mut done = 0;
    let mut answer = Message::new(Tag::new(0x100, 0), [0; 4]);
    loop {
        let req = match sys::reply_recv(answer, handles::INBOX) {
            Ok(r) => r,
            Err(e) => {
                rt::error!("benchsrv: receive failed: {}", e);
                return 1;
            }
        };
        let method = req.msg.tag.method();
        if method == 9 {
            done += 1;
            if done == clients {
                let _ = sys::reply(Message::new(Tag::new(0x100, 9), [0; 4]));
                return 0;
            }
        }
        answer = Message::new(Tag::new(0x100, method), req.msg.words);
    }
}
