//! What a link's kind says about VLANs, from an AF_UNSPEC RTM_NEWLINK's IFLA_LINKINFO: a bridge's
//! `vlan_filtering` and `default_pvid`, a VLAN device's id and parent (`br-lan.20` is VLAN 20 on
//! `br-lan`). A parse beside [`crate::rtnl::Link`], which keeps its own fields.

use crate::attr::{self, Attr};
use crate::keyword::lookup;
use crate::netlink::Message;
use crate::rtnl::{af, ifla as link_ifla, kind, IFINFO_LEN};
use crate::{ByteOrder, Error};

/// Link attributes this module adds to [`crate::rtnl::ifla`].
pub mod ifla {
    /// IFLA_LINK (u32): the lower device (a VLAN's parent; a veth's peer).
    pub const LINK: u16 = 5;
    /// IFLA_INFO_DATA (nested), inside IFLA_LINKINFO: the kind's own attributes.
    pub const INFO_DATA: u16 = 2;
    /// IFLA_INFO_SLAVE_KIND (string), inside IFLA_LINKINFO: "bridge" for a bridge port.
    pub const INFO_SLAVE_KIND: u16 = 4;
}

/// Bridge attributes inside IFLA_INFO_DATA (IFLA_BR_*).
pub mod br {
    /// IFLA_BR_VLAN_FILTERING (u8)
    pub const VLAN_FILTERING: u16 = 7;
    /// IFLA_BR_VLAN_PROTOCOL (big-endian u16: 0x8100, 0x88a8)
    pub const VLAN_PROTOCOL: u16 = 8;
    /// IFLA_BR_VLAN_DEFAULT_PVID (u16): the PVID a new port gets (0: none)
    pub const VLAN_DEFAULT_PVID: u16 = 39;
}

/// VLAN device attributes inside IFLA_INFO_DATA (IFLA_VLAN_*).
pub mod vlan {
    /// IFLA_VLAN_ID (u16)
    pub const ID: u16 = 1;
    /// IFLA_VLAN_PROTOCOL (big-endian u16)
    pub const PROTOCOL: u16 = 5;
}

/// 802.1Q, the VLAN protocol of OpenWrt's bridges.
pub const ETH_P_8021Q: u16 = 0x8100;

mod field {
    use core::ops::Range;
    // struct ifinfomsg
    pub const FAMILY: usize = 0;
    pub const INDEX: Range<usize> = 4..8;
}

/// A bridge's VLAN settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BridgeData {
    /// `vlan_filtering`: ports forward by their VLAN lists.
    pub vlan_filtering: Option<bool>,
    /// `vlan_protocol` (host value of the big-endian field).
    pub vlan_protocol: Option<u16>,
    /// `default_pvid`: what a port gets as PVID untagged when it joins (0: nothing).
    pub default_pvid: Option<u16>,
}

/// A VLAN device's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanData {
    /// The VLAN id.
    pub id: u16,
    /// The protocol (host value of the big-endian field).
    pub protocol: Option<u16>,
}

/// The kind-specific data of a link apwatch cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KindData {
    /// Kind "bridge".
    Bridge(BridgeData),
    /// Kind "vlan".
    Vlan(VlanData),
    /// Any other kind, or no IFLA_INFO_DATA.
    None,
}

/// The VLAN facts of one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkInfo<'a> {
    /// The ifindex.
    pub ifindex: u32,
    /// The name.
    pub ifname: Option<&'a [u8]>,
    /// IFLA_LINK: the lower device (a VLAN's parent).
    pub link: Option<u32>,
    /// IFLA_MASTER
    pub master: Option<u32>,
    /// IFLA_INFO_KIND, e.g. "bridge", "vlan".
    pub kind: Option<&'a [u8]>,
    /// IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port.
    pub slave_kind: Option<&'a [u8]>,
    /// The kind's data.
    pub data: KindData,
}

fn be16(a: &Attr<'_>) -> Result<u16, Error> {
    // nla_put_be16 without NLA_F_NET_BYTEORDER: big-endian whatever the host
    let b = <[u8; 2]>::try_from(a.value()).map_err(|_| Error::BadAttributeValue { kind: a.kind() })?;
    Ok(u16::from_be_bytes(b))
}

fn bridge_data(area: &[u8], order: ByteOrder) -> Result<BridgeData, Error> {
    let mut d = BridgeData::default();
    attr::for_each(area, order, |a| {
        match a.kind() {
            br::VLAN_FILTERING => d.vlan_filtering = Some(a.u8()? != 0),
            br::VLAN_PROTOCOL => d.vlan_protocol = Some(be16(&a)?),
            br::VLAN_DEFAULT_PVID => d.default_pvid = Some(a.u16()?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(d)
}

fn vlan_data(area: &[u8], order: ByteOrder) -> Result<VlanData, Error> {
    let (mut id, mut protocol) = (None, None);
    attr::for_each(area, order, |a| {
        match a.kind() {
            vlan::ID => id = Some(a.u16()?),
            vlan::PROTOCOL => protocol = Some(be16(&a)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(VlanData { id: id.ok_or(Error::MissingAttribute { kind: vlan::ID })?, protocol })
}

impl<'a> LinkInfo<'a> {
    /// Decodes an RTM_NEWLINK/DELLINK; `Ok(None)` for a family other than AF_UNSPEC (a bridge's
    /// port messages: see [`crate::brvlan::BridgePort`]).
    pub fn parse(msg: &Message<'a>) -> Result<Option<Self>, Error> {
        if !matches!(msg.header.kind, kind::NEWLINK | kind::DELLINK) {
            return Err(Error::UnexpectedMessage);
        }
        let p = msg.payload;
        let family = *p.get(field::FAMILY).ok_or(Error::Truncated)?;
        let index = p.get(field::INDEX).and_then(|b| <[u8; 4]>::try_from(b).ok()).ok_or(Error::Truncated)?;
        let attrs = p.get(IFINFO_LEN..).ok_or(Error::Truncated)?;
        if family != af::UNSPEC {
            return Ok(None);
        }
        let order = msg.order;
        let mut l = LinkInfo {
            ifindex: order.u32(index),
            ifname: None,
            link: None,
            master: None,
            kind: None,
            slave_kind: None,
            data: KindData::None,
        };
        let mut data = None;
        attr::for_each(attrs, order, |a| {
            match a.kind() {
                link_ifla::IFNAME => l.ifname = Some(a.cstr()?),
                link_ifla::MASTER => l.master = Some(a.u32()?),
                ifla::LINK => l.link = Some(a.u32()?),
                link_ifla::LINKINFO => attr::for_each(a.value(), order, |i| {
                    match i.kind() {
                        link_ifla::INFO_KIND => l.kind = Some(i.cstr()?),
                        ifla::INFO_SLAVE_KIND => l.slave_kind = Some(i.cstr()?),
                        ifla::INFO_DATA => data = Some(i.value()),
                        _ => {}
                    }
                    Ok(())
                })?,
                _ => {}
            }
            Ok(())
        })?;
        // INFO_KIND comes before INFO_DATA from the kernel, but nothing needs that order here
        const KINDS: [(&[u8], bool); 2] = [(b"bridge", true), (b"vlan", false)];
        l.data = match (l.kind.and_then(|k| lookup(&KINDS, k)), data) {
            (Some(true), Some(d)) => KindData::Bridge(bridge_data(d, order)?),
            (Some(false), Some(d)) => KindData::Vlan(vlan_data(d, order)?),
            _ => KindData::None,
        };
        Ok(Some(l))
    }

    /// For a bridge: whether it filters by VLAN (`None` for other kinds, or when not said).
    pub fn vlan_filtering(&self) -> Option<bool> {
        match self.data {
            KindData::Bridge(b) => b.vlan_filtering,
            _ => None,
        }
    }

    /// For a VLAN device: (parent ifindex, VLAN id), e.g. `br-lan.20` → (br-lan, 20).
    pub fn vlan_upper(&self) -> Option<(u32, u16)> {
        match self.data {
            KindData::Vlan(v) => Some((self.link?, v.id)),
            _ => None,
        }
    }

    /// Whether this is the 802.1Q VLAN `vid` on top of `parent`: where a rule with
    /// `option vlan` on bridge `parent` serves DHCP.
    pub fn is_vlan_of(&self, parent: u32, vid: u16) -> bool {
        let q = match self.data {
            KindData::Vlan(v) => v.protocol.is_none_or(|p| p == ETH_P_8021Q),
            _ => false,
        };
        q && self.vlan_upper() == Some((parent, vid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtnl::Link;

    const LE: ByteOrder = ByteOrder::Little;

    macro_rules! rec {
        ($file:literal) => {
            include_bytes!(concat!("../../tests/data/brvlan/", $file)) as &[u8]
        };
    }

    fn info(frame: &[u8]) -> LinkInfo<'_> {
        LinkInfo::parse(&Message::parse(frame, LE).unwrap().0).unwrap().unwrap()
    }

    #[test]
    fn the_recorded_link_dump() {
        // dump-links-NNN: lo 1, br-lan 2, br-plain 3, p1 4, vb 5, va 6, br-lan.10 7, br-lan.20 8
        let lo = info(rec!("dump-links-001.bin"));
        assert_eq!((lo.ifindex, lo.kind, lo.data), (1, None, KindData::None));

        let br = info(rec!("dump-links-002.bin"));
        assert_eq!((br.ifindex, br.ifname, br.kind), (2, Some(&b"br-lan"[..]), Some(&b"bridge"[..])));
        let want = BridgeData { vlan_filtering: Some(true), vlan_protocol: Some(ETH_P_8021Q), default_pvid: Some(1) };
        assert_eq!(br.data, KindData::Bridge(want));
        assert_eq!((br.vlan_filtering(), br.vlan_upper()), (Some(true), None));

        let plain = info(rec!("dump-links-003.bin"));
        assert_eq!((plain.ifname, plain.vlan_filtering()), (Some(&b"br-plain"[..]), Some(false)));

        let p1 = info(rec!("dump-links-004.bin"));
        assert_eq!((p1.kind, p1.slave_kind, p1.master), (Some(&b"dummy"[..]), Some(&b"bridge"[..]), Some(2)));
        assert_eq!((p1.data, p1.vlan_filtering()), (KindData::None, None));

        // a veth has IFLA_LINK too (its peer): not a VLAN upper
        let vb = info(rec!("dump-links-005.bin"));
        assert_eq!((vb.kind, vb.link, vb.vlan_upper()), (Some(&b"veth"[..]), Some(6), None));
        assert!(!vb.is_vlan_of(6, 0));

        let v10 = info(rec!("dump-links-007.bin"));
        assert_eq!((v10.ifname, v10.vlan_upper()), (Some(&b"br-lan.10"[..]), Some((2, 10))));
        let v20 = info(rec!("dump-links-008.bin"));
        assert_eq!(v20.data, KindData::Vlan(VlanData { id: 20, protocol: Some(ETH_P_8021Q) }));
        assert!(v20.is_vlan_of(2, 20) && !v20.is_vlan_of(2, 10) && !v20.is_vlan_of(3, 20));

        // rtnl::Link reads the same messages as before
        let l = Link::parse(&Message::parse(rec!("dump-links-008.bin"), LE).unwrap().0).unwrap();
        assert_eq!((l.ifindex, l.ifname, l.kind), (8, Some(&b"br-lan.20"[..]), Some(&b"vlan"[..])));
        // the dump request is rtnl's
        let mut buf = [0u8; 32];
        let n = crate::rtnl::get_links(&mut buf, LE, 1).unwrap();
        assert_eq!(&buf[..n], rec!("dump-links-req.bin"));
    }

    #[test]
    fn other_families_and_messages() {
        let (m, _) = Message::parse(rec!("dump-brvlan-003.bin"), LE).unwrap();
        assert_eq!(LinkInfo::parse(&m), Ok(None));
        let (m, _) = Message::parse(rec!("dump-links-009.bin"), LE).unwrap();
        assert_eq!(LinkInfo::parse(&m), Err(Error::UnexpectedMessage));
        let short = [20, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(LinkInfo::parse(&Message::parse(&short, LE).unwrap().0), Err(Error::Truncated));
    }

    /// An AF_UNSPEC RTM_NEWLINK with IFLA_LINKINFO { KIND, DATA { data } }, little-endian.
    fn newlink(kind_name: &[u8], data: &[u8]) -> std::vec::Vec<u8> {
        let mut li = std::vec::Vec::new();
        let kl = 4 + kind_name.len() + 1;
        li.extend_from_slice(&[kl as u8, 0, 1, 0]);
        li.extend_from_slice(kind_name);
        li.push(0);
        li.resize((li.len() + 3) & !3, 0);
        li.extend_from_slice(&[(4 + data.len()) as u8, 0, 2, 0x80]);
        li.extend_from_slice(data);
        let mut m = std::vec![0u8; 32];
        m[4] = 16; // RTM_NEWLINK
        m[20] = 9; // ifindex
        m.extend_from_slice(&[(4 + li.len()) as u8, 0, 18, 0x80]);
        m.extend_from_slice(&li);
        let n = m.len() as u32;
        m[..4].copy_from_slice(&n.to_le_bytes());
        m
    }

    #[test]
    fn malformed_link_data_is_an_error() {
        let parse = |f: &[u8]| -> Result<Option<KindData>, Error> {
            let (m, _) = Message::parse(f, LE)?;
            LinkInfo::parse(&m).map(|l| l.map(|l| l.data))
        };
        // a good vlan, then: no id, an id of 4 bytes, a protocol of 1 byte
        assert_eq!(
            parse(&newlink(b"vlan", &[6, 0, 1, 0, 20, 0, 0, 0])),
            Ok(Some(KindData::Vlan(VlanData { id: 20, protocol: None })))
        );
        assert_eq!(parse(&newlink(b"vlan", &[])), Err(Error::MissingAttribute { kind: vlan::ID }));
        assert_eq!(parse(&newlink(b"vlan", &[8, 0, 1, 0, 20, 0, 0, 0])), Err(Error::BadAttributeValue { kind: 1 }));
        assert_eq!(
            parse(&newlink(b"vlan", &[6, 0, 1, 0, 20, 0, 0, 0, 5, 0, 5, 0, 0x81, 0, 0, 0])),
            Err(Error::BadAttributeValue { kind: 5 })
        );
        // a bridge whose vlan_filtering is 2 bytes; a nest running past its container
        assert_eq!(parse(&newlink(b"bridge", &[6, 0, 7, 0, 1, 0, 0, 0])), Err(Error::BadAttributeValue { kind: 7 }));
        assert_eq!(parse(&newlink(b"bridge", &[12, 0, 7, 0, 1, 0, 0, 0])), Err(Error::BadAttributeLength));
        // an unknown kind's data is not read
        assert_eq!(parse(&newlink(b"veth", &[12, 0, 7, 0])), Ok(Some(KindData::None)));
        // 802.1ad VLANs are not where 802.1Q DHCP is served
        let f = newlink(b"vlan", &[6, 0, 1, 0, 20, 0, 0, 0, 6, 0, 5, 0, 0x88, 0xa8, 0, 0]);
        let (m, _) = Message::parse(&f, LE).unwrap();
        let mut l = LinkInfo::parse(&m).unwrap().unwrap();
        l.link = Some(2);
        assert_eq!((l.vlan_upper(), l.is_vlan_of(2, 20)), (Some((2, 20)), false));
        // every truncation of a recorded bridge: an error or a message, never a panic
        let frame = rec!("dump-links-002.bin");
        for cut in 16..frame.len() {
            let mut f = frame[..cut].to_vec();
            f[..4].copy_from_slice(&(cut as u32).to_le_bytes());
            let _ = parse(&f);
        }
    }
}
