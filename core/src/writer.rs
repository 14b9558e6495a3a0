//! Encoding requests into a caller's `&mut [u8]`: a message writer that fills in `nlmsg_len`,
//! pads attributes, nests them and keeps u64 values 8-byte aligned. Nothing allocates; a buffer
//! that is too small is an error, never a panic.
//!
//! The top of the wire layer: it builds on [`crate::netlink`] (the header), [`crate::attr`]
//! (attribute layout) and [`crate::endian`]; nothing below imports it.

use crate::attr;
use crate::endian::{align, ByteOrder};
use crate::error::EncodeError;
use crate::netlink::{Header, HEADER_LEN};

/// An open nested attribute; close it with [`MessageWriter::nest_end`].
#[must_use]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nest {
    start: usize,
}

/// Writes one netlink message.
pub struct MessageWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    order: ByteOrder,
    header: Header,
}

impl<'b> MessageWriter<'b> {
    /// Starts a message of type `kind` at the beginning of `buf`.
    pub fn new(buf: &'b mut [u8], order: ByteOrder, kind: u16, flags: u16, seq: u32) -> Result<Self, EncodeError> {
        let header = Header { len: 0, kind, flags, seq, pid: 0 };
        header.emit(buf, order)?;
        Ok(MessageWriter { buf, len: HEADER_LEN, order, header })
    }

    /// The byte order being written.
    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// Appends raw bytes (a family header such as genlmsghdr or ifinfomsg).
    pub fn bytes(&mut self, data: &[u8]) -> Result<(), EncodeError> {
        let end = self.len.checked_add(data.len()).ok_or(EncodeError::BufferTooSmall)?;
        self.buf.get_mut(self.len..end).ok_or(EncodeError::BufferTooSmall)?.copy_from_slice(data);
        self.len = end;
        Ok(())
    }

    fn pad(&mut self) -> Result<(), EncodeError> {
        let end = align(self.len);
        self.buf.get_mut(self.len..end).ok_or(EncodeError::BufferTooSmall)?.fill(0);
        self.len = end;
        Ok(())
    }

    fn attr_header(&mut self, kind: u16, value_len: usize) -> Result<(), EncodeError> {
        let len = value_len
            .checked_add(attr::HEADER_LEN)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or(EncodeError::ValueTooLarge)?;
        self.bytes(&self.order.u16_bytes(len))?;
        self.bytes(&self.order.u16_bytes(kind))
    }

    /// An attribute with a raw value.
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> Result<(), EncodeError> {
        self.attr_header(kind, value.len())?;
        self.bytes(value)?;
        self.pad()
    }

    /// A u8 attribute.
    pub fn attr_u8(&mut self, kind: u16, v: u8) -> Result<(), EncodeError> {
        self.attr(kind, &[v])
    }

    /// A u16 attribute.
    pub fn attr_u16(&mut self, kind: u16, v: u16) -> Result<(), EncodeError> {
        self.attr(kind, &self.order.u16_bytes(v))
    }

    /// A u32 attribute.
    pub fn attr_u32(&mut self, kind: u16, v: u32) -> Result<(), EncodeError> {
        self.attr(kind, &self.order.u32_bytes(v))
    }

    /// A u64 attribute whose value lands 8-byte aligned (relative to the message start), with an
    /// empty `pad_kind` attribute inserted first where needed, as the kernel's
    /// `nla_put_u64_64bit` does.
    pub fn attr_u64_aligned(&mut self, kind: u16, v: u64, pad_kind: u16) -> Result<(), EncodeError> {
        if (self.len + attr::HEADER_LEN) % 8 != 0 {
            self.attr(pad_kind, &[])?;
        }
        self.attr(kind, &self.order.u64_bytes(v))
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, s: &[u8]) -> Result<(), EncodeError> {
        self.attr_header(kind, s.len() + 1)?;
        self.bytes(s)?;
        self.bytes(&[0])?;
        self.pad()
    }

    /// Opens a nested attribute (NLA_F_NESTED set).
    pub fn nest_start(&mut self, kind: u16) -> Result<Nest, EncodeError> {
        let start = self.len;
        self.attr_header(kind | attr::F_NESTED, 0)?;
        Ok(Nest { start })
    }

    /// Closes a nested attribute, writing its length.
    pub fn nest_end(&mut self, nest: Nest) -> Result<(), EncodeError> {
        let len = self.len.checked_sub(nest.start).ok_or(EncodeError::BufferTooSmall)?;
        let len = u16::try_from(len).map_err(|_| EncodeError::ValueTooLarge)?;
        let field = self.buf.get_mut(nest.start..nest.start + 2).ok_or(EncodeError::BufferTooSmall)?;
        field.copy_from_slice(&self.order.u16_bytes(len));
        Ok(())
    }

    /// Writes `nlmsg_len` and returns the message length.
    pub fn finish(mut self) -> Result<usize, EncodeError> {
        self.header.len = u32::try_from(self.len).map_err(|_| EncodeError::ValueTooLarge)?;
        self.header.emit(self.buf, self.order)?;
        Ok(self.len)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for MessageWriter<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "MessageWriter {{ header: {}, len: {}, order: {} }}", self.header, self.len, self.order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attrs;
    use crate::netlink::Message;

    #[test]
    fn writes_attributes_nests_and_aligned_u64() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut buf = [0u8; 128];
            let mut w = MessageWriter::new(&mut buf, order, 0x23, 1, 5).unwrap();
            w.bytes(&[5, 0, 0, 0]).unwrap(); // genl header: 20 bytes so far
            w.attr_u32(3, 2).unwrap(); // 28
            w.attr_u64_aligned(153, 1, 229).unwrap(); // value at 32: no pad
            w.attr_u8(7, 1).unwrap(); // 40
            w.attr_u64_aligned(153, 2, 229).unwrap(); // value would be at 44: pad first
            let n = w.nest_start(9).unwrap();
            w.attr_str(4, b"wlan0").unwrap();
            w.nest_end(n).unwrap();
            let len = w.finish().unwrap();
            let (m, rest) = Message::parse(&buf[..len], order).unwrap();
            assert!(rest.is_empty());
            assert_eq!(m.header.len as usize, len);
            let attrs = m.payload.get(4..).unwrap();
            let kinds: std::vec::Vec<u16> = Attrs::new(attrs, order).map(|a| a.unwrap().kind()).collect();
            assert_eq!(kinds, [3, 153, 7, 229, 153, 9]);
            let wdev2 = Attrs::new(attrs, order).filter_map(Result::ok).filter(|a| a.kind() == 153).nth(1);
            assert_eq!(wdev2.unwrap().u64(), Ok(2));
            let off = wdev2.unwrap().value().as_ptr() as usize - buf.as_ptr() as usize;
            assert_eq!(off % 8, 0);
            let nest = Attrs::new(attrs, order).find(9).unwrap().unwrap();
            assert!(nest.is_nested());
            assert_eq!(nest.nested().find(4).unwrap().unwrap().cstr(), Ok(&b"wlan0"[..]));
        }
    }

    #[test]
    fn too_small_buffers_are_errors() {
        let mut tiny = [0u8; 8];
        assert_eq!(MessageWriter::new(&mut tiny, ByteOrder::NATIVE, 1, 0, 0).err(), Some(EncodeError::BufferTooSmall));
        let mut buf = [0u8; 24];
        let mut w = MessageWriter::new(&mut buf, ByteOrder::NATIVE, 1, 0, 0).unwrap();
        assert_eq!(w.attr_u64_aligned(1, 1, 2), Err(EncodeError::BufferTooSmall));
        let mut big = [0u8; 16];
        let mut w = MessageWriter::new(&mut big, ByteOrder::NATIVE, 1, 0, 0).unwrap();
        assert_eq!(w.attr(1, &[0u8; 70000]), Err(EncodeError::ValueTooLarge));
    }
}
