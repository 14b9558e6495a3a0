//! The native ubus client: one unix-socket connection to ubusd (no process per call), object
//! lookups with cached ids, invokes with a timeout, event listening, and objects of our own.
//!
//! # The fd / poll contract
//!
//! [`Client`] owns one non-blocking `SOCK_STREAM` socket. Requests ([`Client::lookup`],
//! [`Client::invoke`], [`Client::add_device`], [`Client::send_event`], …) are synchronous: each
//! sends its message and waits, up to [`Client::set_timeout`] (default [`DEFAULT_TIMEOUT`]), for
//! its own reply (matched by seq and peer, as libubus does). Whatever else arrives meanwhile
//! (events, calls of our objects, late replies) is kept, whole, in an internal queue.
//!
//! The poll loop:
//! 1. puts [`Client::fd`] (when `Some`) in its `poll` set with `POLLIN`;
//! 2. when it is readable, **and after every request method returned** (the queue may hold
//!    messages the kernel no longer reports as readable), calls [`Client::next_incoming`] until
//!    it returns `Ok(None)`. Each call handles at most one message and says what it was:
//!    [`Incoming::Event`] (already acknowledged to ubusd), [`Incoming::Call`] (answer it with
//!    [`Client::reply`] or [`Client::reply_data`]),
//!    [`Incoming::Notification`] (of an object [`Client::subscribe`]d to; answered when the
//!    notifier waits), [`Incoming::Unsubscribed`], [`Incoming::Subscribers`],
//!    [`Incoming::Reply`] (a reply nobody waits for any more),
//!    [`Incoming::Malformed`], [`Incoming::Disconnected`], [`Incoming::Other`].
//!    [`Client::has_pending`] says whether a call would return something without reading the
//!    socket (use a zero poll timeout then). Partial messages stay buffered across calls: a
//!    message split over many reads is returned once it is whole.
//! 3. on [`Incoming::Disconnected`] the fd is closed and `fd()` is `None`. The next request
//!    reconnects by itself; [`Client::connect`] does it explicitly. Either way a new
//!    connection re-adds our objects and re-registers every event pattern, and starts with an
//!    empty lookup cache ([`Client::generation`] counts connections).
//!
//! Object ids are cached per path. netifd gets new ids when it restarts; [`Client::forget`] /
//! [`Client::forget_id`] (call them on `ubus.object.add` / `ubus.object.remove`, see
//! [`Event::object_change`]) or [`Client::clear_cache`] drop them. An INVOKE that ubusd answers
//! NOT_FOUND without an OBJID (the object is gone; netifd's own NOT_FOUND carries one) also
//! drops the id and is retried once after a new lookup; so is a request whose connection
//! broke (after reconnecting). netifd's `add_device` / `remove_device` / `status` are
//! idempotent, so a repeat is harmless.

use std::collections::VecDeque;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apwatch_core::blob::{Fields, Writer};
use apwatch_core::ubus::{self as wire, Message, MessageType, Method, ObjectInfo, Status};
use apwatch_core::EncodeError;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

/// Where OpenWrt's ubusd listens (current releases first).
pub const SOCKET_PATHS: [&str; 2] = ["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"];
/// Overrides the socket path (tests).
pub const SOCKET_ENV: &std::ffi::CStr = c"APWATCH_UBUS_SOCKET";
/// How long a request waits for its reply unless [`Client::set_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest message ubusd accepts, with its header.
const MAX_MESSAGE: usize = wire::HEADER_LEN + wire::MAX_BLOB_LEN;
/// One read's worth.
const READ_CHUNK: usize = 16 * 1024;
/// Messages kept while a request waits; past this the oldest go (counted in
/// [`Client::dropped`]): an event storm during one request must not grow without bound.
const MAX_QUEUED: usize = 1024;

/// apwatch's object on the bus: `ubus call apwatch status`, `ubus call apwatch reload`.
pub const APWATCH_OBJECT: Object = Object {
    path: "apwatch",
    methods: &[Method { name: b"status", args: &[] }, Method { name: b"reload", args: &[] }],
};

/// The name of the events apwatch sends (`ubus listen apwatch.ap`).
pub const APWATCH_EVENT: &str = "apwatch.ap";

/// Why a ubus operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No ubus socket at the path (ubusd is not running).
    NoSocket,
    /// A system call failed.
    Io(Errno),
    /// The connection is gone (ubusd closed it, or it broke); the next request reconnects.
    Disconnected,
    /// No reply within the timeout.
    Timeout,
    /// ubusd or the object answered this (NOT_FOUND for an unknown path, NOT_SUPPORTED from
    /// netifd for an interface without a bridge, …).
    Status(Status),
    /// Bytes that are not ubus.
    Protocol(apwatch_core::Error),
    /// A request that cannot be encoded (too large).
    Encode(EncodeError),
    /// A reply without what it must carry (a lookup's DATA without an object id, a first
    /// message that is not HELLO).
    BadReply,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSocket => f.write_str("no ubus socket"),
            Error::Io(e) => write!(f, "ubus socket: {}", crate::errno::os(*e)),
            Error::Disconnected => f.write_str("ubus connection lost"),
            Error::Timeout => f.write_str("no reply from ubus in time"),
            Error::Status(s) => write!(f, "ubus status {} ({})", s.code(), s.name()),
            Error::Protocol(e) => write!(f, "malformed ubus message: {e}"),
            Error::Encode(e) => write!(f, "ubus request: {e}"),
            Error::BadReply => f.write_str("unexpected ubus reply"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        match e {
            Errno::PIPE | Errno::CONNRESET | Errno::NOTCONN => Error::Disconnected,
            e => Error::Io(e),
        }
    }
}

impl From<apwatch_core::Error> for Error {
    fn from(e: apwatch_core::Error) -> Self {
        Error::Protocol(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

/// An object this client registers, with its methods (re-added on every connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its path, e.g. `apwatch`.
    pub path: &'static str,
    /// Its methods and their argument types (the SIGNATURE `ubus -v list` shows).
    pub methods: &'static [Method<'static>],
}

/// An object's ids, as LOOKUP reported them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectId {
    /// The object id (what an INVOKE addresses).
    pub id: u32,
    /// Its type id.
    pub type_id: Option<u32>,
}

/// The answer to an INVOKE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The final STATUS.
    pub status: Status,
    data: Option<Vec<u8>>,
}

impl Reply {
    /// The DATA table, when the object sent one.
    pub fn data(&self) -> Option<Fields<'_>> {
        self.data.as_deref().map(Fields::new)
    }
}

/// What `network.interface.<net> status` says about the network.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceStatus {
    /// `up`
    pub up: bool,
    /// `available`
    pub available: bool,
    /// `device`: the network's main device (its bridge; or a netdev it adopted).
    pub device: Option<Vec<u8>>,
    /// `l3_device`: where its addresses are.
    pub l3_device: Option<Vec<u8>>,
}

/// An event delivered for one of our patterns (ubusd has been answered already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event's name, e.g. `ubus.object.remove`.
    pub name: Vec<u8>,
    data: Vec<u8>,
}

impl Event {
    /// Its payload.
    pub fn data(&self) -> Fields<'_> {
        Fields::new(&self.data)
    }

    /// `ubus.object.add` / `ubus.object.remove`: the object's id and path.
    pub fn object_change(&self) -> Option<wire::ObjectEvent<'_>> {
        wire::ObjectEvent::parse(&self.name, &self.data()).ok().flatten()
    }

    /// `network.interface`: the action (`ifup`, `ifdown`, …) and the network.
    pub fn interface_change(&self) -> Option<wire::InterfaceEvent<'_>> {
        wire::InterfaceEvent::parse(&self.name, &self.data()).ok().flatten()
    }
}

/// A method call of one of our objects; answer it with [`Client::reply`],
/// [`Client::reply_data`] (nothing is sent when `no_reply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The object's path (from its [`Object`]).
    pub object: &'static str,
    /// The method (one of the object's).
    pub method: &'static str,
    /// The caller waits for no answer.
    pub no_reply: bool,
    seq: u16,
    peer: u32,
    objid: u32,
    data: Vec<u8>,
    generation: u64,
}

impl Call {
    /// The arguments.
    #[cfg(test)]
    pub fn data(&self) -> Fields<'_> {
        Fields::new(&self.data)
    }
}

/// What [`Client::next_incoming`] handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// An event for a registered pattern.
    Event(Event),
    /// A call of one of our objects' methods, to be answered.
    Call(Call),
    /// A notification of an object we subscribed to (already answered when the notifier
    /// waits for one): `name` is its type (e.g. `bss.reload`).
    Notification(Event),
    /// ubusd ended a subscription of ours: the object `target` went away.
    Unsubscribed {
        /// The object's id.
        target: u32,
    },
    /// ubusd says whether one of our objects has subscribers now.
    Subscribers {
        /// Our object.
        objid: u32,
        /// Whether anyone is subscribed.
        active: bool,
    },
    /// A reply to a request that no longer waits (it timed out).
    Reply {
        /// Its seq.
        seq: u16,
        /// STATUS or DATA.
        kind: MessageType,
        /// Its STATUS, if it is one.
        status: Option<Status>,
    },
    /// A whole message that does not decode (skipped; the stream goes on).
    Malformed(apwatch_core::Error),
    /// The connection is gone; `fd()` is `None` until a request or `connect` reconnects.
    Disconnected,
    /// Anything else (already answered where ubus wants an answer, e.g. METHOD_NOT_FOUND).
    Other(MessageType),
}

struct Conn {
    fd: OwnedFd,
    client_id: u32,
    seq: u16,
    rx: Vec<u8>,
    /// Our objects' ids on this connection, parallel to `Client::objects`.
    object_ids: Vec<Option<u32>>,
    /// The anonymous object events are delivered to.
    listener: Option<u32>,
    /// The anonymous object notifications of subscribed objects are delivered to.
    subscriber: Option<u32>,
}

/// The collected answer to one request: its DATA messages and the STATUS.
struct Answer {
    data: Vec<Vec<u8>>,
    status: Status,
    status_has_objid: bool,
}

/// One connection to ubusd, re-established on demand (see the module's contract).
pub struct Client {
    path: PathBuf,
    timeout: Duration,
    conn: Option<Conn>,
    /// Object ids by path: a router has a few of them; a list costs less flash than a HashMap.
    cache: Vec<(Vec<u8>, ObjectId)>,
    patterns: Vec<Vec<u8>>,
    objects: Vec<Object>,
    /// Whole messages that came while a request waited, with the connection they came on.
    queue: VecDeque<(u64, Vec<u8>)>,
    generation: u64,
    disconnect_reported: bool,
    dropped: u64,
}

/// `$APWATCH_UBUS_SOCKET`, if set. Read with the libc's `getenv`, not `std::env::var_os`,
/// whose environment lock is 1 KB of the router binary: the agent never changes its
/// environment, so there is nothing to lock against.
pub fn socket_env() -> Option<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: getenv returns NULL or a NUL-terminated string in the environment, which
    // nothing in the agent modifies; it is copied out at once.
    unsafe {
        let v = libc::getenv(SOCKET_ENV.as_ptr());
        (!v.is_null()).then(|| std::ffi::OsStr::from_bytes(std::ffi::CStr::from_ptr(v).to_bytes()).to_owned())
    }
}

/// The socket path: `explicit`, else `$APWATCH_UBUS_SOCKET`, else the first of
/// [`SOCKET_PATHS`] that exists (the first when none does).
pub fn socket_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_owned();
    }
    if let Some(p) = socket_env().filter(|p| !p.is_empty()) {
        return p.into();
    }
    SOCKET_PATHS
        .iter()
        .map(Path::new)
        .find(|p| crate::files::exists(p))
        .unwrap_or(Path::new(SOCKET_PATHS[0]))
        .to_owned()
}

/// Encodes with `f` into a buffer that grows until the message fits.
/// (`dyn`: one copy of this loop for every message kind, not one per call site.)
fn encode(f: &dyn Fn(&mut [u8]) -> Result<usize, EncodeError>) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; 1024];
    loop {
        match f(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(EncodeError::BufferTooSmall) if buf.len() < MAX_MESSAGE => {
                let grown = (buf.len() * 4).min(MAX_MESSAGE);
                buf.resize(grown, 0);
            }
            Err(e) => return Err(Error::Encode(e)),
        }
    }
}

/// Waits until `fd` is ready for `flags` or `deadline` passes (then `Timeout`).
fn wait_ready(fd: &OwnedFd, flags: PollFlags, deadline: Instant) -> Result<(), Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout);
    }
    let mut fds = [PollFd::new(fd, flags)];
    match poll(&mut fds, Some(&crate::timing::timespec(left))) {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Client {
    /// A client for the socket [`socket_path`] picks; it connects on the first request.
    pub fn new(path: Option<&Path>) -> Client {
        Client {
            path: socket_path(path),
            timeout: DEFAULT_TIMEOUT,
            conn: None,
            cache: Vec::new(),
            patterns: Vec::new(),
            objects: Vec::new(),
            queue: VecDeque::new(),
            generation: 0,
            disconnect_reported: false,
            dropped: 0,
        }
    }

    /// The socket path in use.
    pub fn socket(&self) -> &Path {
        &self.path
    }

    /// How long requests wait for their replies.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The fd to poll for `POLLIN`; `None` while disconnected.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.conn.as_ref().map(|c| c.fd.as_fd())
    }

    /// Our client id on the current connection (from ubusd's HELLO).
    #[cfg(test)]
    pub fn client_id(&self) -> Option<u32> {
        self.conn.as_ref().map(|c| c.client_id)
    }

    /// How many connections have been made so far (a change means: a new connection, with
    /// objects and patterns registered again).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Messages dropped because too many came while a request waited (see `MAX_QUEUED`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether [`Client::next_incoming`] has something without reading the socket.
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty()
            || self.conn.as_ref().is_some_and(|c| wire::frame_len(&c.rx).is_ok_and(|n| c.rx.len() >= n))
    }

    /// Connects (if not connected): HELLO, then our objects and event patterns again.
    pub fn connect(&mut self) -> Result<(), Error> {
        if self.conn.is_some() {
            return Ok(());
        }
        let fd = rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
        let addr = SocketAddrUnix::new(&self.path).map_err(|_| Error::NoSocket)?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) => {}
            Err(Errno::NOENT | Errno::CONNREFUSED) => return Err(Error::NoSocket),
            Err(e) => return Err(e.into()),
        }
        rustix::io::ioctl_fionbio(&fd, true)?;
        self.conn = Some(Conn {
            fd,
            client_id: 0,
            seq: 0,
            rx: Vec::new(),
            object_ids: vec![None; self.objects.len()],
            listener: None,
            subscriber: None,
        });
        self.cache.clear();
        self.generation += 1;
        self.disconnect_reported = false;
        if let Err(e) = self.handshake() {
            self.drop_conn();
            return Err(e);
        }
        Ok(())
    }

    /// HELLO (ubusd speaks first), then our objects and patterns again.
    fn handshake(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        let hello = loop {
            if let Some(m) = self.take_message()? {
                break m;
            }
            self.fill(Some(deadline))?;
        };
        let (m, _) = Message::parse(&hello)?;
        if m.header.kind != MessageType::Hello {
            return Err(Error::BadReply);
        }
        if let Some(c) = self.conn.as_mut() {
            c.client_id = m.header.peer;
        }
        for i in 0..self.objects.len() {
            let id = self.register_object(self.objects[i])?;
            if let Some(slot) = self.conn.as_mut().and_then(|c| c.object_ids.get_mut(i)) {
                *slot = Some(id);
            }
        }
        for i in 0..self.patterns.len() {
            let p = self.patterns[i].clone();
            self.register_pattern(&p)?;
        }
        Ok(())
    }

    fn drop_conn(&mut self) {
        self.conn = None;
        self.cache.clear();
    }

    fn next_seq(&mut self) -> Result<u16, Error> {
        let c = self.conn.as_mut().ok_or(Error::Disconnected)?;
        c.seq = c.seq.wrapping_add(1);
        if c.seq == 0 {
            c.seq = 1; // 0 is HELLO's
        }
        Ok(c.seq)
    }

    /// Writes a whole message, waiting for room up to the timeout.
    fn send(&mut self, msg: &[u8]) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        let mut sent = 0;
        while sent < msg.len() {
            let c = self.conn.as_ref().ok_or(Error::Disconnected)?;
            match rustix::net::send(&c.fd, &msg[sent..], SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
                Ok(n) => sent += n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => wait_ready(&c.fd, PollFlags::OUT, deadline)?,
                Err(e) => {
                    let e = Error::from(e);
                    if e == Error::Disconnected {
                        self.drop_conn();
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Reads what the socket has. With a deadline, waits until something comes or it passes
    /// (`Timeout`); without, returns `Ok(false)` when nothing is there.
    fn fill(&mut self, deadline: Option<Instant>) -> Result<bool, Error> {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let c = self.conn.as_mut().ok_or(Error::Disconnected)?;
            match rustix::net::recv(&c.fd, &mut chunk[..], RecvFlags::DONTWAIT) {
                Ok((0, _)) => {
                    self.drop_conn();
                    return Err(Error::Disconnected);
                }
                Ok((n, _)) => {
                    c.rx.extend_from_slice(&chunk[..n.min(chunk.len())]);
                    return Ok(true);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    let Some(deadline) = deadline else { return Ok(false) };
                    wait_ready(&c.fd, PollFlags::IN, deadline)?;
                }
                Err(e) => {
                    let e = Error::from(e);
                    if e == Error::Disconnected {
                        self.drop_conn();
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The next whole message from the receive buffer. A length ubusd would never send
    /// leaves the stream unusable: the connection is dropped.
    fn take_message(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let Some(c) = self.conn.as_mut() else { return Ok(None) };
        match wire::frame_len(&c.rx) {
            Ok(n) if c.rx.len() >= n => Ok(Some(c.rx.drain(..n).collect())),
            Ok(_) | Err(apwatch_core::Error::Truncated) => Ok(None),
            Err(e) => {
                self.drop_conn();
                Err(Error::Protocol(e))
            }
        }
    }

    /// Sends `msg` (seq `seq`) and collects its DATA messages and STATUS (replies carry the
    /// request's seq and `peer`); everything else is queued for `next_incoming`.
    fn request(&mut self, msg: &[u8], seq: u16, peer: u32) -> Result<Answer, Error> {
        self.send(msg)?;
        let deadline = Instant::now() + self.timeout;
        let mut data = Vec::new();
        loop {
            let Some(raw) = self.take_message()? else {
                self.fill(Some(deadline))?;
                continue;
            };
            let reply = match Message::parse(&raw) {
                Ok((m, _)) => {
                    let ours = m.header.seq == seq && m.header.peer == peer;
                    match m.header.kind {
                        MessageType::Data if ours => Some(None),
                        MessageType::Status if ours => {
                            Some(Some((m.status().unwrap_or(Status::UnknownError), m.objid().is_some())))
                        }
                        _ => None,
                    }
                }
                Err(_) => None,
            };
            match reply {
                Some(Some((status, status_has_objid))) => return Ok(Answer { data, status, status_has_objid }),
                Some(None) => data.push(raw),
                None => {
                    if self.queue.len() >= MAX_QUEUED {
                        self.queue.pop_front();
                        self.dropped += 1;
                    }
                    self.queue.push_back((self.generation, raw));
                }
            }
        }
    }

    /// Connects if needed, runs `f`; if the connection broke, reconnects and runs it once more.
    /// (`dyn`: one copy per result type, not one per caller.)
    fn with_retry<T>(&mut self, f: &mut dyn FnMut(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        self.connect()?;
        match f(self) {
            Err(Error::Disconnected) => {
                self.drop_conn();
                self.connect()?;
                f(self)
            }
            r => r,
        }
    }

    fn lookup_once(&mut self, path: &str) -> Result<ObjectId, Error> {
        if let Some((_, id)) = self.cache.iter().find(|(p, _)| p == path.as_bytes()) {
            return Ok(*id);
        }
        let seq = self.next_seq()?;
        let msg = encode(&|b| wire::lookup(b, seq, path.as_bytes()))?;
        let answer = self.request(&msg, seq, 0)?;
        if answer.status != Status::Ok {
            return Err(Error::Status(answer.status));
        }
        let mut found = None;
        for raw in &answer.data {
            let (m, _) = Message::parse(raw)?;
            let info = ObjectInfo::parse(&m)?;
            if info.path == Some(path.as_bytes()) {
                found = Some(ObjectId { id: info.id, type_id: info.type_id });
            }
        }
        let id = found.ok_or(Error::BadReply)?;
        self.cache.retain(|(p, _)| p != path.as_bytes());
        self.cache.push((path.as_bytes().to_vec(), id));
        Ok(id)
    }

    /// The ids of the object at `path` (cached). An unknown path is `Status(NotFound)`.
    #[cfg(test)]
    pub fn lookup(&mut self, path: &str) -> Result<ObjectId, Error> {
        self.with_retry(&mut |c| c.lookup_once(path))
    }

    /// Drops the cached ids of `path`.
    pub fn forget(&mut self, path: &[u8]) {
        self.cache.retain(|(p, _)| p != path);
    }

    /// Drops every cached path that had object id `id` (from `ubus.object.remove`).
    pub fn forget_id(&mut self, id: u32) {
        self.cache.retain(|(_, v)| v.id != id);
    }

    fn invoke_id(
        &mut self,
        objid: u32,
        method: &str,
        args: &dyn Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<Answer, Error> {
        let seq = self.next_seq()?;
        let msg = encode(&|b| wire::invoke(b, seq, objid, method.as_bytes(), args))?;
        self.request(&msg, seq, objid)
    }

    /// Calls `method` of the object at `path` with the arguments `args` writes (a blobmsg
    /// table's contents; write nothing for `{}`). The status is in the reply, not an error.
    pub fn invoke(
        &mut self,
        path: &str,
        method: &str,
        args: impl Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<Reply, Error> {
        self.invoke_dyn(path, method, &args)
    }

    fn invoke_dyn(
        &mut self,
        path: &str,
        method: &str,
        args: &dyn Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<Reply, Error> {
        self.with_retry(&mut |c| {
            let mut id = c.lookup_once(path)?;
            let mut answer = c.invoke_id(id.id, method, args)?;
            if answer.status == Status::NotFound && !answer.status_has_objid {
                // ubusd's own NOT_FOUND: the id is stale (netifd restarted)
                c.forget(path.as_bytes());
                id = c.lookup_once(path)?;
                answer = c.invoke_id(id.id, method, args)?;
            }
            let mut data = None;
            for raw in &answer.data {
                let (m, _) = Message::parse(raw)?;
                if let Some(d) = m.data() {
                    data = Some(d.as_bytes().to_vec());
                }
            }
            Ok(Reply { status: answer.status, data })
        })
    }

    fn ok(reply: Reply) -> Result<Reply, Error> {
        match reply.status {
            Status::Ok => Ok(reply),
            s => Err(Error::Status(s)),
        }
    }

    /// netifd: `network.interface.<network> add_device {name, link-ext, vlan}`. `link_ext`
    /// true: netifd attaches the port once something else (hostapd) sets it up; false:
    /// netifd brings it up itself. STATUS 0 does not prove the kernel changed anything.
    pub fn add_device(&mut self, network: &str, dev: &[u8], link_ext: bool, vlan: Option<u16>) -> Result<(), Error> {
        let path = format!("network.interface.{network}");
        Self::ok(self.invoke(&path, "add_device", |w| wire::device_args(w, dev, Some(link_ext), vlan))?).map(drop)
    }

    /// netifd: `network.interface.<network> remove_device {name}`; NOT_FOUND when the netdev
    /// is not (or no longer) that network's member.
    pub fn remove_device(&mut self, network: &str, dev: &[u8]) -> Result<(), Error> {
        let path = format!("network.interface.{network}");
        Self::ok(self.invoke(&path, "remove_device", |w| wire::device_args(w, dev, None, None))?).map(drop)
    }

    /// netifd: `network.interface.<network> status`: up, and the real device names.
    pub fn interface_status(&mut self, network: &str) -> Result<InterfaceStatus, Error> {
        let path = format!("network.interface.{network}");
        let reply = Self::ok(self.invoke(&path, "status", |_| Ok(()))?)?;
        let data = reply.data().ok_or(Error::BadReply)?;
        let s = wire::InterfaceStatus::parse(&data)?;
        Ok(InterfaceStatus {
            up: s.up,
            available: s.available,
            device: s.device.map(<[u8]>::to_vec),
            l3_device: s.l3_device.map(<[u8]>::to_vec),
        })
    }

    /// ADD_OBJECT on this connection; returns the new object id.
    fn add_object_once(&mut self, object: Option<Object>) -> Result<u32, Error> {
        let seq = self.next_seq()?;
        let msg = encode(&|b| wire::add_object(b, seq, object.map(|o| (o.path.as_bytes(), o.methods))))?;
        let answer = self.request(&msg, seq, 0)?;
        if answer.status != Status::Ok {
            return Err(Error::Status(answer.status));
        }
        let raw = answer.data.first().ok_or(Error::BadReply)?;
        let (m, _) = Message::parse(raw)?;
        Ok(ObjectInfo::parse(&m)?.id)
    }

    fn register_object(&mut self, object: Object) -> Result<u32, Error> {
        self.add_object_once(Some(object))
    }

    /// The anonymous object of this connection that `slot` names (the event listener or the
    /// subscriber), added on first use.
    fn anonymous(&mut self, slot: fn(&mut Conn) -> &mut Option<u32>) -> Result<u32, Error> {
        if let Some(id) = self.conn.as_mut().and_then(|c| *slot(c)) {
            return Ok(id);
        }
        let id = self.add_object_once(None)?;
        if let Some(c) = self.conn.as_mut() {
            *slot(c) = Some(id);
        }
        Ok(id)
    }

    fn register_pattern(&mut self, pattern: &[u8]) -> Result<(), Error> {
        let listener = self.anonymous(|c| &mut c.listener)?;
        let seq = self.next_seq()?;
        let msg = encode(&|b| wire::register_event(b, seq, listener, pattern))?;
        match self.request(&msg, seq, wire::EVENT_OBJECT)?.status {
            Status::Ok => Ok(()),
            s => Err(Error::Status(s)),
        }
    }

    /// Registers `object` (kept: re-added on every new connection). Returns its id.
    pub fn add_object(&mut self, object: Object) -> Result<u32, Error> {
        self.connect()?;
        if let Some(i) = self.objects.iter().position(|o| o.path == object.path) {
            // known: `connect` registered it on this connection
            return self.conn.as_ref().and_then(|c| c.object_ids.get(i).copied().flatten()).ok_or(Error::Disconnected);
        }
        let id = match self.register_object(object) {
            Err(Error::Disconnected) => {
                self.connect()?;
                self.register_object(object)?
            }
            r => r?,
        };
        self.objects.push(object);
        if let Some(c) = self.conn.as_mut() {
            c.object_ids.resize(self.objects.len() - 1, None);
            c.object_ids.push(Some(id));
        }
        Ok(id)
    }

    /// Listens for events matching `pattern` (an exact name, or a prefix ending in `*`);
    /// kept and registered again on every new connection. ubusd delivers an event once per
    /// matching pattern: give patterns that do not overlap.
    pub fn listen(&mut self, pattern: &str) -> Result<(), Error> {
        let p = pattern.as_bytes().to_vec();
        self.connect()?;
        if self.patterns.contains(&p) {
            return Ok(()); // `connect` registered it on this connection
        }
        match self.register_pattern(&p) {
            Err(Error::Disconnected) => {
                self.connect()?;
                self.register_pattern(&p)?;
            }
            r => r?,
        }
        self.patterns.push(p);
        Ok(())
    }

    /// Subscribes to the notifications of the object at `path` on this connection (a new
    /// connection or the object re-appearing with a new id needs a new call: watch
    /// `ubus.object.add` and [`Incoming::Unsubscribed`]). Returns the object's id; an object
    /// that is not there is `Status(NotFound)`.
    pub fn subscribe(&mut self, path: &str) -> Result<u32, Error> {
        self.with_retry(&mut |c| {
            let subscriber = c.anonymous(|c| &mut c.subscriber)?;
            let mut retried = false;
            loop {
                let target = c.lookup_once(path)?.id;
                let seq = c.next_seq()?;
                let msg = encode(&|b| wire::subscribe(b, seq, subscriber, target))?;
                match c.request(&msg, seq, 0)?.status {
                    Status::Ok => return Ok(target),
                    // a cached id of an object that has gone: look it up again, once
                    Status::NotFound if !retried => {
                        retried = true;
                        c.forget(path.as_bytes());
                    }
                    s => return Err(Error::Status(s)),
                }
            }
        })
    }

    /// Sends event `name` with the payload `data` writes; waits for ubusd's STATUS (sent
    /// before delivery).
    pub fn send_event(
        &mut self,
        name: &str,
        data: impl Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), Error> {
        self.send_event_dyn(name, &data)
    }

    fn send_event_dyn(
        &mut self,
        name: &str,
        data: &dyn Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), Error> {
        self.with_retry(&mut |c| {
            let seq = c.next_seq()?;
            let msg = encode(&|b| wire::send_event(b, seq, name.as_bytes(), data))?;
            match c.request(&msg, seq, wire::EVENT_OBJECT)?.status {
                Status::Ok => Ok(()),
                s => Err(Error::Status(s)),
            }
        })
    }

    /// Answers `call` with `status` only.
    pub fn reply(&mut self, call: &Call, status: Status) -> Result<(), Error> {
        if call.no_reply || call.generation != self.generation || self.conn.is_none() {
            return Ok(());
        }
        let msg = encode(&|b| wire::reply_status(b, call.seq, call.peer, call.objid, status))?;
        self.send(&msg)
    }

    /// Answers `call` with a DATA table (`data` writes its contents), then STATUS 0.
    pub fn reply_data(
        &mut self,
        call: &Call,
        data: &dyn Fn(&mut Writer<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), Error> {
        if call.no_reply || call.generation != self.generation || self.conn.is_none() {
            return Ok(());
        }
        let msg = encode(&|b| wire::reply_data(b, call.seq, call.peer, call.objid, data))?;
        self.send(&msg)?;
        self.reply(call, Status::Ok)
    }

    /// Handles at most one incoming message (see the module's contract). `Ok(None)`: nothing
    /// (more) to handle now.
    pub fn next_incoming(&mut self) -> Result<Option<Incoming>, Error> {
        loop {
            if let Some((generation, raw)) = self.queue.pop_front() {
                return self.handle(&raw, generation == self.generation).map(Some);
            }
            if self.conn.is_none() {
                if self.generation > 0 && !self.disconnect_reported {
                    self.disconnect_reported = true;
                    return Ok(Some(Incoming::Disconnected));
                }
                return Ok(None);
            }
            if let Some(raw) = self.take_message()? {
                return self.handle(&raw, true).map(Some);
            }
            match self.fill(None) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(Error::Disconnected) => {} // reported above, once
                Err(e) => return Err(e),
            }
        }
    }

    /// Decodes one message and answers it where ubus expects an answer. `current`: it came
    /// on this connection (one from a lost connection is reported, never answered).
    fn handle(&mut self, raw: &[u8], current: bool) -> Result<Incoming, Error> {
        let m = match Message::parse(raw) {
            Ok((m, _)) => m,
            Err(e) => return Ok(Incoming::Malformed(e)),
        };
        let kind = m.header.kind;
        match kind {
            MessageType::Invoke => {
                let inv = match wire::Invoke::parse(&m) {
                    Ok(inv) => inv,
                    Err(e) => return Ok(Incoming::Malformed(e)),
                };
                if !current {
                    return Ok(match inv.is_event() {
                        true => Incoming::Event(Event {
                            name: inv.method.to_vec(),
                            data: inv.data.map(|d| d.as_bytes().to_vec()).unwrap_or_default(),
                        }),
                        false => Incoming::Other(kind),
                    });
                }
                let conn = self.conn.as_ref();
                let listener = conn.and_then(|c| c.listener);
                let subscriber = conn.and_then(|c| c.subscriber);
                if Some(inv.objid) == listener || Some(inv.objid) == subscriber {
                    // libubus answers every event delivery (ubusd drops the answer) and every
                    // notification unless the notifier waits for none (netifd and OpenWrt's
                    // hostapd notify with NO_REPLY)
                    if !inv.no_reply {
                        // a send that fails here drops the connection; that is reported next
                        let msg = encode(&|b| wire::reply_status(b, inv.seq, inv.peer, inv.objid, Status::Ok))?;
                        let _ = self.send(&msg);
                    }
                    let data = inv.data.map(|d| d.as_bytes().to_vec()).unwrap_or_default();
                    let e = Event { name: inv.method.to_vec(), data };
                    return Ok(if Some(inv.objid) == listener {
                        Incoming::Event(e)
                    } else {
                        Incoming::Notification(e)
                    });
                }
                let ours = conn.and_then(|c| c.object_ids.iter().position(|id| *id == Some(inv.objid)));
                let object = ours.and_then(|i| self.objects.get(i).copied());
                let method = object.and_then(|o| o.methods.iter().find(|me| me.name == inv.method));
                let status = match (object, method, &inv.data) {
                    (Some(o), Some(me), Some(d)) => {
                        return Ok(Incoming::Call(Call {
                            object: o.path,
                            method: std::str::from_utf8(me.name).unwrap_or(""),
                            no_reply: inv.no_reply,
                            seq: inv.seq,
                            peer: inv.peer,
                            objid: inv.objid,
                            data: d.as_bytes().to_vec(),
                            generation: self.generation,
                        }))
                    }
                    (None, _, _) => Status::NotFound,
                    (Some(_), None, _) => Status::MethodNotFound,
                    (Some(_), Some(_), None) => Status::InvalidArgument,
                };
                if !inv.no_reply {
                    let msg = encode(&|b| wire::reply_status(b, inv.seq, inv.peer, inv.objid, status))?;
                    let _ = self.send(&msg);
                }
                Ok(Incoming::Other(kind))
            }
            MessageType::Notify if m.header.peer == 0 => match (m.objid(), m.active()) {
                (Some(objid), Some(active)) => Ok(Incoming::Subscribers { objid, active }),
                _ => Ok(Incoming::Other(kind)),
            },
            MessageType::Unsubscribe => match m.target() {
                Some(target) => Ok(Incoming::Unsubscribed { target }),
                None => Ok(Incoming::Other(kind)),
            },
            MessageType::Status | MessageType::Data => {
                Ok(Incoming::Reply { seq: m.header.seq, kind, status: m.status() })
            }
            _ => Ok(Incoming::Other(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apwatch_core::blob::{Type, Value};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::sync::mpsc;
    use std::thread;

    const C02: &str = include_str!("../../tests/data/ubus/02-add_device.txt");
    const C03: &str = include_str!("../../tests/data/ubus/03-remove_device.txt");
    const C04: &str = include_str!("../../tests/data/ubus/04-status.txt");
    const C05: &str = include_str!("../../tests/data/ubus/05-error-no-such-interface.txt");
    const C06: &str = include_str!("../../tests/data/ubus/06-error-not-a-bridge.txt");
    const C07: &str = include_str!("../../tests/data/ubus/07-other-status.txt");
    const C08: &str = include_str!("../../tests/data/ubus/08-event-send-listen.txt");
    const C09: &str = include_str!("../../tests/data/ubus/09-netifd-start-events.txt");
    const C10: &str = include_str!("../../tests/data/ubus/10-netifd-restart-events.txt");
    const C12: &str = include_str!("../../tests/data/ubus/12-hostapd-object-server.txt");
    const C13: &str = include_str!("../../tests/data/ubus/13-hostapd-subscriber.txt");
    const C14: &str = include_str!("../../tests/data/ubus/14-hostapd-call.txt");

    const GUEST: u32 = 0x6a14_ba8c;
    const IFACE_TYPE: u32 = 0x1b70_630d;

    /// (the `## ` line, sent by the client, bytes) of every recorded message.
    fn recorded(text: &str) -> Vec<(String, bool, Vec<u8>)> {
        let mut out = Vec::new();
        let mut conn = String::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("## ") {
                conn = c.to_owned();
            } else if let Some(h) = line.strip_prefix("C>S ").or(line.strip_prefix("S>C ")) {
                let bytes = (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
                out.push((conn.clone(), line.starts_with("C>S"), bytes));
            }
        }
        out
    }

    /// The messages of the first connection whose `## ` line contains `conn`.
    fn connection(text: &str, conn: &str) -> Vec<(bool, Vec<u8>)> {
        let all = recorded(text);
        let first = all.iter().find(|(c, ..)| c.contains(conn)).unwrap().0.clone();
        all.into_iter().filter(|(c, ..)| *c == first).map(|(_, from_client, b)| (from_client, b)).collect()
    }

    /// Its `n`th message.
    fn msg(text: &str, conn: &str, n: usize) -> Vec<u8> {
        connection(text, conn).swap_remove(n).1
    }

    /// Its first `n` messages as a peer script: what ubusd sent is sent, what the client
    /// sent is expected.
    fn replay(text: &str, conn: &str, n: usize) -> Vec<Step> {
        connection(text, conn).into_iter().take(n).map(|(fc, b)| if fc { Expect(b) } else { Send(b) }).collect()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn build(f: impl Fn(&mut [u8]) -> Result<usize, EncodeError>) -> Vec<u8> {
        encode(&f).unwrap()
    }

    fn status(seq: u16, peer: u32, objid: Option<u32>, s: Status) -> Vec<u8> {
        build(|b| {
            let mut m = wire::MessageWriter::new(b, MessageType::Status, seq, peer)?;
            m.status(s)?;
            if let Some(id) = objid {
                m.objid(id)?;
            }
            m.finish()
        })
    }

    /// ubusd's LOOKUP answer for `path` with other ids (after a restart).
    fn lookup_data(seq: u16, path: &str, id: u32, type_id: u32) -> Vec<u8> {
        build(|b| {
            let mut m = wire::MessageWriter::new(b, MessageType::Data, seq, 0)?;
            m.objpath(path.as_bytes())?.objid(id)?.objtype(type_id)?;
            m.signature(|w| wire::signature_method(w, b"add_device", &[(b"name", Type::String)]))?;
            m.finish()
        })
    }

    /// ubusd's ADD_OBJECT answer.
    fn object_data(seq: u16, id: u32, type_id: Option<u32>) -> Vec<u8> {
        build(|b| {
            let mut m = wire::MessageWriter::new(b, MessageType::Data, seq, 0)?;
            m.objid(id)?;
            if let Some(t) = type_id {
                m.objtype(t)?;
            }
            m.finish()
        })
    }

    fn add_device_invoke(seq: u16, objid: u32, dev: &[u8]) -> Vec<u8> {
        build(|b| wire::invoke(b, seq, objid, b"add_device", |w| wire::device_args(w, dev, Some(true), None)))
    }

    enum Step {
        Send(Vec<u8>),
        Expect(Vec<u8>),
        /// Tell the test everything before has been sent.
        Notify(mpsc::Sender<()>),
        /// Wait for the test's go.
        Await(mpsc::Receiver<()>),
        /// Close the connection (ubusd or netifd gone); only Notify/Await may follow.
        Close,
    }
    use Step::*;

    /// A ubus peer on a unix socket in a temp dir: one script per connection, in order.
    /// Sends what ubusd sent, checks what the client sends byte for byte, and at the end of a
    /// script that does not close, that the client sent nothing more.
    struct Peer {
        dir: PathBuf,
        path: PathBuf,
        handle: Option<thread::JoinHandle<()>>,
    }

    fn peer(name: &str, conns: Vec<Vec<Step>>) -> Peer {
        let dir = std::env::temp_dir().join(format!("apwatch-ubus-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ubus.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let handle = thread::spawn(move || {
            for (i, script) in conns.into_iter().enumerate() {
                let (mut s, _) = listener.accept().unwrap();
                // a guard against a hung test, not a timing assertion
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut closed = false;
                for (j, step) in script.into_iter().enumerate() {
                    match step {
                        Send(b) => s.write_all(&b).unwrap(),
                        Expect(b) => {
                            let mut got = vec![0; b.len()];
                            s.read_exact(&mut got).unwrap_or_else(|e| panic!("conn {i} step {j}: {e}"));
                            assert_eq!(hex(&got), hex(&b), "conn {i} step {j}");
                        }
                        Notify(tx) => tx.send(()).unwrap(),
                        Await(rx) => rx.recv().unwrap(),
                        Close => {
                            // EOF for the client's reads, EPIPE for its writes
                            s.shutdown(std::net::Shutdown::Both).unwrap();
                            closed = true;
                        }
                    }
                }
                if !closed {
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).unwrap();
                    assert_eq!(hex(&rest), "", "conn {i}: the client sent more");
                }
            }
        });
        Peer { dir, path, handle: Some(handle) }
    }

    impl Peer {
        fn client(&self) -> Client {
            Client::new(Some(&self.path))
        }

        fn finish(mut self) {
            let r = self.handle.take().unwrap().join();
            let _ = std::fs::remove_dir_all(&self.dir);
            if let Err(e) = r {
                std::panic::resume_unwind(e);
            }
        }
    }

    /// Blocks until the client's fd is readable (a guard timeout, never hit when it passes).
    fn wait_readable(c: &Client) {
        let fd = c.fd().unwrap();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let n = poll(&mut fds, Some(&crate::timing::timespec(Duration::from_secs(30)))).unwrap();
        assert!(n > 0, "nothing came");
    }

    /// The next incoming message, waiting for it.
    fn incoming(c: &mut Client) -> Incoming {
        loop {
            if let Some(i) = c.next_incoming().unwrap() {
                return i;
            }
            wait_readable(c);
        }
    }

    const HOSTAPD_ID: u32 = 0xdece_f44e;
    const SUBSCRIBER: u32 = 0x6db9_a6f4;

    /// A notification as ubusd forwards one sent with NO_REPLY (netifd, OpenWrt's hostapd).
    fn notification(seq: u16, notifier: u32, to: u32, method: &[u8], name: &[u8]) -> Vec<u8> {
        build(|b| {
            let mut m = wire::MessageWriter::new(b, MessageType::Invoke, seq, notifier)?;
            m.no_reply(1)?.objid(to)?.method(method)?.user(b"root")?.group(b"root")?;
            m.data(|w| w.string(b"name", name))?;
            m.finish()
        })
    }

    #[test]
    fn subscribes_and_takes_notifications_as_recorded() {
        let mut script = replay(C13, "subscriber", 9);
        // the recorded notification (sent without NO_REPLY): answered
        script.push(Send(msg(C13, "subscriber", 9)));
        script.push(Expect(msg(C13, "subscriber", 10)));
        // hostapd.uc's own bss_event() notifies with NO_REPLY: no answer
        script.push(Send(notification(7, 0x7264_7935, SUBSCRIBER, b"bss.reload", b"wlan0")));
        // hostapd exits: ubusd ends the subscription
        script.push(Send(build(|b| {
            let mut m = wire::MessageWriter::new(b, MessageType::Unsubscribe, 8, 0)?;
            m.objid(SUBSCRIBER)?.target(HOSTAPD_ID)?;
            m.finish()
        })));
        // the new hostapd: the cached id is stale, ubusd says NOT_FOUND; looked up again
        script.push(Expect(build(|b| wire::subscribe(b, 4, SUBSCRIBER, HOSTAPD_ID))));
        script.push(Send(status(4, 0, None, Status::NotFound)));
        script.push(Expect(build(|b| wire::lookup(b, 5, b"hostapd"))));
        script.push(Send(lookup_data(5, "hostapd", 0x1234_5678, 0x0bad_cafe)));
        script.push(Send(status(5, 0, None, Status::Ok)));
        script.push(Expect(build(|b| wire::subscribe(b, 6, SUBSCRIBER, 0x1234_5678))));
        script.push(Send(status(6, 0, None, Status::Ok)));
        let p = peer("subscribe", vec![script]);
        let mut c = p.client();
        assert_eq!(c.subscribe("hostapd"), Ok(HOSTAPD_ID));
        let Incoming::Notification(n) = incoming(&mut c) else { panic!("not a notification") };
        assert_eq!((n.name.as_slice(), n.data().get_str(b"name")), (&b"bss.add"[..], Ok(Some(&b"wlan0"[..]))));
        let Incoming::Notification(n) = incoming(&mut c) else { panic!("not a notification") };
        assert_eq!((n.name.as_slice(), n.data().get_str(b"name")), (&b"bss.reload"[..], Ok(Some(&b"wlan0"[..]))));
        assert_eq!(incoming(&mut c), Incoming::Unsubscribed { target: HOSTAPD_ID });
        assert_eq!(c.subscribe("hostapd"), Ok(0x1234_5678));
        drop(c);
        p.finish();
    }

    #[test]
    fn calls_bss_info_as_recorded() {
        let p = peer("bss_info", vec![replay(C14, "client", 7)]);
        let mut c = p.client();
        let reply = c.invoke("hostapd", "bss_info", |w| wire::bss_info_args(w, b"wlan0")).unwrap();
        assert_eq!(reply.status, Status::Ok);
        let info = wire::BssInfo::parse(&reply.data().unwrap()).unwrap();
        assert_eq!(info.ssid.map(|s| s.as_bytes().to_vec()), Some(b"foo".to_vec()));
        drop(c);
        p.finish();
    }

    #[test]
    fn hello_lookup_and_add_device_as_recorded_then_cached() {
        let mut script = replay(C02, "client", 6);
        // the id is cached: no second LOOKUP
        script.push(Expect(add_device_invoke(3, GUEST, b"veth0")));
        script.push(Send(status(3, GUEST, Some(GUEST), Status::Ok)));
        let p = peer("add", vec![script]);
        let mut c = p.client();
        assert!(c.fd().is_none(), "connects on the first request");
        c.add_device("guest", b"veth0", true, None).unwrap();
        assert_eq!(c.client_id(), Some(0x17d4_e333), "the HELLO's peer");
        assert_eq!(c.lookup("network.interface.guest"), Ok(ObjectId { id: GUEST, type_id: Some(IFACE_TYPE) }));
        c.add_device("guest", b"veth0", true, None).unwrap();
        assert!(!c.has_pending());
        assert_eq!(c.next_incoming(), Ok(None));
        drop(c);
        p.finish();
    }

    #[test]
    fn remove_device_and_status_as_recorded() {
        let p = peer("remove", vec![replay(C03, "client", 6)]);
        let mut c = p.client();
        c.remove_device("guest", b"veth0").unwrap();
        drop(c);
        p.finish();

        let p = peer("status", vec![replay(C04, "client", 7)]);
        let mut c = p.client();
        let s = c.interface_status("guest").unwrap();
        let br = Some(b"br-guest".to_vec());
        assert_eq!(s, InterfaceStatus { up: true, available: true, device: br.clone(), l3_device: br });
        drop(c);
        p.finish();
    }

    #[test]
    fn recorded_failures_are_typed_statuses() {
        // no such network: ubusd's LOOKUP says NOT_FOUND and no INVOKE follows
        let p = peer("nosuch", vec![replay(C05, "client", 3)]);
        let mut c = p.client();
        assert_eq!(c.add_device("nosuch", b"veth0", true, None), Err(Error::Status(Status::NotFound)));
        drop(c);
        p.finish();

        // a network whose device is not a bridge: netifd's NOT_SUPPORTED (8)
        let p = peer("plain", vec![replay(C06, "client", 6)]);
        let mut c = p.client();
        assert_eq!(c.add_device("plain", b"veth0", true, None), Err(Error::Status(Status::NotSupported)));
        drop(c);
        p.finish();

        // 0 with nothing bridged: a network without device, a netdev that does not exist
        for (conn, net, dev) in [("conn 11 ", "nodev", &b"wlan0"[..]), ("conn 12 ", "guest", b"nosuchdev0")] {
            let p = peer(net, vec![replay(C07, conn, 6)]);
            let mut c = p.client();
            assert_eq!(c.add_device(net, dev, true, None), Ok(()));
            drop(c);
            p.finish();
        }

        // netifd's own NOT_FOUND (remove_device of a non-member) carries OBJID: no retry
        let mut script = replay(C03, "client", 5);
        script.push(Send(status(2, GUEST, Some(GUEST), Status::NotFound)));
        let p = peer("notmember", vec![script]);
        let mut c = p.client();
        assert_eq!(c.remove_device("guest", b"veth0"), Err(Error::Status(Status::NotFound)));
        drop(c);
        p.finish();
    }

    #[test]
    fn a_stale_object_id_is_looked_up_again() {
        // netifd restarted under a running ubusd: the old id is gone, ubusd says NOT_FOUND
        // without OBJID; the client looks the path up again and calls the new object
        let new_id = 0x05d0_9a11;
        let path = "network.interface.guest";
        let mut script = replay(C02, "client", 5);
        script.extend([
            Send(status(2, GUEST, None, Status::NotFound)),
            Expect(build(|b| wire::lookup(b, 3, path.as_bytes()))),
            Send(lookup_data(3, path, new_id, 0x2222)),
            Send(status(3, 0, None, Status::Ok)),
            Expect(add_device_invoke(4, new_id, b"veth0")),
            Send(status(4, new_id, Some(new_id), Status::Ok)),
            // forget_id (on ubus.object.remove) makes the next call look up again
            Expect(build(|b| wire::lookup(b, 5, path.as_bytes()))),
            Send(lookup_data(5, path, GUEST, IFACE_TYPE)),
            Send(status(5, 0, None, Status::Ok)),
        ]);
        let p = peer("stale", vec![script]);
        let mut c = p.client();
        c.add_device("guest", b"veth0", true, None).unwrap();
        assert_eq!(c.lookup(path).map(|o| o.id), Ok(new_id));
        c.forget_id(new_id);
        assert_eq!(c.lookup(path).map(|o| o.id), Ok(GUEST));
        drop(c);
        p.finish();
    }

    #[test]
    fn a_closed_connection_reconnects_with_new_ids_and_registrations() {
        let (closed_tx, closed_rx) = mpsc::channel();
        let (closed2_tx, closed2_rx) = mpsc::channel();
        let path = "network.interface.guest";
        // what every new connection does first: our object, the listener, its pattern
        let setup = |hello: Vec<u8>, n: u32| {
            vec![
                Send(hello),
                Expect(build(|b| wire::add_object(b, 1, Some((b"apwatch", APWATCH_OBJECT.methods))))),
                Send(object_data(1, 0x1000 + n, Some(0x3333))),
                Send(status(1, 0, None, Status::Ok)),
                Expect(build(|b| wire::add_object(b, 2, None))),
                Send(object_data(2, 0x2000 + n, None)),
                Send(status(2, 0, None, Status::Ok)),
                Expect(build(|b| wire::register_event(b, 3, 0x2000 + n, b"ubus.object.*"))),
                Send(status(3, wire::EVENT_OBJECT, None, Status::Ok)),
            ]
        };
        let lookup = |id: u32| {
            [
                Expect(build(|b| wire::lookup(b, 4, path.as_bytes()))),
                Send(lookup_data(4, path, id, 0x2222)),
                Send(status(4, 0, None, Status::Ok)),
            ]
        };
        let (second, third) = (0x05d0_9a11, 0x0777_0001);
        // the first ubusd: registrations, a lookup; then it goes
        let mut first = setup(msg(C02, "client", 0), 0);
        first.extend(lookup(GUEST));
        first.extend([Close, Notify(closed_tx)]);
        // the client noticed (next_incoming) and reconnects: everything again, new ids
        let mut again = setup(msg(C03, "client", 0), 1);
        again.extend(lookup(second));
        again.extend([
            Expect(add_device_invoke(5, second, b"wlan0")),
            Send(status(5, second, Some(second), Status::Ok)),
            Close,
            Notify(closed2_tx),
        ]);
        // not noticed: the next request finds the socket closed, reconnects, retries
        let mut third_conn = setup(msg(C04, "client", 0), 2);
        third_conn.extend(lookup(third));
        third_conn
            .extend([Expect(add_device_invoke(5, third, b"wlan0")), Send(status(5, third, Some(third), Status::Ok))]);
        let p = peer("restart", vec![first, again, third_conn]);

        let mut c = p.client();
        assert_eq!(c.add_object(APWATCH_OBJECT), Ok(0x1000));
        c.listen("ubus.object.*").unwrap();
        assert_eq!(c.lookup(path).map(|o| o.id), Ok(GUEST));
        assert_eq!(c.generation(), 1);
        closed_rx.recv().unwrap();
        wait_readable(&c);
        assert_eq!(c.next_incoming(), Ok(Some(Incoming::Disconnected)));
        assert!(c.fd().is_none());
        assert_eq!(c.next_incoming(), Ok(None), "said once");
        c.add_device("guest", b"wlan0", true, None).unwrap();
        assert_eq!((c.generation(), c.client_id()), (2, Some(0xfbdc_cf46)));
        assert_eq!(c.add_object(APWATCH_OBJECT), Ok(0x1001), "known: no new ADD_OBJECT");
        c.listen("ubus.object.*").unwrap();
        closed2_rx.recv().unwrap();
        c.add_device("guest", b"wlan0", true, None).unwrap();
        assert_eq!((c.generation(), c.client_id()), (3, Some(0xc866_5fcf)));
        drop(c);
        p.finish();
    }

    #[test]
    fn listens_and_acknowledges_events_as_recorded() {
        // `ubus listen apwatch.ap`, then the event `ubus send` produced, and its answer
        let p = peer("listen", vec![replay(C08, "listener", 8)]);
        let mut c = p.client();
        c.listen("apwatch.ap").unwrap();
        let Incoming::Event(e) = incoming(&mut c) else { panic!("not an event") };
        assert_eq!(e.name, b"apwatch.ap");
        assert_eq!(e.data().get_str(b"ifname"), Ok(Some(&b"wlan0"[..])));
        assert_eq!(e.data().get_bool(b"up"), Ok(Some(true)));
        assert_eq!((e.object_change(), e.interface_change()), (None, None));
        drop(c);
        p.finish();

        // and the sender
        let p = peer("send", vec![replay(C08, "sender", 3)]);
        let mut c = p.client();
        c.send_event(APWATCH_EVENT, |w| {
            w.string(b"ifname", b"wlan0")?;
            w.string(b"ssid", b"foo")?;
            w.bool(b"up", true)
        })
        .unwrap();
        drop(c);
        p.finish();
    }

    #[test]
    fn replays_a_whole_listener_connection_across_a_netifd_restart() {
        // `ubus listen` (all events) while netifd starts (09) and restarts (10): every event
        // ubusd delivered, every acknowledgement the CLI sent, byte for byte
        let mut msgs = connection(C09, "conn 1 ");
        msgs.extend(connection(C10, "conn 1 "));
        let (setup, rest) = msgs.split_at(6);
        let mut steps: Vec<Step> =
            setup.iter().map(|(fc, b)| if *fc { Expect(b.clone()) } else { Send(b.clone()) }).collect();
        let events: Vec<u8> = rest.iter().filter(|(fc, _)| !fc).flat_map(|(_, b)| b.clone()).collect();
        let acks: Vec<u8> = rest.iter().filter(|(fc, _)| *fc).flat_map(|(_, b)| b.clone()).collect();
        let n_events = rest.iter().filter(|(fc, _)| !fc).count();
        steps.push(Send(events));
        steps.push(Expect(acks));
        let p = peer("listen-all", vec![steps]);
        let mut c = p.client();
        c.listen("*").unwrap();
        let mut got = Vec::new();
        while got.len() < n_events {
            match incoming(&mut c) {
                Incoming::Event(e) => got.push(e),
                other => panic!("{other:?}"),
            }
        }
        let adds: Vec<_> = got.iter().filter_map(|e| e.object_change()).filter(|o| o.added).collect();
        let removes = got.iter().filter_map(|e| e.object_change()).filter(|o| !o.added).count();
        let ifups = got.iter().filter_map(|e| e.interface_change()).filter(|i| i.action == b"ifup").count();
        assert_eq!((adds.len(), removes, ifups), (16, 8, 8));
        // the guest interface's id before and after the restart
        let guest: Vec<u32> = adds.iter().filter(|o| o.path == b"network.interface.guest").map(|o| o.id).collect();
        assert_eq!(guest, [GUEST, 97_555_729]);
        drop(c);
        p.finish();
    }

    #[test]
    fn an_event_during_a_request_waits_in_the_queue() {
        let path = "network.interface.guest";
        let mut steps = replay(C08, "listener", 6);
        steps.extend([
            Expect(build(|b| wire::lookup(b, 3, path.as_bytes()))),
            Send(msg(C08, "listener", 6)),
            Send(lookup_data(3, path, GUEST, IFACE_TYPE)),
            Send(status(3, 0, None, Status::Ok)),
            // acknowledged when the poll loop handles it, after the request
            Expect(msg(C08, "listener", 7)),
        ]);
        let p = peer("queued", vec![steps]);
        let mut c = p.client();
        c.listen("apwatch.ap").unwrap();
        assert_eq!(c.lookup(path).map(|o| o.id), Ok(GUEST));
        assert!(c.has_pending(), "the event came first and waits");
        let Ok(Some(Incoming::Event(e))) = c.next_incoming() else { panic!("no event") };
        assert_eq!(e.name, b"apwatch.ap");
        assert_eq!(c.next_incoming(), Ok(None));
        drop(c);
        p.finish();
    }

    #[test]
    fn partial_messages_are_buffered_until_whole() {
        let event = msg(C08, "listener", 6);
        let ack = msg(C08, "listener", 7);
        let (sent_tx, sent_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel();
        let (go2_tx, go2_rx) = mpsc::channel();
        let mut steps = replay(C08, "listener", 6);
        steps.extend([Send(event[..5].to_vec()), Notify(sent_tx.clone()), Await(go_rx)]);
        steps.extend([Send(event[5..13].to_vec()), Notify(sent_tx.clone()), Await(go2_rx)]);
        // the rest and a second event in one write
        let mut tail = event[13..].to_vec();
        tail.extend_from_slice(&event);
        steps.extend([Send(tail), Notify(sent_tx), Expect(ack.clone()), Expect(ack)]);
        let p = peer("partial", vec![steps]);
        let mut c = p.client();
        c.listen("apwatch.ap").unwrap();
        sent_rx.recv().unwrap();
        assert_eq!(c.next_incoming(), Ok(None), "5 bytes: not even the length");
        go_tx.send(()).unwrap();
        sent_rx.recv().unwrap();
        assert_eq!(c.next_incoming(), Ok(None), "13 bytes: the length, not the body");
        assert!(!c.has_pending());
        go2_tx.send(()).unwrap();
        sent_rx.recv().unwrap();
        assert!(matches!(c.next_incoming(), Ok(Some(Incoming::Event(_)))));
        assert!(c.has_pending(), "the second came in the same read");
        assert!(matches!(c.next_incoming(), Ok(Some(Incoming::Event(_)))));
        assert_eq!(c.next_incoming(), Ok(None));
        drop(c);
        p.finish();
    }

    #[test]
    fn a_reply_after_the_timeout_is_reported_as_a_late_reply() {
        let (go_tx, go_rx) = mpsc::channel();
        let (sent_tx, sent_rx) = mpsc::channel();
        let mut script = replay(C02, "client", 2);
        script.extend([Await(go_rx), Send(msg(C02, "client", 2)), Send(msg(C02, "client", 3)), Notify(sent_tx)]);
        let p = peer("timeout", vec![script]);
        let mut c = p.client();
        c.set_timeout(Duration::from_millis(50));
        assert_eq!(c.lookup("network.interface.guest"), Err(Error::Timeout));
        go_tx.send(()).unwrap();
        sent_rx.recv().unwrap();
        assert_eq!(incoming(&mut c), Incoming::Reply { seq: 1, kind: MessageType::Data, status: None });
        assert_eq!(incoming(&mut c), Incoming::Reply { seq: 1, kind: MessageType::Status, status: Some(Status::Ok) });
        assert_eq!(c.next_incoming(), Ok(None));
        drop(c);
        p.finish();
    }

    const HOSTAPD: Object =
        Object { path: "hostapd", methods: &[Method { name: b"bss_info", args: &[(b"iface", Type::String)] }] };

    #[test]
    fn serves_an_object_as_recorded() {
        // the ucode hostapd object of 12, minus its own NOTIFY (which apwatch does not send)
        let m = |i| msg(C12, "object server", i);
        let hostapd = 0xdece_f44e;
        let caller = 0x0594_c8c7;
        let call = |seq: u16, method: &[u8], no_reply: bool| {
            build(|b| {
                let mut w = wire::MessageWriter::new(b, MessageType::Invoke, seq, caller)?;
                if no_reply {
                    w.no_reply(1)?;
                }
                w.objid(hostapd)?.method(method)?.user(b"root")?.group(b"root")?.data(|_| Ok(()))?;
                w.finish()
            })
        };
        let script = vec![
            Send(m(0)),
            Expect(m(1)),
            Send(m(2)),
            Send(m(3)),
            Send(m(4)),
            Send(m(8)),
            Expect(m(9)),
            Expect(m(10)),
            Send(m(11)),
            Send(call(7, b"no_such_method", false)),
            Expect(status(7, caller, Some(hostapd), Status::MethodNotFound)),
            Send(call(8, b"bss_info", true)),
            Send(m(12)),
            Expect(m(13)),
            Expect(m(14)),
        ];
        let p = peer("object", vec![script]);
        let mut c = p.client();
        assert_eq!(c.add_object(HOSTAPD), Ok(hostapd));
        assert_eq!(incoming(&mut c), Incoming::Subscribers { objid: hostapd, active: true });
        let answer = |c: &mut Client, call: &Call| {
            c.reply_data(call, &|w| {
                w.string(b"iface", b"wlan0")?;
                w.string(b"ssid", b"foo")?;
                w.bool(b"up", true)?;
                w.int32(b"freq", 2412)?;
                w.array(b"stations", |w| w.string(b"", b"aa:bb:cc:dd:ee:01"))
            })
        };
        let Incoming::Call(first) = incoming(&mut c) else { panic!("not a call") };
        assert_eq!((first.object, first.method, first.no_reply), ("hostapd", "bss_info", false));
        assert_eq!(first.data().get(b"iface"), Ok(Some(Value::String(b"wlan0"))));
        answer(&mut c, &first).unwrap();
        assert_eq!(incoming(&mut c), Incoming::Subscribers { objid: hostapd, active: false });
        assert_eq!(incoming(&mut c), Incoming::Other(MessageType::Invoke), "answered METHOD_NOT_FOUND itself");
        let Incoming::Call(quiet) = incoming(&mut c) else { panic!("not a call") };
        assert!(quiet.no_reply);
        answer(&mut c, &quiet).unwrap(); // sends nothing
        let Incoming::Call(second) = incoming(&mut c) else { panic!("not a call") };
        // what ucode made of its value (JSON), byte for byte, from a document
        let doc = crate::json::Object::new()
            .str("iface", b"wlan0")
            .str("ssid", b"foo")
            .bool("up", true)
            .num("freq", 2412u32)
            .array("stations", vec![crate::json::Value::Str(b"aa:bb:cc:dd:ee:01".to_vec())]);
        c.reply_data(&second, &|w| doc.write_blob(w)).unwrap();
        drop(c);
        p.finish();
    }

    #[test]
    fn a_document_becomes_blobmsg_as_libubox_types_its_json() {
        // `ubus send apwatch.ap '{...}'` went through blobmsg_add_json_from_string: same bytes
        let p = peer("send-json", vec![replay(C08, "sender", 3)]);
        let mut c = p.client();
        let doc = crate::json::Object::new().str("ifname", b"wlan0").str("ssid", b"foo").bool("up", true);
        assert_eq!(doc.finish(), r#"{"ifname":"wlan0","ssid":"foo","up":true}"#);
        c.send_event(APWATCH_EVENT, |w| doc.write_blob(w)).unwrap();
        drop(c);
        p.finish();
    }

    #[test]
    fn no_socket_and_the_path_choice() {
        let mut c = Client::new(Some(Path::new("/nonexistent/apwatch/ubus.sock")));
        assert_eq!(c.add_device("guest", b"wlan0", true, None), Err(Error::NoSocket));
        assert_eq!(c.next_incoming(), Ok(None), "never connected: nothing to report");
        assert_eq!(socket_path(Some(Path::new("/x/y"))), PathBuf::from("/x/y"));
        let def = socket_path(None);
        let name = SOCKET_ENV.to_str().unwrap();
        let env = std::env::var_os(name).filter(|p| !p.is_empty());
        assert_eq!(socket_env(), std::env::var_os(name), "getenv reads what std reads");
        assert!(env.is_some() || SOCKET_PATHS.iter().any(|p| def == Path::new(p)), "{def:?}");
    }
}
