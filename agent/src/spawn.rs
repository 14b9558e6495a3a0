//! Starting a program and reaping it later (`dnsmasq_restart`): `posix_spawnp` and `waitpid`,
//! what `std::process::Command` does for this case without its environment maps and pipes.

use std::ffi::{c_char, CString};
use std::fmt;
use std::io;

use rustix::process::{waitpid, Pid, WaitOptions};

extern "C" {
    /// The process environment (libc's), which the child inherits as `Command` passes it.
    static environ: *const *mut c_char;
}

/// A started program, not yet reaped.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
}

/// How a reaped program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

impl Status {
    pub fn success(self) -> bool {
        self == Status::Exited(0)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exit status: {c}"),
            Status::Signaled(s) => write!(f, "signal: {s}"),
        }
    }
}

/// Starts `argv[0]` (looked up in `PATH` when it has no `/`) with `argv`, the agent's
/// environment and stdio; SIGPIPE back to its default (the Rust runtime ignores it, and `Command`
/// resets it too) and an empty signal mask (the loop blocks SIGTERM, SIGINT and SIGHUP for its
/// signalfd; dnsmasq must not inherit that). An error when the program cannot be executed.
pub fn spawn(argv: &[&str]) -> io::Result<Child> {
    let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
    let args: Vec<CString> = argv.iter().map(|a| CString::new(*a)).collect::<Result<_, _>>().map_err(|_| invalid())?;
    let prog = args.first().ok_or_else(invalid)?;
    let mut ptrs: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    ptrs.push(std::ptr::null_mut());
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr`, `sigpipe` and `none` are initialised by their init functions before use and `attr`
    // is destroyed once; `prog` and every pointer in `ptrs` point to NUL-terminated strings that
    // `args` keeps alive until the call returns, and `ptrs` ends with a null pointer as
    // posix_spawnp requires; `environ` is libc's own, null-terminated, and nothing in the agent
    // changes the environment.
    let r = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let mut sigpipe: libc::sigset_t = std::mem::zeroed();
        let mut r = libc::posix_spawnattr_init(&mut attr);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut sigpipe);
        libc::sigaddset(&mut sigpipe, libc::SIGPIPE);
        libc::sigemptyset(&mut none);
        r = libc::posix_spawnattr_setsigdefault(&mut attr, &sigpipe);
        if r == 0 {
            r = libc::posix_spawnattr_setsigmask(&mut attr, &none);
        }
        if r == 0 {
            let flags = libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK;
            r = libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
        }
        if r == 0 {
            r = libc::posix_spawnp(&mut pid, prog.as_ptr(), std::ptr::null(), &attr, ptrs.as_ptr(), environ);
        }
        libc::posix_spawnattr_destroy(&mut attr);
        r
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Pid::from_raw(pid).map(|pid| Child { pid }).ok_or_else(|| io::Error::from(io::ErrorKind::Other))
}

impl Child {
    /// The status once it ended (it is reaped then: call this until `Some`), `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<Status>> {
        let Some((_, s)) = waitpid(Some(self.pid), WaitOptions::NOHANG)? else { return Ok(None) };
        Ok(Some(match (s.exit_status(), s.terminating_signal()) {
            (Some(c), _) => Status::Exited(c),
            (None, Some(sig)) => Status::Signaled(sig),
            // waitpid without WUNTRACED/WCONTINUED reports only ends
            (None, None) => Status::Exited(-1),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(mut c: Child) -> Status {
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn runs_programs_and_reports_how_they_ended() {
        // PATH lookup, arguments as given (no shell), the exit code
        let s = wait(spawn(&["sh", "-c", "exit \"$0\"", "7"]).unwrap());
        assert_eq!(s, Status::Exited(7));
        assert!(!s.success());
        assert_eq!(s.to_string(), "exit status: 7");
        assert!(wait(spawn(&["true"]).unwrap()).success());
        // the agent's environment is inherited; SIGPIPE is at its default in the child
        // whether signal `sig` is in the mask `field` (SigIgn:, SigBlk:) of a /proc status text
        let in_mask = |status: &str, field: &str, sig: libc::c_int| {
            let hex = status.lines().find_map(|l| l.strip_prefix(field)).unwrap().trim();
            u64::from_str_radix(hex, 16).unwrap() & 1 << (sig - 1) != 0
        };
        let ignored = |status: &str| in_mask(status, "SigIgn:", libc::SIGPIPE);
        assert!(ignored(&std::fs::read_to_string("/proc/self/status").unwrap()), "Rust programs ignore SIGPIPE");
        let (name, value) = std::env::vars().next().unwrap();
        let script = r#"[ "$(printenv "$0")" = "$1" ] || exit 2; cat /proc/$$/status"#;
        let out = std::env::temp_dir().join(format!("apwatch-spawn-{}", std::process::id()));
        let sh = format!("{script} > {}", out.display());
        assert_eq!(wait(spawn(&["sh", "-c", &sh, &name, &value]).unwrap()), Status::Exited(0));
        assert!(!ignored(&std::fs::read_to_string(&out).unwrap()));
        // the loop's blocked signals (its signalfd) are not the child's. The child execs cat,
        // which reads its own mask: a shell that waits for a child blocks every signal for an
        // instant itself (dash's waitproc), so its own status would not tell.
        let hup_blocked = |status: &str| in_mask(status, "SigBlk:", libc::SIGHUP);
        let signals = crate::signals::Signals::new().unwrap();
        assert!(hup_blocked(&std::fs::read_to_string("/proc/thread-self/status").unwrap()));
        let own = r#"exec cat /proc/self/status > "$0""#;
        assert_eq!(wait(spawn(&["sh", "-c", own, &out.to_string_lossy()]).unwrap()), Status::Exited(0));
        assert!(!hup_blocked(&std::fs::read_to_string(&out).unwrap()));
        drop(signals);
        let _ = std::fs::remove_file(&out);
        let s = wait(spawn(&["sh", "-c", "kill -9 $$"]).unwrap());
        assert_eq!((s, s.to_string().as_str()), (Status::Signaled(9), "signal: 9"));
        // a missing program: libc reports the failed exec (glibc, musl on a kernel); under
        // qemu-user the exec fails in a child the emulator cannot make vfork-wait, which then
        // exits 127 as the shell would: either is a failed start the caller logs
        match spawn(&["/nonexistent/apwatch-test"]) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            Ok(c) => assert_eq!(wait(c), Status::Exited(127)),
        }
        assert_eq!(spawn(&["a\0b"]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(spawn(&[]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
