//! An in-process stand-in for `tessera-rt`'s `sys` module and the kernel
//! behind it, so generated code runs on the host.
//!
//! `rt::sys` has the real module's signatures (`call`, `recv`, `reply`,
//! `reply_recv`, `Request`) and the kernel's IPC semantics as far as
//! generated code can observe them: a call blocks until the reply; the
//! receiver gets the badge of the caller's handle; a reply clears the tag's
//! flags; `reply_recv` goes on receiving when there is no caller or it has
//! gone; requests with flags are refused with `BadTag`.
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
        pub struct Request {
            /// The badge the kernel attaches to the sender's handle.
            pub badge: u64,
            /// The request itself.
            pub msg: Message,
        }

        struct Envelope {
            badge: u64,
            msg: Message,
            reply: Sender<Message>,
        }

        type RawServer = Arc<dyn Fn(u64, Message) -> Message + Send + Sync>;

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
            server: impl Fn(u64, Message) -> Message + Send + Sync + 'static,
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

        /// Waits for a request on the endpoint `h`, which this thread serves.
        pub fn recv(h: Handle) -> Result<Request, Error> {
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
            Ok(Request {
                badge: envelope.badge,
                msg: envelope.msg,
            })
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

        /// Answers the request received last, then waits for the next one.
        pub fn reply_recv(msg: Message, h: Handle) -> Result<Request, Error> {
            match reply(msg) {
                Ok(()) | Err(Error::NoCaller) | Err(Error::PeerGone) => recv(h),
                Err(e) => Err(e),
            }
        }
    }
}
