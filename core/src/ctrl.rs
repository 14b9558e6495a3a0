//! The generic netlink controller: resolving a family name ("nl80211") to its dynamic id and its
//! multicast groups ("mlme", "config", …) to group ids.

use crate::attr::{Attr, Attrs};
use crate::endian::ByteOrder;
use crate::error::{EncodeError, Error};
use crate::genl::{self, GenlMessage};
use crate::netlink::flags;

/// Controller commands.
pub mod cmd {
    /// CTRL_CMD_NEWFAMILY: the reply (and event) describing a family.
    pub const NEWFAMILY: u8 = 1;
    /// CTRL_CMD_GETFAMILY: the request.
    pub const GETFAMILY: u8 = 3;
}

/// Controller attributes.
pub mod attr {
    /// CTRL_ATTR_FAMILY_ID (u16)
    pub const FAMILY_ID: u16 = 1;
    /// CTRL_ATTR_FAMILY_NAME (string)
    pub const FAMILY_NAME: u16 = 2;
    /// CTRL_ATTR_VERSION (u32)
    pub const VERSION: u16 = 3;
    /// CTRL_ATTR_MCAST_GROUPS (nested array of nested groups)
    pub const MCAST_GROUPS: u16 = 7;
    /// CTRL_ATTR_MCAST_GRP_NAME (string), inside a group
    pub const MCAST_GRP_NAME: u16 = 1;
    /// CTRL_ATTR_MCAST_GRP_ID (u32), inside a group
    pub const MCAST_GRP_ID: u16 = 2;
}

/// A family as the controller describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Family<'a> {
    /// The family id to use as nlmsg type.
    pub id: u16,
    /// The family name.
    pub name: &'a [u8],
    /// The family version.
    pub version: u32,
    groups: Option<Attr<'a>>,
}

impl<'a> Family<'a> {
    /// Decodes a CTRL_CMD_NEWFAMILY message.
    pub fn parse(msg: &GenlMessage<'a>) -> Result<Self, Error> {
        if msg.family != genl::ID_CTRL || msg.cmd != cmd::NEWFAMILY {
            return Err(Error::UnexpectedMessage);
        }
        let (mut id, mut name, mut version, mut groups) = (None, None, 0, None);
        for a in msg.attrs() {
            let a = a?;
            match a.kind() {
                attr::FAMILY_ID => id = Some(a.u16()?),
                attr::FAMILY_NAME => name = Some(a.cstr()?),
                attr::VERSION => version = a.u32()?,
                attr::MCAST_GROUPS => groups = Some(a),
                _ => {}
            }
        }
        Ok(Family {
            id: id.ok_or(Error::MissingAttribute { kind: attr::FAMILY_ID })?,
            name: name.ok_or(Error::MissingAttribute { kind: attr::FAMILY_NAME })?,
            version,
            groups,
        })
    }

    /// The multicast groups.
    pub fn groups(&self) -> McastGroups<'a> {
        McastGroups { inner: self.groups.map(|g| g.nested()) }
    }

    /// The id of the multicast group `name`, if the family has it.
    pub fn group_id(&self, name: &[u8]) -> Result<Option<u32>, Error> {
        for g in self.groups() {
            let g = g?;
            if g.name == name {
                return Ok(Some(g.id));
            }
        }
        Ok(None)
    }
}

/// A multicast group: name and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct McastGroup<'a> {
    /// e.g. "mlme"
    pub name: &'a [u8],
    /// The id to join with NETLINK_ADD_MEMBERSHIP.
    pub id: u32,
}

/// Iterates a family's multicast groups.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct McastGroups<'a> {
    inner: Option<Attrs<'a>>,
}

impl<'a> Iterator for McastGroups<'a> {
    type Item = Result<McastGroup<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = match self.inner.as_mut()?.next()? {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        };
        let (mut name, mut id) = (None, None);
        for a in entry.nested() {
            let a = match a {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            };
            let r = match a.kind() {
                attr::MCAST_GRP_NAME => a.cstr().map(|n| name = Some(n)),
                attr::MCAST_GRP_ID => a.u32().map(|i| id = Some(i)),
                _ => Ok(()),
            };
            if let Err(e) = r {
                return Some(Err(e));
            }
        }
        Some(match (name, id) {
            (Some(name), Some(id)) => Ok(McastGroup { name, id }),
            (None, _) => Err(Error::MissingAttribute { kind: attr::MCAST_GRP_NAME }),
            (_, None) => Err(Error::MissingAttribute { kind: attr::MCAST_GRP_ID }),
        })
    }
}

/// Encodes CTRL_CMD_GETFAMILY for `name`; returns the message length.
pub fn get_family(buf: &mut [u8], order: ByteOrder, seq: u32, name: &[u8]) -> Result<usize, EncodeError> {
    let mut w = genl::request(buf, order, genl::ID_CTRL, flags::REQUEST | flags::ACK, seq, cmd::GETFAMILY, 1)?;
    w.attr_str(attr::FAMILY_NAME, name)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::Message;
    use crate::testdata;

    #[test]
    fn resolves_nl80211_and_its_groups_from_a_capture() {
        let (m, _) = Message::parse(testdata::CTRL_NL80211, ByteOrder::Little).unwrap();
        let g = GenlMessage::parse(&m).unwrap();
        let f = Family::parse(&g).unwrap();
        assert_eq!(f.name, b"nl80211");
        assert_eq!(f.id, 0x23);
        let names: std::vec::Vec<&[u8]> = f.groups().map(|g| g.unwrap().name).collect();
        for want in [&b"config"[..], b"scan", b"regulatory", b"mlme", b"vendor", b"nan"] {
            assert!(names.contains(&want), "missing group {:?}", want);
        }
        let mlme = f.group_id(b"mlme").unwrap().unwrap();
        let config = f.group_id(b"config").unwrap().unwrap();
        assert_ne!(mlme, config);
        assert_eq!(f.group_id(b"nope").unwrap(), None);
    }

    #[test]
    fn get_family_round_trip() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 64];
            let n = get_family(&mut buf, order, 42, b"nl80211").unwrap();
            let (m, _) = Message::parse(&buf[..n], order).unwrap();
            assert_eq!(m.header.seq, 42);
            assert_eq!(m.header.flags, flags::REQUEST | flags::ACK);
            let g = GenlMessage::parse(&m).unwrap();
            assert_eq!((g.family, g.cmd), (genl::ID_CTRL, cmd::GETFAMILY));
            let name = g.attrs().find(attr::FAMILY_NAME).unwrap().unwrap();
            assert_eq!(name.cstr(), Ok(&b"nl80211"[..]));
        }
        assert_eq!(get_family(&mut [0u8; 20], ByteOrder::NATIVE, 1, b"nl80211"), Err(EncodeError::BufferTooSmall));
    }

    #[test]
    fn a_reply_without_id_is_an_error() {
        let mut buf = [0u8; 64];
        let mut w = genl::request(&mut buf, ByteOrder::Little, genl::ID_CTRL, 0, 0, cmd::NEWFAMILY, 2).unwrap();
        w.attr_str(attr::FAMILY_NAME, b"x").unwrap();
        let n = w.finish().unwrap();
        let (m, _) = Message::parse(&buf[..n], ByteOrder::Little).unwrap();
        let g = GenlMessage::parse(&m).unwrap();
        assert_eq!(Family::parse(&g), Err(Error::MissingAttribute { kind: attr::FAMILY_ID }));
    }
}
