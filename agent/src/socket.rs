//! The netlink sockets: opening, joining multicast groups, sizing the receive buffer, sending
//! requests and receiving messages from the kernel only. Everything else reads bytes from here.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// Which netlink protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// NETLINK_ROUTE
    Route,
    /// NETLINK_GENERIC
    Generic,
}

/// The largest receive buffer apwatch grows to after ENOBUFS.
pub const RCVBUF_MAX: usize = 4 << 20;

/// What one receive brought.
pub enum Received {
    /// `n` bytes from the kernel are in the buffer.
    Data(usize),
    /// A datagram from a user-space sender (port != 0): dropped.
    Spoofed(u32),
    /// Nothing queued (non-blocking socket).
    WouldBlock,
    /// The kernel dropped messages: our view is stale.
    Overrun,
}

/// One netlink socket.
pub struct Socket {
    fd: OwnedFd,
    rcvbuf: usize,
}

impl Socket {
    /// Opens and binds a socket (the kernel picks the port id). `groups` is the legacy bitmask
    /// (rtnetlink groups 1..32).
    pub fn open(protocol: Protocol, groups: u32, nonblocking: bool) -> io::Result<Socket> {
        let proto = match protocol {
            Protocol::Route => None,
            Protocol::Generic => Some(netlink::GENERIC),
        };
        let mut flags = SocketFlags::CLOEXEC;
        if nonblocking {
            flags |= SocketFlags::NONBLOCK;
        }
        let fd = rustix::net::socket_with(AddressFamily::NETLINK, SocketType::RAW, flags, proto)?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups))?;
        let rcvbuf = rustix::net::sockopt::socket_recv_buffer_size(&fd).unwrap_or(212_992);
        let s = Socket { fd, rcvbuf };
        // errors with the offending attribute named, where the kernel supports it
        let _ = s.setsockopt_u32(libc::NETLINK_EXT_ACK, 1);
        Ok(s)
    }

    fn setsockopt_u32(&self, opt: libc::c_int, value: u32) -> io::Result<()> {
        // rustix has no NETLINK_* socket options; this is the one raw call in apwatch.
        // SAFETY: the fd is open for the life of `self`; `value` is a live u32 whose size is
        // passed; the kernel only reads it.
        let r = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_NETLINK,
                opt,
                (&value as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Joins multicast group `id` (any id, unlike the bind bitmask).
    pub fn join(&self, id: u32) -> io::Result<()> {
        self.setsockopt_u32(libc::NETLINK_ADD_MEMBERSHIP, id)
    }

    /// The receive buffer size the kernel reports.
    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf
    }

    /// Sets the receive buffer; with CAP_NET_ADMIN past rmem_max (SO_RCVBUFFORCE).
    pub fn set_rcvbuf(&mut self, bytes: usize) -> io::Result<()> {
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&self.fd, bytes).is_err() {
            rustix::net::sockopt::set_socket_recv_buffer_size(&self.fd, bytes)?;
        }
        self.rcvbuf = rustix::net::sockopt::socket_recv_buffer_size(&self.fd).unwrap_or(bytes);
        Ok(())
    }

    /// Doubles the receive buffer after ENOBUFS, up to [`RCVBUF_MAX`]. Returns the new size, or
    /// `None` when already at the bound.
    pub fn grow_rcvbuf(&mut self) -> Option<usize> {
        let want = (self.rcvbuf.max(4096) * 2).min(RCVBUF_MAX);
        if self.rcvbuf >= RCVBUF_MAX || self.set_rcvbuf(want).is_err() {
            return None;
        }
        Some(self.rcvbuf)
    }

    /// Sends one request to the kernel.
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        let kernel = SocketAddrNetlink::new(0, 0);
        rustix::net::sendto(&self.fd, msg, SendFlags::empty(), &kernel)?;
        Ok(())
    }

    /// Receives one datagram (possibly several messages) into `buf`, accepting only the kernel.
    pub fn recv(&self, buf: &mut [u8], dontwait: bool) -> io::Result<Received> {
        let flags = if dontwait { RecvFlags::DONTWAIT } else { RecvFlags::empty() };
        let r = loop {
            match rustix::net::recvfrom(&self.fd, &mut *buf, flags) {
                Err(Errno::INTR) => continue, // a signal (SIGCHLD, SIGHUP) arrived: just retry
                r => break r,
            }
        };
        match r {
            Ok((n, _, addr)) => {
                let sender = addr.and_then(|a| SocketAddrNetlink::try_from(a).ok()).map(|a| a.pid());
                match sender {
                    Some(0) => Ok(Received::Data(n.min(buf.len()))),
                    Some(pid) => Ok(Received::Spoofed(pid)),
                    None => Ok(Received::Spoofed(u32::MAX)),
                }
            }
            Err(Errno::AGAIN) => Ok(Received::WouldBlock),
            Err(Errno::NOBUFS) => Ok(Received::Overrun),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
