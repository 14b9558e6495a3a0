//! The typed errors of decoding and encoding. Every malformed input maps to one of these;
//! nothing in core panics on what the wire brings.

use core::fmt;

/// Why a buffer could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// Fewer bytes than a fixed header needs.
    Truncated,
    /// `nlmsg_len` is below the header size or runs past the buffer.
    BadMessageLength,
    /// An attribute's length is below 4 or runs past its container.
    BadAttributeLength,
    /// An attribute's value has the wrong size for its type (e.g. a u32 that is 3 bytes).
    BadAttributeValue {
        /// The attribute type.
        kind: u16,
    },
    /// A required attribute is missing.
    MissingAttribute {
        /// The attribute type.
        kind: u16,
    },
    /// An SSID that is empty or longer than 32 bytes.
    BadSsid,
    /// A message of another kind than the decoder handles.
    UnexpectedMessage,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("truncated header"),
            Error::BadMessageLength => f.write_str("bad nlmsg_len"),
            Error::BadAttributeLength => f.write_str("bad attribute length"),
            Error::BadAttributeValue { kind } => write!(f, "bad value size for attribute {kind}"),
            Error::MissingAttribute { kind } => write!(f, "missing attribute {kind}"),
            Error::BadSsid => f.write_str("SSID not 1..32 bytes"),
            Error::UnexpectedMessage => f.write_str("unexpected message type"),
        }
    }
}

/// Why a request could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The caller's buffer is too small for the message.
    BufferTooSmall,
    /// A value does not fit its field (e.g. an attribute over 65535 bytes, a name too long).
    ValueTooLarge,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("buffer too small"),
            EncodeError::ValueTooLarge => f.write_str("value too large"),
        }
    }
}
