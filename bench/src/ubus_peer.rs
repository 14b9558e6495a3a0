//! A ubusd + netifd stand-in for the ubus round-trip benchmark: one thread serving a unix
//! socket, answering HELLO, LOOKUP and `add_device` INVOKEs with the bytes real ubusd and netifd sent.
//!
//! What it answers, and how that differs from the real pair (`tests/data/ubus/02-add_device.txt`):
//! * HELLO on accept, with a fresh client id per connection (ubusd's are random too);
//! * LOOKUP `network.interface.guest`: the recorded DATA {OBJPATH, OBJID, OBJTYPE, SIGNATURE}
//!   and STATUS 0, seq patched; any other path STATUS 4 NOT_FOUND only, as ubusd;
//! * INVOKE of that object's `add_device`: the recorded STATUS {0, OBJID}, seq patched, when the
//!   arguments carry a string `name` (else 2 INVALID_ARGUMENT); another method 3, another
//!   object 4 without OBJID (ubusd's own NOT_FOUND); anything else 8 NOT_SUPPORTED.
//! * The real INVOKE goes ubusd → netifd → ubusd (two more socket hops and netifd's own work);
//!   here the peer answers at once, so absolute round trips are lower bounds, and what both ways
//!   of calling share costs the same in either.
//!
//! Like ubusd it is one thread polling every connection, so a client that stays connected (the
//! agent's) never blocks the next one (a CLI's).

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use apwatch_core::ubus::{self as wire, Message, MessageType, Status};
use rustix::event::{poll, PollFd, PollFlags};

/// The recorded `ubus call network.interface.guest add_device '{"name":"veth0","link-ext":true}'`.
pub const ADD_DEVICE_CAPTURE: &str = include_str!("../../tests/data/ubus/02-add_device.txt");

/// The object the peer serves.
pub const OBJECT: &str = "network.interface.guest";
/// Its id, as netifd had it in the capture.
pub const OBJECT_ID: u32 = 0x6a14_ba8c;

/// The CLI's connection in `02-add_device.txt`, message by message.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// ubusd's HELLO (client id 0x17d4e333).
    pub hello: Vec<u8>,
    /// The client's LOOKUP (seq 1).
    pub lookup: Vec<u8>,
    /// ubusd's DATA answer to it.
    pub lookup_data: Vec<u8>,
    /// ubusd's STATUS 0 after it.
    pub lookup_status: Vec<u8>,
    /// The client's INVOKE add_device (seq 2, peer = the object id).
    pub invoke: Vec<u8>,
    /// netifd's STATUS 0 as ubusd passed it on.
    pub invoke_status: Vec<u8>,
}

fn unhex(h: &str) -> Option<Vec<u8>> {
    (0..h.len()).step_by(2).map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

impl Recorded {
    /// The six messages of the client's connection (the first `## ` section).
    pub fn load() -> Recorded {
        let mut msgs = Vec::new();
        for line in ADD_DEVICE_CAPTURE.lines() {
            if line.starts_with("## ") && !msgs.is_empty() {
                break;
            }
            if let Some(h) = line.strip_prefix("C>S ").or(line.strip_prefix("S>C ")) {
                msgs.push(unhex(h).unwrap_or_default());
            }
        }
        let mut m = msgs.into_iter();
        let mut next = || m.next().unwrap_or_default();
        Recorded {
            hello: next(),
            lookup: next(),
            lookup_data: next(),
            lookup_status: next(),
            invoke: next(),
            invoke_status: next(),
        }
    }
}

/// `msg` with its header's seq set to `seq`.
fn with_seq(msg: &[u8], seq: u16) -> Vec<u8> {
    let mut m = msg.to_vec();
    if let Some(s) = m.get_mut(2..4) {
        s.copy_from_slice(&seq.to_be_bytes());
    }
    m
}

fn status(seq: u16, peer: u32, objid: Option<u32>, s: Status) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut emit = || {
        let mut m = wire::MessageWriter::new(&mut buf, MessageType::Status, seq, peer)?;
        m.status(s)?;
        if let Some(id) = objid {
            m.objid(id)?;
        }
        m.finish()
    };
    match emit() {
        Ok(n) => buf.get(..n).unwrap_or_default().to_vec(),
        Err(_) => Vec::new(),
    }
}

/// What the peer saw (for the tests: the benchmark must not measure failures).
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// LOOKUPs of the served object answered with its ids.
    pub lookups: AtomicU64,
    /// `add_device` INVOKEs answered STATUS 0.
    pub added: AtomicU64,
    /// Requests answered with any other status.
    pub refused: AtomicU64,
    /// The last INVOKE, as the client sent it.
    pub last_invoke: Mutex<Vec<u8>>,
    /// The client id of the last HELLO.
    pub last_client_id: AtomicU64,
}

/// The answer to one whole message from a client (empty: none, as for a STATUS).
pub fn answer(rec: &Recorded, raw: &[u8], stats: &Stats) -> Vec<u8> {
    let Ok((m, _)) = Message::parse(raw) else { return Vec::new() };
    let h = m.header;
    let (reply, ok) = match h.kind {
        MessageType::Lookup if m.objpath() == Some(OBJECT.as_bytes()) => {
            stats.lookups.fetch_add(1, Ordering::Relaxed);
            let mut r = with_seq(&rec.lookup_data, h.seq);
            r.extend(with_seq(&rec.lookup_status, h.seq));
            (r, true)
        }
        MessageType::Lookup => (status(h.seq, 0, None, Status::NotFound), false),
        MessageType::Invoke => {
            if let Ok(mut last) = stats.last_invoke.lock() {
                last.clear();
                last.extend_from_slice(raw);
            }
            let inv = wire::Invoke::parse(&m).ok();
            match inv {
                Some(i) if i.objid != OBJECT_ID || h.peer != OBJECT_ID => {
                    (status(h.seq, h.peer, None, Status::NotFound), false)
                }
                Some(i) if i.method != b"add_device" => {
                    (status(h.seq, h.peer, Some(OBJECT_ID), Status::MethodNotFound), false)
                }
                Some(i) if i.data.as_ref().and_then(|d| d.get_str(b"name").ok().flatten()).is_some() => {
                    (with_seq(&rec.invoke_status, h.seq), true)
                }
                Some(_) => (status(h.seq, h.peer, Some(OBJECT_ID), Status::InvalidArgument), false),
                None => (status(h.seq, h.peer, None, Status::InvalidArgument), false),
            }
        }
        MessageType::Status => return Vec::new(),
        _ => (status(h.seq, 0, None, Status::NotSupported), false),
    };
    let counter = match (h.kind, ok) {
        (MessageType::Invoke, true) => Some(&stats.added),
        (_, false) => Some(&stats.refused),
        _ => None,
    };
    if let Some(c) = counter {
        c.fetch_add(1, Ordering::Relaxed);
    }
    reply
}

struct Conn {
    stream: UnixStream,
    rx: Vec<u8>,
}

/// The running peer; dropping it stops the thread and removes the socket.
pub struct Peer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Peer {
    /// Listens at `path` (replacing a stale socket) and serves until dropped.
    pub fn start(path: &Path) -> std::io::Result<Peer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let (s, st) = (stop.clone(), stats.clone());
        let handle = thread::spawn(move || serve(&listener, &s, &st));
        Ok(Peer { path: path.to_owned(), stop, stats, handle: Some(handle) })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it saw so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wakes the poll
        let _ = UnixStream::connect(&self.path);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(listener: &UnixListener, stop: &AtomicBool, stats: &Stats) {
    let rec = Recorded::load();
    let mut conns: Vec<Conn> = Vec::new();
    // ubusd's ids are random; any sequence that differs per connection will do
    let mut next_id: u32 = 0x17d4_e333;
    let mut chunk = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let ready: Vec<bool> = {
            let mut fds = vec![PollFd::new(listener, PollFlags::IN)];
            fds.extend(conns.iter().map(|c| PollFd::new(&c.stream, PollFlags::IN)));
            if poll(&mut fds, None).is_err() {
                continue;
            }
            fds.iter().map(|f| f.revents().intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR)).collect()
        };
        let mut closed = vec![false; conns.len()];
        for (i, c) in conns.iter_mut().enumerate() {
            if !ready.get(i + 1).copied().unwrap_or(false) {
                continue;
            }
            let gone = match c.stream.read(&mut chunk) {
                Ok(0) => true,
                Ok(n) => {
                    c.rx.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    !handle_messages(&rec, c, stats)
                }
                Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
            };
            if let Some(slot) = closed.get_mut(i) {
                *slot = gone;
            }
        }
        let mut i = 0;
        conns.retain(|_| {
            i += 1;
            !closed.get(i - 1).copied().unwrap_or(false)
        });
        if ready.first().copied().unwrap_or(false) {
            while let Ok((mut stream, _)) = listener.accept() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                next_id = next_id.rotate_left(7) ^ 0x9e37_79b9;
                stats.connections.fetch_add(1, Ordering::Relaxed);
                stats.last_client_id.store(next_id.into(), Ordering::Relaxed);
                let mut hello = rec.hello.clone();
                if let Some(p) = hello.get_mut(4..8) {
                    p.copy_from_slice(&next_id.to_be_bytes());
                }
                // blocking, but read only when poll says it is readable
                if stream.set_nonblocking(false).is_ok() && stream.write_all(&hello).is_ok() {
                    conns.push(Conn { stream, rx: Vec::new() });
                }
            }
        }
    }
}

/// Answers every whole message in `c.rx`; false when the connection must go.
fn handle_messages(rec: &Recorded, c: &mut Conn, stats: &Stats) -> bool {
    loop {
        let n = match wire::frame_len(&c.rx) {
            Ok(n) if c.rx.len() >= n => n,
            Ok(_) | Err(apwatch_core::Error::Truncated) => return true,
            Err(_) => return false,
        };
        let raw: Vec<u8> = c.rx.drain(..n).collect();
        let reply = answer(rec, &raw, stats);
        if !reply.is_empty() && c.stream.write_all(&reply).is_err() {
            return false;
        }
    }
}
