//! Logging: one line per decision on stderr, `<level>: <text>`. procd hands stderr to logd on
//! OpenWrt, so no timestamps or colours here. The level is global and set from the config.

use std::sync::atomic::{AtomicU8, Ordering};

use apwatch_core::config::LogLevel;

static LEVEL: AtomicU8 = AtomicU8::new(2);

fn rank(l: LogLevel) -> u8 {
    match l {
        LogLevel::Error => 0,
        LogLevel::Warn => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
    }
}

/// Sets the most verbose level written.
pub fn set_level(l: LogLevel) {
    LEVEL.store(rank(l), Ordering::Relaxed);
}

/// Whether `l` is written.
pub fn enabled(l: LogLevel) -> bool {
    rank(l) <= LEVEL.load(Ordering::Relaxed)
}

#[doc(hidden)]
pub fn write(l: LogLevel, args: std::fmt::Arguments<'_>) {
    let tag = match l {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    };
    // one write per line, so lines from one process never interleave
    errln!("{tag}: {args}");
}

/// [`write`] when `l` is enabled: info lines, warnings and errors are checked here, in one place,
/// not at each call site. They are on by default, and their arguments are references or cheap
/// (one rare info line joins a path), so building them for a line that is not written costs
/// nothing worth a check at each of 66 call sites.
#[doc(hidden)]
pub fn write_enabled(l: LogLevel, args: std::fmt::Arguments<'_>) {
    if enabled(l) {
        write(l, args);
    }
}

/// debug lines are checked at the call site: a disabled one evaluates nothing (the event path's
/// debug lines format values, and `agent/tests/event_alloc.rs` counts what it allocates).
macro_rules! log_at {
    ($l:expr, $($arg:tt)*) => {
        if $crate::log::enabled($l) {
            $crate::log::write($l, format_args!($($arg)*));
        }
    };
}
macro_rules! error { ($($arg:tt)*) => { $crate::log::write_enabled(apwatch_core::config::LogLevel::Error, format_args!($($arg)*)) }; }
macro_rules! warn { ($($arg:tt)*) => { $crate::log::write_enabled(apwatch_core::config::LogLevel::Warn, format_args!($($arg)*)) }; }
macro_rules! info { ($($arg:tt)*) => { $crate::log::write_enabled(apwatch_core::config::LogLevel::Info, format_args!($($arg)*)) }; }
macro_rules! debug { ($($arg:tt)*) => { log_at!(apwatch_core::config::LogLevel::Debug, $($arg)*) }; }

/// Counts a recurring problem and says so only the first time.
#[derive(Default)]
pub struct Once {
    count: u64,
}

impl Once {
    /// Counts one occurrence; true on the first (log it then).
    pub fn hit(&mut self) -> bool {
        self.count += 1;
        self.count == 1
    }

    /// How many so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}
