//! Requesting a GPIO line for the status LED from the character device `/dev/gpiochipN`.
//! Owns the request (flags, consumer label, first level); `StatusLed` drives the line after.

use std::path::Path;

use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use linux_embedded_hal::CdevPin;

use crate::error::Error;
use crate::spec::LedSpec;

/// The label `gpioinfo` shows for our line, so whoever finds it busy knows who holds it.
const CONSUMER: &str = "apwatch";

/// Requests line `line` of `<dev>/gpiochip<chip>` as an output, dark.
///
/// The line is requested active-high whatever `active_low` says, and set to the level that
/// means "off": [`StatusLed`](crate::StatusLed) applies `active_low` itself (and `CdevPin`
/// would invert a second time for a line requested active-low). Hand the pin to
/// `StatusLed::new(pin, active_low)` with the same `active_low`.
///
/// A line already held (an `leds-gpio` LED in the device tree, a button, another program) is
/// [`Error::Busy`]; such an LED is usually reachable by its LED-class name instead.
pub fn open_gpio(dev: &Path, chip: u32, line: u32, active_low: bool) -> Result<CdevPin, Box<Error>> {
    let led = LedSpec::Gpio { chip, line };
    let gpio = |op| move |_: linux_embedded_hal::gpio_cdev::Error| gpio_error(led, op);
    let path = dev.join(format!("gpiochip{chip}"));
    // gpio-cdev folds "no such file" into an opaque error; say it plainly.
    if !crate::sysfs::exists(&path) {
        return Err(Box::new(Error::NotFound { led, path }));
    }
    let mut gpiochip = Chip::new(&path).map_err(gpio("get chip info"))?;
    if line >= gpiochip.num_lines() {
        return Err(Box::new(Error::NoSuchLine { led, lines: gpiochip.num_lines() }));
    }
    let handle = gpiochip.get_line(line).map_err(gpio("get line"))?;
    // Checked first for a message naming the holder; a request racing someone else's still
    // fails, with EBUSY inside `Error::Gpio`.
    let info = handle.info().map_err(gpio("get line info"))?;
    if info.is_used() {
        return Err(Box::new(Error::Busy { led, consumer: info.consumer().unwrap_or("").to_owned() }));
    }
    let off = u8::from(active_low);
    let handle = handle.request(LineRequestFlags::OUTPUT, off, CONSUMER).map_err(gpio("request line"))?;
    CdevPin::new(handle).map_err(gpio("get line info"))
}

/// [`Error::Gpio`] for a gpio-cdev call that just failed: every failure of the calls made here
/// is a refused `open` or `ioctl` (the line number was checked first), which left its errno.
pub(crate) fn gpio_error(led: LedSpec, op: &'static str) -> Box<Error> {
    Box::new(Error::Gpio { led, op, source: std::io::Error::last_os_error() })
}
