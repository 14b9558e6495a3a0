//! rtnetlink links and IPv4 addresses: RTM_NEWLINK/DELLINK (ifinfomsg + the attributes apwatch
//! needs: name, master, operstate, carrier, kind), RTM_NEWADDR, and the link requests apwatch
//! sends (dump, set master, create a bridge).

use nom::number::complete::u8 as nom_u8;
use nom::{IResult, Parser};

use crate::attr::Attrs;
use crate::endian::ByteOrder;
use crate::error::{EncodeError, Error};
use crate::netlink::{flags, Message};
use crate::writer::MessageWriter;

/// Message types.
pub mod kind {
    /// RTM_NEWLINK
    pub const NEWLINK: u16 = 16;
    /// RTM_DELLINK
    pub const DELLINK: u16 = 17;
    /// RTM_GETLINK
    pub const GETLINK: u16 = 18;
    /// RTM_SETLINK
    pub const SETLINK: u16 = 19;
    /// RTM_NEWADDR
    pub const NEWADDR: u16 = 20;
    /// RTM_DELADDR
    pub const DELADDR: u16 = 21;
    /// RTM_GETADDR
    pub const GETADDR: u16 = 22;
}

/// Link attributes (IFLA_*).
pub mod ifla {
    /// IFLA_IFNAME (string)
    pub const IFNAME: u16 = 3;
    /// IFLA_MASTER (u32 ifindex; 0 detaches)
    pub const MASTER: u16 = 10;
    /// IFLA_OPERSTATE (u8, RFC 2863)
    pub const OPERSTATE: u16 = 16;
    /// IFLA_LINKINFO (nested)
    pub const LINKINFO: u16 = 18;
    /// IFLA_CARRIER (u8)
    pub const CARRIER: u16 = 33;
    /// IFLA_INFO_KIND (string), inside LINKINFO
    pub const INFO_KIND: u16 = 1;
}

/// Address attributes (IFA_*).
pub mod ifa {
    /// IFA_ADDRESS
    pub const ADDRESS: u16 = 1;
    /// IFA_LOCAL
    pub const LOCAL: u16 = 2;
}

/// Interface flags (IFF_*).
pub mod iff {
    /// IFF_UP: administratively up.
    pub const UP: u32 = 0x1;
    /// IFF_LOWER_UP: carrier.
    pub const LOWER_UP: u32 = 0x1_0000;
}

/// Address families.
pub mod af {
    /// AF_UNSPEC
    pub const UNSPEC: u8 = 0;
    /// AF_INET
    pub const INET: u8 = 2;
    /// AF_BRIDGE: the bridge's view of a port.
    pub const BRIDGE: u8 = 7;
}

/// Multicast groups (RTNLGRP_*), for NETLINK_ADD_MEMBERSHIP.
pub mod group {
    /// RTNLGRP_LINK
    pub const LINK: u32 = 1;
    /// RTNLGRP_IPV4_IFADDR
    pub const IPV4_IFADDR: u32 = 5;
}

/// Size of `struct ifinfomsg`.
pub const IFINFO_LEN: usize = 16;
/// Size of `struct ifaddrmsg`.
pub const IFADDR_LEN: usize = 8;
/// The longest interface name (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// A link as RTM_NEWLINK/DELLINK describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Link<'a> {
    /// AF_UNSPEC for the link itself, AF_BRIDGE for a bridge's port notification.
    pub family: u8,
    /// The ifindex.
    pub ifindex: u32,
    /// IFF_* flags.
    pub flags: u32,
    /// The name.
    pub ifname: Option<&'a [u8]>,
    /// The master (bridge) ifindex; absent or 0 when none.
    pub master: Option<u32>,
    /// RFC 2863 operational state (6 = up).
    pub operstate: Option<u8>,
    /// Carrier.
    pub carrier: Option<u8>,
    /// IFLA_INFO_KIND, e.g. "bridge".
    pub kind: Option<&'a [u8]>,
}

fn ifinfo(buf: &[u8], order: ByteOrder) -> IResult<&[u8], (u8, u32, u32)> {
    let (rest, (family, _pad, _type, index, flags, _change)) =
        (nom_u8, nom_u8, order.p_u16(), order.p_u32(), order.p_u32(), order.p_u32()).parse(buf)?;
    Ok((rest, (family, index, flags)))
}

impl<'a> Link<'a> {
    /// Decodes RTM_NEWLINK / RTM_DELLINK (or a SETLINK request).
    pub fn parse(msg: &Message<'a>) -> Result<Self, Error> {
        if !matches!(msg.header.kind, kind::NEWLINK | kind::DELLINK | kind::SETLINK) {
            return Err(Error::UnexpectedMessage);
        }
        let (attrs, (family, ifindex, flags)) = ifinfo(msg.payload, msg.order).map_err(|_| Error::Truncated)?;
        let mut link =
            Link { family, ifindex, flags, ifname: None, master: None, operstate: None, carrier: None, kind: None };
        for a in Attrs::new(attrs, msg.order) {
            let a = a?;
            match a.kind() {
                ifla::IFNAME => link.ifname = Some(a.cstr()?),
                ifla::MASTER => link.master = Some(a.u32()?),
                ifla::OPERSTATE => link.operstate = Some(a.u8()?),
                ifla::CARRIER => link.carrier = Some(a.u8()?),
                ifla::LINKINFO => {
                    if let Some(k) = a.nested().find(ifla::INFO_KIND)? {
                        link.kind = Some(k.cstr()?);
                    }
                }
                _ => {}
            }
        }
        Ok(link)
    }

    /// Administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & iff::UP != 0
    }

    /// Has carrier (IFF_LOWER_UP).
    pub fn has_carrier(&self) -> bool {
        self.flags & iff::LOWER_UP != 0
    }

    /// The master ifindex, with 0 meaning none.
    pub fn master(&self) -> Option<u32> {
        self.master.filter(|&m| m != 0)
    }
}

/// An IPv4 address of a link (RTM_NEWADDR, AF_INET).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Address {
    /// The link.
    pub ifindex: u32,
    /// The prefix length.
    pub prefix_len: u8,
    /// The address (IFA_LOCAL, else IFA_ADDRESS).
    pub addr: [u8; 4],
}

impl Address {
    /// Decodes an RTM_NEWADDR; `Ok(None)` for a family other than IPv4.
    pub fn parse(msg: &Message<'_>) -> Result<Option<Self>, Error> {
        if !matches!(msg.header.kind, kind::NEWADDR | kind::DELADDR) {
            return Err(Error::UnexpectedMessage);
        }
        let r: IResult<&[u8], (u8, u8, u8, u8, u32)> =
            (nom_u8, nom_u8, nom_u8, nom_u8, msg.order.p_u32()).parse(msg.payload);
        let (attrs, (family, prefix_len, _flags, _scope, ifindex)) = r.map_err(|_| Error::Truncated)?;
        if family != af::INET {
            return Ok(None);
        }
        let (mut local, mut address) = (None, None);
        for a in Attrs::new(attrs, msg.order) {
            let a = a?;
            let v = || <[u8; 4]>::try_from(a.value()).map_err(|_| Error::BadAttributeValue { kind: a.kind() });
            match a.kind() {
                ifa::LOCAL => local = Some(v()?),
                ifa::ADDRESS => address = Some(v()?),
                _ => {}
            }
        }
        let addr = local.or(address).ok_or(Error::MissingAttribute { kind: ifa::LOCAL })?;
        Ok(Some(Address { ifindex, prefix_len, addr }))
    }
}

#[allow(clippy::too_many_arguments)] // the ifinfomsg fields, spelled out once
fn link_request<'b>(
    buf: &'b mut [u8],
    order: ByteOrder,
    kind: u16,
    fl: u16,
    seq: u32,
    ifindex: u32,
    flags: u32,
    change: u32,
) -> Result<MessageWriter<'b>, EncodeError> {
    let mut w = MessageWriter::new(buf, order, kind, fl, seq)?;
    w.bytes(&[af::UNSPEC, 0, 0, 0])?;
    w.bytes(&order.u32_bytes(ifindex))?;
    w.bytes(&order.u32_bytes(flags))?;
    w.bytes(&order.u32_bytes(change))?;
    Ok(w)
}

/// RTM_GETLINK dump of all links.
pub fn get_links(buf: &mut [u8], order: ByteOrder, seq: u32) -> Result<usize, EncodeError> {
    link_request(buf, order, kind::GETLINK, flags::REQUEST | flags::DUMP, seq, 0, 0, 0)?.finish()
}

/// RTM_GETLINK of one link by ifindex, answered by one RTM_NEWLINK and an ACK (so the reply
/// has an end, like a dump's DONE).
pub fn get_link(buf: &mut [u8], order: ByteOrder, seq: u32, ifindex: u32) -> Result<usize, EncodeError> {
    link_request(buf, order, kind::GETLINK, flags::REQUEST | flags::ACK, seq, ifindex, 0, 0)?.finish()
}

/// RTM_SETLINK IFLA_MASTER: make `ifindex` a port of `master` (0 detaches it).
pub fn set_master(buf: &mut [u8], order: ByteOrder, seq: u32, ifindex: u32, master: u32) -> Result<usize, EncodeError> {
    let mut w = link_request(buf, order, kind::SETLINK, flags::REQUEST | flags::ACK, seq, ifindex, 0, 0)?;
    w.attr_u32(ifla::MASTER, master)?;
    w.finish()
}

/// RTM_SETLINK bringing `ifindex` administratively up.
pub fn set_up(buf: &mut [u8], order: ByteOrder, seq: u32, ifindex: u32) -> Result<usize, EncodeError> {
    link_request(buf, order, kind::SETLINK, flags::REQUEST | flags::ACK, seq, ifindex, iff::UP, iff::UP)?.finish()
}

/// RTM_NEWLINK creating bridge `name`, administratively up. Fails with EEXIST if it exists.
pub fn new_bridge(buf: &mut [u8], order: ByteOrder, seq: u32, name: &[u8]) -> Result<usize, EncodeError> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(EncodeError::ValueTooLarge);
    }
    let fl = flags::REQUEST | flags::ACK | flags::CREATE | flags::EXCL;
    let mut w = link_request(buf, order, kind::NEWLINK, fl, seq, 0, iff::UP, iff::UP)?;
    w.attr_str(ifla::IFNAME, name)?;
    let info = w.nest_start(ifla::LINKINFO)?;
    w.attr_str(ifla::INFO_KIND, b"bridge")?;
    w.nest_end(info)?;
    w.finish()
}

/// RTM_GETADDR dump of IPv4 addresses.
pub fn get_addrs(buf: &mut [u8], order: ByteOrder, seq: u32) -> Result<usize, EncodeError> {
    let mut w = MessageWriter::new(buf, order, kind::GETADDR, flags::REQUEST | flags::DUMP, seq)?;
    w.bytes(&[af::INET, 0, 0, 0, 0, 0, 0, 0])?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    const LE: ByteOrder = ByteOrder::Little;

    fn link(frame: &[u8]) -> Link<'_> {
        Link::parse(&Message::parse(frame, LE).unwrap().0).unwrap()
    }

    #[test]
    fn links_from_captures() {
        let l = link(testdata::NEWLINK_WLAN0_UP);
        assert_eq!((l.family, l.ifindex, l.ifname), (af::UNSPEC, 2, Some(&b"wlan0"[..])));
        assert!(l.is_up() && l.has_carrier());
        assert_eq!((l.operstate, l.carrier, l.master()), (Some(6), Some(1), None));

        let l = link(testdata::NEWLINK_WLAN0_BRIDGED);
        assert_eq!(l.master(), Some(7));

        let l = link(testdata::NEWLINK_BRIDGE_PORT);
        assert_eq!((l.family, l.master()), (af::BRIDGE, Some(7)));

        let l = link(testdata::NEWLINK_BR_LAN);
        assert_eq!((l.ifname, l.kind), (Some(&b"br-lan"[..]), Some(&b"bridge"[..])));

        let l = link(testdata::NEWLINK_WLAN0_DOWN);
        assert!(!l.is_up() && !l.has_carrier());

        let (m, _) = Message::parse(testdata::DELLINK_WLAN0_1, LE).unwrap();
        assert_eq!(m.header.kind, kind::DELLINK);
        assert_eq!(Link::parse(&m).unwrap().ifname, Some(&b"wlan0-1"[..]));
    }

    #[test]
    fn requests_round_trip() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 128];
            let n = set_master(&mut buf, order, 3, 2, 7).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.flags, flags::REQUEST | flags::ACK);
            let l = Link::parse(&m).unwrap();
            assert_eq!((l.ifindex, l.master), (2, Some(7)));

            let n = set_master(&mut buf, order, 3, 2, 0).unwrap();
            let l = Link::parse(&Message::parse(&buf[..n], order).unwrap().0).unwrap();
            assert_eq!((l.master, l.master()), (Some(0), None));

            let n = new_bridge(&mut buf, order, 4, b"br-guest").unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.kind, kind::NEWLINK);
            assert_ne!(m.header.flags & flags::CREATE, 0);
            let l = Link::parse(&m).unwrap();
            assert_eq!((l.ifname, l.kind, l.is_up()), (Some(&b"br-guest"[..]), Some(&b"bridge"[..]), true));

            let n = set_up(&mut buf, order, 5, 9).unwrap();
            let l = Link::parse(&Message::parse(&buf[..n], order).unwrap().0).unwrap();
            assert!(l.is_up());

            let n = get_links(&mut buf, order, 6).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!((m.header.kind, m.header.flags), (kind::GETLINK, flags::REQUEST | flags::DUMP));
            assert_eq!(n, 32);
            let n = get_addrs(&mut buf, order, 7).unwrap();
            assert_eq!(n, 24);
            let n = get_link(&mut buf, order, 8, 3).unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.flags, flags::REQUEST | flags::ACK);
            assert_eq!(m.payload.get(4..8), Some(&order.u32_bytes(3)[..]));
        }
        assert_eq!(new_bridge(&mut [0u8; 128], LE, 1, b"a-name-too-long-"), Err(EncodeError::ValueTooLarge));
        assert_eq!(new_bridge(&mut [0u8; 40], LE, 1, b"br0"), Err(EncodeError::BufferTooSmall));
    }

    #[test]
    fn addresses() {
        let mut buf = [0u8; 64];
        let mut w = MessageWriter::new(&mut buf, LE, kind::NEWADDR, 0, 0).unwrap();
        w.bytes(&[af::INET, 24, 0, 0]).unwrap();
        w.bytes(&LE.u32_bytes(7)).unwrap();
        w.attr(ifa::ADDRESS, &[192, 0, 2, 1]).unwrap();
        w.attr(ifa::LOCAL, &[192, 0, 2, 1]).unwrap();
        let n = w.finish().unwrap();
        let a = Address::parse(&Message::parse(&buf[..n], LE).unwrap().0).unwrap().unwrap();
        assert_eq!(a, Address { ifindex: 7, prefix_len: 24, addr: [192, 0, 2, 1] });
        // IPv6 is skipped, a short ifaddrmsg is truncated
        buf[16] = 10;
        assert_eq!(Address::parse(&Message::parse(&buf[..n], LE).unwrap().0), Ok(None));
        let short = [20, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 24, 0, 0];
        assert_eq!(Address::parse(&Message::parse(&short, LE).unwrap().0), Err(Error::Truncated));
    }

    #[test]
    fn malformed_links() {
        let short = [20, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Link::parse(&Message::parse(&short, LE).unwrap().0), Err(Error::Truncated));
        let (m, _) = Message::parse(testdata::START_AP_FOO, LE).unwrap();
        assert_eq!(Link::parse(&m), Err(Error::UnexpectedMessage));
    }
}
