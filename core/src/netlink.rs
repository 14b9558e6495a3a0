//! The netlink message stream: `nlmsghdr` framing, NLMSG_ERROR (with extended ACK), NLMSG_DONE,
//! NLMSG_OVERRUN. A receive buffer holds several messages; [`Messages`] walks them.
//!
//! Builds on [`crate::endian`], [`crate::error`] and [`crate::attr`] (the extended-ACK
//! attributes); the encoder ([`crate::writer`]) builds on this module.

use nom::Parser;

use crate::attr::Attrs;
use crate::endian::{bytes_at, ByteOrder};
use crate::error::{EncodeError, Error};

/// Where each field of `struct nlmsghdr` lies.
mod field {
    use core::ops::Range;
    pub const LEN: Range<usize> = 0..4;
    pub const TYPE: Range<usize> = 4..6;
    pub const FLAGS: Range<usize> = 6..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const PID: Range<usize> = 12..16;
}

/// Size of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;

/// `nlmsg_type` values owned by netlink itself; protocols start at 16.
pub mod kind {
    /// NLMSG_NOOP
    pub const NOOP: u16 = 1;
    /// NLMSG_ERROR: an error or an ACK (errno 0).
    pub const ERROR: u16 = 2;
    /// NLMSG_DONE: the end of a dump.
    pub const DONE: u16 = 3;
    /// NLMSG_OVERRUN
    pub const OVERRUN: u16 = 4;
    /// First protocol-specific type.
    pub const MIN_TYPE: u16 = 16;
}

/// `nlmsg_flags` bits.
pub mod flags {
    /// NLM_F_REQUEST
    pub const REQUEST: u16 = 0x1;
    /// NLM_F_MULTI: part of a multi-part reply (a dump).
    pub const MULTI: u16 = 0x2;
    /// NLM_F_ACK
    pub const ACK: u16 = 0x4;
    /// NLM_F_DUMP_INTR: the dump was interrupted by a change; it is inconsistent.
    pub const DUMP_INTR: u16 = 0x10;
    /// NLM_F_DUMP (ROOT | MATCH)
    pub const DUMP: u16 = 0x300;
    /// NLM_F_EXCL
    pub const EXCL: u16 = 0x200;
    /// NLM_F_CREATE
    pub const CREATE: u16 = 0x400;
    /// NLM_F_CAPPED (on NLMSG_ERROR): the request is echoed as its header only.
    pub const CAPPED: u16 = 0x100;
    /// NLM_F_ACK_TLVS (on NLMSG_ERROR): extended-ACK attributes follow.
    pub const ACK_TLVS: u16 = 0x200;
}

pub use crate::endian::align;

/// `struct nlmsghdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Length of the message including this header.
    pub len: u32,
    /// Message type: netlink's own (see [`kind`]) or the protocol's (a genl family id, RTM_*).
    pub kind: u16,
    /// See [`flags`].
    pub flags: u16,
    /// Sequence number; 0 on kernel events.
    pub seq: u32,
    /// Port id: the requester's on replies, 0 on multicast events.
    pub pid: u32,
}

impl Header {
    /// Reads a header from the start of `buf`: one length check, then fixed offsets.
    #[inline]
    pub fn parse(buf: &[u8], order: ByteOrder) -> Result<Header, Error> {
        let h: &[u8; HEADER_LEN] = buf.first_chunk().ok_or(Error::Truncated)?;
        Ok(Header {
            len: order.u32(bytes_at(h, field::LEN)),
            kind: order.u16(bytes_at(h, field::TYPE)),
            flags: order.u16(bytes_at(h, field::FLAGS)),
            seq: order.u32(bytes_at(h, field::SEQ)),
            pid: order.u32(bytes_at(h, field::PID)),
        })
    }

    /// Writes this header into the first 16 bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8], order: ByteOrder) -> Result<(), EncodeError> {
        let h: &mut [u8; HEADER_LEN] = buf.first_chunk_mut().ok_or(EncodeError::BufferTooSmall)?;
        let fields: [(_, &[u8]); 5] = [
            (field::LEN, &order.u32_bytes(self.len)),
            (field::TYPE, &order.u16_bytes(self.kind)),
            (field::FLAGS, &order.u16_bytes(self.flags)),
            (field::SEQ, &order.u32_bytes(self.seq)),
            (field::PID, &order.u32_bytes(self.pid)),
        ];
        for (range, bytes) in fields {
            for (out, b) in h.get_mut(range).unwrap_or_default().iter_mut().zip(bytes) {
                *out = *b;
            }
        }
        Ok(())
    }
}

/// What kind of message a header announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageKind {
    /// NLMSG_NOOP
    Noop,
    /// NLMSG_ERROR (also the ACK)
    Error,
    /// NLMSG_DONE
    Done,
    /// NLMSG_OVERRUN
    Overrun,
    /// A protocol message (genl family id, RTM_*), or a reserved type below 16.
    Protocol(u16),
}

/// One message: its header and its payload (the bytes after the header, up to `nlmsg_len`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    /// The payload, exactly `nlmsg_len - 16` bytes.
    pub payload: &'a [u8],
    /// The byte order the message was decoded with.
    pub order: ByteOrder,
}

impl<'a> Message<'a> {
    /// Decodes the message at the start of `buf`; returns it and the bytes after its padding.
    #[inline]
    pub fn parse(buf: &'a [u8], order: ByteOrder) -> Result<(Message<'a>, &'a [u8]), Error> {
        let header = Header::parse(buf, order)?;
        let len = usize::try_from(header.len).map_err(|_| Error::BadMessageLength)?;
        if len < HEADER_LEN {
            return Err(Error::BadMessageLength);
        }
        let payload = buf.get(HEADER_LEN..len).ok_or(Error::BadMessageLength)?;
        // The last message of a buffer may come without its padding.
        let rest = buf.get(align(len)..).unwrap_or(&[]);
        Ok((Message { header, payload, order }, rest))
    }

    /// The kind of message.
    #[inline]
    pub fn kind(&self) -> MessageKind {
        match self.header.kind {
            kind::NOOP => MessageKind::Noop,
            kind::ERROR => MessageKind::Error,
            kind::DONE => MessageKind::Done,
            kind::OVERRUN => MessageKind::Overrun,
            other => MessageKind::Protocol(other),
        }
    }

    /// Decodes an NLMSG_ERROR message.
    pub fn error(&self) -> Result<ErrorMessage<'a>, Error> {
        if self.header.kind != kind::ERROR {
            return Err(Error::UnexpectedMessage);
        }
        ErrorMessage::parse(self.payload, self.header.flags, self.order)
    }
}

/// An NLMSG_ERROR: `errno` 0 is an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorMessage<'a> {
    /// The error as a positive errno (the kernel sends it negated); 0 for an ACK.
    pub errno: i32,
    /// The header of the request this answers, when echoed.
    pub request: Option<Header>,
    /// The extended-ACK message text (NLMSGERR_ATTR_MSG), without its NUL.
    pub text: Option<&'a [u8]>,
    /// The extended-ACK offset of the offending attribute in the request (NLMSGERR_ATTR_OFFS).
    pub offset: Option<u32>,
}

/// Extended-ACK attribute types.
pub mod ext_ack {
    /// NLMSGERR_ATTR_MSG: a NUL-terminated text.
    pub const MSG: u16 = 1;
    /// NLMSGERR_ATTR_OFFS: u32 offset into the request.
    pub const OFFS: u16 = 2;
}

impl<'a> ErrorMessage<'a> {
    fn parse(payload: &'a [u8], msg_flags: u16, order: ByteOrder) -> Result<Self, Error> {
        let (after, code) = order.p_u32::<nom::error::Error<&[u8]>>().parse(payload).map_err(|_| Error::Truncated)?;
        // the kernel sends -errno in an int
        let errno = i32::from_ne_bytes(code.to_ne_bytes()).checked_neg().unwrap_or(i32::MAX);
        let request = Header::parse(after, order).ok();
        let mut text = None;
        let mut offset = None;
        if let (Some(req), true) = (request, msg_flags & flags::ACK_TLVS != 0) {
            let echoed = if msg_flags & flags::CAPPED != 0 {
                HEADER_LEN
            } else {
                align(usize::try_from(req.len).map_err(|_| Error::BadMessageLength)?)
            };
            let tlvs = after.get(echoed..).ok_or(Error::BadMessageLength)?;
            for attr in Attrs::new(tlvs, order) {
                let attr = attr?;
                match attr.kind() {
                    ext_ack::MSG => text = Some(attr.cstr()?),
                    ext_ack::OFFS => offset = Some(attr.u32()?),
                    _ => {}
                }
            }
        }
        Ok(ErrorMessage { errno, request, text, offset })
    }
}

/// Iterates the messages of a receive buffer. A malformed header yields one error and ends the
/// iteration: a length that cannot be trusted leaves no way to find the next message.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Messages<'a> {
    rest: &'a [u8],
    order: ByteOrder,
}

impl<'a> Messages<'a> {
    /// Walks `buf`, decoding integers in `order`.
    #[inline]
    pub fn new(buf: &'a [u8], order: ByteOrder) -> Self {
        Messages { rest: buf, order }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match Message::parse(self.rest, self.order) {
            Ok((msg, rest)) => {
                self.rest = rest;
                Some(Ok(msg))
            }
            // Only a failed parse can be the end: the check stays off the path of every message.
            Err(_) if self.rest.is_empty() => None,
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Messages<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    const LE: ByteOrder = ByteOrder::Little;

    #[test]
    fn header_round_trip_both_orders() {
        let h = Header { len: 56, kind: 0x23, flags: 0, seq: 7, pid: 0 };
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 16];
            h.emit(&mut buf, order).unwrap();
            assert_eq!(Header::parse(&buf, order).unwrap(), h);
        }
    }

    #[test]
    fn capture_header_decodes_as_little_endian() {
        let (m, rest) = Message::parse(testdata::START_AP_FOO, LE).unwrap();
        assert_eq!(m.header, Header { len: 56, kind: 0x23, flags: 0, seq: 0, pid: 0 });
        assert_eq!(m.payload.len(), 40);
        assert!(rest.is_empty());
        assert_eq!(m.kind(), MessageKind::Protocol(0x23));
    }

    #[test]
    fn walks_a_buffer_of_several_messages() {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        for f in [testdata::START_AP_FOO, testdata::STOP_AP, testdata::NEWLINK_WLAN0_UP] {
            buf[n..n + f.len()].copy_from_slice(f);
            n += align(f.len());
        }
        let kinds: std::vec::Vec<u16> = Messages::new(&buf[..n], LE).map(|m| m.unwrap().header.kind).collect();
        assert_eq!(kinds, [0x23, 0x23, 16]);
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        assert_eq!(Messages::new(&[], LE).next(), None);
        let short = &testdata::START_AP_FOO[..10];
        assert_eq!(Message::parse(short, LE).unwrap_err(), Error::Truncated);
        // nlmsg_len past the end of the buffer
        let cut = &testdata::START_AP_FOO[..40];
        assert_eq!(Message::parse(cut, LE).unwrap_err(), Error::BadMessageLength);
        // nlmsg_len of zero and below the header size: no endless loop
        let mut zero = [0u8; 32];
        let mut it = Messages::new(&zero, LE);
        assert_eq!(it.next(), Some(Err(Error::BadMessageLength)));
        assert_eq!(it.next(), None);
        zero[0] = 15;
        assert_eq!(Message::parse(&zero, LE).unwrap_err(), Error::BadMessageLength);
        // overlong: u32::MAX
        let mut huge = [0xffu8; 20];
        huge[4..].fill(0);
        assert_eq!(Message::parse(&huge, LE).unwrap_err(), Error::BadMessageLength);
    }

    #[test]
    fn error_message_with_extended_ack() {
        // NLMSG_ERROR -22 (EINVAL), capped, with an ext-ack text and offset
        #[rustfmt::skip]
        let buf: [u8; 56] = [
            56, 0, 0, 0,  2, 0,  0x00, 0x03,  9, 0, 0, 0,  0x39, 0x30, 0, 0,
            0xea, 0xff, 0xff, 0xff,
            40, 0, 0, 0,  0x23, 0,  5, 0,  9, 0, 0, 0,  0x39, 0x30, 0, 0,
            12, 0, 1, 0,  b'b', b'a', b'd', b'!', b'?', b'!', b'.', 0,
            8, 0, 2, 0,  20, 0, 0, 0,
        ];
        let (m, _) = Message::parse(&buf, LE).unwrap();
        assert_eq!(m.kind(), MessageKind::Error);
        let e = m.error().unwrap();
        assert_eq!(e.errno, 22);
        assert_eq!(e.request.unwrap().seq, 9);
        assert_eq!(e.text, Some(&b"bad!?!."[..]));
        assert_eq!(e.offset, Some(20));
    }

    #[test]
    fn ack_and_done() {
        #[rustfmt::skip]
        let ack: [u8; 36] = [
            36, 0, 0, 0,  2, 0,  0x00, 0x01,  3, 0, 0, 0,  1, 0, 0, 0,
            0, 0, 0, 0,
            20, 0, 0, 0,  18, 0,  5, 0,  3, 0, 0, 0,  1, 0, 0, 0,
        ];
        let (m, _) = Message::parse(&ack, LE).unwrap();
        let e = m.error().unwrap();
        assert_eq!((e.errno, e.text), (0, None));
        let done: [u8; 20] = [20, 0, 0, 0, 3, 0, 2, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        let (m, _) = Message::parse(&done, LE).unwrap();
        assert_eq!(m.kind(), MessageKind::Done);
        assert_eq!(m.error().unwrap_err(), Error::UnexpectedMessage);
        let overrun: [u8; 16] = [16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(Message::parse(&overrun, LE).unwrap().0.kind(), MessageKind::Overrun);
    }
}
