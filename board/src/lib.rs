//! apwatch's board support: the status LED and the map of radios (phys) to their hardware.
//! The LED logic is generic over `embedded_hal::digital::OutputPin`; Linux I/O sits behind `linux`.
//!
//! The status LED says what the agent is doing, at a glance and without a shell:
//!
//! | [`LedState`] | meaning |
//! | --- | --- |
//! | `Off` | no AP is up |
//! | `On` | every AP that is up is where its rule puts it |
//! | `Blinking` | reconciling, or the last reconcile failed |
//!
//! Two kinds of LED, chosen by UCI `option led` and parsed by [`LedSpec::parse`]:
//!
//! - `gpiochipN:LINE`: a bare GPIO line. [`StatusLed`] drives it; blinking is done by the agent
//!   calling [`StatusLed::tick`] (or `BoardLed::tick`) from its event loop, no thread.
//! - any other name: an LED-class LED (`/sys/class/leds/<name>`), as OpenWrt boards expose their
//!   LEDs. The kernel's `timer` trigger blinks it, so `tick` has nothing to do.
//!
//! Without the `linux` feature the crate is `no_std`: a board with its own HAL hands its pin to
//! [`StatusLed`] and keeps [`LedSpec`] and [`Bands`].
#![cfg_attr(not(any(feature = "linux", test)), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The workspace denies these for the agent's code paths; tests may stop at the first surprise.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod band;
mod error;
mod led;
mod spec;

#[cfg(feature = "linux")]
mod board_led;
#[cfg(feature = "linux")]
mod class;
#[cfg(feature = "linux")]
mod gpio;
#[cfg(feature = "linux")]
mod radio;
#[cfg(feature = "linux")]
mod sysfs;
#[cfg(all(test, feature = "linux"))]
mod testutil;

pub use band::{Band, Bands};
pub use error::{Error, SpecError};
pub use led::{Blink, LedState, StatusLed};
pub use spec::{LedName, LedSpec};

#[cfg(feature = "linux")]
pub use board_led::BoardLed;
#[cfg(feature = "linux")]
pub use class::ClassLed;
#[cfg(feature = "linux")]
pub use error::Subject;
#[cfg(feature = "linux")]
pub use gpio::open_gpio;
#[cfg(feature = "linux")]
pub use radio::{Radio, RadioMap};

/// Re-exported so the agent can name the GPIO pin type without depending on linux-embedded-hal.
#[cfg(feature = "linux")]
pub use linux_embedded_hal::{CdevPin, CdevPinError};
