#!/bin/bash
# Real-kernel test of apwatch-board (issue 8). Runs INSIDE the vm-run guest, as root:
#   tests/vm/vm-run --radios 0 -- tests/vm/board-led.sh LED_DEMO [RADIO_MAP]
# LED_DEMO, RADIO_MAP: the crate's examples, e.g. $CARGO_TARGET_DIR/debug/examples/led-demo.
#
# Debian's 6.12 kernel has no gpio-sim, gpio-mockup or uleds, so the LED-class path is tested on
# the LED the guest does have: the PS/2 keyboard's capslock (q35 i8042 -> atkbd -> input-leds),
# blinking through the `timer` trigger like a router's LED. The GPIO path is unit-tested only.
# With RADIO_MAP and hwsim radios (--radios N), the radio map is checked against sysfs too.
set -euo pipefail

demo=${1:?usage: board-led.sh LED_DEMO [RADIO_MAP]}
radio_map=${2:-}
fail() { echo "board-led: FAIL: $*"; exit 1; }
step() { echo "board-led: $*"; }

# input-leds is built in on Debian (CONFIG_INPUT_LEDS=y); a module on other kernels.
modprobe input-leds 2>/dev/null || true
modprobe ledtrig-timer || fail "modprobe ledtrig-timer"

shopt -s nullglob
leds=(/sys/class/leds/input*::capslock)
[[ ${#leds[@]} -gt 0 ]] || fail "no input*::capslock LED (is there an i8042 keyboard?) in: $(ls /sys/class/leds)"
led=${leds[0]##*/}
dir=/sys/class/leds/$led
step "LED $led, max_brightness $(cat "$dir/max_brightness"), trigger now: $(grep -o '\[[^]]*\]' "$dir/trigger")"

# 1. Every transition, each read back by led-demo from sysfs (it exits 1 on a mismatch).
#    100/100 ms so that the blink check (both levels seen over 3 periods) is quick.
step "states, blink 100/100"
"$demo" --blink 100/100 "$led" off on blink on blink off blink || fail "led-demo exited $?"

# 2. The default timing (500/500, the timer trigger's own), and Blinking re-asserted while
#    blinking (writes nothing; still reads back as blinking).
step "states, default blink"
"$demo" "$led" blink blink off || fail "led-demo exited $?"

# 3. What the last run left, read here without the crate.
grep -q '^\[none\] ' "$dir/trigger" || fail "trigger after off: $(cat "$dir/trigger")"
[[ $(cat "$dir/brightness") == 0 ]] || fail "brightness after off: $(cat "$dir/brightness")"

# 4. The errors the agent logs in one line and survives, with led-demo's exit code 2.
expect_error() { # WANT_LAST_LINE ARGS...
  local want=$1 out last rc=0
  shift
  out=$("$demo" "$@" 2>&1) || rc=$?
  last=${out##*$'\n'}
  [[ $rc == 2 ]] || fail "led-demo $*: exit $rc, expected 2; output: $out"
  [[ $last == "$want" ]] || fail "led-demo $*: got '$last', expected '$want'"
  step "error ok: $last"
}
expect_error "led-demo: led nosuch:led: /sys/class/leds/nosuch:led not found" nosuch:led on
expect_error "led-demo: led gpiochip0:17: /dev/gpiochip0 not found" gpiochip0:17 on

# 5. No timer trigger: unload it (nothing uses it after step 2), then ask for a blink. On and
#    Off must still work without it.
rmmod ledtrig-timer || fail "rmmod ledtrig-timer: $(grep -l '\[timer\]' /sys/class/leds/*/trigger)"
grep -qw timer "$dir/trigger" && fail "timer still listed after rmmod"
expect_error "led-demo: led $led: no 'timer' trigger in $dir/trigger (kernel module ledtrig-timer)" \
  "$led" on blink
"$demo" "$led" on off || fail "on/off without the timer trigger: led-demo exited $?"

# 6. The radio map against sysfs, read here with readlink/realpath.
if [[ -n $radio_map ]]; then
  want=""
  for phy in /sys/class/ieee80211/*; do
    [[ -e $phy/index ]] || continue
    drv=$(readlink "$phy/device/driver") || drv=-
    dev=$(realpath "$phy/device") || dev=-
    want+="$(cat "$phy/index") ${phy##*/} index=$(cat "$phy/index") mac=$(cat "$phy/macaddress")"
    want+=" driver=${drv##*/} device=${dev#/sys/devices/} bands=?"$'\n'
  done
  want=$(printf %s "$want" | sort -n | cut -d' ' -f2-)
  got=$("$radio_map") || fail "radio-map exited $?"
  [[ $got == "$want" ]] || fail "radio map:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
  step "radio map ($(grep -c . <<<"$got" || true) radios):"
  if [[ -n $got ]]; then while read -r line; do echo "  $line"; done <<<"$got"; fi
fi

step "PASS"
