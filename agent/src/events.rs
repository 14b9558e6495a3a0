//! Reading events: the nl80211 ("mlme" + "config") and rtnetlink (link, IPv4 address) event
//! sockets, kernel only. An event is a hint to re-query, never the state itself.

use crate::errno::Why;
use std::io;

use apwatch_core::escape::IwEscaped;
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{Message, MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::pipeline::{Hint, Pipeline};
use apwatch_core::policy::Iface;
use apwatch_core::rtnl::{self, af, Link};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;

use crate::kernel::{Kernel, LinkInfo, ORDER};
use crate::log::Once;
use crate::socket::{Protocol, Received, Socket};
use crate::view::View;

/// Bad input, counted and logged once each.
#[derive(Default)]
pub struct Counters {
    pub malformed: Once,
    pub spoofed: Once,
    pub enobufs: Once,
}

impl Counters {
    /// malformed, spoofed, ENOBUFS: as the state file records them.
    pub fn values(&self) -> [u64; 3] {
        [self.malformed.count(), self.spoofed.count(), self.enobufs.count()]
    }
}

/// What reading brought.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Woke {
    /// Something asks for a reconcile (after the burst and a re-query).
    pub reconcile: bool,
    /// IPv4 addresses changed: DHCP ranges may follow.
    pub addresses: bool,
    /// The view already holds the kernel's word (START_AP): reconcile now, before the re-query.
    pub now: bool,
}

impl std::ops::BitOrAssign for Woke {
    fn bitor_assign(&mut self, o: Woke) {
        self.reconcile |= o.reconcile;
        self.addresses |= o.addresses;
        self.now |= o.now;
    }
}

const HINT: Woke = Woke { reconcile: true, addresses: false, now: false };

/// The event sockets and their receive buffer.
pub struct Events {
    pub genl: Option<Socket>,
    pub rtnl: Socket,
    buf: Vec<u8>,
    pub counters: Counters,
    /// Whether this wifi stack has been seen announcing START_AP. Decided by observation: on
    /// OpenWrt cfg80211 comes from the backports package, so the kernel release cannot tell.
    /// Either way link and interface events of wireless netdevs stay hints.
    start_ap_seen: bool,
}

/// The agent state events touch: the hint queue and what is cheap to know at once.
pub struct Sink<'a> {
    pub pipeline: &'a Pipeline<NoopRawMutex, 64>,
    pub view: &'a mut View,
    pub kernel: &'a Kernel,
}

impl Events {
    /// Joins the rtnetlink link and address groups and, when nl80211 is there, its "mlme" and
    /// "config" groups.
    pub fn open(kernel: &mut Kernel) -> io::Result<Events> {
        let rtnl = Socket::open(Protocol::Route, 0, true)?;
        rtnl.join(rtnl::group::LINK)?;
        rtnl.join(rtnl::group::IPV4_IFADDR)?;
        let genl = match kernel.resolve_nl80211() {
            Ok(n) => {
                let s = n.subscribe()?;
                info!(
                    "nl80211 family {:#x}, joined mlme and config; START_AP not seen yet: link and interface \
                     events of wireless netdevs are re-queried (kernel {}, which does not tell: OpenWrt's \
                     cfg80211 is from backports)",
                    n.family,
                    kernel_release()
                );
                Some(s)
            }
            Err(e) => {
                warn!("nl80211 not available ({e}): following link events only, retrying");
                None
            }
        };
        Ok(Events { genl, rtnl, buf: vec![0; 64 * 1024], counters: Counters::default(), start_ap_seen: false })
    }

    /// Joins nl80211's groups if it has appeared since (a module loaded late).
    pub fn try_nl80211(&mut self, kernel: &mut Kernel) {
        if self.genl.is_some() {
            return;
        }
        if let Ok(n) = kernel.resolve_nl80211() {
            match n.subscribe() {
                Ok(s) => {
                    info!("nl80211 appeared (family {:#x}): joined mlme and config", n.family);
                    self.genl = Some(s);
                }
                Err(e) => warn!("nl80211 groups: {}", Why(&e)),
            }
        }
    }

    /// Test-only: a tiny buffer makes ENOBUFS happen on purpose.
    #[cfg(feature = "test-hooks")]
    pub fn force_rcvbuf(&mut self, n: usize) -> io::Result<()> {
        self.rtnl.set_rcvbuf(n)?;
        if let Some(g) = self.genl.as_mut() {
            g.set_rcvbuf(n)?;
        }
        info!("receive buffers forced to {n} bytes (APWATCH_TEST_RCVBUF)");
        Ok(())
    }

    /// Reads every queued datagram of one event socket.
    pub fn read(&mut self, proto: Protocol, sink: &mut Sink<'_>) -> Woke {
        let mut woke = Woke::default();
        loop {
            let sock = match proto {
                Protocol::Generic => match &self.genl {
                    Some(s) => s,
                    None => return woke,
                },
                Protocol::Route => &self.rtnl,
            };
            match sock.recv(&mut self.buf, true) {
                Ok(Received::Data(n)) => {
                    let datagram = self.buf.get(..n).unwrap_or_default();
                    woke |= on_datagram(proto, datagram, sink, &mut self.counters, &mut self.start_ap_seen);
                }
                Ok(Received::Spoofed(pid)) => {
                    if self.counters.spoofed.hit() {
                        warn!("ignored a netlink message from user-space port {pid}, not the kernel (counted; logged once)");
                    }
                }
                Ok(Received::WouldBlock) => return woke,
                Ok(Received::Overrun) => {
                    let sock = match proto {
                        Protocol::Generic => self.genl.as_mut(),
                        Protocol::Route => Some(&mut self.rtnl),
                    };
                    let (old, grown) = sock.map_or((0, None), |s| (s.rcvbuf(), s.grow_rcvbuf()));
                    self.counters.enobufs.hit();
                    match grown {
                        Some(new) => {
                            warn!("ENOBUFS on {} events: receive buffer {old} -> {new} bytes; full resync", name(proto))
                        }
                        None => {
                            warn!("ENOBUFS on {} events (buffer {old} bytes, at its bound); full resync", name(proto))
                        }
                    }
                    sink.pipeline.push(Hint::Resync);
                    woke |= HINT;
                }
                Err(e) => {
                    error!("reading {} events: {}", name(proto), Why(&e));
                    return woke;
                }
            }
        }
    }

    /// What [`Events::read`] does with one received datagram: the same code, fed recorded bytes
    /// by the tests (agent/tests/event_alloc.rs).
    pub fn handle(&mut self, proto: Protocol, datagram: &[u8], sink: &mut Sink<'_>) -> Woke {
        on_datagram(proto, datagram, sink, &mut self.counters, &mut self.start_ap_seen)
    }
}

fn on_datagram(
    proto: Protocol,
    datagram: &[u8],
    sink: &mut Sink<'_>,
    counters: &mut Counters,
    start_ap_seen: &mut bool,
) -> Woke {
    let mut woke = Woke::default();
    for m in Messages::new(datagram, ORDER) {
        match m {
            Ok(m) => woke |= on_message(proto, &m, sink, counters, start_ap_seen),
            Err(e) => malformed(counters, proto, &e),
        }
    }
    woke
}

fn malformed(counters: &mut Counters, proto: Protocol, e: &apwatch_core::Error) {
    if counters.malformed.hit() {
        warn!("skipped a malformed {} message: {e} (counted; logged once)", name(proto));
    }
}

/// One event: update what is cheap to know, hint what must be re-queried.
fn on_message(
    proto: Protocol,
    m: &Message<'_>,
    sink: &mut Sink<'_>,
    counters: &mut Counters,
    start_ap_seen: &mut bool,
) -> Woke {
    let family = sink.kernel.nl80211().map(|n| n.family);
    match (proto, m.kind()) {
        (Protocol::Generic, MessageKind::Protocol(f)) if Some(f) == family => {
            let ev = match GenlMessage::parse(m).and_then(|g| Event::parse(&g)) {
                Ok(ev) => ev,
                Err(e) => {
                    malformed(counters, proto, &e);
                    return Woke::default();
                }
            };
            if matches!(ev, Event::StartAp(_)) && !std::mem::replace(start_ap_seen, true) {
                info!("START_AP seen: this wifi stack announces AP starts (link events stay hints as well)");
            }
            match &ev {
                Event::StartAp(e) => debug!(
                    "event start_ap ifindex={} ssid=\"{}\"",
                    e.ifindex,
                    IwEscaped(e.ssid.map(|s| s.as_bytes()).unwrap_or_default())
                ),
                other => match other.ifindex() {
                    Some(i) => debug!("event {} ifindex={i}", other.name()),
                    None => debug!("event {} ifindex=-", other.name()),
                },
            }
            if let Event::StartAp(e) = &ev {
                // The kernel's word at this instant: the netdev beacons this SSID now. Acting on
                // it at once saves the quiet window and a round trip; the hint below still
                // re-queries after the burst, so a later change in the same burst wins.
                let name = sink.view.link_name(e.ifindex).and_then(crate::view::ifname);
                if let Some(rec) = Iface::after_start_ap(sink.view.wifi.get(&e.ifindex), name, e) {
                    sink.view.wifi.insert(e.ifindex, rec);
                    sink.pipeline.push(Hint::Interface(e.ifindex));
                    return Woke { now: true, ..HINT };
                }
            }
            match ev {
                Event::StartAp(_)
                | Event::StopAp(_)
                | Event::NewInterface(_)
                | Event::SetInterface(_)
                | Event::DelInterface(_)
                | Event::ChannelSwitch(_) => match ev.ifindex() {
                    Some(i) => {
                        // a full queue turns into a resync inside the pipeline
                        sink.pipeline.push(Hint::Interface(i));
                        HINT
                    }
                    None => Woke::default(),
                },
                _ => Woke::default(),
            }
        }
        (Protocol::Route, MessageKind::Protocol(k @ (rtnl::kind::NEWLINK | rtnl::kind::DELLINK))) => {
            let l = match Link::parse(m) {
                Ok(l) => l,
                Err(e) => {
                    malformed(counters, proto, &e);
                    return Woke::default();
                }
            };
            if l.family != af::BRIDGE {
                if k == rtnl::kind::NEWLINK {
                    // a known link's record is refreshed in place: no allocation per event
                    match sink.view.links.get_mut(&l.ifindex) {
                        Some(known) => {
                            known.refresh_from(m);
                        }
                        None => {
                            if let Some(info) = LinkInfo::from_message(m) {
                                sink.view.links.insert(l.ifindex, info);
                            }
                        }
                    }
                } else {
                    sink.view.links.remove(&l.ifindex);
                }
            }
            // Every link event of a wireless netdev is a hint, even one where no flag changed:
            // without START_AP (kernels before 6.3, OpenWrt 23.05) an in-place STOP_AP +
            // START_AP shows only as linkwatch's delayed RTM_NEWLINK, whose flags may look the
            // same as before; the re-query is what finds the new SSID. A new wireless netdev
            // announces itself on nl80211's "config" group first.
            if sink.view.wifi.contains_key(&l.ifindex) || sink.kernel.unknown_links_may_be_wireless() {
                sink.pipeline.push(Hint::Interface(l.ifindex));
                return HINT;
            }
            Woke::default()
        }
        (Protocol::Route, MessageKind::Protocol(rtnl::kind::NEWADDR | rtnl::kind::DELADDR)) => {
            Woke { reconcile: true, addresses: true, now: false }
        }
        (_, MessageKind::Overrun) => {
            sink.pipeline.push(Hint::Resync);
            HINT
        }
        _ => Woke::default(),
    }
}

pub fn name(p: Protocol) -> &'static str {
    match p {
        Protocol::Generic => "nl80211",
        Protocol::Route => "rtnetlink",
    }
}

/// The running kernel's release, for the log.
fn kernel_release() -> String {
    IwEscaped(rustix::system::uname().release().to_bytes()).to_string()
}
