//! An LED-class LED, `/sys/class/leds/<name>`: off, on, or blinking by the kernel `timer` trigger.
//! Owns the writes to its sysfs attributes; the kernel blinks it, so nothing needs a tick.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Subject};
use crate::led::{Blink, LedState};
use crate::spec::{LedName, LedSpec};

/// One LED-class LED.
///
/// Opening reads `max_brightness` and writes nothing: the LED keeps whatever trigger it had
/// (OpenWrt's /etc/config/system may have given it one) until the first [`set`](Self::set).
/// Polarity is the kernel's business here (device tree `GPIO_ACTIVE_LOW`), so there is no
/// `active_low`.
#[derive(Debug)]
pub struct ClassLed {
    led: LedSpec,
    dir: PathBuf,
    max_brightness: u32,
    blink: Blink,
    state: Option<LedState>,
    /// `trigger` listed `timer` when last looked at.
    has_timer: bool,
}

impl ClassLed {
    /// Opens `<sysfs>/class/leds/<name>`; `sysfs` is `/sys` except in tests.
    pub fn open(sysfs: &Path, name: LedName) -> Result<ClassLed, Box<Error>> {
        let led = LedSpec::Class(name);
        let dir = sysfs.join("class/leds").join(name.as_str());
        if !crate::sysfs::is_dir(&dir) {
            return Err(Box::new(Error::NotFound { led, path: dir }));
        }
        let mut this = ClassLed { led, dir, max_brightness: 0, blink: Blink::DEFAULT, state: None, has_timer: false };
        let text = this.read("max_brightness")?;
        this.max_brightness = match apwatch_core::text::number(text.as_bytes()) {
            Some(max) if max > 0 => max,
            _ => return Err(this.bad_value("max_brightness", text)),
        };
        this.has_timer = this.offers_trigger("timer")?;
        Ok(this)
    }

    /// Replaces the blink timing; takes effect at the next change to `Blinking`.
    pub fn with_blink(mut self, blink: Blink) -> Self {
        self.blink = blink;
        self
    }

    /// The LED, as configured.
    pub fn spec(&self) -> &LedSpec {
        &self.led
    }

    /// `max_brightness`: what "on" writes to `brightness`.
    pub fn max_brightness(&self) -> u32 {
        self.max_brightness
    }

    /// The state last set successfully; `None` before the first `set`.
    pub fn state(&self) -> Option<LedState> {
        self.state
    }

    /// Shows `state`. Setting the state it already shows writes nothing: rewriting `delay_on`
    /// would restart the blink, a visible stutter on every reconcile.
    pub fn set(&mut self, state: LedState) -> Result<(), Box<Error>> {
        if self.state == Some(state) {
            return Ok(());
        }
        match state {
            // "none" first: with `timer` active, a non-zero brightness only changes how bright
            // the blink is, and the blink goes on.
            LedState::Off => {
                self.write("trigger", "none")?;
                self.write("brightness", "0")?;
            }
            LedState::On => {
                self.write("trigger", "none")?;
                self.write("brightness", &self.max_brightness.to_string())?;
            }
            LedState::Blinking => {
                // The kernel answers an unknown trigger with a bare EINVAL; look first and
                // say which module is missing. Looked again only if it was missing at open:
                // ledtrig-timer may have been loaded since, but is never unloaded under us.
                if !self.has_timer {
                    self.has_timer = self.offers_trigger("timer")?;
                }
                if !self.has_timer {
                    return Err(Box::new(Error::NoTimerTrigger { led: self.led, path: self.dir.join("trigger") }));
                }
                // `timer` creates delay_on/delay_off and starts blinking at its defaults;
                // each delay write restarts the blink with the new timing. The kernel takes
                // 0 to mean "never on" / "never off", so 0 becomes 1 ms as in StatusLed.
                self.write("trigger", "timer")?;
                self.write("delay_on", &self.blink.on_ms.max(1).to_string())?;
                self.write("delay_off", &self.blink.off_ms.max(1).to_string())?;
            }
        }
        self.state = Some(state);
        Ok(())
    }

    /// The trigger now active (the `[bracketed]` entry of `trigger`), e.g. `none`, `timer`,
    /// `phy0tpt`: what the LED did before the agent took it over.
    pub fn active_trigger(&self) -> Result<String, Box<Error>> {
        let text = self.read("trigger")?;
        match active_trigger(&text) {
            Some(name) => Ok(name.to_owned()),
            None => Err(self.bad_value("trigger", text)),
        }
    }

    /// Whether the `trigger` attribute lists `name`, active (`[name]`) or not.
    fn offers_trigger(&self, name: &str) -> Result<bool, Box<Error>> {
        let text = self.read("trigger")?;
        Ok(text.split_ascii_whitespace().any(|t| {
            let t = t.strip_prefix("[").unwrap_or(t);
            t.strip_suffix("]").unwrap_or(t) == name
        }))
    }

    fn read(&self, attr: &str) -> Result<String, Box<Error>> {
        let path = self.dir.join(attr);
        match crate::sysfs::read_text(&path) {
            Ok(text) => Ok(text.trim_ascii().to_owned()),
            Err(e) => Err(self.io_error(path, e)),
        }
    }

    /// One `write(2)` of the whole value, no newline: a sysfs store sees exactly one call.
    /// No `create`: an attribute that is missing must fail as it would on the real sysfs.
    fn write(&self, attr: &str, value: &str) -> Result<(), Box<Error>> {
        let path = self.dir.join(attr);
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .and_then(|mut f| f.write_all(value.as_bytes()))
            .map_err(|e| self.io_error(path, e))
    }

    fn io_error(&self, path: PathBuf, source: io::Error) -> Box<Error> {
        Box::new(if source.kind() == io::ErrorKind::NotFound {
            // The LED went away (a USB device), or the attribute is missing.
            Error::NotFound { led: self.led, path }
        } else {
            Error::Io { subject: Subject::Led(self.led), path, source }
        })
    }

    fn bad_value(&self, attr: &str, value: String) -> Box<Error> {
        Box::new(Error::BadValue { subject: Subject::Led(self.led), path: self.dir.join(attr), value })
    }
}

/// The `[name]` in a `trigger` listing.
fn active_trigger(listing: &str) -> Option<&str> {
    listing.split_ascii_whitespace().find_map(|t| t.strip_prefix("[")?.strip_suffix("]"))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::testutil::TempTree;

    /// What the kernel shows for a gpio-leds LED on an OpenWrt board, with the timer trigger
    /// available and OpenWrt's netdev trigger active.
    const TRIGGERS: &str = "none timer default-on netdev [phy0tpt] phy1tpt\n";

    fn led_tree(name: &str, max: &str, triggers: &str) -> TempTree {
        let tree = TempTree::new("class");
        let real = format!("devices/platform/leds/leds/{name}");
        tree.file(&format!("{real}/brightness"), "0\n");
        tree.file(&format!("{real}/max_brightness"), max);
        tree.file(&format!("{real}/trigger"), triggers);
        // The kernel creates these when `timer` is activated; a plain directory cannot react
        // to the write, so they are there from the start.
        tree.file(&format!("{real}/delay_on"), "500\n");
        tree.file(&format!("{real}/delay_off"), "500\n");
        tree.symlink(&format!("class/leds/{name}"), &format!("../../{real}"));
        tree
    }

    fn name(s: &str) -> LedName {
        LedName::new(s).unwrap()
    }

    fn attr(tree: &TempTree, led: &str, attr: &str) -> String {
        tree.read(&format!("class/leds/{led}/{attr}"))
    }

    #[test]
    fn open_reads_max_brightness_and_writes_nothing() {
        let tree = led_tree("green:wlan", "255\n", TRIGGERS);
        let led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();
        assert_eq!(led.max_brightness(), 255);
        assert_eq!(led.state(), None);
        assert_eq!(led.active_trigger().unwrap(), "phy0tpt");
        assert_eq!(attr(&tree, "green:wlan", "trigger"), TRIGGERS);
    }

    #[test]
    fn on_off_blinking() {
        let tree = led_tree("green:wlan", "255\n", TRIGGERS);
        let mut led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();

        led.set(LedState::On).unwrap();
        assert_eq!(attr(&tree, "green:wlan", "trigger"), "none");
        assert_eq!(attr(&tree, "green:wlan", "brightness"), "255");

        led.set(LedState::Blinking).unwrap();
        assert_eq!(attr(&tree, "green:wlan", "trigger"), "timer");
        assert_eq!(attr(&tree, "green:wlan", "delay_on"), "500");
        assert_eq!(attr(&tree, "green:wlan", "delay_off"), "500");

        led.set(LedState::Off).unwrap();
        assert_eq!(attr(&tree, "green:wlan", "trigger"), "none");
        assert_eq!(attr(&tree, "green:wlan", "brightness"), "0");
        assert_eq!(led.state(), Some(LedState::Off));
    }

    #[test]
    fn blink_timing_is_written() {
        let tree = led_tree("input0::capslock", "1\n", TRIGGERS);
        let mut led =
            ClassLed::open(tree.path(), name("input0::capslock")).unwrap().with_blink(Blink { on_ms: 100, off_ms: 0 });
        led.set(LedState::Blinking).unwrap();
        assert_eq!(attr(&tree, "input0::capslock", "delay_on"), "100");
        assert_eq!(attr(&tree, "input0::capslock", "delay_off"), "1");
        led.set(LedState::On).unwrap();
        assert_eq!(attr(&tree, "input0::capslock", "brightness"), "1");
    }

    #[test]
    fn same_state_writes_nothing() {
        let tree = led_tree("green:wlan", "255\n", TRIGGERS);
        let mut led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();
        led.set(LedState::Blinking).unwrap();
        // Something else (the user, in a shell) changes it; re-asserting Blinking must not
        // restart the blink, so it does not notice either.
        tree.file("class/leds/green:wlan/delay_on", "42");
        led.set(LedState::Blinking).unwrap();
        assert_eq!(attr(&tree, "green:wlan", "delay_on"), "42");
    }

    #[test]
    fn missing_led() {
        let tree = led_tree("green:wlan", "255\n", TRIGGERS);
        let err = ClassLed::open(tree.path(), name("red:wlan")).unwrap_err();
        assert!(matches!(*err, Error::NotFound { .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("led red:wlan: {}/class/leds/red:wlan not found", tree.path().display()));
    }

    #[test]
    fn no_timer_trigger() {
        let tree = led_tree("green:wlan", "1\n", "[none] default-on phy0tpt\n");
        let mut led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();
        led.set(LedState::On).unwrap();
        let err = led.set(LedState::Blinking).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "led green:wlan: no 'timer' trigger in {}/class/leds/green:wlan/trigger \
                 (kernel module ledtrig-timer)",
                tree.path().display()
            )
        );
        // Still on, and still known to be.
        assert_eq!(led.state(), Some(LedState::On));
        assert_eq!(attr(&tree, "green:wlan", "trigger"), "none");
    }

    #[test]
    fn timer_loaded_after_open() {
        let tree = led_tree("green:wlan", "1\n", "[none] default-on\n");
        let mut led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();
        tree.file("class/leds/green:wlan/trigger", "[none] default-on timer\n");
        led.set(LedState::Blinking).unwrap();
        assert_eq!(attr(&tree, "green:wlan", "trigger"), "timer");
    }

    #[test]
    fn bad_max_brightness() {
        for max in ["0\n", "bright\n", "\n"] {
            let tree = led_tree("green:wlan", max, TRIGGERS);
            let err = ClassLed::open(tree.path(), name("green:wlan")).unwrap_err();
            assert!(matches!(*err, Error::BadValue { .. }), "{max:?}: {err:?}");
        }
        let tree = led_tree("green:wlan", "bright\n", TRIGGERS);
        let err = ClassLed::open(tree.path(), name("green:wlan")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "led green:wlan: {}/class/leds/green:wlan/max_brightness: unexpected \"bright\"",
                tree.path().display()
            )
        );
    }

    #[test]
    fn missing_attribute_is_not_found() {
        let tree = led_tree("green:wlan", "1\n", TRIGGERS);
        std::fs::remove_file(tree.path().join("class/leds/green:wlan/delay_off")).unwrap();
        let mut led = ClassLed::open(tree.path(), name("green:wlan")).unwrap();
        let err = led.set(LedState::Blinking).unwrap_err();
        assert!(matches!(&*err, Error::NotFound { path, .. } if path.ends_with("delay_off")), "{err:?}");
        // Not created by the write.
        assert!(!tree.path().join("class/leds/green:wlan/delay_off").exists());
        assert_eq!(led.state(), None);
    }

    #[test]
    fn active_trigger_parsing() {
        assert_eq!(active_trigger("[none] timer"), Some("none"));
        assert_eq!(active_trigger("none kbd-capslock [timer]\n"), Some("timer"));
        assert_eq!(active_trigger("none timer"), None);
    }
}
