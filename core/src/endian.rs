//! Byte order of netlink integers. Netlink is host order; captures are whatever host recorded
//! them, so the order is a parameter, never an assumption.

use nom::number::Endianness;

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

    pub(crate) fn nom(self) -> Endianness {
        match self {
            ByteOrder::Little => Endianness::Little,
            ByteOrder::Big => Endianness::Big,
        }
    }

    /// Encodes a u16 in this order.
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Encodes a u32 in this order.
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Encodes a u64 in this order.
    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }

    /// Decodes a u16 in this order.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }

    /// Decodes a u32 in this order.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }

    /// Decodes a u64 in this order.
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
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
}
