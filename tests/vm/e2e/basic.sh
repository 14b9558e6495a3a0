#!/bin/bash
# e2e group "basic" (one VM boot, --radios 3): scenarios 1 (AP foo -> br-foo, drop-in, station lease),
# 8 (monitor --json), status --json, 3 (AP ends: hostapd exit, ifdown), 4 (two BSSes), 7 (non-UTF-8
# SSID), 5 (agent restart converges from its dump), plus the CLI contract (exit codes).
# Radios: phy0/wlan0 AP, phy1/wlan1 station (netns sta), phy2/wlan2 second AP (scenario 5).
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=basic; source "$(dirname "$0")/lib.sh"
trap finish EXIT
plan cli_check_config_ok cli_check_config_invalid cli_bad_usage cli_disabled_run \
  s1_bridged s1_dropin s1_dhcp_range s1_dnsmasq_restarted s1_station_lease s1_address_untouched \
  status_json status_text \
  s8_monitor_json_lines s8_monitor_start_ap_foo s8_monitor_start_ap_hex s8_monitor_stop_ap \
  s3_exit_leaves_bridge s3_exit_dropin_removed s3_exit_status_empty \
  s3_ifdown_setup s3_ifdown_leaves_bridge s3_ifdown_dropin_removed \
  s4_first_bss s4_second_bss s4_bridge_created s4_dropins s4_stop_cleans \
  s7_hex_bridge s7_hex_no_dropin s7_hex_log_escaped s7_stop_cleans \
  s5_setup s5_sigterm_exit0 s5_rebridges s5_moves_wrong_bridge s5_rewrites_dropin s5_removes_stale_dropin \
  s5_stop_cleans basic_agent_alive

have_agent || { echo "FATAL: $WHY"; exit 1; }
RULES=(
  "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h"
  "bar ssid=bar bridge=br-bar dhcp_start=100 dhcp_limit=50 leasetime=1h"
  "foo2 ssid=foo2 bridge=br-foo2 dhcp_range=203.0.113.50,203.0.113.59 netmask=255.255.255.0 leasetime=1h"
  "hex ssid_hex=66ff6f80 bridge=br-hex"
)

# ---------------------------------------------------------------- CLI contract (docs/INTERFACES.md)
write_config "${RULES[@]}"
exit_is() {  # exit_is WANT CMD...
  local want=$1 rc; shift
  timeout 10 "$@" > "$T/cli.out" 2>&1; rc=$?
  [[ $rc == "$want" ]] || { WHY="'${*##*/}' exited $rc, want $want: $(head -c 300 "$T/cli.out" | tr '\n' '|')"; return 1; }
}
check cli_check_config_ok exit_is 0 "$APWATCH_BIN" check-config "$CFG"
printf "config apwatch 'main'\n\toption enabled '1'\n\nconfig rule 'bad-name!'\n\toption ssid_hex 'zz'\n\toption bridge 'br-x'\n" \
  > "$T/bad.conf"
check cli_check_config_invalid exit_is 3 "$APWATCH_BIN" check-config "$T/bad.conf"
check cli_bad_usage exit_is 2 "$APWATCH_BIN" --no-such-option
sed "s/option enabled '1'/option enabled '0'/" "$CFG" > "$T/disabled.conf"
check cli_disabled_run exit_is 0 "$APWATCH_BIN" --config "$T/disabled.conf" run

# ---------------------------------------------------------------- setup
sta_setup || note "station setup failed"
mkbr br-foo 192.0.2.1/24
mkbr br-bar 198.51.100.1/24          # br-foo2 and br-hex: the agent creates them
"$E2E_DIR/dnsmasq-restart" "$T"      # a dnsmasq with no drop-ins yet, as on a router
monitor_start || note "monitor: $WHY"
agent_start agent.log || note "agent: $WHY"

# ---------------------------------------------------------------- scenario 1 (+ status)
note "scenario 1: hostapd AP foo on wlan0"
ap_start wlan0 ssid=foo || note "$WHY"
WDEV_WLAN0=$(iw dev wlan0 info | awk '/wdev/ {print $2}')
IFINDEX_WLAN0=$(cat /sys/class/net/wlan0/ifindex)
WIPHY0=$(cat /sys/class/ieee80211/phy0/index)
check s1_bridged wait_until 5 in_bridge wlan0 br-foo
check s1_dropin wait_until 5 has_dropin foo br-foo
check s1_dhcp_range jc dhcp-range "$(dropin foo)" 192.0.2.100 192.0.2.149
check s1_dnsmasq_restarted wait_until 5 dnsmasq_serves 192.0.2.100 192.0.2.149
lease() { sta_assoc foo 20 || return 1; sta_dhcp 5 >/dev/null; lease_in 192.0.2.100 192.0.2.149; }
check s1_station_lease lease
note "station lease: $(cat "$T/lease.ip" 2>/dev/null)"
only_addr() {  # the agent does not assign addresses: br-foo keeps exactly the test's one
  local a; a=$(ip -4 -o addr show dev br-foo | awk '{print $4}' | tr '\n' ' ')
  [[ $a == "192.0.2.1/24 " ]] || { WHY="br-foo IPv4 addresses: '$a'"; return 1; }
}
check s1_address_untouched only_addr
status_has() {
  "$APWATCH_BIN" --config "$CFG" status --json > "$T/status.json" 2> "$T/status.err" \
    || { WHY="status --json exited $?: $(head -c 200 "$T/status.err")"; return 1; }
  jc find "$T/status.json" --in aps "$@"
}
check status_json wait_until 5 status_has ifname=wlan0 phy=phy0 "ifindex=$IFINDEX_WLAN0" ssid=foo ssid_hex=666f6f \
  rule=foo bridge=br-foo since?int
status_text() {
  "$APWATCH_BIN" --config "$CFG" status > "$T/status.txt" 2>&1 || { WHY="status exited $?"; return 1; }
  grep -q wlan0 "$T/status.txt" && grep -q br-foo "$T/status.txt" || { WHY="status text lacks wlan0/br-foo: $(head -c 300 "$T/status.txt" | tr '\n' '|')"; return 1; }
}
check status_text status_text
cp "$T/status.json" "$OUT/status-s1.json" 2>/dev/null
sta_stop

# ---------------------------------------------------------------- scenario 3: the AP ends, both ways
note "scenario 3a: hostapd exits (no STOP_AP from the kernel)"
ap_stop wlan0
check s3_exit_leaves_bridge wait_until 5 no_bridge wlan0
check s3_exit_dropin_removed wait_until 5 no_dropin foo
status_empty() {
  "$APWATCH_BIN" --config "$CFG" status --json > "$T/status.json" 2>&1 || { WHY="status --json exited $?"; return 1; }
  local n; n=$("$PY" "$E2E_DIR/jcheck.py" count "$T/status.json" --in aps ifname=wlan0)
  [[ $n == 0 ]] || { WHY="status still lists wlan0: $(head -c 300 "$T/status.json")"; return 1; }
}
check s3_exit_status_empty wait_until 5 status_empty

note "scenario 3b: ip link set wlan0 down under a running AP (the kernel sends STOP_AP)"
ap_start wlan0 ssid=foo || note "$WHY"
check s3_ifdown_setup wait_until 5 all 'in_bridge wlan0 br-foo' 'has_dropin foo br-foo'
ip link set wlan0 down
check s3_ifdown_leaves_bridge wait_until 5 no_bridge wlan0
check s3_ifdown_dropin_removed wait_until 5 no_dropin foo
ap_stop wlan0

# ---------------------------------------------------------------- scenario 4: two BSSes, one radio
note "scenario 4: ssid foo + bss=wlan0-1 ssid foo2"
ap_start wlan0 ssid=foo bss=wlan0-1 ssid=foo2 || note "$WHY"
check s4_first_bss wait_until 5 in_bridge wlan0 br-foo
check s4_second_bss wait_until 5 in_bridge wlan0-1 br-foo2
check s4_bridge_created is_bridge br-foo2
check s4_dropins wait_until 5 all 'has_dropin foo br-foo' 'has_dropin foo2 br-foo2' \
  'jc dhcp-range "$(dropin foo2)" 203.0.113.50 203.0.113.59'
ap_stop wlan0
check s4_stop_cleans wait_until 5 all 'no_bridge wlan0' 'no_dropin foo' 'no_dropin foo2'

# ---------------------------------------------------------------- scenario 7: SSID bytes 66 ff 6f 80
note "scenario 7: ssid2=66ff6f80 (not UTF-8), rule hex by ssid_hex"
ap_start wlan0 ssid2=66ff6f80 || note "$WHY"
check s7_hex_bridge wait_until 5 all 'in_bridge wlan0 br-hex' 'is_bridge br-hex'
check s7_hex_no_dropin stays 1 no_dropin hex      # rule hex has no DHCP options
logged_escaped() { grep -qF 'f\xffo\x80' "$AGENT_LOG" || { WHY="no 'f\\xffo\\x80' in $AGENT_LOG"; return 1; }; }
check s7_hex_log_escaped logged_escaped
ap_stop wlan0
check s7_stop_cleans wait_until 5 no_bridge wlan0

# ---------------------------------------------------------------- scenario 8: what monitor printed
note "scenario 8: monitor --json output"
check s8_monitor_json_lines jc lines "$T/monitor.jsonl"
# START_AP on the multicast group exists since Linux 6.3: before it the monitor must show none
# (and the agent still converged above, from link and interface events)
kmaj=$(uname -r | cut -d. -f1) kmin=$(uname -r | cut -d. -f2)
if (( kmaj > 6 || (kmaj == 6 && kmin >= 3) )); then
  check s8_monitor_start_ap_foo jc find "$T/monitor.jsonl" source=nl80211 event=start_ap "wiphy=$WIPHY0" \
    "ifindex=$IFINDEX_WLAN0" "wdev=$WDEV_WLAN0" ssid=foo ssid_hex=666f6f
  check s8_monitor_start_ap_hex jc find "$T/monitor.jsonl" event=start_ap "ifindex=$IFINDEX_WLAN0" \
    ssid_hex=66ff6f80 'ssid=f\xffo\x80'
else
  no_start_ap() { ! grep -q '"event":"start_ap"' "$T/monitor.jsonl" || { WHY="kernel $(uname -r) sent START_AP?"; return 1; }; }
  note "kernel $(uname -r) < 6.3: no START_AP expected on the mlme group"
  check s8_monitor_start_ap_foo no_start_ap
  check s8_monitor_start_ap_hex no_start_ap
fi
check s8_monitor_stop_ap jc find "$T/monitor.jsonl" source=nl80211 event=stop_ap "ifindex=$IFINDEX_WLAN0"
kill "$MON_PID" 2>/dev/null

# ---------------------------------------------------------------- scenario 5: agent restart
note "scenario 5: APs foo (wlan0) and bar (wlan2) up, agent restarted, state disturbed while it is down"
ap_start wlan0 ssid=foo || note "$WHY"
ap_start wlan2 ssid=bar || note "$WHY"
check s5_setup wait_until 5 all 'in_bridge wlan0 br-foo' 'in_bridge wlan2 br-bar' 'has_dropin foo br-foo' \
  'has_dropin bar br-bar'
agent_stop
s5_rc() { [[ $AGENT_RC == 0 ]] || { WHY="apwatch run exited $AGENT_RC on SIGTERM"; return 1; }; }
check s5_sigterm_exit0 s5_rc
ip link set wlan0 nomaster              # lost its bridge
ip link set wlan2 master br-foo         # in the wrong bridge
rm -f "$(dropin bar)"                   # drop-in lost
printf 'interface=br-foo2\ndhcp-range=203.0.113.50,203.0.113.59,1h\n' > "$(dropin foo2)"   # stale: no AP of foo2
agent_start agent.log || note "agent: $WHY"
check s5_rebridges wait_until 5 in_bridge wlan0 br-foo
check s5_moves_wrong_bridge wait_until 5 in_bridge wlan2 br-bar
check s5_rewrites_dropin wait_until 5 has_dropin bar br-bar
check s5_removes_stale_dropin wait_until 5 no_dropin foo2
ap_stop wlan0; ap_stop wlan2
check s5_stop_cleans wait_until 5 all 'no_bridge wlan0' 'no_bridge wlan2' 'no_dropin foo' 'no_dropin bar'
check basic_agent_alive alive "$AGENT_PID" "apwatch run"
agent_stop
