#!/bin/bash
# Scenario 1, narrated (run: tests/vm/run-e2e --demo): hostapd starts AP "foo" with no bridge= line,
# apwatch puts wlan0 into br-foo and writes the DHCP drop-in, a station gets a lease through it.
# Prefixed lines are live: "agent |" the agent's stderr (its decisions), "hostapd |", "dnsmasq |",
# "station |". Exit code 0 when wlan0 was bridged and the station got a lease from the right range.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=demo LOG_LEVEL=${LOG_LEVEL:-info}; source "$(dirname "$0")/lib.sh"
say() { sleep 0.4; printf '\n-- %s\n' "$*"; }   # the pause lets the live tails catch up
show() { sed 's/^/     /'; }
live() { tail -n +1 -F "$2" 2>/dev/null | grep --line-buffered -E "${3:-.}" | sed -u "s/^/$1 | /" & }
ok=1
have_agent || { echo "FATAL: $WHY"; exit 1; }

echo "== apwatch demo: an AP starts, the agent bridges it and serves DHCP for it (mac80211_hwsim, $(uname -r))"
say "setup: bridge br-foo with 192.0.2.1/24 (the agent never assigns addresses), station radio phy1 in netns 'sta', dnsmasq with no drop-ins yet"
sta_setup; mkbr br-foo 192.0.2.1/24
"$E2E_DIR/dnsmasq-restart" "$T"
write_config "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h"
say "the agent's configuration ($CFG)"
show < "$CFG"

touch "$T/agent.log" "$T/hostapd.log" "$T/dnsmasq.log" "$T/udhcpc.log"
live "agent  " "$T/agent.log" '^[a-z]+:'
live "hostapd" "$T/hostapd.log" 'AP-ENABLED|AP-DISABLED|AP-STA-(DIS)?CONNECTED'
live "dnsmasq" "$T/dnsmasq.log" 'started|IP range|DHCPACK|exiting'
live "station" "$T/udhcpc.log"
say "starting the agent: apwatch --config $CFG run  (apwatch = a copy of ${APWATCH_SRC:-$APWATCH_BIN})"
agent_start agent.log || { echo "the agent did not start: $WHY"; ok=; }

say "starting hostapd: ssid foo on wlan0 (phy0), driver=nl80211, NO bridge= line"
printf "%s\n" interface=wlan0 driver=nl80211 hw_mode=g channel=1 ssid=foo | show
ap_start wlan0 ssid=foo || echo "hostapd: $WHY"
if wait_until 5 in_bridge wlan0 br-foo; then say "wlan0 is a port of br-foo ($(bridge link show dev wlan0 | cut -c1-90))"
else echo "NOT BRIDGED: $WHY"; ok=; fi
if wait_until 5 has_dropin foo br-foo; then
  say "the agent's dnsmasq drop-in $(dropin foo)"; show < "$(dropin foo)"
else echo "NO DROP-IN: $WHY"; ok=; fi
wait_until 5 dnsmasq_serves 192.0.2.100 192.0.2.149 || { echo "dnsmasq: $WHY"; ok=; }

say "station: wpa_supplicant (open network 'foo') on wlan1 in netns sta, then busybox udhcpc"
if sta_assoc foo 20; then
  echo "     $(ns iw dev wlan1 link | head -n 2 | tr '\n' ' ')"
  sta_dhcp 5 >/dev/null
fi
if lease_in 192.0.2.100 192.0.2.149; then say "the station holds $(cat "$T/lease.ip") (dnsmasq range 192.0.2.100-149)"
else echo "NO LEASE: $WHY"; ok=; fi

for args in status "status --json"; do
  say "apwatch $args"
  o=$("$APWATCH_BIN" --config "$CFG" $args 2>&1); rc=$?
  [[ -n $o ]] || o="(no output)"
  show <<< "$o"; [[ $rc == 0 ]] || { echo "     exit code $rc"; ok=; }
done

say "stopping hostapd (the kernel sends no STOP_AP for this): wlan0 must leave br-foo, the drop-in must go"
sta_stop; ap_stop wlan0
wait_until 5 all 'no_bridge wlan0' 'no_dropin foo' && say "wlan0 is in no bridge, $(ls "$DROPINS" | wc -l) drop-ins left" \
  || { echo "NOT CLEANED UP: $WHY"; ok=; }
agent_stop
sleep 0.5
echo
if [[ $ok ]]; then echo "== demo OK"; collect_logs; exit 0; fi
echo "== demo FAILED (logs: $OUT)"; collect_logs; exit 1
