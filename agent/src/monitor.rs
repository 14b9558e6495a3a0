//! `apwatch monitor`: prints nl80211 (mlme, config) and rtnetlink link events as they come, one
//! per line, START_AP decoded with its SSID — what `iw event` shows as "unknown event 15".

use crate::errno::Why;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use apwatch_core::brvlan::{BridgePort, VlanRange};
use apwatch_core::escape::IwEscaped;
use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{Message, MessageKind, Messages};
use apwatch_core::nl80211::{Event, Interface};
use apwatch_core::rtnl::{self, Link};
use rustix::event::{poll, PollFd, PollFlags};

use crate::json::{Object, Value};
use crate::kernel::{Kernel, ORDER};
use crate::socket::{Protocol, Received, Socket};
use crate::Exit;

/// A text line's field: the value, or `-` when there is none (one copy of code for every
/// value type: `Or::of`).
struct Or<'a>(Option<&'a dyn fmt::Display>);

impl<'a> Or<'a> {
    fn of<T: fmt::Display>(v: &'a Option<T>) -> Self {
        Or(v.as_ref().map(|v| v as &dyn fmt::Display))
    }
}

impl fmt::Display for Or<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// ` NAME=VALUE` when there is a value, nothing when there is none.
struct Opt<'a>(&'static str, Option<&'a dyn fmt::Display>);

impl<'a> Opt<'a> {
    fn of<T: fmt::Display>(name: &'static str, v: &'a Option<T>) -> Self {
        Opt(name, v.as_ref().map(|v| v as &dyn fmt::Display))
    }
}

impl fmt::Display for Opt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.1 {
            Some(v) => write!(f, " {}={v}", self.0),
            None => Ok(()),
        }
    }
}

/// A wdev id as `iw` prints it: `0x1`.
struct WdevId(u64);

impl fmt::Display for WdevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A MAC address, `02:00:00:00:01:00`.
struct Mac<'a>(&'a [u8]);

impl fmt::Display for Mac<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ":" };
            write!(f, "{sep}{b:02x}")?;
        }
        Ok(())
    }
}

/// Since the epoch (JSON: seconds with microseconds, see [`Value::Seconds`]).
fn time() -> Value {
    Value::Seconds(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
}

fn ssid_fields(o: Object, ssid: Option<&[u8]>) -> (Object, String) {
    match ssid {
        Some(s) => (o.ssid(s), format!(" ssid=\"{}\"", IwEscaped(s))),
        None => (o, String::new()),
    }
}

fn iface_line(name: &str, i: &Interface<'_>, json: bool) -> String {
    let o = Object::new().field("time", time()).str("source", b"nl80211").str("event", name.as_bytes());
    let o = o.opt_num("wiphy", i.wiphy).opt_num("ifindex", i.ifindex).opt_num("wdev", i.wdev);
    let o = match i.ifname {
        Some(n) => o.str("ifname", n),
        None => o,
    };
    let o = match i.iftype {
        Some(t) => o.str("iftype", t.name().as_bytes()),
        None => o,
    };
    let (o, ssid) = ssid_fields(o, i.ssid.map(|s| s.as_bytes()));
    if json {
        return o.finish();
    }
    format!(
        "nl80211 {name} ifindex={} ifname={} iftype={}{ssid}",
        Or::of(&i.ifindex),
        Or::of(&i.ifname.map(IwEscaped)),
        Or::of(&i.iftype.map(|t| t.name())),
    )
}

fn nl80211_line(ev: &Event<'_>, json: bool) -> String {
    let base = || Object::new().field("time", time()).str("source", b"nl80211").str("event", ev.name().as_bytes());
    match ev {
        Event::StartAp(e) | Event::StopAp(e) => {
            let o = base()
                .opt_num("wiphy", e.wiphy)
                .num("ifindex", e.ifindex)
                .opt_num("wdev", e.wdev)
                .opt_num("link_id", e.link_id);
            let (o, ssid) = ssid_fields(o, e.ssid.map(|s| s.as_bytes()));
            if json {
                return o.finish();
            }
            format!(
                "nl80211 {} wiphy={} ifindex={} wdev={}{ssid}{}",
                ev.name(),
                Or::of(&e.wiphy),
                e.ifindex,
                Or::of(&e.wdev.map(WdevId)),
                Opt::of("link_id", &e.link_id),
            )
        }
        Event::NewInterface(i) | Event::SetInterface(i) | Event::DelInterface(i) => iface_line(ev.name(), i, json),
        Event::NewStation(s) | Event::DelStation(s) => {
            let mac = Mac(s.mac.as_ref().map_or(&[][..], |m| &m[..]));
            if json {
                return base().num("ifindex", s.ifindex).text("mac", &mac).finish();
            }
            format!("nl80211 {} ifindex={} mac={mac}", ev.name(), s.ifindex)
        }
        Event::ChannelSwitch(c) => {
            if json {
                return base().num("ifindex", c.ifindex).opt_num("freq", c.freq).opt_num("link_id", c.link_id).finish();
            }
            format!("nl80211 {} ifindex={} freq={}", ev.name(), c.ifindex, Or::of(&c.freq))
        }
        Event::Unknown { cmd, ifindex } => {
            if json {
                return base().num("cmd", *cmd).opt_num("ifindex", *ifindex).finish();
            }
            format!("nl80211 cmd {cmd} ifindex={}", Or::of(ifindex))
        }
    }
}

fn link_line(kind: u16, m: &Message<'_>, l: &Link<'_>, json: bool) -> String {
    let event = if kind == rtnl::kind::NEWLINK { "newlink" } else { "dellink" };
    let name = l.ifname.unwrap_or_default();
    // a bridge port's notification may carry its VLANs (the PVID is what an AP's stations use)
    let vlans: Vec<VlanRange> = match (l.family == rtnl::af::BRIDGE).then(|| BridgePort::parse(m)) {
        Some(Ok(Some(p))) => p.vlans.iter().collect(),
        _ => Vec::new(),
    };
    let pvid = vlans.iter().find(|r| r.is_pvid()).map(|r| r.first);
    if json {
        let o = Object::new().field("time", time()).str("source", b"rtnl").str("event", event.as_bytes());
        let o = o.num("ifindex", l.ifindex).str("ifname", name).bool("up", l.is_up()).bool("carrier", l.has_carrier());
        let o = o.opt_num("master", l.master()).opt_num("operstate", l.operstate).num("family", l.family);
        let o = o.opt_num("pvid", pvid);
        let o = if vlans.is_empty() {
            o
        } else {
            let items = vlans
                .iter()
                .map(|r| {
                    Object::new().num("first", r.first).num("last", r.last).bool("untagged", r.is_untagged()).into()
                })
                .collect();
            o.array("vlans", items)
        };
        return o.finish();
    }
    format!(
        "rtnl {event} {} ifindex={} {}{}{}{}{}",
        IwEscaped(name),
        l.ifindex,
        if l.is_up() { "up" } else { "down" },
        if l.has_carrier() { " carrier" } else { "" },
        Opt::of("master", &l.master()),
        if l.family == rtnl::af::BRIDGE { " (bridge port)" } else { "" },
        Opt::of("pvid", &pvid),
    )
}

fn describe(proto: Protocol, family: Option<u16>, m: &Message<'_>, json: bool) -> Option<String> {
    match (proto, m.kind()) {
        (Protocol::Generic, MessageKind::Protocol(f)) if Some(f) == family => {
            match GenlMessage::parse(m).and_then(|g| Event::parse(&g)) {
                Ok(ev) => Some(nl80211_line(&ev, json)),
                Err(e) => Some(format!("nl80211 malformed message skipped: {e}")),
            }
        }
        (Protocol::Route, MessageKind::Protocol(k @ (rtnl::kind::NEWLINK | rtnl::kind::DELLINK))) => Some(
            Link::parse(m)
                .map_or_else(|e| format!("rtnl malformed message skipped: {e}"), |l| link_line(k, m, &l, json)),
        ),
        _ => None,
    }
}

pub fn monitor(json: bool) -> Exit {
    let setup = || -> std::io::Result<(Option<(Socket, u16)>, Socket)> {
        let rtnl_sock = Socket::open(Protocol::Route, 0, true)?;
        rtnl_sock.join(rtnl::group::LINK)?;
        let genl = match Kernel::open()?.resolve_nl80211() {
            Ok(n) => Some((n.subscribe()?, n.family)),
            Err(e) => {
                errln!("warn: nl80211 not available ({e}); link events only");
                None
            }
        };
        Ok((genl, rtnl_sock))
    };
    let (genl, rtnl_sock) = match setup() {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {}", Why(&e));
            return Exit::Runtime;
        }
    };
    let family = genl.as_ref().map(|(_, f)| *f);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut fds = vec![PollFd::new(&rtnl_sock, PollFlags::IN)];
        if let Some((g, _)) = &genl {
            fds.push(PollFd::new(g, PollFlags::IN));
        }
        if let Err(e) = poll(&mut fds, None) {
            if e != rustix::io::Errno::INTR {
                errln!("error: poll: {}", crate::errno::os(e));
                return Exit::Runtime;
            }
        }
        let socks: Vec<(&Socket, Protocol)> = std::iter::once((&rtnl_sock, Protocol::Route))
            .chain(genl.as_ref().map(|(g, _)| (g, Protocol::Generic)))
            .collect();
        for (sock, proto) in socks {
            loop {
                match sock.recv(&mut buf, true) {
                    Ok(Received::Data(n)) => {
                        for m in Messages::new(buf.get(..n).unwrap_or_default(), ORDER).flatten() {
                            if let Some(mut line) = describe(proto, family, &m, json) {
                                line.push('\n');
                                if !crate::out::put(crate::out::To::Out, line.as_bytes()) {
                                    return Exit::Ok; // stdout closed (| head)
                                }
                            }
                        }
                    }
                    Ok(Received::Spoofed(pid)) => errln!("warn: ignored a message from user-space port {pid}"),
                    Ok(Received::Overrun) => errln!("warn: ENOBUFS: events were lost"),
                    Ok(Received::WouldBlock) => break,
                    Err(e) => {
                        errln!("error: {}", Why(&e));
                        return Exit::Runtime;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! frame {
        ($file:literal) => {
            include_bytes!(concat!("../../tests/data/frames/", $file)).as_slice()
        };
    }

    /// The text line `monitor` prints for each message of a recorded frame (recorded on x86:
    /// little-endian, whatever this machine's order is).
    fn lines(proto: Protocol, frame: &[u8]) -> Vec<String> {
        let le = apwatch_core::endian::ByteOrder::Little;
        Messages::new(frame, le).flatten().filter_map(|m| describe(proto, Some(35), &m, false)).collect()
    }

    #[test]
    fn text_lines_of_recorded_events() {
        let g = Protocol::Generic;
        let r = Protocol::Route;
        let got = [
            lines(g, frame!("start-ap-foo-005.bin")),
            lines(g, frame!("ssid-nonutf8-004.bin")),
            lines(g, frame!("station-009.bin")),
            lines(g, frame!("start-ap-foo-001.bin")),
            lines(g, frame!("two-bss-017.bin")),
            lines(g, frame!("two-bss-020.bin")),
            lines(r, frame!("start-ap-foo-006.bin")),
            lines(r, frame!("bridge-dhcp-013.bin")),
            lines(r, frame!("bridge-dhcp-011.bin")),
        ]
        .concat();
        assert_eq!(
            got,
            [
                "nl80211 start_ap wiphy=0 ifindex=2 wdev=0x1 ssid=\"foo\"",
                "nl80211 start_ap wiphy=0 ifindex=2 wdev=0x1 ssid=\"f\\xffo\\x80\"",
                "nl80211 new_station ifindex=2 mac=02:00:00:00:01:00",
                "nl80211 set_interface ifindex=2 ifname=wlan0 iftype=AP",
                "nl80211 del_interface ifindex=6 ifname=wlan0-1 iftype=AP",
                "nl80211 cmd 36 ifindex=-",
                "rtnl newlink wlan0 ifindex=2 up carrier",
                "rtnl newlink wlan0 ifindex=2 up carrier master=7",
                "rtnl newlink wlan0 ifindex=2 up carrier master=7 (bridge port) pvid=1",
            ]
        );
        assert_eq!(Mac(&[]).to_string(), "");
        assert_eq!(Opt::of("pvid", &None::<u16>).to_string(), "");
    }
}
