//! Generic netlink: the `genlmsghdr` after the nlmsghdr, and the attribute area after it.

use crate::attr::Attrs;
use crate::endian::ByteOrder;
use crate::error::{EncodeError, Error};
use crate::netlink::Message;
use crate::writer::MessageWriter;

/// Size of `struct genlmsghdr`.
pub const HEADER_LEN: usize = 4;
/// The fixed family id of the generic netlink controller (GENL_ID_CTRL).
pub const ID_CTRL: u16 = 0x10;

/// A generic netlink message: family id (the nlmsg type), command, version and attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GenlMessage<'a> {
    /// The family id (dynamic, resolved through the controller).
    pub family: u16,
    /// The family's command.
    pub cmd: u8,
    /// The family's version field.
    pub version: u8,
    /// The attribute area.
    pub attrs: &'a [u8],
    /// Byte order of the integers.
    pub order: ByteOrder,
}

impl<'a> GenlMessage<'a> {
    /// Decodes the genl part of `msg`: `cmd`, `version`, two reserved bytes, then attributes.
    #[inline]
    pub fn parse(msg: &Message<'a>) -> Result<Self, Error> {
        match *msg.payload {
            [cmd, version, _, _, ref attrs @ ..] => {
                Ok(GenlMessage { family: msg.header.kind, cmd, version, attrs, order: msg.order })
            }
            _ => Err(Error::Truncated),
        }
    }

    /// Iterates the attributes.
    #[inline]
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.attrs, self.order)
    }
}

/// Starts a genl request: nlmsghdr + genlmsghdr; the caller adds attributes and finishes.
pub fn request<'b>(
    buf: &'b mut [u8],
    order: ByteOrder,
    family: u16,
    flags: u16,
    seq: u32,
    cmd: u8,
    version: u8,
) -> Result<MessageWriter<'b>, EncodeError> {
    let mut w = MessageWriter::new(buf, order, family, flags, seq)?;
    w.bytes(&[cmd, version, 0, 0])?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn decodes_the_genl_header_of_a_capture() {
        let (m, _) = Message::parse(testdata::START_AP_FOO, ByteOrder::Little).unwrap();
        let g = GenlMessage::parse(&m).unwrap();
        assert_eq!((g.family, g.cmd), (0x23, 15));
        assert_eq!(g.attrs().count(), 4);
    }

    #[test]
    fn short_genl_payload_is_truncated() {
        let buf = [19, 0, 0, 0, 0x23, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 1, 0];
        let (m, _) = Message::parse(&buf, ByteOrder::Little).unwrap();
        assert_eq!(GenlMessage::parse(&m), Err(Error::Truncated));
    }
}
