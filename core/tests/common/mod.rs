//! Shared by core's integration tests: the recorded frames and a decoder that touches every
//! field, as the agent does.
#![allow(dead_code)]

use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{Message, MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::rtnl::{self, Link};
use apwatch_core::ByteOrder;

macro_rules! frames {
    ($($file:literal),* $(,)?) => { &[$(include_bytes!(concat!("../../../tests/data/frames/", $file)) as &[u8]),*] };
}

/// Kernel events and replies of every kind apwatch decodes, little-endian (x86 captures).
pub const FRAMES: &[&[u8]] = frames![
    "start-ap-foo-005.bin",
    "restart-bar-004.bin",
    "ssid-32bytes-004.bin",
    "ssid-nonutf8-004.bin",
    "two-bss-011.bin",
    "ifdown-007.bin",
    "station-009.bin",
    "station-014.bin",
    "two-bss-020.bin",
    "start-ap-foo-001.bin",
    "two-bss-017.bin",
    "get-interface-reply-ap-foo.bin",
    "genl-ctrl-nl80211.bin",
    "start-ap-foo-006.bin",
    "bridge-dhcp-013.bin",
    "bridge-dhcp-011.bin",
    "two-bss-018.bin",
    "start-ap-foo-007.bin",
    "start-ap-foo-004.bin",
];

/// Concatenates `n` frames (cycling through `frames`) into one receive buffer, aligned.
pub fn buffer(frames: &[&[u8]], n: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    for f in frames.iter().cycle().take(n) {
        buf.extend_from_slice(f);
        buf.resize((buf.len() + 3) & !3, 0);
    }
    buf
}

/// What one pass of decoding yields, summed up so the optimiser keeps every field.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Tally {
    pub messages: u32,
    pub start_ap: u32,
    pub links: u32,
    pub errors: u32,
    pub checksum: u64,
}

/// Decodes everything in `buf` the way the agent does (nl80211 family `family`).
pub fn decode_all(buf: &[u8], order: ByteOrder, family: u16, t: &mut Tally) {
    for m in Messages::new(buf, order) {
        let Ok(m) = m else {
            t.errors += 1;
            continue;
        };
        t.messages += 1;
        decode_one(&m, family, t);
    }
}

pub fn decode_one(m: &Message<'_>, family: u16, t: &mut Tally) {
    match m.kind() {
        MessageKind::Protocol(k) if k == family => match GenlMessage::parse(m).and_then(|g| Event::parse(&g)) {
            Ok(Event::StartAp(e)) => {
                t.start_ap += 1;
                t.checksum += u64::from(e.ifindex) + e.ssid.map_or(0, |s| s.as_bytes().len() as u64);
            }
            Ok(e) => t.checksum += u64::from(e.ifindex().unwrap_or(0)),
            Err(_) => t.errors += 1,
        },
        MessageKind::Protocol(rtnl::kind::NEWLINK | rtnl::kind::DELLINK) => match Link::parse(m) {
            Ok(l) => {
                t.links += 1;
                t.checksum +=
                    u64::from(l.ifindex) + u64::from(l.master().unwrap_or(0)) + l.ifname.map_or(0, |n| n.len() as u64);
            }
            Err(_) => t.errors += 1,
        },
        _ => {}
    }
}
