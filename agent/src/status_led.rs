//! The status LED as the service sees it: off (no AP served), on (every served AP reconciled),
//! blinking (an error waits for a retry). With the `board` feature it drives apwatch-board's
//! LED; without it, and when no LED is configured or it cannot be opened, it does nothing.

use std::time::Instant;

use apwatch_core::config::Config;

#[cfg(feature = "board")]
use apwatch_board::{BoardLed, LedSpec, LedState};

pub struct StatusLed {
    #[cfg(feature = "board")]
    led: Option<BoardLed>,
    epoch: Instant,
}

impl StatusLed {
    /// Opens the configured LED; a missing or busy LED is one log line, not a failure.
    pub fn open(cfg: &Config) -> StatusLed {
        let epoch = Instant::now();
        #[cfg(feature = "board")]
        {
            let led = cfg.main.led.as_ref().and_then(|spec| {
                match LedSpec::parse(spec).map_err(Box::new).and_then(|s| BoardLed::open(&s, cfg.main.led_active_low)) {
                    Ok(l) => {
                        info!("status LED {spec}");
                        Some(l)
                    }
                    Err(e) => {
                        warn!("status LED disabled: {e}");
                        None
                    }
                }
            });
            StatusLed { led, epoch }
        }
        #[cfg(not(feature = "board"))]
        {
            if cfg.main.led.is_some() {
                warn!("status LED configured, but this build has no board support");
            }
            StatusLed { epoch }
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Shows the outcome of a reconcile.
    pub fn show(&mut self, ok: bool, serving: bool) {
        #[cfg(feature = "board")]
        {
            let now = self.now_ms();
            if let Some(led) = self.led.as_mut() {
                let state = match (ok, serving) {
                    (false, _) => LedState::Blinking,
                    (true, true) => LedState::On,
                    (true, false) => LedState::Off,
                };
                if let Err(e) = led.set(state, now) {
                    warn!("status LED: {e}; disabled");
                    self.led = None;
                }
            }
        }
        #[cfg(not(feature = "board"))]
        let _ = (ok, serving, self.now_ms());
    }

    /// Drives a software blink (GPIO LEDs); LED-class LEDs blink in the kernel.
    pub fn tick(&mut self) {
        #[cfg(feature = "board")]
        {
            let now = self.now_ms();
            if let Some(led) = self.led.as_mut() {
                let _ = led.tick(now);
            }
        }
    }

    /// When `tick` should next run.
    pub fn next_tick(&self) -> Option<Instant> {
        #[cfg(feature = "board")]
        {
            let ms = self.led.as_ref()?.next_tick_ms()?;
            Some(self.epoch + std::time::Duration::from_millis(ms))
        }
        #[cfg(not(feature = "board"))]
        None
    }
}
