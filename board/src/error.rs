//! The crate's one error type. Every value prints as one log line that names the LED or phy and
//! the file involved, because the agent logs it and carries on without the LED.

use core::fmt;

#[cfg(feature = "linux")]
use std::{io, path::PathBuf, string::String};

#[cfg(feature = "linux")]
use crate::spec::LedSpec;

/// Why an `option led` value is not an LED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecError {
    /// The value is empty.
    Empty,
    /// Longer than [`LedName::MAX`](crate::LedName::MAX) bytes.
    TooLong,
    /// `.` or `..`: a directory, not an LED.
    DotName,
    /// Contains `/` or NUL, so it is not one directory entry.
    BadByte,
    /// `gpiochipN:LINE` with a number that does not fit 32 bits.
    GpioOutOfRange,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpecError::Empty => "name is empty",
            SpecError::TooLong => "name is longer than 64 bytes",
            SpecError::DotName => "name cannot be '.' or '..'",
            SpecError::BadByte => "name contains '/' or NUL",
            SpecError::GpioOutOfRange => "gpiochip number or line does not fit 32 bits",
        })
    }
}

/// What an I/O error was about, for the start of its log line.
#[cfg(feature = "linux")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The status LED.
    Led(LedSpec),
    /// One radio, by its phy name.
    Phy(String),
    /// The list of radios itself (`/sys/class/ieee80211`).
    Radios,
}

#[cfg(feature = "linux")]
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Led(led) => write!(f, "led {led}"),
            Subject::Phy(phy) => write!(f, "phy {phy}"),
            Subject::Radios => f.write_str("radios"),
        }
    }
}

/// Everything that can go wrong here. None of it is fatal to the agent.
/// The calls that open or drive hardware return it boxed (`Box<Error>`): an error is up to
/// ~90 bytes (an LED name, a path, the errno), and a box moves through each `?` as one pointer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `option led` is not a valid LED.
    Spec(SpecError),
    /// The LED, or the GPIO chip, does not exist.
    #[cfg(feature = "linux")]
    NotFound {
        /// The LED.
        led: LedSpec,
        /// What was looked for.
        path: PathBuf,
    },
    /// The GPIO line is already requested, by the kernel (an `leds-gpio` LED, a button) or by
    /// another program.
    #[cfg(feature = "linux")]
    Busy {
        /// The LED.
        led: LedSpec,
        /// The holder's label, as the kernel reports it (may be empty).
        consumer: String,
    },
    /// The GPIO chip has fewer lines than the line asked for.
    #[cfg(feature = "linux")]
    NoSuchLine {
        /// The LED.
        led: LedSpec,
        /// How many lines the chip has.
        lines: u32,
    },
    /// Blinking needs the kernel's `timer` LED trigger, and this LED does not offer it.
    #[cfg(feature = "linux")]
    NoTimerTrigger {
        /// The LED.
        led: LedSpec,
        /// Its `trigger` attribute, which lists the triggers.
        path: PathBuf,
    },
    /// The GPIO character device refused a request or a write.
    #[cfg(feature = "linux")]
    Gpio {
        /// The LED.
        led: LedSpec,
        /// The request that failed (`get chip info`, `request line`, `set line value`...).
        op: &'static str,
        /// The kernel's answer: the errno the failed call left (gpio-cdev's own error is not
        /// kept: printing it would carry nix's table of errno names, ~5 KB on the router).
        source: io::Error,
    },
    /// Reading or writing a sysfs file failed.
    #[cfg(feature = "linux")]
    Io {
        /// The LED or phy.
        subject: Subject,
        /// The file.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// A sysfs file held something this crate cannot read.
    #[cfg(feature = "linux")]
    BadValue {
        /// The LED or phy.
        subject: Subject,
        /// The file.
        path: PathBuf,
        /// Its content, trimmed.
        value: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // what it is about (the LED, or a phy's or the LED's file), then what went wrong
        match self {
            Error::Spec(_) => f.write_str("invalid led: ")?,
            #[cfg(feature = "linux")]
            Error::NotFound { led, .. }
            | Error::Busy { led, .. }
            | Error::NoSuchLine { led, .. }
            | Error::NoTimerTrigger { led, .. }
            | Error::Gpio { led, .. } => write!(f, "led {led}: ")?,
            #[cfg(feature = "linux")]
            Error::Io { subject, path, .. } | Error::BadValue { subject, path, .. } => {
                write!(f, "{subject}: {}: ", Shown(path))?
            }
        }
        match self {
            Error::Spec(e) => fmt::Display::fmt(e, f),
            #[cfg(feature = "linux")]
            Error::NotFound { path, .. } => write!(f, "{} not found", Shown(path)),
            #[cfg(feature = "linux")]
            Error::Busy { consumer, .. } if consumer.is_empty() => f.write_str("line is busy"),
            #[cfg(feature = "linux")]
            Error::Busy { consumer, .. } => write!(f, "line is busy (used by \"{consumer}\")"),
            #[cfg(feature = "linux")]
            Error::NoSuchLine { lines, .. } => {
                write!(f, "gpiochip has {lines} lines (0..={})", lines.saturating_sub(1))
            }
            #[cfg(feature = "linux")]
            Error::NoTimerTrigger { path, .. } => {
                write!(f, "no 'timer' trigger in {} (kernel module ledtrig-timer)", Shown(path))
            }
            #[cfg(feature = "linux")]
            Error::Gpio { op, source, .. } => write!(f, "{op}: {}", Reason(source)),
            #[cfg(feature = "linux")]
            Error::Io { source, .. } => fmt::Display::fmt(&Reason(source), f),
            // escaped as SSIDs are: printable ASCII as it is, the rest as \xNN
            #[cfg(feature = "linux")]
            Error::BadValue { value, .. } => {
                write!(f, "unexpected \"{}\"", apwatch_core::escape::IwEscaped(value.as_bytes()))
            }
        }
    }
}

/// A path in a message: its bytes, what is not printable ASCII as `\xNN` (apwatch-core's
/// escaping, as for SSIDs), not std's lossy `Path::display`.
#[cfg(feature = "linux")]
struct Shown<'a>(&'a std::path::Path);

#[cfg(feature = "linux")]
impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::unix::ffi::OsStrExt;
        fmt::Display::fmt(&apwatch_core::escape::IwEscaped(self.0.as_os_str().as_bytes()), f)
    }
}

/// An I/O error's reason as std words an errno ("No such device (os error 19)", by
/// apwatch-core's table, not the libc's), else the board's own two kinds (a missing file, text
/// that is not UTF-8).
#[cfg(feature = "linux")]
struct Reason<'a>(&'a io::Error);

#[cfg(feature = "linux")]
impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.raw_os_error(), self.0.kind()) {
            (Some(n), _) => write!(f, "{}", apwatch_core::errno::Errno(n)),
            (None, io::ErrorKind::NotFound) => f.write_str("not found"),
            (None, io::ErrorKind::InvalidData) => f.write_str("not UTF-8 text"),
            (None, _) => f.write_str("I/O error"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "linux")]
            Error::Gpio { source, .. } => Some(source),
            #[cfg(feature = "linux")]
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Self {
        Error::Spec(e)
    }
}

#[cfg(all(test, feature = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_is_shown_escaped_as_ssids_are() {
        let e = Error::BadValue {
            subject: Subject::Radios,
            path: PathBuf::from("/sys/x"),
            value: String::from("a\"b\\c\n\u{e9}\u{0}~ "),
        };
        assert_eq!(e.to_string(), r#"radios: /sys/x: unexpected "a\x22b\x5cc\x0a\xc3\xa9\x00~\x20""#);
    }

    #[test]
    fn a_gpio_error_names_the_request_and_the_errno() {
        let led = LedSpec::Gpio { chip: 0, line: 17 };
        let e = Error::Gpio { led, op: "request line", source: io::Error::from_raw_os_error(16) };
        let text = e.to_string();
        assert!(text.starts_with("led gpiochip0:17: request line: "), "{text}");
        assert!(text.ends_with("(os error 16)"), "{text}");
        assert!(core::error::Error::source(&e).is_some());
    }
}
