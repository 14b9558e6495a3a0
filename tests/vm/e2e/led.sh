#!/bin/bash
# e2e group "led" (one VM boot, --radios 2): the agent's status LED on a real LED-class device of
# the 6.12 kernel (the keyboard's capslock LED from input-leds; blinking via ledtrig-timer), read
# back from sysfs as APs start and stop: off (no AP served), on (served and reconciled), blinking
# (an action failed and waits for a retry), and a missing LED is one log line, not a crash; and the
# radio map (sysfs + nl80211 bands) in `apwatch status`.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=led; source "$(dirname "$0")/lib.sh"
trap finish EXIT
plan led_found led_off_at_start led_on_when_serving led_off_after_stop led_blinks_on_error \
  led_on_after_recovery led_missing_is_logged led_agent_alive radio_map_in_status
have_agent || { echo "FATAL: $WHY"; exit 1; }
modprobe ledtrig-timer 2>/dev/null
LED=$(basename "$(ls -d /sys/class/leds/input*::capslock 2>/dev/null | head -1)")
check led_found test -n "$LED"
L=/sys/class/leds/$LED
led_is() {  # led_is off|on|blink
  local b t; b=$(cat "$L/brightness"); t=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$L/trigger")
  case $1 in
    off) [[ $t == none && $b == 0 ]] ;;
    on) [[ $t == none && $b != 0 ]] ;;
    blink) [[ $t == timer ]] ;;
  esac || { WHY="$LED: trigger=$t brightness=$b, want $1"; return 1; }
}
mkbr br-foo 192.0.2.1/24
MAIN_EXTRA="\toption led '$LED'\n" write_config "foo ssid=foo bridge=br-foo" "bad ssid=bad bridge=br-bad"
agent_start agent.log || note "agent: $WHY"
check led_off_at_start wait_until 5 led_is off
ap_start wlan0 ssid=foo || note "$WHY"
check led_on_when_serving wait_until 5 led_is on
radios_ok() {  # the radio map: sysfs (driver, device path) + nl80211 (bands), as `status` shows it
  local out; out=$("$APWATCH_BIN" --config "$CFG" status 2>&1)
  grep -q '^radio phy0 index=0 mac=02:00:00:00:00:00 driver=mac80211_hwsim device=virtual/mac80211_hwsim/hwsim0 bands=2g' <<<"$out" \
    || { WHY="status shows: $(grep radio <<<"$out" | tr '\n' '|')"; return 1; }
}
check radio_map_in_status radios_ok
ap_stop wlan0
check led_off_after_stop wait_until 5 led_is off
# an action that fails: br-bad exists but is not a bridge, so wlan0 cannot become its port
ip link add br-bad type dummy && ip link set br-bad up
ap_start wlan0 ssid=bad || note "$WHY"
check led_blinks_on_error wait_until 5 led_is blink
ap_stop wlan0
ap_start wlan0 ssid=foo || note "$WHY"
check led_on_after_recovery wait_until 8 led_is on
ap_stop wlan0
agent_stop
# a LED that does not exist: one clear log line, the agent runs on
MAIN_EXTRA="\toption led 'nosuch:led'\n" write_config "foo ssid=foo bridge=br-foo"
agent_start agent-missing.log || note "agent: $WHY"
check led_missing_is_logged grep -q "status LED disabled: led nosuch:led: /sys/class/leds/nosuch:led not found" "$T/agent-missing.log"
check led_agent_alive alive "$AGENT_PID" apwatch
agent_stop
