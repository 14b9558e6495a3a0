//! An SSID is 1–32 raw bytes, not text: borrowed from the wire as [`SsidRef`], owned as [`Ssid`]
//! (a `heapless::Vec<u8, 32>`). Both display escaped like `iw`.

use core::fmt;

use crate::escape::{self, IwEscaped};
use crate::Error;

/// The longest SSID 802.11 allows.
pub const MAX_LEN: usize = 32;

/// An SSID borrowed from a buffer; 1..=32 bytes, checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SsidRef<'a>(&'a [u8]);

impl<'a> SsidRef<'a> {
    /// Checks the length (1..=32).
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > MAX_LEN {
            return Err(Error::BadSsid);
        }
        Ok(SsidRef(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Ssid {
        // Cannot fail: the length was checked on construction.
        Ssid(heapless::Vec::from_slice(self.0).unwrap_or_default())
    }
}

/// An owned SSID; 1..=32 bytes, checked.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssid(heapless::Vec<u8, MAX_LEN>);

impl Ssid {
    /// Copies and checks `bytes`.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        Ok(SsidRef::new(bytes)?.to_owned())
    }

    /// Parses an SSID given in hex (`ssid_hex`), e.g. `66ff6f80`.
    pub fn from_hex(hex: &[u8]) -> Result<Self, Error> {
        let v = escape::decode_hex::<MAX_LEN>(hex).ok_or(Error::BadSsid)?;
        Ssid::new(&v)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A borrowed view.
    pub fn as_ref(&self) -> SsidRef<'_> {
        SsidRef(&self.0)
    }
}

impl PartialEq<SsidRef<'_>> for Ssid {
    fn eq(&self, other: &SsidRef<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for SsidRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        IwEscaped(self.0).fmt(f)
    }
}

impl fmt::Debug for SsidRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssid({:?})", IwEscaped(self.0))
    }
}

impl fmt::Display for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl fmt::Debug for Ssid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SsidRef<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Ssid({=[u8]})", self.0)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Ssid {
    fn format(&self, f: defmt::Formatter<'_>) {
        self.as_ref().format(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn lengths_are_checked() {
        assert_eq!(SsidRef::new(b""), Err(Error::BadSsid));
        assert!(SsidRef::new(&[b'a'; 32]).is_ok());
        assert_eq!(SsidRef::new(&[b'a'; 33]), Err(Error::BadSsid));
        assert_eq!(Ssid::new(&[0xff; 33]), Err(Error::BadSsid));
    }

    #[test]
    fn owned_and_borrowed_agree_and_display_escaped() {
        let s = Ssid::from_hex(b"66ff6f80").unwrap();
        assert_eq!(s.as_bytes(), b"f\xffo\x80");
        assert_eq!(format!("{s}"), "f\\xffo\\x80");
        assert_eq!(format!("{s:?}"), "Ssid(\"f\\xffo\\x80\")");
        assert!(s == SsidRef::new(b"f\xffo\x80").unwrap());
        assert_eq!(Ssid::from_hex(b""), Err(Error::BadSsid));
        assert_eq!(Ssid::from_hex(&[b'a'; 66]), Err(Error::BadSsid));
    }
}
