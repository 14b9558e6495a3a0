//! The three decoders the benchmarks compare on the same bytes: apwatch-core, wl-nl80211, and a
//! minimal hand-written field walk (the floor: what no decoder can beat by much). Each returns a
//! checksum of what it read, so none of the work can be optimised away.

use apwatch_core::genl::GenlMessage;
use apwatch_core::netlink::{MessageKind, Messages};
use apwatch_core::nl80211::Event;
use apwatch_core::ByteOrder;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage as WlGenl;
use wl_nl80211::{Nl80211Attr, Nl80211Command, Nl80211Message};

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

/// Concatenates `n` messages (cycling) into one aligned receive buffer.
pub fn buffer(frames: &[&[u8]], n: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    for f in frames.iter().cycle().take(n) {
        buf.extend_from_slice(f);
        buf.resize((buf.len() + 3) & !3, 0);
    }
    buf
}

/// apwatch-core: typed events borrowing the buffer.
#[inline(never)]
pub fn apwatch(buf: &[u8]) -> u64 {
    let mut sum = 0u64;
    for m in Messages::new(buf, ByteOrder::Little).flatten() {
        if m.kind() != MessageKind::Protocol(FAMILY) {
            continue;
        }
        let Ok(ev) = GenlMessage::parse(&m).and_then(|g| Event::parse(&g)) else { continue };
        sum += u64::from(ev.ifindex().unwrap_or(0));
        if let Event::StartAp(e) = ev {
            sum += e.ssid.map_or(0, |s| s.as_bytes().len() as u64) + e.wdev.unwrap_or(0);
        }
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
                for a in &g.payload.attributes {
                    match a {
                        Nl80211Attr::IfIndex(i) => sum += u64::from(*i),
                        Nl80211Attr::SsidRaw(s) if g.payload.cmd == Nl80211Command::StartAp => sum += s.len() as u64,
                        Nl80211Attr::Wdev(w) if g.payload.cmd == Nl80211Command::StartAp => sum += *w,
                        _ => {}
                    }
                }
            }
        }
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    sum
}

/// The floor: the fewest reads that get the same answer, little-endian hard-coded, no types.
#[inline(never)]
pub fn floor(buf: &[u8]) -> u64 {
    let u16le = |b: &[u8], i: usize| b.get(i..i + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
    let u32le = |b: &[u8], i: usize| b.get(i..i + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let mut sum = 0u64;
    let mut off = 0usize;
    while off + 20 <= buf.len() {
        let len = u32le(buf, off) as usize;
        if len < 20 || off + len > buf.len() {
            break;
        }
        if u16le(buf, off + 4) == FAMILY {
            let start = buf[off + 16] == 15;
            let mut a = off + 20;
            while a + 4 <= off + len {
                let alen = u16le(buf, a) as usize;
                if alen < 4 || a + alen > off + len {
                    break;
                }
                match u16le(buf, a + 2) & 0x3fff {
                    3 => sum += u64::from(u32le(buf, a + 4)),
                    52 if start => sum += (alen - 4) as u64,
                    153 if start => sum += u64::from(u32le(buf, a + 4)) | u64::from(u32le(buf, a + 8)) << 32,
                    _ => {}
                }
                a += (alen + 3) & !3;
            }
        }
        off += (len + 3) & !3;
    }
    sum
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
}
