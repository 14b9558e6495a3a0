//! What an errno means, in words: the messages of musl (OpenWrt's libc) for the errors a
//! network agent meets, so a log line reads "No such device (os error 19)" without linking the
//! libc's table of every message and std's `io::Error` formatting (a router's flash).
//! Numbers 1-34 are the same on every Linux; above that MIPS has its own (the agent's tests
//! check every entry against the target's own numbers, under qemu-user on MIPS too).

use core::fmt;

// The numbers above 34, per architecture family: ENAMETOOLONG ENOSYS ENOTEMPTY ELOOP ENODATA
// EPROTO EMSGSIZE ENOTSOCK ENOPROTOOPT EPROTONOSUPPORT EOPNOTSUPP EAFNOSUPPORT EADDRINUSE
// EADDRNOTAVAIL ENETDOWN ENETUNREACH ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ETIMEDOUT
// ECONNREFUSED EHOSTUNREACH EALREADY EINPROGRESS ESTALE ECANCELED EOVERFLOW EBADMSG.
#[cfg(any(target_arch = "mips", target_arch = "mips32r6", target_arch = "mips64", target_arch = "mips64r6"))]
#[rustfmt::skip]
const HIGH: [u8; 30] = [
    78, 89, 93, 90, 61, 71, 97, 95, 99, 120, 122, 124, 125, 126, 127,
    128, 130, 131, 132, 133, 134, 145, 146, 148, 149, 150, 151, 158, 79, 77,
];
#[cfg(not(any(target_arch = "mips", target_arch = "mips32r6", target_arch = "mips64", target_arch = "mips64r6")))]
#[rustfmt::skip]
const HIGH: [u8; 30] = [
    36, 38, 39, 40, 61, 71, 90, 88, 92, 93, 95, 97, 98, 99, 100,
    101, 103, 104, 105, 106, 107, 110, 111, 113, 114, 115, 116, 125, 75, 74,
];

/// One message per line: for [`LOW`]'s numbers, then for [`HIGH`]'s, in their order.
const MESSAGES: &str = "Operation not permitted
No such file or directory
No such process
Interrupted system call
I/O error
No such device or address
Argument list too long
Exec format error
Bad file descriptor
No child process
Resource temporarily unavailable
Out of memory
Permission denied
Bad address
Resource busy
File exists
Cross-device link
No such device
Not a directory
Is a directory
Invalid argument
Too many open files in system
No file descriptors available
No space left on device
Read-only file system
Too many links
Broken pipe
Result not representable
Filename too long
Function not implemented
Directory not empty
Symbolic link loop
No data available
Protocol error
Message too large
Not a socket
Protocol not available
Protocol not supported
Not supported
Address family not supported by protocol
Address in use
Address not available
Network is down
Network unreachable
Connection aborted
Connection reset by peer
No buffer space available
Socket is connected
Socket not connected
Operation timed out
Connection refused
Host is unreachable
Operation already in progress
Operation in progress
Stale file handle
Operation canceled
Value too large for data type
Bad message";

/// The errnos 1-34 with a message here (not ENOTBLK, ENOTTY, ETXTBSY, EFBIG, ESPIPE, EDOM).
#[rustfmt::skip]
const LOW: [u8; 28] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 28, 30, 31, 32, 34];

/// The message for errno `raw` on this architecture, if it is one of those known here.
pub fn message(raw: i32) -> Option<&'static str> {
    let raw = u8::try_from(raw).ok().filter(|&n| n != 0)?;
    let i = LOW.iter().chain(HIGH.iter()).position(|&n| n == raw)?;
    crate::text::pieces(MESSAGES, b'\n').nth(i)
}

/// An errno as std writes an `io::Error`: `No such device (os error 19)`, or `os error 200` for
/// one without a message here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match message(self.0) {
            Some(m) => write!(f, "{m} (os error {})", self.0),
            None => write!(f, "os error {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn every_number_has_one_message() {
        assert_eq!(MESSAGES.split('\n').count(), LOW.len() + HIGH.len());
        let mut all: std::vec::Vec<u8> = LOW.iter().chain(HIGH.iter()).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), LOW.len() + HIGH.len(), "a number twice");
    }

    #[test]
    fn messages_and_formatting() {
        assert_eq!(message(1), Some("Operation not permitted"));
        assert_eq!(message(19), Some("No such device"));
        assert_eq!(message(34), Some("Result not representable"));
        assert_eq!((message(0), message(15), message(-2), message(256 + 2)), (None, None, None, None));
        assert_eq!(Errno(2).to_string(), "No such file or directory (os error 2)");
        assert_eq!(Errno(250).to_string(), "os error 250");
    }
}
