//! `apwatch monitor`: prints nl80211 (mlme, config) and rtnetlink link events as they come, one
//! per line, START_AP decoded with its SSID — what `iw event` shows as "unknown event 15".

use crate::errno::Why;
use std::time::{SystemTime, UNIX_EPOCH};

use apwatch_core::brvlan::{BridgePort, VlanRange};
use apwatch_core::genl::GenlMessage;
use apwatch_core::mac::Mac;
use apwatch_core::netlink::{Message, MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::rtnl::{self, Link};
use rustix::event::{poll, PollFd, PollFlags};

use crate::json::{Object, Value};
use crate::kernel::{Kernel, ORDER};
use crate::socket::{Protocol, Received, Socket};
use crate::Exit;

/// Since the epoch (JSON: seconds with microseconds, see [`Value::Seconds`]).
fn time() -> Value {
    Value::Seconds(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// The document of one event: the JSON line, or the text line made of the same fields
/// (`nl80211 start_ap wiphy=0 ifindex=2 wdev=1 ssid="foo"`: no time, no `ssid_hex`).
fn rendered(o: Object, json: bool) -> String {
    if json {
        o.finish()
    } else {
        o.line(&["time", "ssid_hex"])
    }
}

fn head(source: &[u8], event: &str) -> Object {
    Object::new().str("source", source).str("event", event.as_bytes()).field("time", time())
}

fn with_ssid(o: Object, ssid: Option<&[u8]>) -> Object {
    match ssid {
        Some(s) => o.ssid(s),
        None => o,
    }
}

fn nl80211_line(ev: &Event<'_>, json: bool) -> String {
    let base = head(b"nl80211", ev.name());
    let o = match ev {
        Event::StartAp(e) | Event::StopAp(e) => {
            let o = base.opt_num("wiphy", e.wiphy).num("ifindex", e.ifindex).opt_num("wdev", e.wdev);
            with_ssid(o.opt_num("link_id", e.link_id), e.ssid.map(|s| s.as_bytes()))
        }
        Event::NewInterface(i) | Event::SetInterface(i) | Event::DelInterface(i) => {
            let o = base.opt_num("wiphy", i.wiphy).opt_num("ifindex", i.ifindex).opt_num("wdev", i.wdev);
            let o = match i.ifname {
                Some(n) => o.str("ifname", n),
                None => o,
            };
            let o = match i.iftype {
                Some(t) => o.str("iftype", t.name().as_bytes()),
                None => o,
            };
            with_ssid(o, i.ssid.map(|s| s.as_bytes()))
        }
        Event::NewStation(s) | Event::DelStation(s) => {
            let mac = s.mac.map(Mac);
            let o = base.num("ifindex", s.ifindex);
            match &mac {
                Some(m) => o.text("mac", m),
                None => o,
            }
        }
        Event::ChannelSwitch(c) => base.num("ifindex", c.ifindex).opt_num("freq", c.freq).opt_num("link_id", c.link_id),
        Event::Unknown { cmd, ifindex } => base.num("cmd", *cmd).opt_num("ifindex", *ifindex),
    };
    rendered(o, json)
}

fn link_line(kind: u16, m: &Message<'_>, l: &Link<'_>, json: bool) -> String {
    let event = if kind == rtnl::kind::NEWLINK { "newlink" } else { "dellink" };
    // a bridge port's notification may carry its VLANs (the PVID is what an AP's stations use)
    let vlans: Vec<VlanRange> = match (l.family == rtnl::af::BRIDGE).then(|| BridgePort::parse(m)) {
        Some(Ok(Some(p))) => p.vlans.iter().collect(),
        _ => Vec::new(),
    };
    let pvid = vlans.iter().find(|r| r.is_pvid()).map(|r| r.first);
    let o = head(b"rtnl", event).num("ifindex", l.ifindex).str("ifname", l.ifname.unwrap_or_default());
    let o = o.bool("up", l.is_up()).bool("carrier", l.has_carrier());
    let o = o.opt_num("master", l.master()).opt_num("operstate", l.operstate).num("family", l.family);
    let o = o.opt_num("pvid", pvid);
    let o = if vlans.is_empty() {
        o
    } else {
        let items = vlans
            .iter()
            .map(|r| Object::new().num("first", r.first).num("last", r.last).bool("untagged", r.is_untagged()).into())
            .collect();
        o.array("vlans", items)
    };
    rendered(o, json)
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
        render(proto, frame, false)
    }

    fn render(proto: Protocol, frame: &[u8], json: bool) -> Vec<String> {
        let le = apwatch_core::endian::ByteOrder::Little;
        Messages::new(frame, le).flatten().filter_map(|m| describe(proto, Some(35), &m, json)).collect()
    }

    /// The text line and the JSON line are one document: the same fields, in the same order
    /// (the JSON's time and raw SSID bytes left out of the text).
    #[test]
    fn json_lines_carry_the_text_lines_fields() {
        let start = render(Protocol::Generic, frame!("ssid-nonutf8-004.bin"), true);
        let json = start[0].split_once(r#","time":"#).unwrap();
        assert_eq!(json.0, r#"{"source":"nl80211","event":"start_ap""#);
        let rest = json.1.split_once(',').unwrap().1;
        assert_eq!(rest, r#""wiphy":0,"ifindex":2,"wdev":1,"ssid":"f\\xffo\\x80","ssid_hex":"66ff6f80"}"#);
        let port = render(Protocol::Route, frame!("bridge-dhcp-011.bin"), true);
        assert!(
            port[0].ends_with(r#","ifindex":2,"ifname":"wlan0","up":true,"carrier":true,"master":7,"operstate":6,"family":7,"pvid":1,"vlans":[{"first":1,"last":1,"untagged":true}]}"#),
            "{}",
            port[0]
        );
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
                "nl80211 start_ap wiphy=0 ifindex=2 wdev=1 ssid=\"foo\"",
                "nl80211 start_ap wiphy=0 ifindex=2 wdev=1 ssid=\"f\\xffo\\x80\"",
                "nl80211 new_station ifindex=2 mac=\"02:00:00:00:01:00\"",
                "nl80211 set_interface wiphy=0 ifindex=2 wdev=1 ifname=\"wlan0\" iftype=\"AP\"",
                "nl80211 del_interface wiphy=0 ifindex=6 wdev=2 ifname=\"wlan0-1\" iftype=\"AP\"",
                "nl80211 unknown cmd=36",
                "rtnl newlink ifindex=2 ifname=\"wlan0\" up=true carrier=true operstate=6 family=0",
                "rtnl newlink ifindex=2 ifname=\"wlan0\" up=true carrier=true master=7 operstate=6 family=0",
                "rtnl newlink ifindex=2 ifname=\"wlan0\" up=true carrier=true master=7 operstate=6 family=7 pvid=1",
            ]
        );
    }
}
