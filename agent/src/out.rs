//! Writing text to stdout and stderr: each line with one write(2) (rustix), so lines from one
//! process never interleave and a line is out when the call returns. Not through std's
//! `Stdout`/`Stderr` (a re-entrant lock, a line buffer and the `print!` machinery each), and a
//! closed stdout (`apwatch status | head -1`) is a failed write, not an abort.

use std::fmt;

/// Where a line goes.
#[derive(Clone, Copy)]
pub enum To {
    Out,
    Err,
}

/// Writes all of `bytes`; false when the descriptor is gone (closed pipe, or any other error).
pub fn put(to: To, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let written = match to {
            To::Out => rustix::io::write(rustix::stdio::stdout(), bytes),
            To::Err => rustix::io::write(rustix::stdio::stderr(), bytes),
        };
        match written {
            Ok(0) => return false,
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// A path in a log line: its bytes, what is not printable ASCII as `\xNN` (as SSIDs are
/// written), not std's `Path::display` and its lossy UTF-8 decoding.
pub fn path(p: &std::path::Path) -> apwatch_core::escape::IwEscaped<'_> {
    use std::os::unix::ffi::OsStrExt;
    apwatch_core::escape::IwEscaped(p.as_os_str().as_bytes())
}

/// A log line's optional part: `before`, the value and `after` when there is a value, nothing
/// when there is none (` (was br-lan)`), written in place instead of through a `String`.
pub struct Part<'a>(pub &'static str, pub Option<&'a dyn fmt::Display>, pub &'static str);

impl fmt::Display for Part<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(v) => write!(f, "{}{v}{}", self.0, self.2),
            None => Ok(()),
        }
    }
}

/// `args` and a newline, in one write.
pub fn line(to: To, args: fmt::Arguments<'_>) -> bool {
    let mut s = fmt::format(args);
    s.push('\n');
    put(to, s.as_bytes())
}

/// `println!` through [`line`] (a failed write is not an error here: nobody is listening).
#[macro_export]
macro_rules! outln { ($($arg:tt)*) => {{ let _ = $crate::out::line($crate::out::To::Out, format_args!($($arg)*)); }}; }
/// `eprintln!` through [`line`].
#[macro_export]
macro_rules! errln { ($($arg:tt)*) => {{ let _ = $crate::out::line($crate::out::To::Err, format_args!($($arg)*)); }}; }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_there_with_its_value_only() {
        assert_eq!(Part(" (was ", Some(&"br-lan"), ")").to_string(), " (was br-lan)");
        assert_eq!(Part(" vlan ", Some(&7u16), "").to_string(), " vlan 7");
        assert_eq!(Part(" (was ", None, ")").to_string(), "");
    }

    #[test]
    fn a_line_is_written_whole() {
        // the test process's stderr is a real descriptor (the harness does not capture raw
        // writes): the write succeeds
        assert!(line(To::Err, format_args!("out.rs test line {}", 1)));
        assert!(put(To::Err, b""));
    }
}
