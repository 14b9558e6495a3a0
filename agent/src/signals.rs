//! SIGTERM, SIGINT and SIGHUP as a descriptor the loop polls (signalfd): the three are blocked
//! in the agent's one thread and read from the descriptor, so no handler runs and nothing has to
//! be async-signal-safe. Children get an empty mask back (spawn.rs).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

/// What a signal asks of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM (procd's stop) or SIGINT: exit.
    Stop,
    /// SIGHUP (procd's reload): read the config again.
    Reload,
}

/// The three signals, blocked and readable from a descriptor; unblocked again when dropped.
pub struct Signals {
    fd: OwnedFd,
}

fn handled() -> libc::sigset_t {
    // SAFETY: a sigset_t is plain data; sigemptyset initialises it before sigaddset reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

fn mask(how: libc::c_int) -> io::Result<()> {
    let set = handled();
    // SAFETY: `set` is initialised; the old mask is not asked for.
    let r = unsafe { libc::pthread_sigmask(how, &set, std::ptr::null_mut()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

impl Signals {
    /// Blocks the three signals in this thread and opens their descriptor (non-blocking).
    pub fn new() -> io::Result<Signals> {
        mask(libc::SIG_BLOCK)?;
        let set = handled();
        // SAFETY: `set` is initialised; -1 asks for a new descriptor.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            let _ = mask(libc::SIG_UNBLOCK);
            return Err(e);
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        Ok(Signals { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// The next signal that arrived, `None` when none is pending.
    pub fn next(&self) -> io::Result<Option<Signal>> {
        // struct signalfd_siginfo: 128 bytes, ssi_signo (u32) first
        let mut info = [0u8; 128];
        let n = loop {
            match rustix::io::read(&self.fd, &mut info) {
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return Ok(None),
                r => break r?,
            }
        };
        if n != info.len() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Some(match i32::from_ne_bytes([info[0], info[1], info[2], info[3]]) {
            libc::SIGHUP => Signal::Reload,
            _ => Signal::Stop,
        }))
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let _ = mask(libc::SIG_UNBLOCK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raise(sig: libc::c_int) {
        // SAFETY: raise only sends a signal to this thread.
        assert_eq!(unsafe { libc::raise(sig) }, 0);
    }

    #[test]
    fn the_three_signals_are_read_from_the_descriptor_in_order() {
        let s = Signals::new().unwrap();
        assert_eq!(s.next().unwrap(), None);
        // blocked: raising them does not run the default action (which would end the test run)
        raise(libc::SIGHUP);
        assert_eq!(s.next().unwrap(), Some(Signal::Reload));
        assert_eq!(s.next().unwrap(), None);
        raise(libc::SIGTERM);
        assert_eq!(s.next().unwrap(), Some(Signal::Stop));
        raise(libc::SIGINT);
        assert_eq!(s.next().unwrap(), Some(Signal::Stop));
        assert_eq!(s.next().unwrap(), None);
        drop(s);
        // unblocked again
        // SAFETY: a sigset_t is plain data, written by pthread_sigmask below.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `old` is written by the call; no new mask is set.
        assert_eq!(unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut old) }, 0);
        // SAFETY: `old` was initialised by pthread_sigmask.
        assert_eq!(unsafe { libc::sigismember(&old, libc::SIGTERM) }, 0);
    }
}
