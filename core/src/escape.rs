//! Showing untrusted bytes (SSIDs, names from the wire or a config file) safely: `iw`'s escaping,
//! and lowercase hex. Both are `Display` adapters, so nothing allocates.

use core::fmt;

/// Escapes like `iw`'s `print_ssid_escaped`: printable ASCII as is, a space as is unless it is
/// the first or last byte, everything else (and `\`) as `\xNN`. Unlike iw, `"` is escaped too,
/// so a quoted SSID in a log line always ends where it seems to.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IwEscaped<'a>(pub &'a [u8]);

impl fmt::Display for IwEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.0.len().saturating_sub(1);
        for (i, &b) in self.0.iter().enumerate() {
            let plain = match b {
                b' ' => i != 0 && i != last,
                b'\\' | b'"' => false,
                0x21..=0x7e => true,
                _ => false,
            };
            if plain {
                fmt::Write::write_char(f, char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for IwEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Lowercase hex, two digits a byte.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// One hex digit's value (either case).
pub fn hex_digit(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes hex (either case) into `out`; `None` when odd-length, not hex, or too long.
pub fn decode_hex<const N: usize>(s: &[u8]) -> Option<heapless::Vec<u8, N>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let mut out = heapless::Vec::new();
    for pair in s.chunks_exact(2) {
        if let [hi, lo] = pair {
            out.push(hex_digit(*hi)? << 4 | hex_digit(*lo)?).ok()?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn escapes_like_iw() {
        assert_eq!(format!("{}", IwEscaped(b"foo")), "foo");
        assert_eq!(format!("{}", IwEscaped(b"f\xffo\x80")), "f\\xffo\\x80");
        assert_eq!(format!("{}", IwEscaped(b" a b ")), "\\x20a b\\x20");
        assert_eq!(format!("{}", IwEscaped(b"a\\b\"c")), "a\\x5cb\\x22c");
        assert_eq!(format!("{}", IwEscaped(b"$(reboot)\n;'")), "$(reboot)\\x0a;'");
        assert_eq!(format!("{}", IwEscaped(b"\0%s")), "\\x00%s");
        assert_eq!(format!("{:?}", IwEscaped(b"x")), "\"x\"");
    }

    #[test]
    fn hex_both_ways() {
        assert_eq!(format!("{}", Hex(b"f\xffo\x80")), "66ff6f80");
        assert_eq!(decode_hex::<32>(b"66FF6f80").unwrap().as_slice(), b"f\xffo\x80");
        assert!(decode_hex::<32>(b"6").is_none());
        assert!(decode_hex::<32>(b"zz").is_none());
        assert!(decode_hex::<2>(b"010203").is_none());
        assert_eq!(decode_hex::<2>(b"").unwrap().len(), 0);
    }
}
