//! Asking the kernel: nl80211 family resolution, interface and link dumps and lookups, address
//! dumps, and the rtnetlink changes apwatch makes (set master, create a bridge). Replies are
//! decoded by apwatch-core into owned records; failures are typed ([`Error`]).

use crate::errno::Why;
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use apwatch_core::brvlan::{self, BridgePort, VlanRange};
use apwatch_core::ctrl::{self, Family};
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{flags, Message, MessageKind, Messages};
use apwatch_core::nl80211::{self, IfType, Interface};
use apwatch_core::policy::Iface;
use apwatch_core::rtnl::{self, Address, Link};
use apwatch_core::{linkinfo, vlanplan};
use apwatch_core::{ByteOrder, EncodeError, Ssid};

use crate::socket::{Protocol, Received, Socket};

/// Why a query or a change failed.
#[derive(Debug)]
pub enum Error {
    /// The socket itself failed.
    Io(io::Error),
    /// The kernel answered with this errno.
    Kernel(i32),
    /// A reply apwatch-core could not decode.
    Decode(apwatch_core::Error),
    /// A request did not fit the request buffer.
    Encode(EncodeError),
    /// No reply within the socket timeout.
    Timeout,
    /// The kernel dropped replies (ENOBUFS).
    Overrun,
    /// A dump was interrupted by changes (NLM_F_DUMP_INTR) every time it was asked.
    Interrupted,
    /// nl80211 is not resolved (no wireless stack, or not yet).
    NoNl80211,
    /// The controller knows nl80211 but not its "mlme"/"config" groups.
    NoGroups,
}

impl Error {
    /// The errno the kernel answered with, if that is what happened.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel(e) => Some(*e),
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{}", Why(e)),
            Error::Kernel(e) => write!(f, "{}", apwatch_core::errno::Errno(*e)),
            Error::Decode(e) => write!(f, "undecodable reply: {e}"),
            Error::Encode(e) => write!(f, "request: {e}"),
            Error::Timeout => f.write_str("no reply from the kernel (timed out)"),
            Error::Overrun => f.write_str("replies dropped by the kernel (ENOBUFS)"),
            Error::Interrupted => f.write_str("dump interrupted by changes 5 times (NLM_F_DUMP_INTR)"),
            Error::NoNl80211 => f.write_str("nl80211 is not available"),
            Error::NoGroups => f.write_str("nl80211 has no mlme/config groups"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<apwatch_core::Error> for Error {
    fn from(e: apwatch_core::Error) -> Self {
        Error::Decode(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The netlink byte order of this machine.
pub const ORDER: ByteOrder = ByteOrder::NATIVE;

/// nl80211 as resolved through the controller.
#[derive(Clone, Copy, Debug)]
pub struct Nl80211 {
    /// The dynamic family id.
    pub family: u16,
    /// The "mlme" group (START_AP, STOP_AP, stations).
    pub mlme: u32,
    /// The "config" group (NEW/SET/DEL_INTERFACE).
    pub config: u32,
}

impl Nl80211 {
    /// A non-blocking socket subscribed to "mlme" (START_AP, STOP_AP, stations) and "config"
    /// (NEW/SET/DEL_INTERFACE).
    pub fn subscribe(&self) -> io::Result<Socket> {
        let s = Socket::open(Protocol::Generic, 0, true)?;
        s.join(self.mlme)?;
        s.join(self.config)?;
        Ok(s)
    }
}

/// A link, as RTM_NEWLINK reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: Vec<u8>,
    pub master: Option<u32>,
    pub kind: Option<Vec<u8>>,
    pub up: bool,
    pub carrier: bool,
    /// A bridge with `vlan_filtering` on.
    pub vlan_filtering: bool,
    /// An 802.1Q VLAN device: (parent ifindex, VLAN id).
    pub vlan_upper: Option<(u32, u16)>,
}

impl LinkInfo {
    /// The record of an AF_UNSPEC RTM_NEWLINK; `None` for other families or what does not
    /// decode.
    pub fn from_message(m: &Message<'_>) -> Option<LinkInfo> {
        let mut info = LinkInfo::default();
        info.refresh_from(m).then_some(info)
    }

    /// [`LinkInfo::from_message`] into this record, reusing its buffers: a link event of a known
    /// link allocates nothing. False, and the record untouched, when the message does not decode.
    pub fn refresh_from(&mut self, m: &Message<'_>) -> bool {
        let Ok(l) = Link::parse(m) else { return false };
        let kinds = linkinfo::LinkInfo::parse(m).ok().flatten();
        self.ifindex = l.ifindex;
        self.name.clear();
        self.name.extend_from_slice(l.ifname.unwrap_or_default());
        match (l.kind, &mut self.kind) {
            (Some(k), Some(v)) => {
                v.clear();
                v.extend_from_slice(k);
            }
            (k, slot) => *slot = k.map(<[u8]>::to_vec),
        }
        self.master = l.master();
        self.up = l.is_up();
        self.carrier = l.has_carrier();
        self.vlan_filtering = kinds.as_ref().and_then(|k| k.vlan_filtering()) == Some(true);
        self.vlan_upper = kinds
            .as_ref()
            .filter(|k| k.vlan_upper().is_some_and(|(p, v)| k.is_vlan_of(p, v)))
            .and_then(|k| k.vlan_upper());
        true
    }
}

/// The request sockets and what is known about the families.
pub struct Kernel {
    rtnl: Socket,
    genl: Option<Socket>,
    nl80211: Option<Nl80211>,
    /// Where wireless interfaces are read from instead of nl80211, test-only (APWATCH_TEST_WIFI):
    /// `IFNAME IFTYPE SSID_HEX|-` lines naming links, so the network-namespace tests can stand
    /// dummy links in for AP netdevs. Never set in production; read only here, and only in a
    /// build with the `test-hooks` feature (the router builds leave it out).
    #[cfg(feature = "test-hooks")]
    test_wifi: Option<std::path::PathBuf>,
    seq: u32,
    req: Vec<u8>,
    buf: Vec<u8>,
}

impl Kernel {
    /// Opens the request sockets. A missing NETLINK_GENERIC (no nl80211 here) is not fatal.
    pub fn open() -> io::Result<Kernel> {
        let rtnl = Socket::open(Protocol::Route, 0, false)?;
        set_timeout(&rtnl)?;
        let genl = Socket::open(Protocol::Generic, 0, false).ok();
        if let Some(g) = &genl {
            set_timeout(g)?;
        }
        let seq = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() as u32);
        Ok(Kernel {
            rtnl,
            genl,
            nl80211: None,
            #[cfg(feature = "test-hooks")]
            test_wifi: std::env::var_os("APWATCH_TEST_WIFI").map(std::path::PathBuf::from),
            seq,
            req: vec![0; 512],
            buf: vec![0; 64 * 1024],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Sends `self.req[..len]` on `proto` and feeds every reply message to `each` until the
    /// dump's DONE or the ACK. A dump interrupted by a change (NLM_F_DUMP_INTR) is reported as
    /// `EINTR` so the caller can retry.
    fn transact(&mut self, proto: Protocol, len: usize, each: &mut dyn FnMut(&Message<'_>)) -> Result<()> {
        let seq = self.seq;
        let sock = match proto {
            Protocol::Route => &self.rtnl,
            Protocol::Generic => self.genl.as_ref().ok_or(Error::NoNl80211)?,
        };
        sock.send(self.req.get(..len).unwrap_or_default())?;
        let mut interrupted = false;
        loop {
            let n = match sock.recv(&mut self.buf, false)? {
                Received::Data(n) => n,
                Received::Spoofed(_) => continue,
                Received::WouldBlock => return Err(Error::Timeout),
                Received::Overrun => return Err(Error::Overrun),
            };
            for m in Messages::new(self.buf.get(..n).unwrap_or_default(), ORDER) {
                let m = m?;
                if m.header.seq != seq {
                    continue; // a late reply to an earlier request
                }
                interrupted |= m.header.flags & flags::DUMP_INTR != 0;
                match m.kind() {
                    MessageKind::Done => return if interrupted { Err(Error::Interrupted) } else { Ok(()) },
                    MessageKind::Error => {
                        let e = m.error()?;
                        if e.errno == 0 {
                            return Ok(());
                        }
                        if let Some(text) = e.text {
                            debug!("kernel says: {}", apwatch_core::escape::IwEscaped(text));
                        }
                        return Err(Error::Kernel(e.errno));
                    }
                    _ => each(&m),
                }
            }
        }
    }

    // `dyn`, not generics: one copy of this code in a binary that must fit a router's flash
    fn dump_retrying(
        &mut self,
        proto: Protocol,
        encode: &dyn Fn(&mut [u8], u32) -> usize,
        each: &mut dyn FnMut(&Message<'_>),
    ) -> Result<()> {
        let mut tries = 0;
        loop {
            let seq = self.next_seq();
            let len = encode(&mut self.req, seq);
            let mut batch = Vec::new();
            match self.transact(proto, len, &mut |m| batch.push((m.header, m.payload.to_vec()))) {
                Err(Error::Interrupted) => {
                    // NLM_F_DUMP_INTR: links changed while the kernel dumped them; ask again
                    tries += 1;
                    if tries > 5 {
                        return Err(Error::Interrupted);
                    }
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    for (header, payload) in &batch {
                        each(&Message { header: *header, payload, order: ORDER });
                    }
                    return Ok(());
                }
            }
        }
    }

    /// nl80211 as resolved, if it is.
    pub fn nl80211(&self) -> Option<Nl80211> {
        self.nl80211
    }

    /// Test-only: take `n` for nl80211 without asking the controller, so recorded events (whose
    /// family id was that boot's) can be fed to the event path on a machine without wifi.
    #[doc(hidden)]
    pub fn assume_nl80211(&mut self, n: Nl80211) {
        self.nl80211 = Some(n);
    }

    /// Whether wireless interfaces can be asked about (nl80211, or the test file).
    pub fn has_wifi(&self) -> bool {
        self.nl80211.is_some() || self.test_wifi().is_some()
    }

    /// The test file of wireless interfaces (APWATCH_TEST_WIFI), in a build with test hooks.
    fn test_wifi(&self) -> Option<&Path> {
        #[cfg(feature = "test-hooks")]
        return self.test_wifi.as_deref();
        #[cfg(not(feature = "test-hooks"))]
        None
    }

    /// Whether a link event of a link not known as wireless may still concern a wireless netdev.
    /// With nl80211 no: a new wireless netdev announces itself on the "config" group first. The
    /// test file names links that nl80211 never reports, so there every link may be one.
    pub fn unknown_links_may_be_wireless(&self) -> bool {
        self.test_wifi().is_some()
    }

    /// Test-only: `IFNAME IFTYPE SSID_HEX|-` lines, names resolved to links.
    fn test_file_interfaces(&mut self, path: &std::path::Path) -> Result<Vec<Iface>> {
        let text = std::fs::read_to_string(path)?;
        let links = self.dump_links()?;
        let mut out = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [name, iftype, ssid] = f.as_slice() else { continue };
            let Some(link) = links.iter().find(|l| l.name == name.as_bytes()) else { continue };
            let Some(ifname) = crate::view::ifname(&link.name) else { continue };
            let iftype = if *iftype == "AP" { IfType::Ap } else { IfType::Station };
            let ssid = apwatch_core::escape::decode_hex::<32>(ssid.as_bytes()).and_then(|b| Ssid::new(&b).ok());
            out.push(Iface {
                ifindex: link.ifindex,
                ifname,
                wiphy: Some(0),
                wdev: None,
                iftype: Some(iftype),
                ssid,
                master: None,
                port_vlan: None,
            });
        }
        Ok(out)
    }

    /// Resolves nl80211 and its "mlme"/"config" groups.
    pub fn resolve_nl80211(&mut self) -> Result<Nl80211> {
        let seq = self.next_seq();
        let len = ctrl::get_family(&mut self.req, ORDER, seq, b"nl80211")?;
        let mut found = None;
        self.transact(Protocol::Generic, len, &mut |m| {
            if let Ok(f) = GenlMessage::parse(m).and_then(|g| Family::parse(&g)) {
                let mlme = f.group_id(b"mlme").ok().flatten();
                let config = f.group_id(b"config").ok().flatten();
                if let (Some(mlme), Some(config)) = (mlme, config) {
                    found = Some(Nl80211 { family: f.id, mlme, config });
                }
            }
        })?;
        let n = found.ok_or(Error::NoGroups)?;
        self.nl80211 = Some(n);
        Ok(n)
    }

    fn family(&self) -> Result<u16> {
        self.nl80211().map(|n| n.family).ok_or(Error::NoNl80211)
    }

    /// Every wireless interface.
    pub fn dump_interfaces(&mut self) -> Result<Vec<Iface>> {
        if let Some(p) = self.test_wifi().map(Path::to_path_buf) {
            return self.test_file_interfaces(&p);
        }
        let family = self.family()?;
        let mut out = Vec::new();
        self.dump_retrying(
            Protocol::Generic,
            &|b, seq| nl80211::get_interface(b, ORDER, family, seq, None).unwrap_or(0),
            &mut |m| {
                if let Ok(i) = GenlMessage::parse(m).and_then(|g| Interface::parse(&g)) {
                    out.extend(Iface::from_nl80211(&i));
                }
            },
        )?;
        Ok(out)
    }

    /// One interface; `None` when it no longer exists or is not wireless.
    pub fn get_interface(&mut self, ifindex: u32) -> Result<Option<Iface>> {
        if let Some(p) = self.test_wifi().map(Path::to_path_buf) {
            return Ok(self.test_file_interfaces(&p)?.into_iter().find(|w| w.ifindex == ifindex));
        }
        let family = self.family()?;
        let seq = self.next_seq();
        let len = nl80211::get_interface(&mut self.req, ORDER, family, seq, Some(ifindex))?;
        let mut out = None;
        let r = self.transact(Protocol::Generic, len, &mut |m| {
            if let Ok(i) = GenlMessage::parse(m).and_then(|g| Interface::parse(&g)) {
                out = Iface::from_nl80211(&i);
            }
        });
        match r {
            Ok(()) => Ok(out),
            Err(Error::Kernel(libc::ENODEV | libc::EINVAL | libc::EOPNOTSUPP)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every radio's bands: (wiphy index, bit n = nl80211 band n), parts of split dumps merged.
    #[cfg(feature = "board")]
    pub fn dump_wiphy_bands(&mut self) -> Result<Vec<(u32, u32)>> {
        let family = self.family()?;
        let mut out: Vec<(u32, u32)> = Vec::new();
        self.dump_retrying(
            Protocol::Generic,
            &|b, seq| nl80211::get_wiphy(b, ORDER, family, seq).unwrap_or(0),
            &mut |m| {
                let Ok(w) = GenlMessage::parse(m).and_then(|g| nl80211::Wiphy::parse(&g)) else { return };
                let Some(i) = w.index else { return };
                match out.iter_mut().find(|(idx, _)| *idx == i) {
                    Some((_, bands)) => *bands |= w.bands,
                    None => out.push((i, w.bands)),
                }
            },
        )?;
        Ok(out)
    }

    /// Every link.
    pub fn dump_links(&mut self) -> Result<Vec<LinkInfo>> {
        let mut out = Vec::new();
        self.dump_retrying(Protocol::Route, &|b, seq| rtnl::get_links(b, ORDER, seq).unwrap_or(0), &mut |m| {
            out.extend(LinkInfo::from_message(m));
        })?;
        Ok(out)
    }

    /// One link, into a record the caller keeps (its buffers reused: a re-query of a known link
    /// allocates nothing). False when the link is gone (the record is untouched).
    pub fn refresh_link(&mut self, ifindex: u32, into: &mut LinkInfo) -> Result<bool> {
        let seq = self.next_seq();
        let len = rtnl::get_link(&mut self.req, ORDER, seq, ifindex)?;
        let mut found = false;
        match self.transact(Protocol::Route, len, &mut |m| found |= into.refresh_from(m)) {
            Ok(()) => Ok(found),
            Err(Error::Kernel(libc::ENODEV)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every IPv4 address: (ifindex, address, prefix length).
    pub fn dump_addrs(&mut self) -> Result<Vec<(u32, Ipv4Addr, u8)>> {
        let mut out = Vec::new();
        self.dump_retrying(Protocol::Route, &|b, seq| rtnl::get_addrs(b, ORDER, seq).unwrap_or(0), &mut |m| {
            if let Ok(Some(a)) = Address::parse(m) {
                out.push((a.ifindex, Ipv4Addr::from(a.addr), a.prefix_len));
            }
        })?;
        Ok(out)
    }

    fn simple(&mut self, encode: impl FnOnce(&mut [u8], u32) -> std::result::Result<usize, EncodeError>) -> Result<()> {
        let seq = self.next_seq();
        let len = encode(&mut self.req, seq)?;
        self.transact(Protocol::Route, len, &mut |_| {})
    }

    /// Makes `ifindex` a port of `master` (0 detaches).
    pub fn set_master(&mut self, ifindex: u32, master: u32) -> Result<()> {
        self.simple(|b, seq| rtnl::set_master(b, ORDER, seq, ifindex, master))
    }

    /// Every bridge port's VLANs (the AF_BRIDGE dump `bridge vlan show` asks for, ranges folded).
    pub fn dump_port_vlans(&mut self) -> Result<Vec<(u32, Vec<VlanRange>)>> {
        let mut out = Vec::new();
        self.dump_retrying(
            Protocol::Route,
            &|b, seq| brvlan::get_port_vlans(b, ORDER, seq, brvlan::ext::BRVLAN_COMPRESSED).unwrap_or(0),
            &mut |m| {
                if let Ok(Some(p)) = BridgePort::parse(m) {
                    if !p.is_bridge() {
                        out.push((p.ifindex, p.vlans.iter().collect()));
                    }
                }
            },
        )?;
        Ok(out)
    }

    /// Makes `vid` the only VLAN of port `ifindex` (PVID, untagged): the other VLANs go first,
    /// then `vid` is added (core's vlanplan says why that order).
    pub fn set_port_vlan(&mut self, ifindex: u32, current: &[VlanRange], vid: u16) -> Result<()> {
        let plan =
            vlanplan::Plan::new(current.iter().copied(), vid).ok_or(Error::Encode(EncodeError::ValueTooLarge))?;
        for step in plan {
            self.simple(|b, seq| step.emit(b, ORDER, seq, ifindex))?;
        }
        Ok(())
    }

    /// Creates bridge `name`, up. An existing one is fine.
    pub fn create_bridge(&mut self, name: &[u8]) -> Result<()> {
        match self.simple(|b, seq| rtnl::new_bridge(b, ORDER, seq, name)) {
            Err(Error::Kernel(libc::EEXIST)) => Ok(()),
            r => r,
        }
    }
}

fn set_timeout(s: &Socket) -> io::Result<()> {
    rustix::net::sockopt::set_socket_timeout(s, rustix::net::sockopt::Timeout::Recv, Some(Duration::from_secs(5)))?;
    Ok(())
}
