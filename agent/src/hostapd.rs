//! hostapd's control sockets, one client per AP netdev: a unix datagram socket bound to a path
//! of the agent's own, connected to `<ctrl_dir>/<ifname>`, ATTACHed for events, asked STATUS.
//!
//! hostapd coming and going is normal: a missing or refusing socket is [`Open::NotThere`] /
//! [`Open::Stale`], a client whose hostapd exited reports [`Outcome::Gone`] — open a new one
//! when the socket is back (a restarted hostapd makes a new socket at the same path, which an
//! old client's connection does not reach). `io::Error` is left for the agent's own side
//! (its directory, a path too long).

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apwatch_core::hostapd::{self, Message, Reply, Request, Status};
use rustix::event::{poll, PollFd, PollFlags};

/// Where hostapd makes its sockets (`ctrl_interface=` on Debian and OpenWrt).
pub const DEFAULT_CTRL_DIR: &str = "/var/run/hostapd";
/// Where the agent binds its own ends.
pub const DEFAULT_OWN_DIR: &str = "/var/run/apwatch";
/// How long a STATUS may take; hostapd answers from its event loop at once unless busy.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// The prefix of the agent's socket names: `hostapd-<ifname>-<pid>`.
const OWN_PREFIX: &str = "hostapd-";
/// Events kept while a request waits for its reply; more than this and the oldest are
/// dropped and [`Client::lost_events`] says so (the caller then re-reads STATUS anyway).
const QUEUE_MAX: usize = 64;
/// Receive buffer: twice hostapd's reply buffer, so a datagram that fills it was not hostapd's.
const RECV_MAX: usize = 2 * hostapd::REPLY_MAX;
/// sun_path's size on Linux, NUL included.
const SUN_PATH_MAX: usize = 108;

/// The two directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// hostapd's sockets (`<ctrl>/<ifname>`).
    pub ctrl: PathBuf,
    /// The agent's own sockets.
    pub own: PathBuf,
}

impl Default for Dirs {
    fn default() -> Self {
        Dirs { ctrl: PathBuf::from(DEFAULT_CTRL_DIR), own: PathBuf::from(DEFAULT_OWN_DIR) }
    }
}

/// What opening a client found.
#[derive(Debug)]
pub enum Open {
    /// Connected and ATTACHed: events will come.
    Attached(Client),
    /// No socket for this netdev: no hostapd serves it (an AP started with `iw`, another
    /// daemon, or hostapd with another `ctrl_interface`).
    NotThere,
    /// The socket file exists but nobody reads it: hostapd was killed (SIGKILL leaves it).
    Stale,
    /// A socket answered ATTACH with something else than OK (or not in time).
    Refused(Vec<u8>),
    /// No socket can be made for this name: the reason (a bad name, a path over 108 bytes).
    Unusable(&'static str),
}

/// What a request got.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The reply.
    Ok(T),
    /// hostapd is gone (exited, killed, socket removed); this client is done.
    Gone,
    /// No reply in time: hostapd is busy (or stopped); the client stays usable.
    Timeout,
}

/// What reading events found.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// One unsolicited event, as received (`hostapd::Event::parse` reads it).
    Event(Vec<u8>),
    /// Nothing queued.
    Nothing,
    /// hostapd is gone; this client is done.
    Gone,
}

/// A STATUS reply, owned; [`StatusReply::view`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReply<'c>(&'c [u8]);

impl StatusReply<'_> {
    /// The checked view; an error when hostapd answered `FAIL` or something else.
    pub fn view(&self) -> Result<Status<'_>, apwatch_core::Error> {
        Status::new_checked(self.0)
    }

    /// The bytes as received.
    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8] {
        self.0
    }
}

/// One hostapd control socket, attached.
#[derive(Debug)]
pub struct Client {
    sock: UnixDatagram,
    ifname: String,
    own: PathBuf,
    queue: VecDeque<Vec<u8>>,
    lost: bool,
    gone: bool,
    /// The receive buffer, kept: the loop reads every socket each round, and a round with
    /// nothing to read must allocate nothing.
    rx: Vec<u8>,
    /// The length of the reply last received into `rx`.
    rx_len: usize,
}

impl Client {
    /// Opens the client for `ifname`: binds `<own>/hostapd-<ifname>-<pid>` (created mode 0700
    /// with its directory if need be), connects to `<ctrl>/<ifname>`, sends ATTACH and waits
    /// `timeout` for its OK.
    pub fn open(dirs: &Dirs, ifname: &str, timeout: Duration) -> io::Result<Open> {
        if ifname.is_empty() || ifname.as_bytes().contains(&b'/') || ifname.starts_with(".") {
            return Ok(Open::Unusable("not a name for a socket"));
        }
        let own = dirs.own.join(format!("{OWN_PREFIX}{ifname}-{}", std::process::id()));
        let ctrl = dirs.ctrl.join(ifname);
        for p in [&own, &ctrl] {
            if p.as_os_str().len() >= SUN_PATH_MAX {
                return Ok(Open::Unusable("socket path too long"));
            }
        }
        make_own_dir(&dirs.own)?;
        // a socket of ours left by an earlier client of the same process (or a crash of a
        // process that had our pid): ours to replace
        remove_socket(&own)?;
        let sock = UnixDatagram::bind(&own)?;
        let mut client = Client {
            sock,
            ifname: ifname.to_owned(),
            own,
            queue: VecDeque::new(),
            lost: false,
            gone: false,
            rx: vec![0u8; RECV_MAX],
            rx_len: 0,
        };
        match client.sock.connect(&ctrl) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(Open::NotThere),
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => return Ok(Open::Stale),
            Err(e) => return Err(e),
        }
        client.sock.set_nonblocking(true)?;
        Ok(match client.request(Request::Attach, timeout)? {
            Outcome::Ok(()) if Reply::parse(client.reply()) == Reply::Ok => Open::Attached(client),
            Outcome::Ok(()) => Open::Refused(client.reply().to_vec()),
            Outcome::Gone => Open::Stale,
            Outcome::Timeout => Open::Refused(Vec::new()),
        })
    }

    /// The netdev this client is for.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The agent's socket path.
    #[cfg(test)]
    pub fn own_path(&self) -> &Path {
        &self.own
    }

    /// Asks STATUS; events that arrive meanwhile are queued for [`Client::recv_event`].
    pub fn status(&mut self, timeout: Duration) -> io::Result<Outcome<StatusReply<'_>>> {
        Ok(match self.request(Request::Status, timeout)? {
            Outcome::Ok(()) => Outcome::Ok(StatusReply(self.reply())),
            Outcome::Gone => Outcome::Gone,
            Outcome::Timeout => Outcome::Timeout,
        })
    }

    /// PING → PONG: whether hostapd is still there, cheaper than STATUS.
    #[cfg(test)]
    pub fn ping(&mut self, timeout: Duration) -> io::Result<Outcome<()>> {
        Ok(match self.request(Request::Ping, timeout)? {
            Outcome::Ok(()) if Reply::parse(self.reply()) == Reply::Pong => Outcome::Ok(()),
            Outcome::Ok(_) | Outcome::Timeout => Outcome::Timeout,
            Outcome::Gone => Outcome::Gone,
        })
    }

    /// The next event, without blocking: queued ones first, then the socket. After
    /// CTRL-EVENT-TERMINATING (returned as an event) the next call says [`Got::Gone`].
    pub fn recv_event(&mut self) -> io::Result<Got> {
        if let Some(e) = self.queue.pop_front() {
            return Ok(Got::Event(e));
        }
        if self.gone {
            return Ok(Got::Gone);
        }
        loop {
            match self.recv_one()? {
                Received::Nothing => return Ok(Got::Nothing),
                Received::Gone => return Ok(Got::Gone),
                Received::Event(e) => return Ok(Got::Event(e)),
                // a reply nobody waits for any more (a request that timed out)
                Received::Reply => continue,
            }
        }
    }

    /// The reply last received.
    fn reply(&self) -> &[u8] {
        self.rx.get(..self.rx_len).unwrap_or_default()
    }

    /// Whether events were dropped because the queue was full (cleared by reading it).
    pub fn lost_events(&mut self) -> bool {
        std::mem::take(&mut self.lost)
    }

    /// Sends `req` and waits for its reply, queueing events. hostapd answers requests in order
    /// on this socket, and a reply of an earlier request that timed out is drained first, so
    /// the reply read is this request's.
    fn request(&mut self, req: Request, timeout: Duration) -> io::Result<Outcome<()>> {
        if self.gone {
            return Ok(Outcome::Gone);
        }
        loop {
            match self.recv_one()? {
                Received::Nothing => break,
                Received::Gone => return Ok(Outcome::Gone),
                Received::Event(e) => self.enqueue(e),
                Received::Reply => {}
            }
        }
        match self.sock.send(req.as_bytes()) {
            Ok(_) => {}
            Err(e) if gone_errno(&e) => {
                self.gone = true;
                return Ok(Outcome::Gone);
            }
            // hostapd's receive queue is full: as good as no answer
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Outcome::Timeout),
            Err(e) => return Err(e),
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv_one()? {
                Received::Reply => return Ok(Outcome::Ok(())),
                Received::Event(e) => self.enqueue(e),
                Received::Gone => return Ok(Outcome::Gone),
                Received::Nothing => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.wait_readable(left)? {
                        return Ok(Outcome::Timeout);
                    }
                }
            }
        }
    }

    fn enqueue(&mut self, e: Vec<u8>) {
        if self.queue.len() >= QUEUE_MAX {
            self.queue.pop_front();
            self.lost = true;
        }
        self.queue.push_back(e);
    }

    fn wait_readable(&self, d: Duration) -> io::Result<bool> {
        let ts = crate::timing::timespec(d);
        let mut fds = [PollFd::new(&self.sock, PollFlags::IN)];
        loop {
            match poll(&mut fds, Some(&ts)) {
                Ok(n) => return Ok(n > 0),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn recv_one(&mut self) -> io::Result<Received> {
        let n = match self.sock.recv(&mut self.rx) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Nothing),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Received::Nothing),
            Err(e) if gone_errno(&e) => {
                self.gone = true;
                return Ok(Received::Gone);
            }
            Err(e) => return Err(e),
        };
        if n >= RECV_MAX {
            // not hostapd's (its replies fit REPLY_MAX): a cut STATUS must not be read as whole
            self.rx_len = 0;
            return Ok(Received::Reply);
        }
        let buf = self.rx.get(..n).unwrap_or_default();
        Ok(match Message::parse(buf) {
            Message::Event(e) => {
                if e.kind() == hostapd::EventKind::Terminating {
                    self.gone = true;
                }
                Received::Event(buf.to_vec())
            }
            // left in the kept buffer: reading a STATUS allocates nothing
            Message::Reply(_) => {
                self.rx_len = n;
                Received::Reply
            }
        })
    }
}

impl AsFd for Client {
    /// The socket, non-blocking, for the agent's poll loop (readable: call `recv_event`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.gone {
            // hostapd would drop us after failed sends anyway; saying so is polite and cheap
            let _ = self.sock.send(Request::Detach.as_bytes());
        }
        let _ = std::fs::remove_file(&self.own);
    }
}

enum Received {
    Nothing,
    Gone,
    Event(Vec<u8>),
    /// In the receive buffer: [`Client::reply`].
    Reply,
}

/// The errnos of a peer that is no more: its socket closed (ECONNREFUSED), its file removed
/// (ENOENT on a reconnect), or the connection reset.
fn gone_errno(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOENT | libc::ENOTCONN | libc::ECONNRESET))
}

fn make_own_dir(dir: &Path) -> io::Result<()> {
    crate::files::create_dir_all(dir, 0o700)
}

fn remove_socket(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes sockets of the agent's in `dir` left by processes that no longer run (a crash or
/// SIGKILL skips `Drop`) and by an earlier process with this pid; returns how many. Call once
/// at start, before any [`Client`] (a live client's socket has this pid too). Another live
/// process's sockets (a second agent, `apwatch monitor`) are left alone.
pub fn remove_stale(dir: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(own_socket_pid) else { continue };
        let me = pid == std::process::id();
        if !me && crate::files::exists(Path::new(&format!("/proc/{pid}"))) {
            continue;
        }
        if !me && !crate::files::exists(Path::new("/proc/self")) {
            continue; // no /proc to ask: every pid would look dead
        }
        remove_socket(&entry.path())?;
        removed += 1;
    }
    Ok(removed)
}

/// The pid in `hostapd-<ifname>-<pid>`.
fn own_socket_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(OWN_PREFIX)?;
    let (ifname, pid) = apwatch_core::text::rcut(rest, b'-')?;
    if ifname.is_empty() {
        return None;
    }
    apwatch_core::text::number(pid.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    const STATUS_ONE: &[u8] = include_bytes!("../../tests/data/hostapd/status-one-bss.txt");
    fn recorded_event() -> Vec<u8> {
        include_bytes!("../../tests/data/hostapd/event-ap-disabled.bin").to_vec()
    }
    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A temporary directory with hostapd's and the agent's subdirectories.
    struct TempDirs {
        root: PathBuf,
        dirs: Dirs,
    }

    impl TempDirs {
        fn new(tag: &str) -> TempDirs {
            let root = std::env::temp_dir().join(format!("apwatch-hostapd-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("hostapd")).unwrap();
            let dirs = Dirs { ctrl: root.join("hostapd"), own: root.join("own") };
            TempDirs { root, dirs }
        }
    }

    impl Drop for TempDirs {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    /// What the fake does with a request: the reply to send (None: stay silent), and events
    /// to send before it.
    type Script = Box<dyn FnMut(&[u8]) -> (Vec<Vec<u8>>, Option<Vec<u8>>) + Send>;

    /// A fake hostapd on `<ctrl>/<ifname>`: answers each request by `script`, sends what comes
    /// on its push channel to the last client unsolicited, until the stop channel says stop
    /// (then its socket closes, its file stays: as when hostapd is killed).
    struct Fake {
        stop: mpsc::Sender<()>,
        push: mpsc::Sender<Vec<u8>>,
        thread: thread::JoinHandle<()>,
    }

    impl Fake {
        fn start(dirs: &Dirs, ifname: &str, mut script: Script) -> Fake {
            let path = dirs.ctrl.join(ifname);
            let _ = std::fs::remove_file(&path);
            let sock = UnixDatagram::bind(&path).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let (stop, stop_rx) = mpsc::channel();
            let (push, push_rx) = mpsc::channel::<Vec<u8>>();
            let thread = thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut peer: Option<PathBuf> = None;
                while stop_rx.try_recv().is_err() {
                    if let Some(to) = &peer {
                        while let Ok(e) = push_rx.try_recv() {
                            let _ = sock.send_to(&e, to);
                        }
                    }
                    let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                    let to = from.as_pathname().unwrap().to_owned();
                    let (events, reply) = script(&buf[..n]);
                    // like hostapd, a client that went away is not an error
                    for e in events {
                        let _ = sock.send_to(&e, &to);
                    }
                    if let Some(r) = reply {
                        let _ = sock.send_to(&r, &to);
                    }
                    peer = Some(to);
                }
            });
            Fake { stop, push, thread }
        }

        fn stop(self) {
            self.stop.send(()).unwrap();
            self.thread.join().unwrap();
        }
    }

    /// hostapd's replies to what the client sends, from the recorded bytes.
    fn hostapd_like() -> Script {
        Box::new(|req: &[u8]| match req {
            b"ATTACH" | b"DETACH" => (vec![], Some(b"OK\n".to_vec())),
            b"PING" => (vec![], Some(b"PONG\n".to_vec())),
            b"STATUS" => (vec![], Some(STATUS_ONE.to_vec())),
            _ => (vec![], Some(b"UNKNOWN COMMAND\n".to_vec())),
        })
    }

    fn attached(dirs: &Dirs, ifname: &str) -> Client {
        match Client::open(dirs, ifname, TIMEOUT).unwrap() {
            Open::Attached(c) => c,
            other => panic!("not attached: {other:?}"),
        }
    }

    #[test]
    fn attaches_and_reads_the_recorded_status() {
        let t = TempDirs::new("status");
        let f = Fake::start(&t.dirs, "wlan0", hostapd_like());
        let mut c = attached(&t.dirs, "wlan0");
        assert_eq!(c.ifname(), "wlan0");
        assert_eq!(c.own_path(), t.dirs.own.join(format!("hostapd-wlan0-{}", std::process::id())));
        let Outcome::Ok(reply) = c.status(DEFAULT_TIMEOUT).unwrap() else { panic!("no status") };
        assert_eq!(reply.as_bytes(), STATUS_ONE);
        let ap = reply.view().unwrap().ap(b"wlan0").unwrap().unwrap();
        assert_eq!(ap.ssid.as_bytes(), b"foo");
        assert_eq!(ap.state, hostapd::State::Enabled);
        assert_eq!(c.ping(TIMEOUT).unwrap(), Outcome::Ok(()));
        assert_eq!(c.recv_event().unwrap(), Got::Nothing);
        let own = c.own_path().to_owned();
        assert!(own.exists());
        drop(c);
        assert!(!own.exists(), "the agent's socket is removed on drop");
        f.stop();
    }

    #[test]
    fn events_before_a_reply_are_queued_in_order() {
        let t = TempDirs::new("events");
        let script: Script = Box::new(|req: &[u8]| match req {
            b"STATUS" => (vec![b"<3>AP-DISABLED ".to_vec(), b"<3>AP-ENABLED ".to_vec()], Some(STATUS_ONE.to_vec())),
            b"PING" => (vec![b"<3>AP-STA-CONNECTED 02:00:00:00:01:00".to_vec()], Some(b"PONG\n".to_vec())),
            _ => (vec![], Some(b"OK\n".to_vec())),
        });
        let f = Fake::start(&t.dirs, "wlan0", script);
        let mut c = attached(&t.dirs, "wlan0");
        assert!(matches!(c.status(TIMEOUT).unwrap(), Outcome::Ok(_)));
        assert_eq!(c.ping(TIMEOUT).unwrap(), Outcome::Ok(()));
        assert_eq!(c.recv_event().unwrap(), Got::Event(b"<3>AP-DISABLED ".to_vec()));
        assert_eq!(c.recv_event().unwrap(), Got::Event(b"<3>AP-ENABLED ".to_vec()));
        let Got::Event(e) = c.recv_event().unwrap() else { panic!("no event") };
        let ev = hostapd::Event::parse(&e).unwrap();
        assert_eq!(ev.kind(), hostapd::EventKind::StaConnected { mac: [2, 0, 0, 0, 1, 0] });
        assert_eq!(c.recv_event().unwrap(), Got::Nothing);
        // with no request pending an event makes the socket readable for the poll loop
        f.push.send(recorded_event()).unwrap();
        let mut fds = [PollFd::new(&c, PollFlags::IN)];
        poll(&mut fds, None).unwrap();
        assert_eq!(c.recv_event().unwrap(), Got::Event(recorded_event()));
        assert_eq!(c.recv_event().unwrap(), Got::Nothing);
        assert!(!c.lost_events());
        drop(c);
        f.stop();
    }

    #[test]
    fn a_late_reply_is_not_taken_for_the_next_requests() {
        let t = TempDirs::new("late");
        let (late_tx, late_rx) = mpsc::channel::<()>();
        let mut n = 0;
        let script: Script = Box::new(move |req: &[u8]| match req {
            b"STATUS" => {
                n += 1;
                if n == 1 {
                    // silent until the client gave up, then the stale answer comes first
                    late_rx.recv().unwrap();
                    (vec![], Some(b"FAIL\n".to_vec()))
                } else {
                    (vec![], Some(STATUS_ONE.to_vec()))
                }
            }
            _ => (vec![], Some(b"OK\n".to_vec())),
        });
        let f = Fake::start(&t.dirs, "wlan0", script);
        let mut c = attached(&t.dirs, "wlan0");
        assert_eq!(c.status(Duration::from_millis(50)).unwrap(), Outcome::Timeout);
        late_tx.send(()).unwrap();
        // wait for the stale FAIL to be queued on our socket before asking again
        let mut fds = [PollFd::new(&c, PollFlags::IN)];
        poll(&mut fds, None).unwrap();
        let Outcome::Ok(r) = c.status(TIMEOUT).unwrap() else { panic!("no status") };
        assert_eq!(r.as_bytes(), STATUS_ONE);
        drop(c);
        f.stop();
    }

    #[test]
    fn no_socket_is_not_there_and_a_dead_one_is_stale() {
        let t = TempDirs::new("absent");
        assert!(matches!(Client::open(&t.dirs, "wlan9", TIMEOUT).unwrap(), Open::NotThere));
        // SIGKILL leaves hostapd's socket file; connecting to it is refused
        drop(UnixDatagram::bind(t.dirs.ctrl.join("wlan9")).unwrap());
        assert!(matches!(Client::open(&t.dirs, "wlan9", TIMEOUT).unwrap(), Open::Stale));
        // neither leaves a socket of ours behind
        assert_eq!(std::fs::read_dir(&t.dirs.own).unwrap().count(), 0);
        for bad in ["../x", "", ".x"] {
            assert!(matches!(Client::open(&t.dirs, bad, TIMEOUT).unwrap(), Open::Unusable("not a name for a socket")));
        }
        let long = "w".repeat(SUN_PATH_MAX);
        assert!(matches!(Client::open(&t.dirs, &long, TIMEOUT).unwrap(), Open::Unusable("socket path too long")));
    }

    #[test]
    fn a_refused_attach_is_reported_with_the_reply() {
        let t = TempDirs::new("refused");
        let script: Script = Box::new(|_: &[u8]| (vec![], Some(b"FAIL\n".to_vec())));
        let f = Fake::start(&t.dirs, "wlan0", script);
        match Client::open(&t.dirs, "wlan0", TIMEOUT).unwrap() {
            Open::Refused(r) => assert_eq!(r, b"FAIL\n"),
            other => panic!("{other:?}"),
        }
        f.stop();
    }

    #[test]
    fn hostapd_exiting_and_restarting_is_gone_then_a_new_client() {
        let t = TempDirs::new("restart");
        let f = Fake::start(&t.dirs, "wlan0", hostapd_like());
        let mut c = attached(&t.dirs, "wlan0");
        f.stop(); // the fake's socket is closed, its file stays (as after SIGKILL)
        assert_eq!(c.status(TIMEOUT).unwrap(), Outcome::Gone);
        assert_eq!(c.recv_event().unwrap(), Got::Gone);
        // a new hostapd binds the same path: the old client cannot reach it, a new one can
        let f = Fake::start(&t.dirs, "wlan0", hostapd_like());
        assert_eq!(c.ping(TIMEOUT).unwrap(), Outcome::Gone);
        drop(c);
        let mut c = attached(&t.dirs, "wlan0");
        assert!(matches!(c.status(TIMEOUT).unwrap(), Outcome::Ok(_)));
        drop(c);
        f.stop();
    }

    #[test]
    fn terminating_is_the_last_event() {
        let t = TempDirs::new("term");
        let script: Script = Box::new(|req: &[u8]| match req {
            b"PING" => (vec![b"<3>CTRL-EVENT-TERMINATING ".to_vec()], Some(b"PONG\n".to_vec())),
            _ => (vec![], Some(b"OK\n".to_vec())),
        });
        let f = Fake::start(&t.dirs, "wlan0", script);
        let mut c = attached(&t.dirs, "wlan0");
        assert_eq!(c.ping(TIMEOUT).unwrap(), Outcome::Ok(()));
        assert_eq!(c.recv_event().unwrap(), Got::Event(b"<3>CTRL-EVENT-TERMINATING ".to_vec()));
        assert_eq!(c.recv_event().unwrap(), Got::Gone);
        assert_eq!(c.status(TIMEOUT).unwrap(), Outcome::Gone);
        drop(c);
        f.stop();
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_says_so() {
        let t = TempDirs::new("flood");
        let script: Script = Box::new(|req: &[u8]| match req {
            b"STATUS" => (
                (0..QUEUE_MAX + 3)
                    .map(|i| format!("<3>AP-STA-CONNECTED 02:00:00:00:00:{:02x}", i).into_bytes())
                    .collect(),
                Some(STATUS_ONE.to_vec()),
            ),
            _ => (vec![], Some(b"OK\n".to_vec())),
        });
        let f = Fake::start(&t.dirs, "wlan0", script);
        let mut c = attached(&t.dirs, "wlan0");
        assert!(matches!(c.status(TIMEOUT).unwrap(), Outcome::Ok(_)));
        assert!(c.lost_events());
        assert!(!c.lost_events(), "reading the flag clears it");
        let Got::Event(first) = c.recv_event().unwrap() else { panic!() };
        assert_eq!(first, b"<3>AP-STA-CONNECTED 02:00:00:00:00:03");
        let mut n = 1;
        while let Got::Event(_) = c.recv_event().unwrap() {
            n += 1;
        }
        assert_eq!(n, QUEUE_MAX);
        drop(c);
        f.stop();
    }

    #[test]
    fn stale_sockets_of_dead_processes_are_removed_at_start() {
        let t = TempDirs::new("stale");
        make_own_dir(&t.dirs.own).unwrap();
        let me = std::process::id();
        // a pid that cannot run: above the kernel's limit (pid_max is at most 2^22)
        let dead = 1 << 23;
        let names = [
            format!("hostapd-wlan0-{dead}"),
            format!("hostapd-wlan0_1-{dead}"),
            format!("hostapd-wlan0-{me}"),
            "hostapd-wlan0-1".to_owned(), // pid 1 runs: another process's, kept
            "other-file".to_owned(),
            "hostapd--5".to_owned(),
        ];
        for n in &names {
            std::fs::write(t.dirs.own.join(n), b"").unwrap();
        }
        assert_eq!(remove_stale(&t.dirs.own).unwrap(), 3);
        let mut left: Vec<String> =
            std::fs::read_dir(&t.dirs.own).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["hostapd--5", "hostapd-wlan0-1", "other-file"]);
        assert_eq!(remove_stale(&t.root.join("nonexistent")).unwrap(), 0);
    }

    #[test]
    fn socket_names() {
        assert_eq!(own_socket_pid("hostapd-wlan0-123"), Some(123));
        assert_eq!(own_socket_pid("hostapd-wlan-guest-7"), Some(7));
        assert_eq!(own_socket_pid("hostapd-wlan0-x"), None);
        assert_eq!(own_socket_pid("hostapd--7"), None);
        assert_eq!(own_socket_pid("wpa_ctrl_1-1"), None);
    }
}
