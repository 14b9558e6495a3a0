//! The bottom of the wire layer: the byte order of netlink integers and netlink's 4-byte
//! alignment. Netlink is host order; captures are whatever host recorded them, so the order is
//! a parameter, never an assumption. Nothing here imports another module of core.

use core::ops::Range;

use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

/// Rounds a length up to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN); saturating, so it
/// never overflows.
#[inline]
pub fn align(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// The `N` bytes of `range` in a header that has already been length-checked (`first_chunk`).
/// Offsets and sizes are constants, so the compiler folds this check away; a range of the
/// wrong size would read zeros, which every header's round-trip test would show.
#[inline(always)]
pub(crate) fn bytes_at<const N: usize, const M: usize>(header: &[u8; M], range: Range<usize>) -> [u8; N] {
    header.get(range).and_then(|b| <[u8; N]>::try_from(b).ok()).unwrap_or([0; N])
}

/// The byte order of the integers in a netlink buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ByteOrder {
    /// Least significant byte first (x86, ARM, mipsel).
    Little,
    /// Most significant byte first (mips, the router's `mips_24kc`).
    Big,
}

impl ByteOrder {
    /// The order of this machine: what the kernel speaks to the agent.
    #[cfg(target_endian = "big")]
    pub const NATIVE: ByteOrder = ByteOrder::Big;
    /// The order of this machine: what the kernel speaks to the agent.
    #[cfg(target_endian = "little")]
    pub const NATIVE: ByteOrder = ByteOrder::Little;

    /// A nom parser for a u16 in this order. nom's own `u16(Endianness)` assembles the value
    /// byte by byte, and `take` adds its checks; matching the two bytes off the slice is one
    /// bounds check and one load, which keeps the decoder near a hand-written field walk.
    #[inline]
    pub(crate) fn p_u16<'a, E: ParseError<&'a [u8]>>(self) -> impl Parser<&'a [u8], Output = u16, Error = E> {
        move |i: &'a [u8]| -> IResult<&'a [u8], u16, E> {
            match i {
                [a, b, rest @ ..] => Ok((rest, self.u16([*a, *b]))),
                _ => Err(nom::Err::Error(E::from_error_kind(i, ErrorKind::Eof))),
            }
        }
    }

    /// A nom parser for a u32 in this order (see [`ByteOrder::p_u16`]).
    #[inline]
    pub(crate) fn p_u32<'a, E: ParseError<&'a [u8]>>(self) -> impl Parser<&'a [u8], Output = u32, Error = E> {
        move |i: &'a [u8]| -> IResult<&'a [u8], u32, E> {
            match i {
                [a, b, c, d, rest @ ..] => Ok((rest, self.u32([*a, *b, *c, *d]))),
                _ => Err(nom::Err::Error(E::from_error_kind(i, ErrorKind::Eof))),
            }
        }
    }

    /// Encodes a u16 in this order.
    #[inline]
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Encodes a u32 in this order.
    #[inline]
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Encodes a u64 in this order.
    #[inline]
    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    // Decoding is a native load and, for the other order, a byte swap: no branch per field
    // that the optimiser has to keep apart.

    /// Decodes a u16 in this order.
    #[inline]
    pub fn u16(self, b: [u8; 2]) -> u16 {
        let v = u16::from_ne_bytes(b);
        if self == ByteOrder::NATIVE {
            v
        } else {
            v.swap_bytes()
        }
    }

    /// Decodes a u32 in this order.
    #[inline]
    pub fn u32(self, b: [u8; 4]) -> u32 {
        let v = u32::from_ne_bytes(b);
        if self == ByteOrder::NATIVE {
            v
        } else {
            v.swap_bytes()
        }
    }

    /// Decodes a u64 in this order.
    #[inline]
    pub fn u64(self, b: [u8; 8]) -> u64 {
        let v = u64::from_ne_bytes(b);
        if self == ByteOrder::NATIVE {
            v
        } else {
            v.swap_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_differ_and_round_trip() {
        for o in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(o.u32(o.u32_bytes(0x1234_5678)), 0x1234_5678);
            assert_eq!(o.u16(o.u16_bytes(0xbeef)), 0xbeef);
            assert_eq!(o.u64(o.u64_bytes(0x0102_0304_0506_0708)), 0x0102_0304_0506_0708);
        }
        assert_eq!(ByteOrder::Little.u32_bytes(1), [1, 0, 0, 0]);
        assert_eq!(ByteOrder::Big.u32_bytes(1), [0, 0, 0, 1]);
        assert_eq!(ByteOrder::NATIVE.u32_bytes(1), 1u32.to_ne_bytes());
    }

    #[test]
    fn align_rounds_up_to_four_and_saturates() {
        let got: std::vec::Vec<usize> = (0..=9).map(align).collect();
        assert_eq!(got, [0, 4, 4, 4, 4, 8, 8, 8, 8, 12]);
        assert_eq!(align(usize::MAX), usize::MAX & !3);
    }

    #[test]
    fn bytes_at_fixed_offsets_of_a_checked_header() {
        let h = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(bytes_at::<4, 6>(&h, 0..4), [1, 2, 3, 4]);
        assert_eq!(bytes_at::<2, 6>(&h, 4..6), [5, 6]);
        // a range that does not fit is zeros, never a panic
        assert_eq!(bytes_at::<2, 6>(&h, 5..7), [0, 0]);
        assert_eq!(bytes_at::<4, 6>(&h, 4..6), [0; 4]);
    }

    #[test]
    fn nom_parsers_read_in_order_and_fail_short() {
        let buf = [1u8, 2, 3, 4, 5];
        let r: IResult<&[u8], u32> = ByteOrder::Big.p_u32().parse(&buf);
        assert_eq!(r, Ok((&buf[4..], 0x0102_0304)));
        let r: IResult<&[u8], u16> = ByteOrder::Little.p_u16().parse(&buf);
        assert_eq!(r, Ok((&buf[2..], 0x0201)));
        let r: IResult<&[u8], u32> = ByteOrder::Little.p_u32().parse(&buf[..3]);
        assert!(r.is_err());
    }
}
