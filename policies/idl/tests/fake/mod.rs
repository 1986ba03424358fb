//! An in-process stand-in for `tessera-rt`'s `sys` module and the kernel
//! behind it, so generated code runs on the host.
//!
//! `rt::sys` has the real module's signatures (`call`, `recv`, `reply`,
//! `reply_recv`, `Request`) and the kernel's IPC semantics as far as
//! generated code can observe them: a call blocks until the reply; the
//! receiver gets the badge of the caller's handle; a reply clears the tag's
//! flags; `reply_recv` goes on receiving when there is no caller or it has
//! gone; requests with flags are refused with `BadTag`; an out-of-line part
//! (`call_with`) arrives with `Tag::OOL` set and lands in the receiver's
//! buffer (`recv_into`), or is lost without one.
//!
//! Two kinds of endpoint: a *queue*, served by a thread that receives on its
//! inbox handle (the generated `serve_*` loop), and a *raw* endpoint, a
//! function from request to reply, for servers that break the convention.

pub mod rt {
    pub mod sys {
        use abi::{Error, Handle, Message, Tag};
        use std::cell::RefCell;
        use std::collections::HashMap;
        use std::sync::mpsc::{Receiver, Sender, channel};
        use std::sync::{Arc, Mutex, OnceLock};

        /// A request taken off an endpoint, as in `rt::sys`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Request<'a> {
            /// The badge the kernel attaches to the sender's handle.
            pub badge: u64,
            /// The request itself.
            pub msg: Message,
            /// Its out-of-line part.
            pub ool: Received<'a>,
        }

        /// A handle to pass on, as in `rt::sys`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Grant {
            /// The handle.
            pub handle: Handle,
            /// The rights to pass.
            pub rights: u32,
        }

        /// Memory to share, as in `rt::sys`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Share {
            /// Start address.
            pub addr: u64,
            /// Length in bytes.
            pub len: u64,
            /// The receiver may write too.
            pub writable: bool,
        }

        /// Shared memory as received, as in `rt::sys` (the fake maps
        /// nothing: the address is the sender's).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Shared {
            /// Address.
            pub addr: u64,
            /// Length in bytes.
            pub len: u64,
            /// Writable.
            pub writable: bool,
        }

        /// An out-of-line part to send, as in `rt::sys`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Send<'a> {
            /// Bytes to copy.
            Bytes(&'a [u8]),
            /// A handle to pass on.
            Handle(Grant),
            /// Memory to share.
            Share(Share),
        }

        /// What arrived out of line, as in `rt::sys`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Received<'a> {
            /// Nothing.
            None,
            /// Bytes: what fit in the buffer, and how many were sent.
            Bytes { data: &'a [u8], total: usize },
            /// A handle installed for the receiver.
            Handle(Handle),
            /// Shared memory.
            Memory(Shared),
            /// Something was sent but there was nowhere to put it.
            Lost,
        }

        impl Received<'_> {
            /// Whether nothing came out of line.
            pub fn is_none(&self) -> bool {
                matches!(self, Received::None)
            }
        }

        /// A receive buffer, as in `rt::sys`.
        pub struct RecvBuffer(Vec<u8>);

        impl RecvBuffer {
            /// A buffer of the largest size a message carries.
            pub fn new() -> RecvBuffer {
                RecvBuffer(vec![0; abi::ool::MAX_BYTES as usize])
            }
        }

        #[derive(Clone)]
        enum Part {
            Bytes(Vec<u8>),
            Handle(Grant),
            Share(Share),
        }

        struct Envelope {
            badge: u64,
            msg: Message,
            part: Option<Part>,
            reply: Sender<Message>,
        }

        type RawServer = Arc<dyn Fn(u64, Message) -> Message + std::marker::Send + Sync>;

        #[derive(Clone)]
        enum Target {
            Queue(Sender<Envelope>),
            Raw(RawServer),
        }

        #[derive(Default)]
        struct Kernel {
            /// Client handle -> (endpoint, badge).
            clients: HashMap<u32, (u32, u64)>,
            /// Endpoint (its inbox handle) -> how requests reach the server.
            endpoints: HashMap<u32, Target>,
            /// Inbox handle -> the queue a server thread receives from.
            inboxes: HashMap<u32, Arc<Mutex<Receiver<Envelope>>>>,
            next: u32,
        }

        fn kernel() -> std::sync::MutexGuard<'static, Kernel> {
            static KERNEL: OnceLock<Mutex<Kernel>> = OnceLock::new();
            KERNEL
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        }

        fn fresh(k: &mut Kernel) -> u32 {
            k.next += 1;
            Handle::new(k.next as u16, 1).0
        }

        thread_local! {
            /// The caller a server thread has received from and not answered.
            static CALLER: RefCell<Option<Sender<Message>>> = const { RefCell::new(None) };
        }

        /// A new endpoint served by a thread; returns its inbox handle.
        pub fn endpoint() -> Handle {
            let mut k = kernel();
            let inbox = fresh(&mut k);
            let (tx, rx) = channel();
            k.endpoints.insert(inbox, Target::Queue(tx));
            k.inboxes.insert(inbox, Arc::new(Mutex::new(rx)));
            Handle(inbox)
        }

        /// A new endpoint answered by `server(badge, request)`.
        pub fn raw_endpoint(
            server: impl Fn(u64, Message) -> Message + std::marker::Send + Sync + 'static,
        ) -> Handle {
            let mut k = kernel();
            let id = fresh(&mut k);
            k.endpoints.insert(id, Target::Raw(Arc::new(server)));
            Handle(id)
        }

        /// A client handle to `endpoint` with the given badge.
        pub fn connect(endpoint: Handle, badge: u64) -> Handle {
            let mut k = kernel();
            let h = fresh(&mut k);
            k.clients.insert(h, (endpoint.0, badge));
            Handle(h)
        }

        /// Destroys an endpoint: its server's next receive fails with
        /// `PeerGone`, and calls on its handles with `BadHandle`.
        pub fn close(endpoint: Handle) {
            kernel().endpoints.remove(&endpoint.0);
        }

        /// Sends `msg` on the endpoint `h` and waits for the reply.
        pub fn call(h: Handle, msg: Message) -> Result<Message, Error> {
            if msg.tag.flags() != 0 {
                return Err(Error::BadTag);
            }
            call_part(h, msg, None)
        }

        /// Sends `msg` with an out-of-line part and waits for the reply.
        pub fn call_with(h: Handle, msg: Message, send: Send<'_>) -> Result<Message, Error> {
            if msg.tag.flags() != 0 {
                return Err(Error::BadTag);
            }
            let part = match send {
                Send::Bytes(b) if b.len() as u64 > abi::ool::MAX_BYTES => {
                    return Err(Error::InvalidArgument);
                }
                Send::Bytes(b) => Part::Bytes(b.to_vec()),
                Send::Handle(g) => Part::Handle(g),
                Send::Share(m) => Part::Share(m),
            };
            let tag = Tag::with_flags(msg.tag.interface(), msg.tag.method(), Tag::OOL);
            call_part(h, Message::new(tag, msg.words), Some(part))
        }

        fn call_part(h: Handle, msg: Message, part: Option<Part>) -> Result<Message, Error> {
            let (target, badge) = {
                let k = kernel();
                let &(endpoint, badge) = k.clients.get(&h.0).ok_or(Error::BadHandle)?;
                let target = k
                    .endpoints
                    .get(&endpoint)
                    .cloned()
                    .ok_or(Error::BadHandle)?;
                (target, badge)
            };
            let reply = match target {
                Target::Raw(server) => server(badge, msg),
                Target::Queue(queue) => {
                    let (tx, rx) = channel();
                    let envelope = Envelope {
                        badge,
                        msg,
                        part,
                        reply: tx,
                    };
                    queue.send(envelope).map_err(|_| Error::PeerGone)?;
                    rx.recv().map_err(|_| Error::PeerGone)?
                }
            };
            // The kernel clears the flags of a reply.
            let tag = Tag::new(reply.tag.interface(), reply.tag.method());
            Ok(Message::new(tag, reply.words))
        }

        /// Waits for a request; an out-of-line part lands in `buf`.
        pub fn recv_into(h: Handle, buf: &mut RecvBuffer) -> Result<Request<'_>, Error> {
            let (badge, msg, part) = take(h)?;
            let ool = match part {
                None => Received::None,
                Some(Part::Bytes(b)) => {
                    let n = b.len().min(buf.0.len());
                    buf.0[..n].copy_from_slice(&b[..n]);
                    Received::Bytes {
                        data: &buf.0[..n],
                        total: b.len(),
                    }
                }
                Some(Part::Handle(g)) => Received::Handle(g.handle),
                Some(Part::Share(m)) => Received::Memory(Shared {
                    addr: m.addr,
                    len: m.len,
                    writable: m.writable,
                }),
            };
            Ok(Request { badge, msg, ool })
        }

        fn take(h: Handle) -> Result<(u64, Message, Option<Part>), Error> {
            // Receiving again without replying answers the old caller with
            // `PeerGone`: dropping its reply channel does that.
            CALLER.with(|c| c.borrow_mut().take());
            let inbox = kernel()
                .inboxes
                .get(&h.0)
                .cloned()
                .ok_or(Error::BadHandle)?;
            let envelope = inbox
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv()
                .map_err(|_| Error::PeerGone)?;
            CALLER.with(|c| *c.borrow_mut() = Some(envelope.reply));
            Ok((envelope.badge, envelope.msg, envelope.part))
        }

        /// Answers the request this thread received last.
        pub fn reply(msg: Message) -> Result<(), Error> {
            if msg.tag.flags() != 0 {
                return Err(Error::BadTag);
            }
            let caller = CALLER
                .with(|c| c.borrow_mut().take())
                .ok_or(Error::NoCaller)?;
            caller.send(msg).map_err(|_| Error::PeerGone)
        }

        /// The server loop, as `rt::sys::serve` runs it (this fake has no
        /// address space, so there is no shared memory to unmap for a
        /// refused request).
        pub fn serve(
            inbox: Handle,
            mut answer: impl FnMut(&Request<'_>) -> (Message, bool),
        ) -> Result<(), Error> {
            let mut buf = RecvBuffer::new();
            let mut request = recv_into(inbox, &mut buf)?;
            loop {
                let (msg, stop) = answer(&request);
                if stop {
                    return reply(msg);
                }
                request = reply_recv_into(msg, inbox, &mut buf)?;
            }
        }

        /// As [`reply_recv`], receiving into `buf`.
        pub fn reply_recv_into(
            msg: Message,
            h: Handle,
            buf: &mut RecvBuffer,
        ) -> Result<Request<'_>, Error> {
            match reply(msg) {
                Ok(()) | Err(Error::NoCaller) | Err(Error::PeerGone) => recv_into(h, buf),
                Err(e) => Err(e),
            }
        }
    }
}
