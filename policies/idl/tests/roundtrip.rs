//! The generated code, compiled and run: client stub -> fake transport ->
//! generated dispatch -> server trait impl -> reply -> client decode.
//!
//! The golden files (`tests/golden/*.rs`, checked against the generator by
//! `tests/golden.rs`) are `include!`d against the real `abi` crate and a
//! stand-in for `rt::sys` ([`fake`]), so this also proves the generated text
//! compiles, and `cargo clippy --all-targets` lints it.

mod fake;

use abi::{Error, Handle, Message, Tag};
use fake::rt::sys;
use std::thread::JoinHandle;

mod echo_gen {
    use crate::fake::rt;
    include!("golden/echo.rs");
}

mod kitchen_gen {
    use crate::fake::rt;
    include!("golden/kitchen.rs");
}

use echo_gen::{Caller, EchoClient, EchoServer, echo};

// ---------------------------------------------------------------- echo

/// The echo server of `apps/selftest`, as a trait impl, recording what it saw.
#[derive(Default)]
struct Echo {
    slept_ms: Vec<u32>,
    done: u32,
}

impl EchoServer for Echo {
    fn ping(
        &mut self,
        _: &Caller,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
    ) -> Result<echo::PingReply, Error> {
        let [a, b, c, d] = [a, b, c, d].map(|w| w.wrapping_add(1));
        Ok(echo::PingReply { a, b, c, d })
    }

    fn who(&mut self, caller: &Caller) -> Result<echo::WhoReply, Error> {
        Ok(echo::WhoReply {
            badge: caller.badge,
            cpu: 3,
        })
    }

    fn crash(&mut self, _: &Caller) -> Result<(), Error> {
        Err(Error::Denied)
    }

    fn slow(&mut self, _: &Caller, ms: u32) -> Result<(), Error> {
        self.slept_ms.push(ms);
        Ok(())
    }

    fn put(&mut self, _: &Caller, data: &[u8]) -> Result<echo::PutReply, Error> {
        Ok(echo::PutReply {
            len: data.len() as u64,
            sum: data.iter().map(|&b| u64::from(b)).sum(),
        })
    }

    fn adopt(&mut self, _: &Caller, _: Handle) -> Result<u64, Error> {
        Err(Error::Denied)
    }

    fn view(&mut self, _: &Caller, region: sys::Shared) -> Result<u64, Error> {
        Ok(region.len)
    }

    fn scribble(&mut self, _: &Caller, _: sys::Shared) -> Result<(), Error> {
        Err(Error::Denied)
    }

    fn done(&mut self, _: &Caller) -> Result<(), Error> {
        self.done += 1;
        Ok(())
    }
}

/// Starts `serve_echo` on a fresh endpoint in its own thread.
fn start_echo() -> (Handle, JoinHandle<(Error, Echo)>) {
    let inbox = sys::endpoint();
    let server = std::thread::spawn(move || {
        let mut echo = Echo::default();
        let stopped = echo_gen::serve_echo(&mut echo, inbox);
        (stopped, echo)
    });
    (inbox, server)
}

#[test]
fn echo_round_trip_through_the_serve_loop() {
    let (inbox, server) = start_echo();
    let alice = EchoClient {
        handle: sys::connect(inbox, 11),
    };
    let bob = EchoClient {
        handle: sys::connect(inbox, 22),
    };

    let r = alice.ping(1, 2, 3, u64::MAX).unwrap();
    assert_eq!(
        r,
        echo::PingReply {
            a: 2,
            b: 3,
            c: 4,
            d: 0
        }
    );
    assert_eq!(alice.who().unwrap(), echo::WhoReply { badge: 11, cpu: 3 });
    assert_eq!(bob.who().unwrap().badge, 22);
    assert_eq!(alice.slow(u32::MAX).unwrap(), ());
    assert_eq!(bob.slow(0).unwrap(), ());
    assert_eq!(
        alice.crash(),
        Err(Error::Denied),
        "a server error reaches the client"
    );
    alice.done().unwrap();
    bob.done().unwrap();

    sys::close(inbox);
    let (stopped, echo) = server.join().unwrap();
    assert_eq!(stopped, Error::PeerGone, "serve returns the receive error");
    assert_eq!(echo.slept_ms, vec![u32::MAX, 0]);
    assert_eq!(echo.done, 2);
    assert_eq!(
        alice.who(),
        Err(Error::BadHandle),
        "transport errors pass through"
    );
}

#[test]
fn server_rejects_malformed_requests_with_error_replies() {
    let (inbox, server) = start_echo();
    let h = sys::connect(inbox, 5);
    let err = |iface: u16, e: Error| Message::new(Tag::new(iface, 0xffff), [e.code(), 0, 0, 0]);
    let ask = |iface: u16, method: u16, words: [u64; 4]| {
        sys::call(h, Message::new(Tag::new(iface, method), words)).unwrap()
    };

    assert_eq!(ask(0x100, 10, [0; 4]), err(0x100, Error::BadMethod));
    assert_eq!(ask(0x100, 0, [0; 4]), err(0x100, Error::BadMethod));
    assert_eq!(ask(0x100, 0xffff, [0; 4]), err(0x100, Error::BadMethod));
    assert_eq!(
        ask(0x101, 1, [0; 4]),
        err(0x101, Error::BadInterface),
        "reply keeps the request's interface"
    );
    assert_eq!(
        ask(0x100, 4, [1 << 32, 0, 0, 0]),
        err(0x100, Error::InvalidArgument),
        "u32 too wide"
    );
    assert_eq!(
        ask(0x100, 4, [1, 0, 0, 1]),
        err(0x100, Error::InvalidArgument),
        "word past the args"
    );
    assert_eq!(
        ask(0x100, 2, [0, 1, 0, 0]),
        err(0x100, Error::InvalidArgument),
        "who takes nothing"
    );
    assert_eq!(ask(0x100, 3, [0; 4]), err(0x100, Error::Denied));
    // Well-formed raw requests get the method's tag back.
    assert_eq!(
        ask(0x100, 4, [u32::MAX.into(), 0, 0, 0]),
        Message::new(Tag::new(0x100, 4), [0; 4])
    );
    assert_eq!(
        ask(0x100, 1, [9, 9, 9, 9]),
        Message::new(Tag::new(0x100, 1), [10; 4])
    );

    sys::close(inbox);
    let (_, echo) = server.join().unwrap();
    assert_eq!(
        echo.slept_ms,
        vec![u32::MAX],
        "rejected requests never reach the server"
    );
}

#[test]
fn dispatch_rejects_flags() {
    let mut echo = Echo::default();
    let tag = Tag::with_flags(0x100, 9, Tag::OOL);
    let request = sys::Request {
        badge: 1,
        msg: Message::new(tag, [0; 4]),
        ool: sys::Received::Lost,
    };
    let reply = echo_gen::dispatch_echo(&mut echo, &request);
    assert_eq!(
        reply,
        Message::new(Tag::new(0x100, 0xffff), [Error::BadTag.code(), 0, 0, 0])
    );
    assert_eq!(echo.done, 0);
}

/// A client of an endpoint whose replies come from `reply(request)`.
fn echo_client_of(reply: impl Fn(Message) -> Message + Send + Sync + 'static) -> EchoClient {
    let ep = sys::raw_endpoint(move |_, request| reply(request));
    EchoClient {
        handle: sys::connect(ep, 1),
    }
}

/// A client whose server answers every request with `words` under tag
/// (interface, method).
fn echo_client_answering(interface: u16, method: u16, words: [u64; 4]) -> EchoClient {
    echo_client_of(move |_| Message::new(Tag::new(interface, method), words))
}

#[test]
fn client_rejects_malformed_replies() {
    // Right method echoed back, with the given words.
    let same = |words: [u64; 4]| echo_client_of(move |req| Message::new(req.tag, words));
    assert_eq!(
        same([1, 2, 0, 0]).who().unwrap(),
        echo::WhoReply { badge: 1, cpu: 2 }
    );
    assert_eq!(
        same([1, 2, 3, 0]).who(),
        Err(Error::BadTag),
        "word past the results"
    );
    assert_eq!(same([0, 0, 0, 1]).done(), Err(Error::BadTag));
    assert_eq!(same([0; 4]).done(), Ok(()));

    assert_eq!(
        echo_client_answering(0x100, 2, [0; 4]).done(),
        Err(Error::BadTag),
        "other method"
    );
    assert_eq!(
        echo_client_answering(0x101, 9, [0; 4]).done(),
        Err(Error::BadTag),
        "other interface"
    );
    assert_eq!(
        echo_client_answering(0x100, 0, [0; 4]).done(),
        Err(Error::BadTag)
    );

    // Error replies.
    let error = |words| echo_client_answering(0x100, 0xffff, words);
    assert_eq!(
        error([Error::NoMemory.code(), 0, 0, 0]).ping(0, 0, 0, 0),
        Err(Error::NoMemory)
    );
    assert_eq!(
        error([0, 0, 0, 0]).done(),
        Err(Error::BadTag),
        "0 is not an error"
    );
    assert_eq!(
        error([999, 0, 0, 0]).done(),
        Err(Error::BadTag),
        "unknown code"
    );
    assert_eq!(
        error([Error::Denied.code(), 1, 0, 0]).done(),
        Err(Error::BadTag),
        "junk words"
    );
    assert_eq!(
        echo_client_answering(0x101, 0xffff, [Error::Denied.code(), 0, 0, 0]).done(),
        Err(Error::BadTag)
    );
}

// ---------------------------------------------------------------- kitchen

use kitchen_gen::{
    HTTPFilesClient, HTTPFilesServer, KitchenClient, KitchenServer, http_files, kitchen,
};

/// Returns every value it is given, so the round trip shows encoding and
/// decoding agree for every type.
#[derive(Default)]
struct Mirror {
    calls: Vec<&'static str>,
    positional: Option<(u64, u64, u64)>,
    given: Option<Handle>,
}

impl KitchenServer for Mirror {
    fn none(&mut self, _: &Caller2) -> Result<(), Error> {
        self.calls.push("none");
        Ok(())
    }
    fn narrow(
        &mut self,
        _: &Caller2,
        a: u8,
        b: u16,
        c: u32,
        d: bool,
    ) -> Result<kitchen::NarrowReply, Error> {
        Ok(kitchen::NarrowReply { a, b, c, d })
    }
    fn signed(
        &mut self,
        _: &Caller2,
        a: i8,
        b: i16,
        c: i32,
        d: i64,
    ) -> Result<kitchen::SignedReply, Error> {
        Ok(kitchen::SignedReply { a, b, c, d })
    }
    fn one_result(&mut self, _: &Caller2, x: i16) -> Result<i16, Error> {
        Ok(x)
    }
    fn one_bool(&mut self, _: &Caller2, flag: bool) -> Result<bool, Error> {
        Ok(!flag)
    }
    fn wide(&mut self, _: &Caller2, x: i64) -> Result<i64, Error> {
        Ok(x)
    }
    fn tricky(
        &mut self,
        _: &Caller2,
        words: u64,
        tag: u32,
        reply: bool,
        abi: u8,
    ) -> Result<kitchen::TrickyReply, Error> {
        Ok(kitchen::TrickyReply {
            server: words,
            request: tag.into(),
            answer: reply.into(),
            result: abi.into(),
        })
    }
    fn names(&mut self, _: &Caller2, rt: u64, kitchen: u64, self_type: u64) -> Result<u64, Error> {
        Ok(rt.wrapping_add(kitchen).wrapping_add(self_type))
    }
    fn positional(&mut self, _: &Caller2, arg1: u64, arg0: u64, w0: u64) -> Result<(), Error> {
        self.positional = Some((arg1, arg0, w0));
        self.calls.push("positional");
        Ok(())
    }
    fn caller_result(&mut self, caller: &Caller2) -> Result<u64, Error> {
        Ok(caller.badge)
    }
    fn very_long_method_name_that_forces_layout(
        &mut self,
        _: &Caller2,
        first_quite_long_argument: i32,
        second_quite_long_argument: i16,
    ) -> Result<kitchen::VeryLongMethodNameThatForcesLayoutReply, Error> {
        Ok(kitchen::VeryLongMethodNameThatForcesLayoutReply {
            first_quite_long_result: first_quite_long_argument,
            second_quite_long_result: second_quite_long_argument < 0,
        })
    }
    fn put(&mut self, _: &Caller2, words: u32, ool: &[u8]) -> Result<u64, Error> {
        self.calls.push("put");
        let sum: u64 = ool.iter().map(|&b| u64::from(b)).sum();
        Ok(u64::from(words) * 1_000_000 + sum)
    }
    fn give(&mut self, _: &Caller2, tag: Handle) -> Result<(), Error> {
        self.calls.push("give");
        self.given = Some(tag);
        Ok(())
    }
    fn lend(&mut self, _: &Caller2, page: sys::Shared) -> Result<u64, Error> {
        self.calls.push("lend");
        Ok(page.len + u64::from(page.writable))
    }
}

impl HTTPFilesServer for Mirror {
    fn get(&mut self, _: &Caller2, path_id: u32) -> Result<u16, Error> {
        u16::try_from(path_id).map_err(|_| Error::NotFound)
    }
}

use kitchen_gen::Caller as Caller2;

/// Runs both kitchen interfaces on one endpoint: a request goes to whichever
/// dispatcher owns its interface, the way a server with two interfaces would.
fn start_kitchen() -> (Handle, JoinHandle<Mirror>) {
    let inbox = sys::endpoint();
    let server = std::thread::spawn(move || {
        let mut mirror = Mirror::default();
        let mut buf = sys::RecvBuffer::new();
        let mut request = sys::recv_into(inbox, &mut buf);
        while let Ok(req) = request {
            let reply = if req.msg.tag.interface() == http_files::INTERFACE {
                kitchen_gen::dispatch_http_files(&mut mirror, &req)
            } else {
                kitchen_gen::dispatch_kitchen(&mut mirror, &req)
            };
            request = sys::reply_recv_into(reply, inbox, &mut buf);
        }
        mirror
    });
    (inbox, server)
}

#[test]
fn every_type_survives_the_round_trip() {
    let (inbox, server) = start_kitchen();
    let k = KitchenClient {
        handle: sys::connect(inbox, 77),
    };
    let http = HTTPFilesClient {
        handle: sys::connect(inbox, 78),
    };

    k.none().unwrap();
    for (a, b, c, d) in [
        (0, 0, 0, false),
        (u8::MAX, u16::MAX, u32::MAX, true),
        (1, 2, 3, true),
    ] {
        assert_eq!(
            k.narrow(a, b, c, d).unwrap(),
            kitchen::NarrowReply { a, b, c, d }
        );
    }
    for (a, b, c, d) in [
        (0, 0, 0, 0),
        (-1, -1, -1, -1),
        (i8::MIN, i16::MIN, i32::MIN, i64::MIN),
        (i8::MAX, i16::MAX, i32::MAX, i64::MAX),
    ] {
        assert_eq!(
            k.signed(a, b, c, d).unwrap(),
            kitchen::SignedReply { a, b, c, d }
        );
    }
    for x in [i16::MIN, -1, 0, i16::MAX] {
        assert_eq!(k.one_result(x).unwrap(), x);
    }
    assert!(!k.one_bool(true).unwrap());
    assert!(k.one_bool(false).unwrap());
    assert_eq!(k.wide(i64::MIN).unwrap(), i64::MIN);
    let t = k.tricky(u64::MAX, 7, true, 200).unwrap();
    assert_eq!(
        t,
        kitchen::TrickyReply {
            server: u64::MAX,
            request: 7,
            answer: 1,
            result: 200
        }
    );
    assert_eq!(k.names(1, 2, 3).unwrap(), 6);
    k.positional(1, 0, 2).unwrap();
    assert_eq!(k.caller_result().unwrap(), 77);
    let v = k.very_long_method_name_that_forces_layout(-5, -1).unwrap();
    assert_eq!(v.first_quite_long_result, -5);
    assert!(v.second_quite_long_result);
    assert_eq!(http.get(404).unwrap(), 404);
    assert_eq!(http.get(70_000), Err(Error::NotFound));

    // Sign extension on the wire: -1 as i8 is all ones, not 0xff.
    let raw = sys::call(
        k.handle,
        Message::new(Tag::new(0x2345, 4), [u64::MAX, 0, 0, 0]),
    )
    .unwrap();
    assert_eq!(raw, Message::new(Tag::new(0x2345, 4), [u64::MAX, 0, 0, 0]));
    let bad = |method: u16, words: [u64; 4]| {
        let reply = sys::call(k.handle, Message::new(Tag::new(0x2345, method), words)).unwrap();
        reply
            == Message::new(
                Tag::new(0x2345, 0xffff),
                [Error::InvalidArgument.code(), 0, 0, 0],
            )
    };
    assert!(bad(4, [0xffff, 0, 0, 0]), "i16 must be sign-extended");
    assert!(bad(4, [0x8000, 0, 0, 0]));
    assert!(bad(5, [2, 0, 0, 0]), "bool is 0 or 1");
    assert!(bad(2, [0x100, 0, 0, 0]), "u8 too wide");
    assert!(bad(3, [0x80, 0, 0, 0]), "i8 0x80 is not sign-extended");
    assert!(bad(3, [0, 0, 0x8000_0000, 0]), "i32");
    assert!(!bad(3, [(-128i64) as u64, 0, 0, 0]));
    assert!(bad(2, [0, 0x1_0000, 0, 0]), "u16 too wide");
    assert!(bad(2, [0, 0, 1 << 32, 0]), "u32 too wide");

    sys::close(inbox);
    let mirror = server.join().unwrap();
    assert_eq!(mirror.calls, ["none", "positional"]);
    assert_eq!(
        mirror.positional,
        Some((1, 0, 2)),
        "arguments keep their positions"
    );
}

#[test]
fn out_of_line_arguments_reach_the_server() {
    let (inbox, server) = start_kitchen();
    let k = KitchenClient {
        handle: sys::connect(inbox, 3),
    };
    let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
    let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(k.put(7, &data), Ok(7_000_000 + sum));
    assert_eq!(k.put(0, &[]), Ok(0));
    let too_big = vec![0u8; abi::ool::MAX_BYTES as usize + 1];
    assert_eq!(k.put(1, &too_big), Err(Error::InvalidArgument));
    let h = Handle::new(40, 2);
    assert_eq!(
        k.give(sys::Grant {
            handle: h,
            rights: abi::rights::CALL
        }),
        Ok(())
    );
    let share = sys::Share {
        addr: 0x7000,
        len: 8192,
        writable: true,
    };
    assert_eq!(k.lend(share), Ok(8193));
    // A register-only request for a method that takes bytes is refused,
    // and so is an out-of-line part sent to a register-only method.
    let raw = sys::call(k.handle, Message::new(Tag::new(0x2345, 0x11), [1, 0, 0, 0])).unwrap();
    assert_eq!(
        raw,
        Message::new(
            Tag::new(0x2345, 0xffff),
            [Error::InvalidArgument.code(), 0, 0, 0]
        )
    );
    let raw = sys::call_with(
        k.handle,
        Message::new(Tag::new(0x2345, 1), [0; 4]),
        sys::Send::Bytes(&[1]),
    )
    .unwrap();
    assert_eq!(
        raw,
        Message::new(Tag::new(0x2345, 0xffff), [Error::BadTag.code(), 0, 0, 0])
    );
    sys::close(inbox);
    let mirror = server.join().unwrap();
    assert_eq!(mirror.calls, ["put", "put", "give", "lend"]);
    assert_eq!(mirror.given, Some(h));
}

#[test]
fn client_rejects_results_its_types_do_not_accept() {
    let client = |words: [u64; 4]| {
        let ep = sys::raw_endpoint(move |_, req| Message::new(req.tag, words));
        KitchenClient {
            handle: sys::connect(ep, 1),
        }
    };
    assert_eq!(
        client([0x100, 0, 0, 0]).narrow(0, 0, 0, false),
        Err(Error::BadTag)
    );
    assert_eq!(
        client([0, 0, 0, 2]).narrow(0, 0, 0, false),
        Err(Error::BadTag)
    );
    assert_eq!(
        client([0x80, 0, 0, 0]).signed(0, 0, 0, 0),
        Err(Error::BadTag)
    );
    assert_eq!(client([0xffff, 0, 0, 0]).one_result(0), Err(Error::BadTag));
    assert_eq!(client([2, 0, 0, 0]).one_bool(false), Err(Error::BadTag));
    assert_eq!(client([u64::MAX, 0, 0, 0]).one_result(0), Ok(-1));
    assert_eq!(client([u64::MAX, 0, 0, 0]).wide(0), Ok(-1));
    assert_eq!(client([1, 0, 0, 0]).one_bool(false), Ok(true));
    let g = |words: [u64; 4]| {
        let ep = sys::raw_endpoint(move |_, req| Message::new(req.tag, words));
        HTTPFilesClient {
            handle: sys::connect(ep, 1),
        }
        .get(1)
    };
    assert_eq!(g([0x1_0000, 0, 0, 0]), Err(Error::BadTag));
    assert_eq!(g([200, 0, 0, 0]), Ok(200));
}

// ---------------------------------------------------------------- differential

use proptest::prelude::*;

/// The kitchen interfaces as the model sees them.
fn kitchen_model() -> Vec<idl::Interface> {
    idl::parse("kitchen.idl", include_str!("golden/kitchen.idl")).unwrap()
}

/// Words that are often at a type boundary.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(0x7f),
        Just(0x80),
        Just(0xff),
        Just(0x100),
        Just(0xffff),
        Just(0x1_0000),
        Just(0xffff_ffff),
        Just(1 << 32),
        Just(u64::MAX),
        Just((-128i64) as u64),
        Just((-129i64) as u64),
        Just((i32::MIN as i64) as u64),
        any::<u64>(),
    ]
}

proptest! {
    /// Generated dispatch rejects a request exactly when the security
    /// module's shape check does, and then with `InvalidArgument`.
    #[test]
    fn dispatch_agrees_with_request_shape_ok(
        pick in any::<prop::sample::Index>(),
        words in proptest::array::uniform4(word()),
    ) {
        let model = kitchen_model();
        let kitchen = &model[0];
        let m = pick.get(&kitchen.methods);
        // Out-of-line methods get the part they declare.
        let (ool, flags) = match m.args_ool.as_ref().map(|f| f.kind) {
            None => (sys::Received::None, 0),
            Some(idl::OolKind::Bytes) => (sys::Received::Bytes { data: &[1, 2, 3], total: 3 }, Tag::OOL),
            Some(idl::OolKind::Handle) => (sys::Received::Handle(Handle::new(7, 1)), Tag::OOL),
            Some(idl::OolKind::Memory) => {
                let shared = sys::Shared { addr: 0x4000_0000_0000, len: 4096, writable: false };
                (sys::Received::Memory(shared), Tag::OOL)
            }
        };
        let tag = Tag::with_flags(kitchen.id, m.id, flags);
        let request = sys::Request { badge: 9, msg: Message::new(tag, words), ool };
        let reply = kitchen_gen::dispatch_kitchen(&mut Mirror::default(), &request);
        if idl::request_shape_ok(m, &words) {
            prop_assert_eq!(reply.tag, Tag::new(kitchen.id, m.id));
            prop_assert!(idl::reply_shape_ok(m, &reply.words), "the server's answer has the method's shape");
        } else {
            let error = Message::new(Tag::new(kitchen.id, 0xffff), [Error::InvalidArgument.code(), 0, 0, 0]);
            prop_assert_eq!(reply, error);
            prop_assert!(idl::error_reply_shape_ok(&reply.words));
        }
    }

    /// A generated client accepts a reply exactly when `reply_shape_ok`
    /// does, and calls anything else `BadTag`.
    #[test]
    fn client_agrees_with_reply_shape_ok(words in proptest::array::uniform4(word())) {
        let model = kitchen_model();
        let kitchen = &model[0];
        let ep = sys::raw_endpoint(move |_, req| Message::new(req.tag, words));
        let k = KitchenClient { handle: sys::connect(ep, 1) };
        let verdicts = [
            ("none", k.none().is_ok()),
            ("narrow", k.narrow(0, 0, 0, false).is_ok()),
            ("signed", k.signed(0, 0, 0, 0).is_ok()),
            ("one_result", k.one_result(0).is_ok()),
            ("one_bool", k.one_bool(false).is_ok()),
            ("wide", k.wide(0).is_ok()),
            ("tricky", k.tricky(0, 0, false, 0).is_ok()),
            ("names", k.names(0, 0, 0).is_ok()),
            ("positional", k.positional(0, 0, 0).is_ok()),
            ("caller_result", k.caller_result().is_ok()),
            ("very_long_method_name_that_forces_layout", k.very_long_method_name_that_forces_layout(0, 0).is_ok()),
            ("put", k.put(0, &[1, 2]).is_ok()),
            ("give", k.give(sys::Grant { handle: Handle::new(3, 1), rights: 1 }).is_ok()),
            ("lend", k.lend(sys::Share { addr: 0x1000, len: 4096, writable: false }).is_ok()),
        ];
        prop_assert_eq!(verdicts.len(), kitchen.methods.len());
        for (name, ok) in verdicts {
            let m = kitchen.method(name).unwrap();
            prop_assert_eq!(ok, idl::reply_shape_ok(m, &words), "method {}", name);
        }
        sys::close(ep);
    }
}
