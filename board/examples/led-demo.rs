//! Drives one LED through a sequence of states and, for an LED-class LED, checks each against
//! what the kernel then shows in sysfs. The real-kernel test (tests/vm/board-led.sh) runs it.
//!
//! ```text
//! led-demo [--sysfs DIR] [--dev DIR] [--blink ON_MS/OFF_MS] [--active-low] [--hold MS] LED STATE...
//! ```
//!
//! LED is a UCI `option led` value; STATE is `off`, `on` or `blink`. Each state is held for
//! `--hold` ms (default 0; a GPIO blink is ticked meanwhile). Exit 0: all states shown and,
//! for a class LED, read back as expected; 1: a read-back mismatch; 2: the LED could not be
//! opened or set (the message is the one the agent would log); 3: bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use apwatch_board::{Blink, BoardLed, LedSpec, LedState};

struct Args {
    sysfs: PathBuf,
    dev: PathBuf,
    blink: Blink,
    active_low: bool,
    hold_ms: u64,
    led: LedSpec,
    states: Vec<LedState>,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("led-demo: {msg}");
            eprintln!(
                "usage: led-demo [--sysfs DIR] [--dev DIR] [--blink ON_MS/OFF_MS] \
                 [--active-low] [--hold MS] LED off|on|blink..."
            );
            return ExitCode::from(3);
        }
    };
    let start = Instant::now();
    let now_ms = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);

    let mut led = match BoardLed::open_at(&args.led, args.active_low, &args.sysfs, &args.dev) {
        Ok(led) => led.with_blink(args.blink),
        Err(e) => {
            eprintln!("led-demo: {e}");
            return ExitCode::from(2);
        }
    };
    for &state in &args.states {
        if let Err(e) = led.set(state, now_ms()) {
            eprintln!("led-demo: {e}");
            return ExitCode::from(2);
        }
        if let LedSpec::Class(name) = args.led {
            let dir = args.sysfs.join("class/leds").join(name.as_str());
            match check(&dir, state, args.blink) {
                Ok(seen) => println!("ok: {} {state:?}: {seen}", args.led),
                Err(why) => {
                    println!("FAIL: {} {state:?}: {why}", args.led);
                    return ExitCode::from(1);
                }
            }
        } else {
            println!("set: {} {state:?}", args.led);
        }
        // The agent's loop in miniature: sleep until the next tick or the end of the hold.
        let until = now_ms().saturating_add(args.hold_ms);
        while now_ms() < until {
            if let Err(e) = led.tick(now_ms()) {
                eprintln!("led-demo: {e}");
                return ExitCode::from(2);
            }
            let wake = led.next_tick_ms().map_or(until, |t| t.min(until));
            sleep(Duration::from_millis(wake.saturating_sub(now_ms()).max(1)));
        }
    }
    ExitCode::SUCCESS
}

/// Reads the LED's sysfs attributes back, independently of the crate's own code, and says
/// what it saw or what is wrong.
fn check(dir: &Path, state: LedState, blink: Blink) -> Result<String, String> {
    let read = |attr: &str| {
        std::fs::read_to_string(dir.join(attr)).map(|s| s.trim().to_owned()).map_err(|e| format!("{attr}: {e}"))
    };
    let listing = read("trigger")?;
    let trigger = listing
        .split_ascii_whitespace()
        .find_map(|t| t.strip_prefix('[')?.strip_suffix(']'))
        .ok_or_else(|| format!("no active trigger in {listing:?}"))?
        .to_owned();
    let max = read("max_brightness")?;
    let expect = |what: &str, got: &str, want: &str| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what} is {got:?}, expected {want:?}"))
        }
    };
    match state {
        LedState::Off | LedState::On => {
            expect("trigger", &trigger, "none")?;
            let brightness = read("brightness")?;
            let want = if state == LedState::On { max.as_str() } else { "0" };
            expect("brightness", &brightness, want)?;
            Ok(format!("trigger={trigger} brightness={brightness}"))
        }
        LedState::Blinking => {
            expect("trigger", &trigger, "timer")?;
            let on = read("delay_on")?;
            let off = read("delay_off")?;
            expect("delay_on", &on, &blink.on_ms.to_string())?;
            expect("delay_off", &off, &blink.off_ms.to_string())?;
            // Proof the kernel really blinks: over three periods brightness must be seen
            // both dark and lit. Sampled at a tenth of the shorter phase.
            let period = u64::from(blink.on_ms) + u64::from(blink.off_ms);
            let step = u64::from(blink.on_ms.min(blink.off_ms) / 10).max(1);
            let (mut dark, mut lit) = (0u32, 0u32);
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(3 * period) {
                match read("brightness")?.as_str() {
                    "0" => dark += 1,
                    _ => lit += 1,
                }
                sleep(Duration::from_millis(step));
            }
            if dark == 0 || lit == 0 {
                return Err(format!("brightness did not blink over {} ms: {dark} dark, {lit} lit samples", 3 * period));
            }
            Ok(format!("trigger={trigger} delay_on={on} delay_off={off} samples: {dark} dark, {lit} lit"))
        }
    }
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut sysfs = PathBuf::from("/sys");
    let mut dev = PathBuf::from("/dev");
    let mut blink = Blink::DEFAULT;
    let mut active_low = false;
    let mut hold_ms = 0;
    let mut rest = Vec::new();
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sysfs" => sysfs = value()?.into(),
            "--dev" => dev = value()?.into(),
            "--active-low" => active_low = true,
            "--hold" => hold_ms = value()?.parse().map_err(|_| "--hold: not a number")?,
            "--blink" => {
                let v = value()?;
                let (on, off) = v.split_once('/').ok_or("--blink: ON_MS/OFF_MS")?;
                blink = Blink {
                    on_ms: on.parse().map_err(|_| "--blink: bad ON_MS")?,
                    off_ms: off.parse().map_err(|_| "--blink: bad OFF_MS")?,
                };
            }
            _ => rest.push(arg),
        }
    }
    let mut rest = rest.into_iter();
    let led = rest.next().ok_or("no LED given")?;
    let led = LedSpec::parse(&led).map_err(|e| e.to_string())?;
    let states = rest
        .map(|s| match s.as_str() {
            "off" => Ok(LedState::Off),
            "on" => Ok(LedState::On),
            "blink" => Ok(LedState::Blinking),
            _ => Err(format!("unknown state {s:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if states.is_empty() {
        return Err("no states given".into());
    }
    Ok(Args { sysfs, dev, blink, active_low, hold_ms, led, states })
}
