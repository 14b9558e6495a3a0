//! Bridge port VLANs over rtnetlink (family AF_BRIDGE): `struct bridge_vlan_info`, a port's VLAN
//! list from the RTM_GETLINK dump (`bridge vlan show`), and the requests that change it.
//!
//! The kernel reports each port (and each bridge itself, with its own ifindex as master) as one
//! RTM_NEWLINK whose IFLA_AF_SPEC holds one IFLA_BRIDGE_VLAN_INFO per VLAN; asked with
//! RTEXT_FILTER_BRVLAN_COMPRESSED (and in its notifications) it folds runs of VLANs with the same
//! flags into RANGE_BEGIN/RANGE_END pairs. Requests go to the port's master: no
//! IFLA_BRIDGE_FLAGS, as `bridge vlan add dev PORT` sends none (the kernel defaults to master).

use crate::attr::{self, Attr, Attrs};
use crate::netlink::{flags, Message};
use crate::rtnl::{af, ifla as link_ifla, kind, IFINFO_LEN};
use crate::writer::MessageWriter;
use crate::{ByteOrder, EncodeError, Error};

/// Link attributes this module adds to [`crate::rtnl::ifla`].
pub mod ifla {
    /// IFLA_AF_SPEC (nested): per-family data; for AF_BRIDGE, the VLAN list.
    pub const AF_SPEC: u16 = 26;
    /// IFLA_EXT_MASK (u32): which extra data a GETLINK wants (RTEXT_FILTER_*).
    pub const EXT_MASK: u16 = 29;
}

/// Attributes inside an AF_BRIDGE IFLA_AF_SPEC (IFLA_BRIDGE_*).
pub mod spec {
    /// IFLA_BRIDGE_FLAGS (u16, BRIDGE_FLAGS_MASTER / SELF): not sent; the kernel defaults to master.
    pub const FLAGS: u16 = 0;
    /// IFLA_BRIDGE_VLAN_INFO (`struct bridge_vlan_info`).
    pub const VLAN_INFO: u16 = 2;
}

/// `bridge_vlan_info.flags` (BRIDGE_VLAN_INFO_*).
pub mod vflag {
    /// Operate on the bridge device as well.
    pub const MASTER: u16 = 1 << 0;
    /// The port's PVID: untagged ingress lands in this VLAN. A port has at most one.
    pub const PVID: u16 = 1 << 1;
    /// Egress untagged.
    pub const UNTAGGED: u16 = 1 << 2;
    /// The first VLAN of a range; the next VLAN_INFO is its RANGE_END.
    pub const RANGE_BEGIN: u16 = 1 << 3;
    /// The last VLAN of a range.
    pub const RANGE_END: u16 = 1 << 4;
    /// A global bridge VLAN entry.
    pub const BRENTRY: u16 = 1 << 5;
    /// Options only: no create, delete or flag change.
    pub const ONLY_OPTS: u16 = 1 << 6;
}

/// IFLA_EXT_MASK values (RTEXT_FILTER_*).
pub mod ext {
    /// One VLAN_INFO per VLAN (what `bridge vlan show` asks).
    pub const BRVLAN: u32 = 1 << 1;
    /// Runs of VLANs with the same flags as RANGE_BEGIN/RANGE_END pairs (`bridge -c`).
    pub const BRVLAN_COMPRESSED: u32 = 1 << 2;
}

/// The lowest VLAN id a port can carry (0 means "no VLAN" in 802.1Q).
pub const VID_MIN: u16 = 1;
/// The highest (4095 is reserved).
pub const VID_MAX: u16 = 4094;
/// Size of `struct bridge_vlan_info`.
pub const VLAN_INFO_LEN: usize = 4;

mod field {
    use core::ops::Range;
    // struct bridge_vlan_info
    pub const FLAGS: Range<usize> = 0..2;
    pub const VID: Range<usize> = 2..4;
    // struct ifinfomsg
    pub const FAMILY: usize = 0;
    pub const INDEX: Range<usize> = 4..8;
}

/// Whether `vid` is one a port can be a member of (1..=4094).
pub fn is_valid_vid(vid: u16) -> bool {
    (VID_MIN..=VID_MAX).contains(&vid)
}

/// `struct bridge_vlan_info`: one IFLA_BRIDGE_VLAN_INFO value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanInfo {
    /// BRIDGE_VLAN_INFO_* ([`vflag`]); unknown bits are kept.
    pub flags: u16,
    /// The VLAN id.
    pub vid: u16,
}

impl VlanInfo {
    /// Decodes a 4-byte value; any other length is an error.
    pub fn parse(value: &[u8], order: ByteOrder) -> Result<Self, Error> {
        let bad = Error::BadAttributeValue { kind: spec::VLAN_INFO };
        if value.len() != VLAN_INFO_LEN {
            return Err(bad);
        }
        let u16_at = |r: core::ops::Range<usize>| {
            value.get(r).and_then(|b| <[u8; 2]>::try_from(b).ok()).map(|b| order.u16(b)).ok_or(bad)
        };
        Ok(VlanInfo { flags: u16_at(field::FLAGS)?, vid: u16_at(field::VID)? })
    }

    /// The 4 bytes of the value.
    pub fn emit(&self, order: ByteOrder) -> [u8; VLAN_INFO_LEN] {
        let [f0, f1] = order.u16_bytes(self.flags);
        let [v0, v1] = order.u16_bytes(self.vid);
        [f0, f1, v0, v1]
    }
}

/// A VLAN or a run of VLANs a port is a member of, with the same flags; range bits folded away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanRange {
    /// The first VLAN id.
    pub first: u16,
    /// The last VLAN id (`first` for a single VLAN).
    pub last: u16,
    /// BRIDGE_VLAN_INFO_* without RANGE_BEGIN/RANGE_END.
    pub flags: u16,
}

impl VlanRange {
    /// A single VLAN.
    pub fn single(vid: u16, flags: u16) -> Self {
        VlanRange { first: vid, last: vid, flags }
    }

    /// Untagged ingress lands here (the kernel never sends a PVID as part of a range).
    pub fn is_pvid(&self) -> bool {
        self.flags & vflag::PVID != 0
    }

    /// Egresses untagged.
    pub fn is_untagged(&self) -> bool {
        self.flags & vflag::UNTAGGED != 0
    }

    /// Whether `vid` is in the range.
    pub fn contains(&self, vid: u16) -> bool {
        (self.first..=self.last).contains(&vid)
    }
}

/// Walks a VLAN list, folding range pairs. Only built over a list [`VlanList::parse`] checked, so
/// it yields plain values; a malformed entry (impossible there) ends it.
#[derive(Clone, Debug)]
pub struct VlanRanges<'a> {
    attrs: Attrs<'a>,
    order: ByteOrder,
}

/// The next entry of `attrs`: `None` at the end, an error for a malformed one.
fn next_range(attrs: &mut Attrs<'_>, order: ByteOrder) -> Option<Result<VlanRange, Error>> {
    let bad = Error::BadAttributeValue { kind: spec::VLAN_INFO };
    let info = |a: Result<Attr<'_>, Error>| -> Result<VlanInfo, Error> {
        let v = VlanInfo::parse(a?.value(), order)?;
        if is_valid_vid(v.vid) {
            Ok(v)
        } else {
            Err(bad)
        }
    };
    loop {
        let a = attrs.next()?;
        if matches!(a, Ok(a) if a.kind() != spec::VLAN_INFO) {
            continue; // tunnel info and the like: not membership
        }
        let begin = match info(a) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let flags = begin.flags & !(vflag::RANGE_BEGIN | vflag::RANGE_END);
        if begin.flags & vflag::RANGE_END != 0 {
            return Some(Err(bad));
        }
        if begin.flags & vflag::RANGE_BEGIN == 0 {
            return Some(Ok(VlanRange::single(begin.vid, flags)));
        }
        // The kernel writes a range's two halves back to back; anything else is malformed.
        let end = match attrs.next() {
            Some(Ok(a)) if a.kind() == spec::VLAN_INFO => info(Ok(a)),
            Some(Err(e)) => Err(e),
            _ => Err(bad),
        };
        return Some(match end {
            Ok(end) if end.flags & vflag::RANGE_END != 0 && end.vid >= begin.vid => {
                Ok(VlanRange { first: begin.vid, last: end.vid, flags })
            }
            Ok(_) => Err(bad),
            Err(e) => Err(e),
        });
    }
}

impl Iterator for VlanRanges<'_> {
    type Item = VlanRange;

    fn next(&mut self) -> Option<VlanRange> {
        match next_range(&mut self.attrs, self.order)? {
            Ok(r) => Some(r),
            Err(_) => {
                self.attrs = Attrs::new(&[], self.order);
                None
            }
        }
    }
}

impl core::iter::FusedIterator for VlanRanges<'_> {}

/// A port's VLAN list: the value of an AF_BRIDGE IFLA_AF_SPEC, checked once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanList<'a> {
    area: &'a [u8],
    order: ByteOrder,
}

impl<'a> VlanList<'a> {
    /// Checks every entry of `area`: 4-byte values, ids 1..=4094, ranges as BEGIN then END
    /// (END not below BEGIN), no END alone.
    pub fn parse(area: &'a [u8], order: ByteOrder) -> Result<Self, Error> {
        let mut attrs = Attrs::new(area, order);
        while let Some(r) = next_range(&mut attrs, order) {
            r?;
        }
        Ok(VlanList { area, order })
    }

    /// A port with no VLAN (the kernel then sends no IFLA_AF_SPEC at all).
    pub fn empty(order: ByteOrder) -> Self {
        VlanList { area: &[], order }
    }

    /// The entries, in the kernel's order (ascending VLAN id).
    pub fn iter(&self) -> VlanRanges<'a> {
        VlanRanges { attrs: Attrs::new(self.area, self.order), order: self.order }
    }

    /// No VLAN at all: the port forwards nothing while the bridge filters VLANs.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The PVID, if any.
    pub fn pvid(&self) -> Option<u16> {
        self.iter().find(VlanRange::is_pvid).map(|r| r.first)
    }

    /// The flags of `vid` if the port is a member of it.
    pub fn flags_of(&self, vid: u16) -> Option<u16> {
        self.iter().find(|r| r.contains(vid)).map(|r| r.flags)
    }

    /// Whether the port carries exactly `vid`, as PVID and egress-untagged, and nothing else:
    /// what a rule with `option vlan` wants.
    pub fn is_only(&self, vid: u16) -> bool {
        let mut it = self.iter();
        let want = vflag::PVID | vflag::UNTAGGED;
        matches!(it.next(), Some(r) if r.first == vid && r.last == vid && r.flags & want == want) && it.next().is_none()
    }
}

/// One AF_BRIDGE RTM_NEWLINK (dump part or notification): a bridge port, or a bridge itself
/// (then `master` is its own ifindex), with its VLANs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BridgePort<'a> {
    /// The port's ifindex.
    pub ifindex: u32,
    /// Its name.
    pub ifname: Option<&'a [u8]>,
    /// The bridge it belongs to.
    pub master: Option<u32>,
    /// Its VLANs (empty when the kernel sent no IFLA_AF_SPEC).
    pub vlans: VlanList<'a>,
}

impl<'a> BridgePort<'a> {
    /// Decodes an RTM_NEWLINK/DELLINK (or a SETLINK request); `Ok(None)` for a family other
    /// than AF_BRIDGE (the link's own messages). The whole VLAN list is checked here.
    pub fn parse(msg: &Message<'a>) -> Result<Option<Self>, Error> {
        if !matches!(msg.header.kind, kind::NEWLINK | kind::DELLINK | kind::SETLINK) {
            return Err(Error::UnexpectedMessage);
        }
        let p = msg.payload;
        let family = *p.get(field::FAMILY).ok_or(Error::Truncated)?;
        let index = p.get(field::INDEX).and_then(|b| <[u8; 4]>::try_from(b).ok()).ok_or(Error::Truncated)?;
        let attrs = p.get(IFINFO_LEN..).ok_or(Error::Truncated)?;
        if family != af::BRIDGE {
            return Ok(None);
        }
        let order = msg.order;
        let mut port =
            BridgePort { ifindex: order.u32(index), ifname: None, master: None, vlans: VlanList::empty(order) };
        attr::for_each(attrs, order, |a| {
            match a.kind() {
                link_ifla::IFNAME => port.ifname = Some(a.cstr()?),
                link_ifla::MASTER => port.master = Some(a.u32()?),
                ifla::AF_SPEC => port.vlans = VlanList::parse(a.value(), order)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(Some(port))
    }

    /// The bridge's own entry (its VLANs are those the bridge device itself, and so its VLAN
    /// uppers like `br-lan.20`, takes part in).
    pub fn is_bridge(&self) -> bool {
        self.master == Some(self.ifindex)
    }
}

fn port_request<'b>(
    buf: &'b mut [u8],
    order: ByteOrder,
    kind: u16,
    fl: u16,
    seq: u32,
    ifindex: u32,
) -> Result<MessageWriter<'b>, EncodeError> {
    let mut w = MessageWriter::new(buf, order, kind, fl, seq)?;
    w.bytes(&[af::BRIDGE, 0, 0, 0])?;
    w.bytes(&order.u32_bytes(ifindex))?;
    w.bytes(&[0; 8])?; // ifi_flags, ifi_change
    Ok(w)
}

/// RTM_SETLINK (AF_BRIDGE): make port `ifindex` a member of `vid`; `flags` may hold
/// [`vflag::PVID`] and [`vflag::UNTAGGED`]. A member already is updated to these flags; a new
/// PVID replaces the old one (the old VLAN stays a member). `ValueTooLarge` for a vid outside
/// 1..=4094 or other flags.
pub fn add_vlan(
    buf: &mut [u8],
    order: ByteOrder,
    seq: u32,
    ifindex: u32,
    vid: u16,
    flags: u16,
) -> Result<usize, EncodeError> {
    if !is_valid_vid(vid) || flags & !(vflag::PVID | vflag::UNTAGGED) != 0 {
        return Err(EncodeError::ValueTooLarge);
    }
    let mut w = port_request(buf, order, kind::SETLINK, flags::REQUEST | flags::ACK, seq, ifindex)?;
    let spec = w.nest_start(ifla::AF_SPEC)?;
    w.attr(spec::VLAN_INFO, &VlanInfo { flags, vid }.emit(order))?;
    w.nest_end(spec)?;
    w.finish()
}

/// RTM_DELLINK (AF_BRIDGE): take port `ifindex` out of VLANs `first..=last` (one VLAN_INFO,
/// or a RANGE_BEGIN/RANGE_END pair). The family matters: the same message with AF_UNSPEC
/// deletes the link itself. `ValueTooLarge` for ids outside 1..=4094 or `first > last`.
pub fn del_vlans(
    buf: &mut [u8],
    order: ByteOrder,
    seq: u32,
    ifindex: u32,
    first: u16,
    last: u16,
) -> Result<usize, EncodeError> {
    if !is_valid_vid(first) || !is_valid_vid(last) || first > last {
        return Err(EncodeError::ValueTooLarge);
    }
    let mut w = port_request(buf, order, kind::DELLINK, flags::REQUEST | flags::ACK, seq, ifindex)?;
    let spec = w.nest_start(ifla::AF_SPEC)?;
    if first == last {
        w.attr(spec::VLAN_INFO, &VlanInfo { flags: 0, vid: first }.emit(order))?;
    } else {
        w.attr(spec::VLAN_INFO, &VlanInfo { flags: vflag::RANGE_BEGIN, vid: first }.emit(order))?;
        w.attr(spec::VLAN_INFO, &VlanInfo { flags: vflag::RANGE_END, vid: last }.emit(order))?;
    }
    w.nest_end(spec)?;
    w.finish()
}

/// RTM_GETLINK dump (AF_BRIDGE) of every bridge port and bridge with its VLANs: `ext_mask` is
/// [`ext::BRVLAN`] (what `bridge -j vlan show` asks) or [`ext::BRVLAN_COMPRESSED`] (ranges; a
/// port in many VLANs then still fits one message).
pub fn get_port_vlans(buf: &mut [u8], order: ByteOrder, seq: u32, ext_mask: u32) -> Result<usize, EncodeError> {
    let mut w = port_request(buf, order, kind::GETLINK, flags::REQUEST | flags::DUMP, seq, 0)?;
    w.attr_u32(ifla::EXT_MASK, ext_mask)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{MessageKind, Messages};
    use std::vec::Vec;

    const LE: ByteOrder = ByteOrder::Little;

    macro_rules! rec {
        ($file:literal) => {
            include_bytes!(concat!("../../tests/data/brvlan/", $file)) as &[u8]
        };
    }

    fn port(frame: &[u8]) -> BridgePort<'_> {
        let (m, rest) = Message::parse(frame, LE).unwrap();
        assert!(rest.is_empty());
        BridgePort::parse(&m).unwrap().unwrap()
    }

    fn ranges(p: &BridgePort<'_>) -> Vec<(u16, u16, u16)> {
        p.vlans.iter().map(|r| (r.first, r.last, r.flags)).collect()
    }

    const PU: u16 = vflag::PVID | vflag::UNTAGGED;
    const U: u16 = vflag::UNTAGGED;

    #[test]
    fn the_recorded_dump() {
        // topology.txt: br-lan 2 (vids 1 PVID untagged, 10, 20 self), br-plain 3, p1 4, va 6
        let br = port(rec!("dump-brvlan-001.bin"));
        assert_eq!((br.ifindex, br.ifname, br.master), (2, Some(&b"br-lan"[..]), Some(2)));
        assert!(br.is_bridge());
        assert_eq!(ranges(&br), [(1, 1, PU), (10, 10, 0), (20, 20, 0)]);

        let plain = port(rec!("dump-brvlan-002.bin"));
        assert_eq!((plain.ifname, plain.vlans.pvid()), (Some(&b"br-plain"[..]), Some(1)));

        let p1 = port(rec!("dump-brvlan-003.bin"));
        assert_eq!((p1.ifindex, p1.ifname, p1.master), (4, Some(&b"p1"[..]), Some(2)));
        assert!(!p1.is_bridge());
        // the kernel's default PVID 1, given to every new port
        assert_eq!(ranges(&p1), [(1, 1, PU)]);
        assert!(p1.vlans.is_only(1) && !p1.vlans.is_only(20));

        // `bridge vlan add dev va vid 10 pvid untagged` moved the PVID but left 1 egress-untagged:
        // the port carries both VLANs untagged (why vlanplan deletes before it adds)
        let va = port(rec!("dump-brvlan-004.bin"));
        let mut want = std::vec![(1, 1, U), (10, 10, PU)];
        want.extend((100..=110).map(|v| (v, v, 0)));
        want.push((200, 200, 0));
        assert_eq!(ranges(&va), want);
        assert_eq!((va.vlans.pvid(), va.vlans.flags_of(1), va.vlans.flags_of(105)), (Some(10), Some(U), Some(0)));
        assert_eq!(va.vlans.flags_of(20), None);

        let (done, _) = Message::parse(rec!("dump-brvlan-005.bin"), LE).unwrap();
        assert_eq!(done.kind(), MessageKind::Done);
    }

    #[test]
    fn the_compressed_dump_has_ranges() {
        let va = port(rec!("dump-compressed-004.bin"));
        assert_eq!(ranges(&va), [(1, 1, U), (10, 10, PU), (100, 110, 0), (200, 200, 0)]);
        // the same membership as the plain dump, entry for entry once ranges are expanded
        let expand = |p: &BridgePort<'_>| -> Vec<(u16, u16)> {
            p.vlans.iter().flat_map(|r| (r.first..=r.last).map(move |v| (v, r.flags))).collect()
        };
        assert_eq!(expand(&va), expand(&port(rec!("dump-brvlan-004.bin"))));
        for i in ["001", "002", "003"] {
            let (a, b) = match i {
                "001" => (rec!("dump-compressed-001.bin"), rec!("dump-brvlan-001.bin")),
                "002" => (rec!("dump-compressed-002.bin"), rec!("dump-brvlan-002.bin")),
                _ => (rec!("dump-compressed-003.bin"), rec!("dump-brvlan-003.bin")),
            };
            assert_eq!(ranges(&port(a)), ranges(&port(b)), "{i}");
        }
    }

    #[test]
    fn notifications_and_the_state_after() {
        // RTNLGRP_LINK notifications, one per change (seq 0, pid 0)
        let ev = port(rec!("add-p1-20-event-001.bin"));
        assert_eq!((ev.ifindex, ranges(&ev)), (4, std::vec![(1, 1, U), (20, 20, PU)]));
        let ev = port(rec!("del-p1-1-event-001.bin"));
        assert!(ev.vlans.is_only(20));
        let ev = port(rec!("del-va-range-event-001.bin"));
        assert_eq!(ranges(&ev), [(1, 1, U), (10, 10, PU), (200, 200, 0)]);
        // and the dump after them agrees (after.json is `bridge -j vlan show` of the same moment)
        assert!(port(rec!("dump-after-003.bin")).vlans.is_only(20));
        assert_eq!(ranges(&port(rec!("dump-after-004.bin"))), [(1, 1, U), (10, 10, PU), (200, 200, 0)]);
    }

    #[test]
    fn requests_match_the_recorded_ones() {
        // brvlan_rec.py lays requests out as these encoders do (seq 1; p1 is 4, va is 6)
        let mut buf = [0u8; 64];
        let n = add_vlan(&mut buf, LE, 1, 4, 20, PU).unwrap();
        assert_eq!(&buf[..n], rec!("add-p1-20-req.bin"));
        let n = del_vlans(&mut buf, LE, 1, 4, 1, 1).unwrap();
        assert_eq!(&buf[..n], rec!("del-p1-1-req.bin"));
        let n = del_vlans(&mut buf, LE, 1, 6, 100, 110).unwrap();
        assert_eq!(&buf[..n], rec!("del-va-range-req.bin"));
        let n = get_port_vlans(&mut buf, LE, 1, ext::BRVLAN).unwrap();
        assert_eq!(&buf[..n], rec!("dump-brvlan-req.bin"));
        let n = get_port_vlans(&mut buf, LE, 1, ext::BRVLAN_COMPRESSED).unwrap();
        assert_eq!(&buf[..n], rec!("dump-compressed-req.bin"));
        // and the kernel answered them: ACK, ACK, ACK; the dumps ended with DONE
        for ack in [rec!("add-p1-20-ack.bin"), rec!("del-p1-1-ack.bin"), rec!("del-va-range-ack.bin")] {
            let (m, _) = Message::parse(ack, LE).unwrap();
            assert_eq!(m.error().unwrap().errno, 0, "{m:?}");
        }
        // vid 4095 (which the encoder refuses) is EINVAL from the kernel too
        let (m, _) = Message::parse(rec!("add-bad-4095-ack.bin"), LE).unwrap();
        assert_eq!(m.error().unwrap().errno, 22);
        assert_eq!(add_vlan(&mut buf, LE, 1, 4, 4095, PU), Err(EncodeError::ValueTooLarge));
    }

    #[test]
    fn requests_round_trip() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 64];
            let n = add_vlan(&mut buf, order, 7, 9, 20, PU).unwrap();
            let (m, rest) = Message::parse(&buf[..n], order).unwrap();
            assert!(rest.is_empty());
            assert_eq!((m.header.kind, m.header.flags, m.header.seq), (kind::SETLINK, flags::REQUEST | flags::ACK, 7));
            let p = BridgePort::parse(&m).unwrap().unwrap();
            assert_eq!((p.ifindex, ranges(&p)), (9, std::vec![(20, 20, PU)]));

            let n = del_vlans(&mut buf, order, 8, 9, 5, 4094).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.kind, kind::DELLINK);
            // never AF_UNSPEC: that DELLINK would delete the link
            assert_eq!(m.payload[0], af::BRIDGE);
            let p = BridgePort::parse(&m).unwrap().unwrap();
            assert_eq!(ranges(&p), [(5, 4094, 0)]);

            let n = get_port_vlans(&mut buf, order, 9, ext::BRVLAN).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!((m.header.kind, m.header.flags, n), (kind::GETLINK, flags::REQUEST | flags::DUMP, 40));
            let mask = Attrs::new(&m.payload[IFINFO_LEN..], order).find(ifla::EXT_MASK).unwrap().unwrap();
            assert_eq!(mask.u32(), Ok(ext::BRVLAN));

            let v = VlanInfo { flags: 0xbeef, vid: 0x0102 };
            assert_eq!(VlanInfo::parse(&v.emit(order), order), Ok(v));
        }
    }

    #[test]
    fn bad_requests_and_short_buffers() {
        let mut buf = [0u8; 64];
        for (vid, flags) in [(0, PU), (4095, PU), (20, vflag::RANGE_BEGIN), (20, vflag::MASTER)] {
            assert_eq!(add_vlan(&mut buf, LE, 1, 4, vid, flags), Err(EncodeError::ValueTooLarge), "{vid} {flags}");
        }
        for (a, b) in [(0, 1), (1, 4095), (20, 10)] {
            assert_eq!(del_vlans(&mut buf, LE, 1, 4, a, b), Err(EncodeError::ValueTooLarge));
        }
        for len in 0..52 {
            let mut short = std::vec![0u8; len];
            assert!(del_vlans(&mut short, LE, 1, 6, 100, 110).is_err());
            let _ = add_vlan(&mut short, LE, 1, 4, 20, PU);
            let _ = get_port_vlans(&mut short, LE, 1, ext::BRVLAN);
        }
        assert_eq!(add_vlan(&mut [0u8; 43], LE, 1, 4, 20, PU), Err(EncodeError::BufferTooSmall));
        assert_eq!(add_vlan(&mut [0u8; 44], LE, 1, 4, 20, PU), Ok(44));
    }

    fn list(entries: &[(u16, u16)]) -> Vec<u8> {
        // (flags, vid) VLAN_INFO attributes, little-endian
        entries.iter().flat_map(|&(f, v)| [8, 0, 2, 0, f as u8, (f >> 8) as u8, v as u8, (v >> 8) as u8]).collect()
    }

    #[test]
    fn malformed_vlan_lists_are_errors() {
        let bad = Err(Error::BadAttributeValue { kind: spec::VLAN_INFO });
        let (b, e) = (vflag::RANGE_BEGIN, vflag::RANGE_END);
        for entries in [
            &[(b, 5)][..],        // a BEGIN with no END
            &[(e, 5)],            // an END alone
            &[(b, 9), (e, 5)],    // an END below its BEGIN
            &[(b, 5), (0, 9)],    // a BEGIN followed by a single VLAN
            &[(b, 5), (b, 9)],    // two BEGINs
            &[(0, 0)],            // vid 0
            &[(0, 4095)],         // vid 4095
            &[(b, 5), (e, 4095)], // a range past 4094
        ] {
            assert_eq!(VlanList::parse(&list(entries), LE).map(|_| ()), bad, "{entries:?}");
        }
        // a value of the wrong size, a truncated attribute
        assert_eq!(VlanList::parse(&[6, 0, 2, 0, 1, 0, 0, 0], LE).map(|_| ()), bad);
        assert_eq!(VlanList::parse(&[12, 0, 2, 0, 0, 0, 5, 0], LE).map(|_| ()), Err(Error::BadAttributeLength));
        // other attributes (IFLA_BRIDGE_VLAN_TUNNEL_INFO) are skipped, also between entries
        let mut area = list(&[(0, 5)]);
        area.extend_from_slice(&[8, 0, 3, 0x80, 4, 0, 1, 0]);
        area.extend(list(&[(b, 7), (e, 8)]));
        let l = VlanList::parse(&area, LE).unwrap();
        assert_eq!(l.iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(), [(5, 5), (7, 8)]);
        // a tunnel attribute between BEGIN and END breaks the pair
        let mut area = list(&[(b, 7)]);
        area.extend_from_slice(&[8, 0, 3, 0x80, 4, 0, 1, 0]);
        area.extend(list(&[(e, 8)]));
        assert_eq!(VlanList::parse(&area, LE).map(|_| ()), bad);
        assert!(VlanList::parse(&[], LE).unwrap().is_empty());
        assert_eq!(VlanInfo::parse(&[1, 2, 3], LE), Err(Error::BadAttributeValue { kind: spec::VLAN_INFO }));
    }

    #[test]
    fn malformed_messages_are_errors() {
        // every truncation of a recorded part: an error or a shorter valid message, never a panic
        let frame = rec!("dump-compressed-004.bin");
        for cut in 0..frame.len() {
            let mut f = frame[..cut].to_vec();
            if f.len() >= 4 {
                f[..4].copy_from_slice(&(cut as u32).to_le_bytes());
            }
            if let Ok((m, _)) = Message::parse(&f, LE) {
                let _ = BridgePort::parse(&m).map(|p| p.map(|p| p.vlans.iter().count()));
            }
        }
        // the AF_SPEC nest's length pointing past the message
        let mut f = frame.to_vec();
        let at = f.windows(4).position(|w| w == [0x2c, 0, 0x1a, 0]).unwrap();
        f[at] = 0xff;
        let (m, _) = Message::parse(&f, LE).unwrap();
        assert_eq!(BridgePort::parse(&m), Err(Error::BadAttributeLength));
        // a short ifinfomsg, the link family, and other message types
        let short = [20, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0];
        assert_eq!(BridgePort::parse(&Message::parse(&short, LE).unwrap().0), Err(Error::Truncated));
        let (m, _) = Message::parse(rec!("dump-links-002.bin"), LE).unwrap();
        assert_eq!(BridgePort::parse(&m), Ok(None));
        let (m, _) = Message::parse(rec!("dump-brvlan-005.bin"), LE).unwrap();
        assert_eq!(BridgePort::parse(&m), Err(Error::UnexpectedMessage));
    }

    #[test]
    fn a_whole_dump_in_one_buffer() {
        let mut buf = Vec::new();
        for f in [
            rec!("dump-compressed-001.bin"),
            rec!("dump-compressed-002.bin"),
            rec!("dump-compressed-003.bin"),
            rec!("dump-compressed-004.bin"),
            rec!("dump-compressed-005.bin"),
        ] {
            buf.extend_from_slice(f);
        }
        let mut ports = Vec::new();
        for m in Messages::new(&buf, LE) {
            let m = m.unwrap();
            if m.kind() == MessageKind::Done {
                break;
            }
            let p = BridgePort::parse(&m).unwrap().unwrap();
            ports.push((p.ifindex, p.master, p.vlans.pvid()));
        }
        assert_eq!(
            ports,
            [(2, Some(2), Some(1)), (3, Some(3), Some(1)), (4, Some(2), Some(1)), (6, Some(2), Some(10))]
        );
    }
}
