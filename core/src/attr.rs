//! Netlink attributes (`struct nlattr`): an iterator over a TLV area, nested areas, flags, and
//! typed getters that check each value's length exactly.
//!
//! Builds on [`crate::endian`] and [`crate::error`] only; messages ([`crate::netlink`]) and the encoder
//! ([`crate::writer`]) build on this module, never the other way round.

use crate::endian::{align, bytes_at, ByteOrder};
use crate::error::Error;

mod field {
    use core::ops::Range;
    /// nla_len: the attribute's length, header included, padding excluded.
    pub const LEN: Range<usize> = 0..2;
    /// nla_type: the type and the NESTED / NET_BYTEORDER flags.
    pub const TYPE: Range<usize> = 2..4;
}

/// Size of `struct nlattr`.
pub const HEADER_LEN: usize = 4;
/// NLA_F_NESTED: the value is itself an attribute area.
pub const F_NESTED: u16 = 1 << 15;
/// NLA_F_NET_BYTEORDER: the sender says the value is big-endian. The kernel's `nla_get_u32` and
/// libnl ignore it (the attribute's policy decides the order), and so do the getters here.
pub const F_NET_BYTEORDER: u16 = 1 << 14;
/// The bits of `nla_type` that are the type.
pub const TYPE_MASK: u16 = !(F_NESTED | F_NET_BYTEORDER);

/// One attribute: type, flags and a borrowed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attr<'a> {
    kind: u16,
    flags: u16,
    value: &'a [u8],
    order: ByteOrder,
}

impl<'a> Attr<'a> {
    /// The attribute type, flags masked off.
    #[inline]
    pub fn kind(&self) -> u16 {
        self.kind
    }

    /// Whether NLA_F_NESTED was set.
    #[inline]
    pub fn is_nested(&self) -> bool {
        self.flags & F_NESTED != 0
    }

    /// Whether NLA_F_NET_BYTEORDER was set (the integer getters do not look at it).
    #[inline]
    pub fn is_net_byteorder(&self) -> bool {
        self.flags & F_NET_BYTEORDER != 0
    }

    /// The raw value (without padding).
    #[inline]
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    #[inline]
    fn fixed<const N: usize>(&self) -> Result<[u8; N], Error> {
        <[u8; N]>::try_from(self.value).map_err(|_| Error::BadAttributeValue { kind: self.kind })
    }

    /// A u8 value (exactly 1 byte).
    #[inline]
    pub fn u8(&self) -> Result<u8, Error> {
        Ok(u8::from_ne_bytes(self.fixed::<1>()?))
    }

    /// A u16 value (exactly 2 bytes), in the message's order.
    #[inline]
    pub fn u16(&self) -> Result<u16, Error> {
        Ok(self.order.u16(self.fixed()?))
    }

    /// A u32 value (exactly 4 bytes), in the message's order whatever NLA_F_NET_BYTEORDER says,
    /// as `nla_get_u32` reads it.
    #[inline]
    pub fn u32(&self) -> Result<u32, Error> {
        Ok(self.order.u32(self.fixed()?))
    }

    /// A u64 value (exactly 8 bytes). The kernel keeps it 8-byte aligned by a PAD attribute
    /// before it where needed; that PAD is an attribute of its own and is simply skipped.
    #[inline]
    pub fn u64(&self) -> Result<u64, Error> {
        Ok(self.order.u64(self.fixed()?))
    }

    /// A flag attribute: present with no value.
    #[inline]
    pub fn flag(&self) -> Result<(), Error> {
        if self.value.is_empty() {
            Ok(())
        } else {
            Err(Error::BadAttributeValue { kind: self.kind })
        }
    }

    /// A NUL-terminated name: the bytes before the first NUL. A value without NUL is malformed.
    #[inline]
    pub fn cstr(&self) -> Result<&'a [u8], Error> {
        let end = self.value.iter().position(|&b| b == 0).ok_or(Error::BadAttributeValue { kind: self.kind })?;
        self.value.get(..end).ok_or(Error::BadAttributeValue { kind: self.kind })
    }

    /// The attributes nested in this one.
    #[inline]
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.value, self.order)
    }
}

/// Splits the attribute at the start of `rest` off: the attribute and what follows its padding.
/// One length check for the header, one for the value; the last attribute of an area may come
/// without its padding.
#[inline(always)]
fn split(rest: &[u8], order: ByteOrder) -> Option<(Attr<'_>, &[u8])> {
    let h: &[u8; HEADER_LEN] = rest.first_chunk()?;
    let len = usize::from(order.u16(bytes_at(h, field::LEN)));
    let raw = order.u16(bytes_at(h, field::TYPE));
    let value = rest.get(HEADER_LEN..len)?;
    let attr = Attr { kind: raw & TYPE_MASK, flags: raw & !TYPE_MASK, value, order };
    Some((attr, rest.get(align(len)..).unwrap_or(&[])))
}

/// Calls `f` for each attribute of `buf`, stopping at the first error (a malformed attribute, or
/// one `f` returns). The same walk as [`Attrs`], without an iterator's `Option<Result<_>>` per
/// step: the decoders' hot loop.
#[inline]
pub fn for_each<'a>(
    mut rest: &'a [u8],
    order: ByteOrder,
    mut f: impl FnMut(Attr<'a>) -> Result<(), Error>,
) -> Result<(), Error> {
    while let Some((attr, next)) = split(rest, order) {
        f(attr)?;
        rest = next;
    }
    // The walk stops at the end of the area, or before a malformed attribute: only the end is Ok.
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::BadAttributeLength)
    }
}

/// Iterates an attribute area. A malformed attribute yields one error and ends the iteration.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attrs<'a> {
    rest: &'a [u8],
    order: ByteOrder,
}

impl<'a> Attrs<'a> {
    /// Walks the attribute area `buf`.
    #[inline]
    pub fn new(buf: &'a [u8], order: ByteOrder) -> Self {
        Attrs { rest: buf, order }
    }

    /// The first attribute of type `kind`, if any (errors before it are returned).
    pub fn find(self, kind: u16) -> Result<Option<Attr<'a>>, Error> {
        for a in self {
            let a = a?;
            if a.kind == kind {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match split(self.rest, self.order) {
            Some((attr, next)) => {
                self.rest = next;
                Some(Ok(attr))
            }
            None if self.rest.is_empty() => None,
            None => {
                self.rest = &[];
                Some(Err(Error::BadAttributeLength))
            }
        }
    }
}

impl core::iter::FusedIterator for Attrs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const LE: ByteOrder = ByteOrder::Little;

    #[test]
    fn typed_getters_check_lengths() {
        #[rustfmt::skip]
        let buf = [
            5, 0, 1, 0, 7, 0, 0, 0,             // u8 7 (+3 pad)
            6, 0, 2, 0, 0x34, 0x12, 0, 0,       // u16 0x1234
            8, 0, 3, 0, 2, 0, 0, 0,             // u32 2
            4, 0, 4, 0,                         // PAD (empty)
            12, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,// u64 1
            4, 0, 6, 0,                         // flag
            10, 0, 7, 0, b'w', b'l', b'a', b'n', b'0', 0, 0, 0, // name
        ];
        let a: Vec<Attr> = Attrs::new(&buf, LE).map(Result::unwrap).collect();
        assert_eq!(a.len(), 7);
        assert_eq!(a[0].u8(), Ok(7));
        assert_eq!(a[1].u16(), Ok(0x1234));
        assert_eq!(a[2].u32(), Ok(2));
        assert_eq!(a[4].u64(), Ok(1));
        assert_eq!(a[5].flag(), Ok(()));
        assert_eq!(a[6].cstr(), Ok(&b"wlan0"[..]));
        // wrong sizes are errors, never truncation or panics
        assert_eq!(a[2].u16(), Err(Error::BadAttributeValue { kind: 3 }));
        assert_eq!(a[1].u32(), Err(Error::BadAttributeValue { kind: 2 }));
        assert_eq!(a[2].u64(), Err(Error::BadAttributeValue { kind: 3 }));
        assert_eq!(a[0].flag(), Err(Error::BadAttributeValue { kind: 1 }));
        assert_eq!(a[2].cstr(), Ok(&[2u8][..]));
        assert_eq!(a[5].cstr(), Err(Error::BadAttributeValue { kind: 6 }));
    }

    #[test]
    fn flags_are_masked_and_net_byteorder_ignored_as_the_kernel_does() {
        let buf = [8, 0, 3, 0x40, 0, 0, 0, 9, 12, 0, 9, 0x80, 8, 0, 1, 0, 5, 0, 0, 0];
        let mut it = Attrs::new(&buf, LE);
        let a = it.next().unwrap().unwrap();
        assert!(a.is_net_byteorder() && !a.is_nested());
        // nla_get_u32 on a little-endian host reads 0x09000000, not 9
        assert_eq!((a.kind(), a.u32()), (3, Ok(0x0900_0000)));
        let be = Attrs::new(&[0, 8, 0x40, 3, 0, 0, 0, 9], ByteOrder::Big).next().unwrap().unwrap();
        assert_eq!((be.kind(), be.u32()), (3, Ok(9)));
        let w = Attrs::new(&[6, 0, 4, 0x40, 0x12, 0x34], LE).next().unwrap().unwrap();
        assert_eq!(w.u16(), Ok(0x3412));
        let q = Attrs::new(&[12, 0, 5, 0x40, 1, 0, 0, 0, 0, 0, 0, 0], LE).next().unwrap().unwrap();
        assert_eq!(q.u64(), Ok(1));
        let n = it.next().unwrap().unwrap();
        assert!(n.is_nested() && !n.is_net_byteorder());
        assert_eq!(n.kind(), 9);
        let inner: Vec<_> = n.nested().map(|a| a.unwrap().u32().unwrap()).collect();
        assert_eq!(inner, [5]);
        assert!(it.next().is_none());
    }

    #[test]
    fn malformed_areas_end_with_an_error() {
        // nla_len < 4
        let mut it = Attrs::new(&[2, 0, 1, 0, 0, 0, 0, 0], LE);
        assert_eq!(it.next(), Some(Err(Error::BadAttributeLength)));
        assert_eq!(it.next(), None);
        // nla_len past the end
        let mut it = Attrs::new(&[16, 0, 1, 0, 0, 0, 0, 0], LE);
        assert_eq!(it.next(), Some(Err(Error::BadAttributeLength)));
        // fewer than 4 bytes left
        let mut it = Attrs::new(&[8, 0, 1, 0, 1, 0, 0, 0, 9, 9], LE);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(it.next(), Some(Err(Error::BadAttributeLength)));
        // the last attribute may lack padding
        let it = Attrs::new(&[5, 0, 1, 0, 7], LE);
        assert_eq!(it.map(|a| a.unwrap().u8().unwrap()).collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn for_each_walks_like_the_iterator() {
        let buf = [8, 0, 3, 0, 1, 0, 0, 0, 5, 0, 4, 0, 9, 0, 0, 0, 2, 0];
        let mut seen = std::vec::Vec::new();
        let r = for_each(&buf, LE, |a| {
            seen.push(a.kind());
            Ok(())
        });
        assert_eq!(r, Err(Error::BadAttributeLength));
        assert_eq!(seen, [3, 4]);
        let it: std::vec::Vec<_> = Attrs::new(&buf, LE).collect();
        assert_eq!(it.len(), 3);
        assert_eq!(it[2], Err(Error::BadAttributeLength));
        assert_eq!(for_each(&buf[..8], LE, |_| Err(Error::BadSsid)), Err(Error::BadSsid));
    }

    #[test]
    fn find_returns_first_match_or_error() {
        let buf = [8, 0, 3, 0, 1, 0, 0, 0, 8, 0, 3, 0, 2, 0, 0, 0];
        assert_eq!(Attrs::new(&buf, LE).find(3).unwrap().unwrap().u32(), Ok(1));
        assert_eq!(Attrs::new(&buf, LE).find(4).unwrap(), None);
        assert!(Attrs::new(&[1, 0, 0, 0], LE).find(3).is_err());
    }
}
