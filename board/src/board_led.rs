//! The status LED as the agent configured it: a GPIO line or an LED-class LED, one interface.
//! Owns choosing and opening the kind from an `LedSpec`, and turning each kind's errors into `Error`.

use std::fmt;
use std::path::Path;

use linux_embedded_hal::CdevPin;

use crate::class::ClassLed;
use crate::error::Error;
use crate::gpio::{gpio_error, open_gpio};
use crate::led::{Blink, LedState, StatusLed};
use crate::spec::LedSpec;

/// The agent's status LED.
///
/// The event loop calls [`set`](Self::set) on every state change (re-asserting a state is
/// cheap and keeps a blink's phase), and [`tick`](Self::tick) whenever it wakes, sleeping no
/// longer than [`next_tick_ms`](Self::next_tick_ms). Only a GPIO line ever needs the tick.
#[derive(Debug)]
pub struct BoardLed {
    led: LedSpec,
    kind: Kind,
}

enum Kind {
    Gpio(StatusLed<CdevPin>),
    Class(ClassLed),
}

// By hand: `CdevPin` has no `Debug`, and its file descriptor would say nothing anyway.
impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Gpio(pin) => f.debug_struct("Gpio").field("state", &pin.state()).field("lit", &pin.is_lit()).finish(),
            Kind::Class(class) => f.debug_tuple("Class").field(class).finish(),
        }
    }
}

impl BoardLed {
    /// Opens the LED on this system (`/sys`, `/dev`).
    ///
    /// `active_low` (UCI `led_active_low`) inverts a GPIO line; an LED-class LED ignores it,
    /// since the kernel already knows that LED's polarity.
    pub fn open(led: &LedSpec, active_low: bool) -> Result<BoardLed, Box<Error>> {
        BoardLed::open_at(led, active_low, Path::new("/sys"), Path::new("/dev"))
    }

    /// [`open`](Self::open) with other roots for sysfs and for the `gpiochipN` nodes.
    pub fn open_at(led: &LedSpec, active_low: bool, sysfs: &Path, dev: &Path) -> Result<BoardLed, Box<Error>> {
        let kind = match *led {
            LedSpec::Gpio { chip, line } => {
                let pin = open_gpio(dev, chip, line, active_low)?;
                Kind::Gpio(StatusLed::new(pin, active_low))
            }
            LedSpec::Class(name) => Kind::Class(ClassLed::open(sysfs, name)?),
        };
        Ok(BoardLed { led: *led, kind })
    }

    /// Replaces the blink timing (default [`Blink::DEFAULT`]).
    pub fn with_blink(self, blink: Blink) -> Self {
        let kind = match self.kind {
            Kind::Gpio(pin) => Kind::Gpio(pin.with_blink(blink)),
            Kind::Class(class) => Kind::Class(class.with_blink(blink)),
        };
        BoardLed { led: self.led, kind }
    }

    /// The LED, as configured; its `Display` is the UCI value.
    pub fn spec(&self) -> &LedSpec {
        &self.led
    }

    /// The state last set successfully (`Off` before the first `set`).
    pub fn state(&self) -> LedState {
        match &self.kind {
            Kind::Gpio(pin) => pin.state(),
            Kind::Class(class) => class.state().unwrap_or(LedState::Off),
        }
    }

    /// Shows `state`; `now_ms` is the event loop's monotonic clock in milliseconds.
    /// On error the previous state is kept and the next `set` tries again.
    pub fn set(&mut self, state: LedState, now_ms: u64) -> Result<(), Box<Error>> {
        match &mut self.kind {
            Kind::Gpio(pin) => pin.set(state, now_ms).map_err(|_| gpio_error(self.led, "set line value")),
            Kind::Class(class) => class.set(state),
        }
    }

    /// Advances a GPIO blink; a no-op otherwise.
    pub fn tick(&mut self, now_ms: u64) -> Result<(), Box<Error>> {
        match &mut self.kind {
            Kind::Gpio(pin) => pin.tick(now_ms).map_err(|_| gpio_error(self.led, "set line value")),
            Kind::Class(_) => Ok(()),
        }
    }

    /// When `tick` next has work (same clock as `now_ms`); `None` means no need to wake.
    pub fn next_tick_ms(&self) -> Option<u64> {
        match &self.kind {
            Kind::Gpio(pin) => pin.next_tick_ms(),
            Kind::Class(_) => None,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn class_led_through_board_led() {
        let tree = TempTree::new("board");
        tree.file("class/leds/green:wlan/max_brightness", "1\n");
        tree.file("class/leds/green:wlan/brightness", "0\n");
        tree.file("class/leds/green:wlan/trigger", "[none] timer\n");
        tree.file("class/leds/green:wlan/delay_on", "500\n");
        tree.file("class/leds/green:wlan/delay_off", "500\n");
        let spec = LedSpec::parse("green:wlan").unwrap();
        let mut led = BoardLed::open_at(&spec, true, tree.path(), tree.path())
            .unwrap()
            .with_blink(Blink { on_ms: 50, off_ms: 150 });
        assert_eq!(led.state(), LedState::Off);
        // active_low is the kernel's business for a class LED.
        led.set(LedState::On, 0).unwrap();
        assert_eq!(tree.read("class/leds/green:wlan/brightness"), "1");
        led.set(LedState::Blinking, 0).unwrap();
        assert_eq!(tree.read("class/leds/green:wlan/trigger"), "timer");
        assert_eq!(tree.read("class/leds/green:wlan/delay_off"), "150");
        assert_eq!(led.next_tick_ms(), None);
        led.tick(1000).unwrap();
        assert_eq!(led.state(), LedState::Blinking);
        assert_eq!(led.spec().to_string(), "green:wlan");
    }

    #[test]
    fn missing_gpiochip() {
        let tree = TempTree::new("board");
        let spec = LedSpec::parse("gpiochip0:17").unwrap();
        let err = BoardLed::open_at(&spec, false, tree.path(), tree.path()).unwrap_err();
        assert_eq!(err.to_string(), format!("led gpiochip0:17: {}/gpiochip0 not found", tree.path().display()));
    }

    #[test]
    fn gpiochip_that_is_not_a_gpio_chip() {
        // A regular file refuses the chip-info ioctl, as would a wrong device node.
        let tree = TempTree::new("board");
        tree.file("gpiochip3", "");
        let spec = LedSpec::parse("gpiochip3:1").unwrap();
        let err = BoardLed::open_at(&spec, false, tree.path(), tree.path()).unwrap_err();
        assert!(matches!(*err, Error::Gpio { .. }), "{err:?}");
        let text = err.to_string();
        // What the code promises: a located error naming the LED and the refused request. The
        // errno is the host's (ENOTTY natively, ENOSYS under some qemu-user versions): not asserted.
        assert!(text.starts_with("led gpiochip3:1: "), "{text}");
        assert!(text.to_ascii_lowercase().contains("chip info"), "{text}");
    }
}
