#!/bin/bash
# Harness self-test, no agent: proves the plumbing the scenarios stand on (hostapd configs, the station
# netns, dnsmasq-restart with a drop-in, udhcpc, hostapd_cli -a) on hwsim. Run: tests/vm/run-e2e --selftest
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=selftest; source "$(dirname "$0")/lib.sh"
trap finish EXIT
plan selftest_ap_foo selftest_action_bridges selftest_lease selftest_disable_removes selftest_two_bss \
  selftest_hex_ssid selftest_ifdown_stop_ap selftest_quick_restart selftest_eight_bss selftest_storm_overflows

iw event -t > "$T/iw-event.log" 2>&1 &
ip -ts monitor link > "$T/ip-monitor.log" 2>&1 &
sta_setup || echo "station setup failed"
mkbr br-foo 192.0.2.1/24
printf 'interface=br-foo\ndhcp-range=192.0.2.100,192.0.2.149,255.255.255.0,1h\n' > "$DROPINS/static-foo.conf"
"$E2E_DIR/dnsmasq-restart" "$T"
sleep 0.5

t0=$(now); ap_start wlan0 ssid=foo; t1=$(now)
note "hostapd -B took $($PY -c "print(round($t1-$t0,3))") s"
started_foo() { ap_enabled wlan0 && grep -q 'wlan0.*start_ap' "$T/iw-event.log" || { WHY="${WHY:-no start_ap in iw event}"; return 1; }; }
check selftest_ap_foo wait_until 5 started_foo

# hostapd_cli -a only sees events after it attached, so the AP is cycled with DISABLE/ENABLE
BASELINE_BRIDGE=br-foo BASELINE_STATE=$T hostapd_cli -p /run/hostapd -i wlan0 -a "$E2E_DIR/baseline-action" \
  > "$T/hostapd_cli.log" 2>&1 &
CLI=$!
sleep 0.5
hostapd_cli -p /run/hostapd -i wlan0 disable; sleep 0.5
t0=$(now); hostapd_cli -p /run/hostapd -i wlan0 enable
check selftest_action_bridges wait_until 5 in_bridge wlan0 br-foo
note "enable -> bridged in $($PY -c "print(round($(now)-$t0,3))") s"

t0=$(now)
if sta_assoc foo; then note "associated after $($PY -c "print(round($(now)-$t0,3))") s"; sta_dhcp 5 >/dev/null; fi
note "lease: $(cat "$T/lease.ip" 2>/dev/null) after $($PY -c "print(round($(now)-$t0,3))") s"
check selftest_lease lease_in 192.0.2.100 192.0.2.149

note "ip monitor before disable: $(wc -l < "$T/ip-monitor.log") lines"
hostapd_cli -p /run/hostapd -i wlan0 disable
check selftest_disable_removes wait_until 5 no_bridge wlan0
sleep 0.5
note "kernel events for DISABLE:"; tail -n 4 "$T/iw-event.log"; ip link show wlan0
hostapd_cli -p /run/hostapd -i wlan0 enable; sleep 1
note "kernel events for ENABLE:"; tail -n 3 "$T/iw-event.log"
kill $CLI; sta_stop; ap_stop wlan0; ip link set wlan0 nomaster

ap_start wlan0 ssid=foo bss=wlan0-1 ssid=foo2
two_up() { [[ $(grep -c 'unknown event 15' "$T/iw-event.log") -ge 4 ]] && iw dev wlan0-1 info | grep -q 'ssid foo2' || { WHY="no foo2 BSS: $(iw dev | grep -E 'Interface|ssid' | tr '\n' ' ')"; return 1; }; }
check selftest_two_bss wait_until 5 two_up
ap_stop wlan0

ap_start wlan0 ssid2=66ff6f80
hex_up() { iw dev wlan0 info | grep -qF 'ssid f\xffo\x80' || { WHY="iw dev wlan0 info: $(iw dev wlan0 info | grep ssid)"; return 1; }; }
check selftest_hex_ssid wait_until 5 hex_up
ap_stop wlan0

ap_start wlan0 ssid=foo; sleep 0.5
ip link set wlan0 down
stopped() { tail -n 5 "$T/iw-event.log" | grep -q 'wlan0.*stop ap' || { WHY="no 'stop ap' event"; return 1; }; }
check selftest_ifdown_stop_ap wait_until 5 stopped
ap_stop wlan0

# the race scenario's primitive: kill, wait for the exit, start anew; how long does each step take here?
quick() {
  local i t0 t1 t2 ssid
  for i in 1 2 3 4 5; do
    ssid=foo; (( i % 2 )) && ssid=bar
    t0=$(now); ap_stop wlan0 || return 1; t1=$(now); ap_start wlan0 "ssid=$ssid" || return 1; t2=$(now)
    note "restart $i: stop $($PY -c "print(round($t1-$t0,3))") s, start $($PY -c "print(round($t2-$t1,3))") s"
  done
  sleep 0.5
  iw dev wlan0 info | grep -q 'ssid bar' || { WHY="last AP is not bar: $(iw dev wlan0 info | grep ssid)"; return 1; }
}
ap_start wlan0 ssid=foo
check selftest_quick_restart quick
ap_stop_all

bss_flood 0     # writes the 8-BSS config only
hostapd -B -P "$T/hostapd.storm.pid" "$T/hostapd.storm.conf" >> "$T/hostapd-storm.log" 2>&1
eight() { [[ -e /sys/class/net/wlan2-7 ]] && [[ $(grep -c 'wlan2.*unknown event 15' "$T/iw-event.log") -ge 8 ]] || { WHY="BSSes: $(cd /sys/class/net && echo wlan2*)"; return 1; }; }
check selftest_eight_bss wait_until 5 eight
kill "$(read_pidfile "$T/hostapd.storm.pid")"; sleep 1

# the scenario 6 storm against a plain listener with a 1024-byte buffer: does it overflow at all?
"$PY" "$E2E_DIR/nlprobe.py" 120 1024 > "$T/nlprobe.log" 2>&1 & NP=$!
sleep 1
t0=$(now)
link_flood & LF=$!
bss_flood & BF=$!
for i in $(seq 20); do ap_stop wlan0; if (( i % 2 )); then ap_start wlan0 ssid=foo; else ap_start wlan0 ssid=bar; fi; done
wait "$LF" "$BF"
note "storm took $("$PY" -c "print(round($(now)-$t0,1))") s"
kill "$NP"; wait "$NP"
cat "$T/nlprobe.log"
overflow() { grep -q 'rtnl link: .* [1-9][0-9]* ENOBUFS' "$T/nlprobe.log" || { WHY="no ENOBUFS on rtnl: $(tr '\n' '|' < "$T/nlprobe.log")"; return 1; }; }
check selftest_storm_overflows overflow
ap_stop_all
sleep 0.3
