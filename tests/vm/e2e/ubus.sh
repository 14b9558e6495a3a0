#!/bin/bash
# e2e group "ubus" (one VM boot, --radios 3): the ubus backend on a real kernel with hostapd on
# mac80211_hwsim, against the ubusd + netifd stand-in (tests/netns/lib/fake_ubusd.py, acting on
# the kernel's real bridges): hostapd starts "foo" (network foo, netifd's br-foo), flips to "bar"
# (network bar) UBUS_N times (default 10) within 0-500 ms, netifd restarts (its bridges come back
# without the ports it was asked for), hostapd exits with a stale membership left in netifd;
# then OpenWrt hostapd's ubus object (the stand-in's `hostapd`, bss_info + bss.reload) tells of
# an in-place reload the kernel never hears of (the agent's control-socket witness is off here,
# hostapd_ctrl_dir points nowhere, so the ubus witness alone must carry it).
# Every check reads the kernel's bridge ports; the peer's log shows what the agent asked.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=ubus; source "$(dirname "$0")/lib.sh"
trap 'kill "${PEER_PID:-}" 2>/dev/null; finish' EXIT
N=${UBUS_N:-10}
plan u_foo_joined u_foo_dropin u_foo_add_device u_flips_converge u_restart_reapplied \
  u_stale_cleared u_status_call u_bus_reload_followed u_kernel_still_old u_agent_alive

have_agent || { echo "FATAL: $WHY"; exit 1; }
PEER=$E2E_DIR/../../netns/lib/fake_ubusd.py
SOCK=$T/ubus.sock CTL=$T/ubus.ctl PEERLOG=$T/peer.jsonl
printf '{"networks": {"foo": {"device": "br-foo"}, "bar": {"device": "br-bar"}}, "stale": true}\n' > "$T/nets.json"
"$PY" "$PEER" serve --socket "$SOCK" --config "$T/nets.json" --log "$PEERLOG" --control "$CTL" \
  > "$T/peer.out" 2>&1 &
PEER_PID=$!
wait_until 30 test -S "$SOCK" || { echo "FATAL: the ubus stand-in did not start: $(tail -3 "$T/peer.out")"; exit 1; }
ip addr add 192.0.2.1/24 dev br-foo 2>/dev/null; ip addr add 198.51.100.1/24 dev br-bar 2>/dev/null
write_config \
  "foo ssid=foo network=foo dhcp_start=100 dhcp_limit=50 leasetime=1h" \
  "bar ssid=bar network=bar dhcp_start=100 dhcp_limit=50 leasetime=1h"
sed -i "s/option backend 'rtnl'/option backend 'ubus'/" "$CFG"
# the control sockets' witness off: only hostapd's ubus object may correct the SSID
sed -i "s|option backend 'ubus'|option backend 'ubus'\n\toption hostapd_ctrl_dir '/run/apwatch-no-hostapd-ctrl'|" "$CFG"
"$E2E_DIR/dnsmasq-restart" "$T"
agent_start agent.log APWATCH_UBUS_SOCKET="$SOCK" || note "agent: $WHY"
calls() { "$PY" "$PEER" calls "$PEERLOG" --from apwatch 2>/dev/null; }

note "hostapd foo"
ap_start wlan0 ssid=foo || note "$WHY"
check u_foo_joined wait_until 10 in_bridge wlan0 br-foo
check u_foo_dropin wait_until 5 has_dropin foo br-foo
asked_foo() { calls | grep -q 'network.interface.foo add_device .*"name": *"wlan0"' || { WHY="no add_device of wlan0 on foo: $(calls | tail -3 | tr '\n' '|')"; return 1; }; }
check u_foo_add_device asked_foo

note "$N flips foo -> bar within 0-500 ms"
rand_ms() { echo $(( RANDOM % ($1 + 1) )); }
ms() { printf '0.%03d' "$1"; }
bad=0 first_bad=''
for i in $(seq "$N"); do
  ap_stop wlan0; ap_start wlan0 ssid=foo; sleep "$(ms "$(rand_ms 500)")"
  ap_stop wlan0; ap_start wlan0 ssid=bar
  if ! { wait_until 10 all 'in_bridge wlan0 br-bar' 'has_dropin bar br-bar' && stays 0.3 in_bridge wlan0 br-bar; }; then
    bad=$((bad + 1)); first_bad=${first_bad:-"round $i: $WHY"}
  fi
done
r_flips() { [[ $bad == 0 ]] || { WHY="$bad of $N flips did not end in br-bar; first: $first_bad"; return 1; }; }
check u_flips_converge r_flips

note "netifd restarts: its bridges come back without the ports it was asked for"
"$PY" "$PEER" ctl "$CTL" restart > /dev/null
# netifd would put its addresses back on the re-created bridges (the stand-in does not)
ip addr add 192.0.2.1/24 dev br-foo 2>/dev/null; ip addr add 198.51.100.1/24 dev br-bar 2>/dev/null
check u_restart_reapplied wait_until 15 in_bridge wlan0 br-bar

note "hostapd exits (netifd keeps a stale member), then AP bar again"
ap_stop wlan0
wait_until 5 no_bridge wlan0 || ip link set wlan0 nomaster
ap_start wlan0 ssid=bar
check u_stale_cleared wait_until 15 in_bridge wlan0 br-bar

status_call() {
  local out; out=$("$PY" "$PEER" call "$SOCK" apwatch status 2>&1)
  grep -q '"ifname": *"wlan0"' <<< "$out" && grep -q '"rule": *"bar"' <<< "$out" ||
    { WHY="ubus call apwatch status: $out"; return 1; }
}
check u_status_call status_call

note "hostapd's ubus object: set ssid foo + reload in place (no kernel event), then bss.reload"
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
"$PY" "$PEER" ctl "$CTL" hostapd up > /dev/null
"$PY" "$PEER" ctl "$CTL" bss add wlan0 "$(hex bar)" > /dev/null
wait_until 5 grep -q 'subscribed to the hostapd object' "$AGENT_LOG" || note "no subscription line yet"
hostapd_cli -p /run/hostapd -i wlan0 set ssid foo > /dev/null
hostapd_cli -p /run/hostapd -i wlan0 reload > /dev/null
sleep 0.5
stays 0.5 in_bridge wlan0 br-bar || note "moved before hostapd's object said anything: $WHY"
T0=${EPOCHREALTIME/./}
"$PY" "$PEER" ctl "$CTL" bss reload wlan0 "$(hex foo)" > /dev/null
check u_bus_reload_followed wait_until 10 all 'in_bridge wlan0 br-foo' 'has_dropin foo br-foo'
T1=${EPOCHREALTIME/./}
note "bss.reload -> wlan0 in br-foo: $(( (T1 - T0) / 1000 )) ms (shell polling in the TCG guest)"
# the same on the peer's clock: its notification out -> the agent's add_device on foo in
"$PY" - "$PEERLOG" <<'PYEOF' || true
import json, sys
t0 = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") != "msg":
        continue
    s = json.dumps(r)
    if r.get("dir") == "out" and "bss.reload" in s:
        t0 = r["t"]
    elif t0 and r.get("dir") == "in" and "add_device" in s and r.get("path") == "network.interface.foo":
        print(f"[peer] bss.reload sent -> add_device of network foo received: {(r['t'] - t0) * 1000:.0f} ms")
        break
PYEOF
kernel_old() {
  iw dev wlan0 info | grep -q 'ssid bar' || { WHY="iw dev wlan0 info: $(iw dev wlan0 info | grep ssid)"; return 1; }
  grep -q 'hostapd beacons ssid="foo", the kernel still says "bar"' "$AGENT_LOG" ||
    { WHY="no correction line: $(grep -a hostapd "$AGENT_LOG" | tail -3 | tr '\n' '|')"; return 1; }
}
check u_kernel_still_old kernel_old
check u_agent_alive alive "$AGENT_PID" "apwatch run"
calls | tail -n 12 | sed 's/^/  peer: /'
agent_stop
ap_stop_all
