//! `option led`: which LED the status goes to, parsed from the UCI value.
//! Owns the syntax (`gpiochipN:LINE` or an LED-class name) and nothing that touches the system.

use core::fmt;

use crate::error::{Error, SpecError};
use apwatch_core::text::number;

/// An LED-class LED's name, as under `/sys/class/leds/`: at most [`LedName::MAX`] bytes, no
/// `/`, no NUL, not `.` or `..`, so it names exactly one entry of that directory.
///
/// Stored inline so the type works without an allocator.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedName {
    len: u8,
    bytes: [u8; LedName::MAX],
}

impl LedName {
    /// Longest accepted name, bytes (the kernel's `LED_MAX_NAME_SIZE`).
    pub const MAX: usize = 64;

    /// Checks `name` and keeps a copy.
    pub fn new(name: &str) -> Result<LedName, SpecError> {
        if name.is_empty() {
            return Err(SpecError::Empty);
        }
        if name.len() > LedName::MAX {
            return Err(SpecError::TooLong);
        }
        if name == "." || name == ".." {
            return Err(SpecError::DotName);
        }
        if name.bytes().any(|b| b == b'/' || b == 0) {
            return Err(SpecError::BadByte);
        }
        let mut bytes = [0; LedName::MAX];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(LedName { len: name.len() as u8, bytes })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // `new` copied whole UTF-8 `str`, so this cannot fail.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for LedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for LedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the status LED is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedSpec {
    /// Line `line` of `/dev/gpiochip{chip}`, driven by the agent.
    Gpio {
        /// N of `/dev/gpiochipN`.
        chip: u32,
        /// Line offset on that chip.
        line: u32,
    },
    /// `/sys/class/leds/<name>`, driven by the kernel's LED class.
    Class(LedName),
}

impl LedSpec {
    /// Parses a UCI `option led` value: `gpiochipN:LINE` (decimal numbers) is a GPIO line;
    /// anything else that is a valid [`LedName`] is an LED-class LED.
    ///
    /// A `gpiochipN:LINE` whose numbers do not fit `u32` is an error rather than an LED name:
    /// it was meant as a GPIO line.
    pub fn parse(s: &str) -> Result<LedSpec, Error> {
        if let Some((chip, line)) = gpio_parts(s) {
            return match (number(chip.as_bytes()), number(line.as_bytes())) {
                (Some(chip), Some(line)) => Ok(LedSpec::Gpio { chip, line }),
                _ => Err(Error::Spec(SpecError::GpioOutOfRange)),
            };
        }
        LedName::new(s).map(LedSpec::Class).map_err(Error::Spec)
    }
}

/// `gpiochip<digits>:<digits>` split into its two numbers, unparsed. Digits only: `str::parse`
/// alone would also take `+17`.
fn gpio_parts(s: &str) -> Option<(&str, &str)> {
    let (chip, line) = apwatch_core::text::cut(s.strip_prefix("gpiochip")?, b':')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (digits(chip) && digits(line)).then_some((chip, line))
}

impl fmt::Display for LedSpec {
    /// The UCI form, so a log line can be pasted back into the config.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedSpec::Gpio { chip, line } => write!(f, "gpiochip{chip}:{line}"),
            LedSpec::Class(name) => f.write_str(name.as_str()),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn class(s: &str) -> LedSpec {
        LedSpec::Class(LedName::new(s).unwrap())
    }

    fn err(s: &str) -> SpecError {
        match LedSpec::parse(s) {
            Err(Error::Spec(e)) => e,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn gpio_lines() {
        assert_eq!(LedSpec::parse("gpiochip0:17").unwrap(), LedSpec::Gpio { chip: 0, line: 17 });
        assert_eq!(LedSpec::parse("gpiochip12:0").unwrap(), LedSpec::Gpio { chip: 12, line: 0 });
        assert_eq!(
            LedSpec::parse("gpiochip4294967295:4294967295").unwrap(),
            LedSpec::Gpio { chip: u32::MAX, line: u32::MAX }
        );
    }

    #[test]
    fn gpio_numbers_out_of_range() {
        assert_eq!(err("gpiochip0:4294967296"), SpecError::GpioOutOfRange);
        assert_eq!(err("gpiochip99999999999:1"), SpecError::GpioOutOfRange);
    }

    #[test]
    fn class_names() {
        for s in [
            "green:wlan",
            "input0::capslock",
            "tp-link:green:wlan2g",
            "gpiochip0",
            "gpiochip0:",
            "gpiochip:17",
            "gpiochip0:+17",
            "gpiochip0:17:x",
            "gpiochip0:l7",
            "...",
            "a b",
        ] {
            assert_eq!(LedSpec::parse(s).unwrap(), class(s), "{s:?}");
        }
    }

    #[test]
    fn invalid_names() {
        assert_eq!(err(""), SpecError::Empty);
        assert_eq!(err("."), SpecError::DotName);
        assert_eq!(err(".."), SpecError::DotName);
        assert_eq!(err("../leds"), SpecError::BadByte);
        assert_eq!(err("green/wlan"), SpecError::BadByte);
        assert_eq!(err("green\0wlan"), SpecError::BadByte);
        let long = "x".repeat(LedName::MAX + 1);
        assert_eq!(err(&long), SpecError::TooLong);
        let longest = "x".repeat(LedName::MAX);
        assert_eq!(LedSpec::parse(&longest).unwrap(), class(&longest));
    }

    #[test]
    fn display_is_the_uci_form() {
        for s in ["gpiochip0:17", "green:wlan", "input0::capslock"] {
            assert_eq!(LedSpec::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn name_debug_is_quoted() {
        assert_eq!(format!("{:?}", class("a:b")), r#"Class("a:b")"#);
    }
}
