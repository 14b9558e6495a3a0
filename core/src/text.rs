//! Text cut at an ASCII separator, as `str::split_once`, `rsplit_once` and `split` do with a
//! `char`, by a plain byte search: core's char searchers (a UTF-8 aware search per use) are not
//! needed for the one-byte separators of apwatch's files, command line and sysfs values.

/// The text before and after the first `sep`, if there is one. `sep` is ASCII (below 0x80), so
/// both sides are whole UTF-8.
pub fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The text before and after the last `sep`, if there is one.
pub fn rcut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().rposition(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The pieces of `s` between `sep`s, as `str::split` gives them (an empty text is one empty
/// piece; a trailing `sep` ends in an empty one).
pub fn pieces(s: &str, sep: u8) -> Pieces<'_> {
    Pieces { rest: Some(s), sep }
}

/// See [`pieces`].
#[derive(Clone, Debug)]
pub struct Pieces<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match cut(rest, self.sep) {
            Some((piece, after)) => {
                self.rest = Some(after);
                Some(piece)
            }
            None => self.rest.take(),
        }
    }
}

/// A decimal number of ASCII digits only (no sign, no spaces, at least one digit), as `T` if it
/// fits: one loop for every number apwatch reads (config values, the state file, sysfs
/// attributes, socket names), not core's `from_str` per integer type.
pub fn number<T: TryFrom<u64>>(s: &[u8]) -> Option<T> {
    if s.is_empty() {
        return None;
    }
    let n = s.iter().try_fold(0u64, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })?;
    T::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn cuts_and_pieces_as_str_does() {
        for s in ["a=b=c", "=x", "x=", "", "none", "é=ü"] {
            assert_eq!(cut(s, b'='), s.split_once('='), "{s}");
            assert_eq!(rcut(s, b'='), s.rsplit_once('='), "{s}");
            assert_eq!(pieces(s, b'=').collect::<Vec<_>>(), s.split('=').collect::<Vec<_>>(), "{s}");
        }
        assert_eq!(pieces("a\tb\t\tc\n", b'\t').collect::<Vec<_>>(), ["a", "b", "", "c\n"]);
    }

    #[test]
    fn numbers_of_digits_only() {
        assert_eq!(number::<u32>(b"0"), Some(0));
        assert_eq!(number::<u32>(b"007"), Some(7));
        assert_eq!(number::<u32>(b"4294967295"), Some(u32::MAX));
        assert_eq!(number::<u32>(b"4294967296"), None);
        assert_eq!(number::<u16>(b"65536"), None);
        assert_eq!(number::<u64>(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(number::<u64>(b"18446744073709551616"), None);
        assert_eq!(number::<u64>(b"99999999999999999999"), None);
        for bad in [&b""[..], b"+1", b"-1", b" 1", b"1 ", b"1a", b"0x1", b"\xd9\xa1"] {
            assert_eq!(number::<u64>(bad), None, "{bad:?}");
        }
        // what std reads the same way
        for s in ["0", "12", "4294967295", "4294967296", "99999999999"] {
            assert_eq!(number::<u32>(s.as_bytes()), s.parse().ok(), "{s}");
        }
    }
}
