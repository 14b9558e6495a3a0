//! The status LED's states and [`StatusLed`], which drives one output pin through them.
//! Owns no clock and no thread: time comes in as milliseconds from the caller's event loop.

use embedded_hal::digital::{OutputPin, PinState};

/// What the status LED shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedState {
    /// No AP is up.
    Off,
    /// Every AP that is up has been reconciled.
    On,
    /// Reconciling, or the last reconcile failed.
    Blinking,
}

/// Blink timing: how long the LED stays lit, then dark, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Blink {
    /// Lit time per period, ms.
    pub on_ms: u32,
    /// Dark time per period, ms.
    pub off_ms: u32,
}

impl Blink {
    /// 500 ms on, 500 ms off: the kernel `timer` trigger's own default, so a GPIO LED and an
    /// LED-class LED blink alike.
    pub const DEFAULT: Blink = Blink { on_ms: 500, off_ms: 500 };
}

impl Default for Blink {
    fn default() -> Self {
        Blink::DEFAULT
    }
}

/// A status LED on one output pin.
///
/// `active_low` is handled here, not by the pin: the pin is always told the electrical level.
/// That keeps the inversion in one place for every HAL (linux-embedded-hal's `CdevPin` would
/// invert a second time if the line were requested active-low, so it never is).
///
/// Time is a monotonic millisecond count chosen by the caller; only differences matter.
#[derive(Debug)]
pub struct StatusLed<P> {
    pin: P,
    active_low: bool,
    blink: Blink,
    state: LedState,
    /// `None` until the pin has been driven once: before that its level is whatever boot left,
    /// so the first `set` must write even if it asks for the state we nominally start in.
    lit: Option<bool>,
    /// When the next blink toggle is due; meaningful only while `Blinking`.
    next_toggle_ms: u64,
}

impl<P: OutputPin> StatusLed<P> {
    /// Takes the pin without driving it; the first [`set`](Self::set) does.
    pub fn new(pin: P, active_low: bool) -> Self {
        StatusLed { pin, active_low, blink: Blink::DEFAULT, state: LedState::Off, lit: None, next_toggle_ms: 0 }
    }

    /// Replaces the blink timing; takes effect at the next toggle.
    pub fn with_blink(mut self, blink: Blink) -> Self {
        self.blink = blink;
        self
    }

    /// The state last set successfully (`Off` before the first `set`).
    pub fn state(&self) -> LedState {
        self.state
    }

    /// Whether the LED is lit now, as far as this driver knows; `None` before the first write.
    pub fn is_lit(&self) -> Option<bool> {
        self.lit
    }

    /// Shows `state`. Setting the state it already shows does nothing, so a blink keeps its
    /// phase when the agent re-asserts `Blinking` on every reconcile.
    ///
    /// On error the previous state is kept, so the next `set` tries again.
    pub fn set(&mut self, state: LedState, now_ms: u64) -> Result<(), P::Error> {
        if state == self.state && self.lit.is_some() {
            return Ok(());
        }
        match state {
            LedState::Off => self.drive(false)?,
            LedState::On => self.drive(true)?,
            LedState::Blinking => {
                // Start lit: the change is visible at once, not half a period later.
                self.drive(true)?;
                self.next_toggle_ms = now_ms.saturating_add(u64::from(self.blink.on_ms));
            }
        }
        self.state = state;
        Ok(())
    }

    /// Toggles a blinking LED when its time has come; call it whenever the event loop wakes.
    /// Does nothing unless `Blinking`.
    pub fn tick(&mut self, now_ms: u64) -> Result<(), P::Error> {
        if self.state != LedState::Blinking || now_ms < self.next_toggle_ms {
            return Ok(());
        }
        let lit = !self.lit.unwrap_or(false);
        let hold = if lit { self.blink.on_ms } else { self.blink.off_ms };
        // Scheduled from `now`, not from the missed deadline: after a stalled loop the LED
        // resumes blinking instead of toggling once per missed period. Scheduled before the
        // write, so a failing pin is retried a period later rather than on every wakeup.
        self.next_toggle_ms = now_ms.saturating_add(u64::from(hold.max(1)));
        self.drive(lit)
    }

    /// When [`tick`](Self::tick) next has work, for the event loop's poll timeout; `None` when
    /// not blinking.
    pub fn next_tick_ms(&self) -> Option<u64> {
        match self.state {
            LedState::Blinking => Some(self.next_toggle_ms),
            LedState::Off | LedState::On => None,
        }
    }

    /// Gives the pin back, as it is.
    pub fn release(self) -> P {
        self.pin
    }

    fn drive(&mut self, lit: bool) -> Result<(), P::Error> {
        self.pin.set_state(PinState::from(lit != self.active_low))?;
        self.lit = Some(lit);
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use core::convert::Infallible;
    use embedded_hal::digital::{ErrorKind, ErrorType};

    /// Records every level written; `fail` makes the next writes fail.
    #[derive(Default)]
    struct FakePin {
        levels: [Option<PinState>; 32],
        writes: usize,
        fail: bool,
    }

    impl FakePin {
        fn written(&self) -> &[Option<PinState>] {
            &self.levels[..self.writes]
        }

        fn level(&self) -> Option<PinState> {
            self.writes.checked_sub(1).and_then(|i| self.levels[i])
        }
    }

    #[derive(Debug)]
    struct Broken;

    impl embedded_hal::digital::Error for Broken {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    impl ErrorType for FakePin {
        type Error = Broken;
    }

    impl OutputPin for FakePin {
        fn set_low(&mut self) -> Result<(), Broken> {
            self.set_state(PinState::Low)
        }

        fn set_high(&mut self) -> Result<(), Broken> {
            self.set_state(PinState::High)
        }

        fn set_state(&mut self, state: PinState) -> Result<(), Broken> {
            if self.fail {
                return Err(Broken);
            }
            self.levels[self.writes] = Some(state);
            self.writes += 1;
            Ok(())
        }
    }

    use PinState::{High, Low};

    #[test]
    fn new_does_not_touch_the_pin() {
        let led = StatusLed::new(FakePin::default(), false);
        assert_eq!(led.is_lit(), None);
        assert_eq!(led.release().writes, 0);
    }

    #[test]
    fn first_set_off_still_writes() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::Off, 0).unwrap();
        assert_eq!(led.release().written(), [Some(Low)]);
    }

    #[test]
    fn active_high_levels() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::On, 0).unwrap();
        led.set(LedState::Off, 0).unwrap();
        led.set(LedState::Blinking, 0).unwrap();
        assert_eq!(led.release().written(), [Some(High), Some(Low), Some(High)]);
    }

    #[test]
    fn active_low_inverts_every_write() {
        let mut led = StatusLed::new(FakePin::default(), true);
        led.set(LedState::On, 0).unwrap();
        assert_eq!(led.is_lit(), Some(true));
        led.set(LedState::Off, 0).unwrap();
        led.set(LedState::Blinking, 10).unwrap();
        led.tick(510).unwrap();
        assert_eq!(led.release().written(), [Some(Low), Some(High), Some(Low), Some(High)]);
    }

    #[test]
    fn same_state_is_not_rewritten() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::On, 0).unwrap();
        led.set(LedState::On, 5).unwrap();
        assert_eq!(led.release().writes, 1);
    }

    #[test]
    fn blink_toggles_on_schedule() {
        let mut led = StatusLed::new(FakePin::default(), false).with_blink(Blink { on_ms: 100, off_ms: 300 });
        led.set(LedState::Blinking, 1000).unwrap();
        assert_eq!(led.next_tick_ms(), Some(1100));
        // Early ticks do nothing.
        led.tick(1000).unwrap();
        led.tick(1099).unwrap();
        assert_eq!(led.is_lit(), Some(true));
        led.tick(1100).unwrap();
        assert_eq!(led.is_lit(), Some(false));
        assert_eq!(led.next_tick_ms(), Some(1400));
        led.tick(1399).unwrap();
        assert_eq!(led.is_lit(), Some(false));
        led.tick(1400).unwrap();
        assert_eq!(led.is_lit(), Some(true));
        assert_eq!(led.next_tick_ms(), Some(1500));
        assert_eq!(led.release().written(), [Some(High), Some(Low), Some(High)]);
    }

    #[test]
    fn a_late_tick_toggles_once_and_reschedules_from_now() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::Blinking, 0).unwrap();
        // The loop slept through many periods.
        led.tick(10_250).unwrap();
        assert_eq!(led.next_tick_ms(), Some(10_750));
        assert_eq!(led.release().writes, 2);
    }

    #[test]
    fn reasserting_blinking_keeps_the_phase() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::Blinking, 0).unwrap();
        led.tick(500).unwrap();
        led.set(LedState::Blinking, 700).unwrap();
        assert_eq!(led.is_lit(), Some(false));
        assert_eq!(led.next_tick_ms(), Some(1000));
    }

    #[test]
    fn leaving_blinking_stops_ticks() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::Blinking, 0).unwrap();
        led.set(LedState::On, 100).unwrap();
        assert_eq!(led.next_tick_ms(), None);
        led.tick(5000).unwrap();
        assert_eq!(led.is_lit(), Some(true));
        assert_eq!(led.release().written(), [Some(High), Some(High)]);
    }

    #[test]
    fn on_to_blinking_to_off() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::On, 0).unwrap();
        led.set(LedState::Blinking, 0).unwrap();
        assert_eq!(led.state(), LedState::Blinking);
        led.tick(500).unwrap();
        led.set(LedState::Off, 600).unwrap();
        assert_eq!(led.state(), LedState::Off);
        assert_eq!(led.release().written(), [Some(High), Some(High), Some(Low), Some(Low)]);
    }

    #[test]
    fn failed_set_keeps_the_old_state_and_retries() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::On, 0).unwrap();
        led.pin.fail = true;
        assert!(led.set(LedState::Off, 0).is_err());
        assert_eq!(led.state(), LedState::On);
        assert_eq!(led.is_lit(), Some(true));
        led.pin.fail = false;
        led.set(LedState::Off, 1).unwrap();
        assert_eq!(led.pin.level(), Some(Low));
    }

    #[test]
    fn failed_toggle_is_retried_a_period_later_not_at_once() {
        let mut led = StatusLed::new(FakePin::default(), false);
        led.set(LedState::Blinking, 0).unwrap();
        led.pin.fail = true;
        assert!(led.tick(500).is_err());
        assert_eq!(led.is_lit(), Some(true));
        assert_eq!(led.next_tick_ms(), Some(1000));
        led.pin.fail = false;
        led.tick(999).unwrap();
        assert_eq!(led.pin.writes, 1);
        led.tick(1000).unwrap();
        assert_eq!(led.pin.level(), Some(Low));
    }

    #[test]
    fn zero_hold_time_does_not_spin() {
        let mut led = StatusLed::new(FakePin::default(), false).with_blink(Blink { on_ms: 0, off_ms: 0 });
        led.set(LedState::Blinking, 0).unwrap();
        led.tick(0).unwrap();
        assert_eq!(led.next_tick_ms(), Some(1));
    }

    #[test]
    fn works_with_an_infallible_pin() {
        struct Pin(bool);
        impl ErrorType for Pin {
            type Error = Infallible;
        }
        impl OutputPin for Pin {
            fn set_low(&mut self) -> Result<(), Infallible> {
                self.0 = false;
                Ok(())
            }
            fn set_high(&mut self) -> Result<(), Infallible> {
                self.0 = true;
                Ok(())
            }
        }
        let mut led = StatusLed::new(Pin(true), true);
        led.set(LedState::Off, 0).unwrap();
        assert!(led.release().0);
    }
}
