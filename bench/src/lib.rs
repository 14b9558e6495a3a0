//! The three decoders the benchmarks compare on the same bytes: apwatch-core, wl-nl80211, and a
//! minimal hand-written field walk (the floor: what no decoder can beat by much). Each returns a
//! checksum of what it read, so none of the work can be optimised away.

use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::ByteOrder;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage as WlGenl;
use wl_nl80211::{Nl80211Attr, Nl80211Message};

/// The family id nl80211 had when the frames were recorded.
pub const FAMILY: u16 = 0x23;

macro_rules! frames {
    ($($file:literal),* $(,)?) => { &[$(include_bytes!(concat!("../../tests/data/frames/", $file)) as &[u8]),*] };
}

/// One START_AP event ("foo").
pub const START_AP: &[u8] = include_bytes!("../../tests/data/frames/start-ap-foo-005.bin");

/// nl80211 kernel events of every kind seen on a running AP.
pub const NL80211_MIX: &[&[u8]] = frames![
    "start-ap-foo-005.bin",
    "ssid-nonutf8-004.bin",
    "ifdown-007.bin",
    "station-009.bin",
    "start-ap-foo-001.bin",
    "start-ap-foo-007.bin",
    "start-ap-foo-004.bin",
    "two-bss-020.bin",
    "get-interface-reply-ap-foo.bin",
    "two-bss-011.bin",
    "bridge-dhcp-016.bin",
    "ssid-32bytes-004.bin",
];

// The frames and the receive-buffer builder are core's integration-test helpers, shared.
#[path = "../../core/tests/common/mod.rs"]
mod common;
pub use common::buffer;

pub mod ubus_peer;

/// The fields every decoder extracts from each nl80211 message (what `apwatch` acts on), summed
/// into one number the same way by all three, so the work cannot be skipped and the answers
/// can be compared.
#[derive(Default, Clone, Copy)]
struct Seen<'a> {
    wiphy: Option<u32>,
    ifindex: Option<u32>,
    ifname: Option<&'a [u8]>,
    iftype: Option<u32>,
    mac: Option<[u8; 6]>,
    ssid: Option<&'a [u8]>,
    wdev: Option<u64>,
}

impl Seen<'_> {
    fn sum(&self, cmd: u8) -> u64 {
        u64::from(cmd)
            + u64::from(self.wiphy.unwrap_or(0))
            + u64::from(self.ifindex.unwrap_or(0))
            + self.ifname.map_or(0, |n| n.len() as u64)
            + u64::from(self.iftype.unwrap_or(0))
            + self.mac.map_or(0, |m| u64::from(m[5]))
            + self.ssid.map_or(0, |s| s.len() as u64)
            + self.wdev.unwrap_or(0)
    }
}

/// apwatch-core: typed, checked events borrowing the buffer.
#[inline(never)]
pub fn apwatch(buf: &[u8]) -> u64 {
    use apwatch_core::nl80211::{ApEvent, Interface};
    let mut sum = 0u64;
    for m in Messages::new(buf, ByteOrder::Little).flatten() {
        if m.kind() != MessageKind::Protocol(FAMILY) {
            continue;
        }
        let Ok(g) = GenlMessage::parse(&m) else { continue };
        let Ok(ev) = Event::parse(&g) else { continue };
        fn ap<'a>(e: &ApEvent<'a>) -> Seen<'a> {
            Seen {
                wiphy: e.wiphy,
                ifindex: Some(e.ifindex),
                ssid: e.ssid.map(|s| s.as_bytes()),
                wdev: e.wdev,
                ..Seen::default()
            }
        }
        fn iface<'a>(i: &Interface<'a>) -> Seen<'a> {
            Seen {
                wiphy: i.wiphy,
                ifindex: i.ifindex,
                ifname: i.ifname,
                iftype: i.iftype.map(u32::from),
                mac: i.mac,
                ssid: i.ssid.map(|s| s.as_bytes()),
                wdev: i.wdev,
            }
        }
        let seen = match &ev {
            Event::StartAp(e) | Event::StopAp(e) => ap(e),
            Event::NewInterface(i) | Event::SetInterface(i) | Event::DelInterface(i) => iface(i),
            Event::NewStation(s) | Event::DelStation(s) => {
                Seen { ifindex: Some(s.ifindex), mac: s.mac, ..Seen::default() }
            }
            other => Seen { ifindex: other.ifindex(), ..Seen::default() },
        };
        sum += seen.sum(g.cmd);
    }
    sum
}

/// wl-nl80211 (netlink-packet-core + netlink-packet-generic): a `Vec` of attributes per message.
#[inline(never)]
pub fn wl(buf: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < 16 || len > rest.len() {
            break;
        }
        if let Ok(m) = NetlinkMessage::<WlGenl<Nl80211Message>>::deserialize(&rest[..len]) {
            if let NetlinkPayload::InnerMessage(g) = m.payload {
                let cmd = u8::from(g.payload.cmd);
                let per_event = matches!(cmd, 15 | 16 | 6 | 7 | 8 | 19 | 20);
                let mut seen = Seen::default();
                for a in &g.payload.attributes {
                    match a {
                        Nl80211Attr::IfIndex(i) => seen.ifindex = Some(*i),
                        Nl80211Attr::Wiphy(w) if per_event && cmd != 19 && cmd != 20 => seen.wiphy = Some(*w),
                        Nl80211Attr::IfName(n) if matches!(cmd, 6..=8) => seen.ifname = Some(n.as_bytes()),
                        Nl80211Attr::IfType(t) if matches!(cmd, 6..=8) => seen.iftype = Some(u32::from(*t)),
                        Nl80211Attr::Mac(m) if matches!(cmd, 6..=8 | 19 | 20) => seen.mac = Some(*m),
                        Nl80211Attr::SsidRaw(s) if matches!(cmd, 6..=8 | 15 | 16) => seen.ssid = Some(s.as_slice()),
                        Nl80211Attr::Wdev(w) if matches!(cmd, 6..=8 | 15 | 16) => seen.wdev = Some(*w),
                        _ => {}
                    }
                }
                sum += seen.sum(cmd);
            }
        }
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    sum
}

/// The floor: a hand-written walk with the checks any correct decoder makes and nothing more:
/// the header and every attribute stay in bounds, the attributes an event uses have exactly
/// their size (u32 4 bytes, u64 8, MAC 6, a name with its NUL, an SSID at most 32 bytes; an
/// empty SSID is none), the netdev is there where the event needs it, and anything malformed
/// drops the message. Little-endian is hard-coded and each kind of event gets its own loop
/// (`WANT`), so no decision is made at run time that a hand-written decoder would not make.
#[inline(never)]
pub fn floor(buf: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut rest = buf;
    while let Some(h) = rest.first_chunk::<16>() {
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let Some(msg) = rest.get(..len).filter(|_| len >= 16) else { break };
        if u16::from_le_bytes([h[4], h[5]]) == FAMILY {
            if let Some([cmd, _, _, _, attrs @ ..]) = msg.get(16..) {
                let seen = match cmd {
                    15 | 16 => floor_attrs::<{ want::AP }>(attrs),
                    6..=8 => floor_attrs::<{ want::IFACE }>(attrs),
                    19 | 20 => floor_attrs::<{ want::STATION }>(attrs),
                    88 => floor_attrs::<{ want::NEEDS_IFINDEX }>(attrs),
                    _ => floor_attrs::<0>(attrs),
                };
                sum += seen.map_or(0, |s| s.sum(*cmd));
            }
        }
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    sum
}

/// What each kind of event reads (the floor's `WANT`).
mod want {
    pub const NEEDS_IFINDEX: u8 = 1;
    pub const WIPHY: u8 = 2;
    pub const IFNAME: u8 = 4;
    pub const IFTYPE: u8 = 8;
    pub const MAC: u8 = 16;
    pub const SSID: u8 = 32;
    pub const WDEV: u8 = 64;
    pub const AP: u8 = NEEDS_IFINDEX | WIPHY | SSID | WDEV;
    pub const IFACE: u8 = WIPHY | IFNAME | IFTYPE | MAC | SSID | WDEV;
    pub const STATION: u8 = NEEDS_IFINDEX | MAC;
}

#[inline(always)]
fn floor_attrs<const WANT: u8>(mut rest: &[u8]) -> Option<Seen<'_>> {
    use want::*;
    let u32le = |v: &[u8]| v.try_into().ok().map(u32::from_le_bytes);
    let mut seen = Seen::default();
    while let Some(h) = rest.first_chunk::<4>() {
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        let v = rest.get(4..len)?;
        match u16::from_le_bytes([h[2], h[3]]) & 0x3fff {
            1 if WANT & WIPHY != 0 => seen.wiphy = Some(u32le(v)?),
            3 => seen.ifindex = Some(u32le(v)?),
            4 if WANT & IFNAME != 0 => seen.ifname = Some(&v[..v.iter().position(|&c| c == 0)?]),
            5 if WANT & IFTYPE != 0 => seen.iftype = Some(u32le(v)?),
            6 if WANT & MAC != 0 => seen.mac = Some(v.try_into().ok()?),
            52 if WANT & SSID != 0 => {
                seen.ssid = match v.len() {
                    0 => None,
                    1..=32 => Some(v),
                    _ => return None,
                }
            }
            153 if WANT & WDEV != 0 => seen.wdev = Some(u64::from_le_bytes(v.try_into().ok()?)),
            _ => {}
        }
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    // Fewer than 4 bytes left over is a truncated attribute.
    if !rest.is_empty() || (WANT & NEEDS_IFINDEX != 0 && seen.ifindex.is_none()) {
        return None;
    }
    Some(seen)
}

/// A router's worth of wireless interfaces (8: 4 active APs, 2 stopped, 2 stations) and 8 rules.
pub fn policy_fixture() -> (Vec<apwatch_core::policy::Iface>, apwatch_core::config::Config) {
    use apwatch_core::nl80211::IfType;
    use apwatch_core::policy::Iface;
    let mut text = String::new();
    for i in 0..8 {
        text += &format!("config rule 'r{i}'\n option ssid 'ssid{i}'\n option bridge 'br{i}'\n option dhcp_start '100'\n option dhcp_limit '50'\n");
    }
    let cfg = apwatch_core::config::parse(text.as_bytes()).unwrap_or_default();
    let ifaces = (0..8u32)
        .map(|i| Iface {
            ifindex: 2 + i,
            ifname: heapless::String::try_from(format!("wlan{i}").as_str()).unwrap_or_default(),
            wiphy: Some(i % 2),
            wdev: None,
            iftype: Some(if i < 6 { IfType::Ap } else { IfType::Station }),
            ssid: (i < 4).then(|| apwatch_core::Ssid::new(format!("ssid{}", 7 - i).as_bytes()).unwrap_or_default()),
            master: (i % 3 == 0).then(|| heapless::String::try_from(format!("br{i}").as_str()).unwrap_or_default()),
            port_vlan: None,
        })
        .collect();
    (ifaces, cfg)
}

/// `n` recorded kernel events (nl80211 and link), cycling through the captures.
pub fn burst_hints(n: usize) -> Vec<&'static [u8]> {
    const MIX: &[&[u8]] = frames![
        "start-ap-foo-005.bin",
        "start-ap-foo-006.bin",
        "restart-bar-009.bin",
        "restart-bar-010.bin",
        "two-bss-011.bin",
        "two-bss-012.bin",
        "ifdown-007.bin",
        "start-ap-foo-007.bin",
    ];
    MIX.iter().copied().cycle().take(n).collect()
}

/// What the agent's reader does with one event: decode it, push a hint.
pub fn hint_from_frame<M: embassy_sync::blocking_mutex::raw::RawMutex, const N: usize>(
    buf: &[u8],
    p: &apwatch_core::pipeline::Pipeline<M, N>,
) {
    use apwatch_core::pipeline::Hint;
    for m in Messages::new(buf, ByteOrder::Little).flatten() {
        let ifindex = match m.kind() {
            MessageKind::Protocol(FAMILY) => {
                GenlMessage::parse(&m).and_then(|g| Event::parse(&g)).ok().and_then(|e| e.ifindex())
            }
            MessageKind::Protocol(16 | 17) => apwatch_core::rtnl::Link::parse(&m).ok().map(|l| l.ifindex),
            _ => None,
        };
        if let Some(i) = ifindex {
            p.push(Hint::Interface(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_read_the_same() {
        for buf in [START_AP.to_vec(), buffer(NL80211_MIX, 64)] {
            let a = apwatch(&buf);
            assert!(a > 0);
            assert_eq!(a, floor(&buf));
            assert_eq!(a, wl(&buf));
        }
    }

    /// The floor makes the same checks as apwatch, no fewer: every frame with any one byte
    /// changed (to 0, 0xff, or off by one) gets the same answer from both, malformed or not.
    #[test]
    fn the_floor_checks_what_apwatch_checks() {
        let mut differ = Vec::new();
        let mut dropped = 0;
        for (i, frame) in NL80211_MIX.iter().enumerate() {
            for pos in 0..frame.len() {
                let b = frame[pos];
                for v in [0, 0xff, b.wrapping_add(1), b.wrapping_sub(1)] {
                    let mut f = frame.to_vec();
                    f[pos] = v;
                    let (a, fl) = (apwatch(&f), floor(&f));
                    if a != fl {
                        differ.push((i, pos, v, a, fl));
                    }
                    dropped += usize::from(a == 0);
                }
            }
        }
        assert!(differ.is_empty(), "frame, byte, value, apwatch, floor: {differ:?}");
        assert!(dropped > 100, "the corruptions must reach the checks: {dropped} dropped");
    }
}
