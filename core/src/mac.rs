//! MAC addresses as text: `02:00:00:00:01:00`, the way hostapd (MACSTR), sysfs (`macaddress`)
//! and `iw` write them. One reader and one writer for every place apwatch meets one.

use core::fmt;

use crate::escape::hex_digit;

/// Six colon-separated pairs of hex digits, either case; nothing before, between or after.
pub fn parse(s: &[u8]) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(|&b| b == b':');
    for m in mac.iter_mut() {
        let &[hi, lo] = parts.next()? else { return None };
        *m = hex_digit(hi)? << 4 | hex_digit(lo)?;
    }
    parts.next().is_none().then_some(mac)
}

/// Writes an address as [`parse`] reads it, lowercase.
#[derive(Clone, Copy)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ":" };
            write!(f, "{sep}{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn reads_either_case_and_nothing_else() {
        assert_eq!(parse(b"02:00:00:00:01:00"), Some([2, 0, 0, 0, 1, 0]));
        assert_eq!(parse(b"AA:bb:cc:dd:ee:FF"), Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        assert_eq!(parse(b"02:00:00:00:00:0F"), Some([2, 0, 0, 0, 0, 15]));
        for bad in [
            &b""[..],
            b"02:00:00:00:01",
            b"02:00:00:00:01:00:",
            b"02:00:00:00:01:00:00",
            b"02:00:00:00:01:000",
            b"020000000100",
            b"02-00-00-00-01-00",
            b"0:200:00:00:01:00",
            b"2:00:00:00:00:00",
            b"+2:00:00:00:00:00",
            b"g2:00:00:00:00:00",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn writes_what_it_reads() {
        let m = [0x02, 0xab, 0, 0x10, 0xff, 9];
        assert_eq!(Mac(m).to_string(), "02:ab:00:10:ff:09");
        assert_eq!(parse(Mac(m).to_string().as_bytes()), Some(m));
    }
}
