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
        /// What gpio-cdev reported.
        source: linux_embedded_hal::CdevPinError,
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
        match self {
            Error::Spec(e) => write!(f, "invalid led: {e}"),
            #[cfg(feature = "linux")]
            Error::NotFound { led, path } => {
                write!(f, "led {led}: {} not found", path.display())
            }
            #[cfg(feature = "linux")]
            Error::Busy { led, consumer } if consumer.is_empty() => {
                write!(f, "led {led}: line is busy")
            }
            #[cfg(feature = "linux")]
            Error::Busy { led, consumer } => {
                write!(f, "led {led}: line is busy (used by \"{consumer}\")")
            }
            #[cfg(feature = "linux")]
            Error::NoSuchLine { led, lines } => {
                write!(f, "led {led}: gpiochip has {lines} lines (0..={})", lines.saturating_sub(1))
            }
            #[cfg(feature = "linux")]
            Error::NoTimerTrigger { led, path } => {
                write!(f, "led {led}: no 'timer' trigger in {} (kernel module ledtrig-timer)", path.display())
            }
            #[cfg(feature = "linux")]
            Error::Gpio { led, source } => write!(f, "led {led}: {source}"),
            #[cfg(feature = "linux")]
            Error::Io { subject, path, source } => write!(f, "{subject}: {}: {source}", path.display()),
            #[cfg(feature = "linux")]
            Error::BadValue { subject, path, value } => {
                write!(f, "{subject}: {}: unexpected \"{}\"", path.display(), value.escape_debug())
            }
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
