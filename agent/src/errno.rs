//! An `io::Error` in a log line, written by apwatch-core's errno table ("No such device (os
//! error 19)") instead of std's `Display`, whose libc message table and error-kind texts are
//! flash a router need not spend.

use std::fmt;
use std::io;

use apwatch_core::errno::Errno;

/// Writes `self.0` as std would for an errno; other errors by their own `Display` (one carried
/// inside) or by what kind they are.
pub struct Why<'a>(pub &'a io::Error);

impl fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.0.raw_os_error() {
            return fmt::Display::fmt(&Errno(n), f);
        }
        if let Some(inner) = self.0.get_ref() {
            return fmt::Display::fmt(inner, f);
        }
        f.write_str(kind_text(self.0.kind()))
    }
}

/// A rustix error, written the same way.
pub fn os(e: rustix::io::Errno) -> Errno {
    Errno(e.raw_os_error())
}

/// The few kinds apwatch and std make errors of without an errno.
fn kind_text(k: io::ErrorKind) -> &'static str {
    match k {
        io::ErrorKind::NotFound => "not found",
        io::ErrorKind::InvalidInput => "invalid input",
        io::ErrorKind::InvalidData => "invalid data",
        io::ErrorKind::UnexpectedEof => "unexpected end of file",
        io::ErrorKind::WriteZero => "write zero",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::Unsupported => "unsupported",
        io::ErrorKind::OutOfMemory => "out of memory",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apwatch_core::errno::message;
    use rustix::io::Errno as E;

    #[test]
    fn errors_read_as_std_writes_them() {
        assert_eq!(Why(&io::Error::from_raw_os_error(19)).to_string(), "No such device (os error 19)");
        assert_eq!(Why(&io::ErrorKind::UnexpectedEof.into()).to_string(), "unexpected end of file");
        assert_eq!(Why(&io::Error::other("netifd said no")).to_string(), "netifd said no");
        assert_eq!(
            Why(&io::Error::from(E::NOBUFS)).to_string(),
            format!("No buffer space available (os error {})", E::NOBUFS.raw_os_error())
        );
    }

    /// Every number above 34 is this target's own (MIPS differs): checked against rustix's.
    #[test]
    fn the_table_has_this_targets_numbers() {
        let high = [
            (E::NAMETOOLONG, "Filename too long"),
            (E::NOSYS, "Function not implemented"),
            (E::NOTEMPTY, "Directory not empty"),
            (E::LOOP, "Symbolic link loop"),
            (E::NODATA, "No data available"),
            (E::PROTO, "Protocol error"),
            (E::MSGSIZE, "Message too large"),
            (E::NOTSOCK, "Not a socket"),
            (E::NOPROTOOPT, "Protocol not available"),
            (E::PROTONOSUPPORT, "Protocol not supported"),
            (E::OPNOTSUPP, "Not supported"),
            (E::AFNOSUPPORT, "Address family not supported by protocol"),
            (E::ADDRINUSE, "Address in use"),
            (E::ADDRNOTAVAIL, "Address not available"),
            (E::NETDOWN, "Network is down"),
            (E::NETUNREACH, "Network unreachable"),
            (E::CONNABORTED, "Connection aborted"),
            (E::CONNRESET, "Connection reset by peer"),
            (E::NOBUFS, "No buffer space available"),
            (E::ISCONN, "Socket is connected"),
            (E::NOTCONN, "Socket not connected"),
            (E::TIMEDOUT, "Operation timed out"),
            (E::CONNREFUSED, "Connection refused"),
            (E::HOSTUNREACH, "Host is unreachable"),
            (E::ALREADY, "Operation already in progress"),
            (E::INPROGRESS, "Operation in progress"),
            (E::STALE, "Stale file handle"),
            (E::CANCELED, "Operation canceled"),
            (E::OVERFLOW, "Value too large for data type"),
            (E::BADMSG, "Bad message"),
        ];
        for (e, m) in high {
            assert_eq!(message(e.raw_os_error()), Some(m), "errno {}", e.raw_os_error());
        }
        assert_eq!(message(E::NODEV.raw_os_error()), Some("No such device"));
        assert_eq!(message(E::AGAIN.raw_os_error()), Some("Resource temporarily unavailable"));
    }
}
