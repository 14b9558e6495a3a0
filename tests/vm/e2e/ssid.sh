#!/bin/bash
# e2e group "ssid" (one VM boot, --radios 3): every way an AP's SSID changes foo -> bar on one netdev
# must end in bar's bridge with bar's drop-in, each SSID_N rounds (default 10), and the time from the
# change to the right bridge port is recorded per way (ssid.tsv; p50/p95 in the summary):
#   inplace   `iw dev wlan0 ap stop` + `iw dev wlan0 ap start bar` after 0-900 ms, no hostapd: STOP_AP +
#             START_AP with no iftype change and no admin down/up (what OpenWrt's `wifi reload` does
#             through hostapd's bss.set_config; before 6.3 only linkwatch's RTM_NEWLINK shows it)
#   restart   hostapd killed, a new hostapd "bar" after 0/100/300/700 ms
#   cli       hostapd_cli disable / set ssid bar / enable
#   reload    hostapd_cli set ssid bar + reload (the kernel keeps "foo": only hostapd's control
#             socket can tell)
#   beacon    hostapd_cli set ssid bar + update_beacon (the same)
# SSID_WAYS picks ways (default: all). Then robustness: hostapd killed and restarted, its control
# socket removed, two BSSes on one radio, an AP with no hostapd at all: the agent keeps working.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=ssid; source "$(dirname "$0")/lib.sh"
trap finish EXIT
N=${SSID_N:-10}
WAYS=${SSID_WAYS:-inplace restart cli reload beacon}
for w in $WAYS; do plan "ssid_${w}_converges"; done
plan ssid_two_bss ssid_no_hostapd ssid_socket_removed ssid_agent_alive

have_agent || { echo "FATAL: $WHY"; exit 1; }
write_config \
  "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h" \
  "bar ssid=bar bridge=br-bar dhcp_start=100 dhcp_limit=50 leasetime=1h"
mkbr br-foo 192.0.2.1/24
mkbr br-bar 198.51.100.1/24
"$E2E_DIR/dnsmasq-restart" "$T"
agent_start agent.log || note "agent: $WHY"
note "kernel $(uname -r)"

is_ssid() { all "in_bridge wlan0 br-$1" "has_dropin $1 br-$1"; }
rand_ms() { echo $(( RANDOM % ($1 + 1) )); }
ms() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }
cli() { hostapd_cli -p /run/hostapd -i wlan0 "$@" > /dev/null; }
# converged_ms T0: polls (10 ms) until wlan0 is in br-bar with bar's drop-in; prints ms since T0 or -1
converged_ms() {
  local t0=$1 end=$(( ${EPOCHREALTIME/./} + 5000000 ))
  while (( ${EPOCHREALTIME/./} < end )); do
    if is_ssid bar 2>/dev/null; then echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); return 0; fi
    sleep 0.01
  done
  echo -1
}
# beacon_head SSID: an 802.11 beacon head (fixed fields, SSID, rates, DS channel 1) for `iw ap start`
beacon_head() {
  local mac ssid
  mac=$(tr -d ':\n' < /sys/class/net/wlan0/address)
  ssid=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
  printf '8000''0000''ffffffffffff%s%s''0000''0000000000000000''6400''0104''00%02x%s''010882848b960c121824''030101' \
    "$mac" "$mac" "${#1}" "$ssid"
}
iw_ap_start() { iw dev wlan0 ap start "$1" 2412 100 2 head "$(beacon_head "$1")"; }
iw_ap_mode() {  # wlan0 as an AP netdev without hostapd (down, type AP, up)
  ip link set wlan0 down; iw dev wlan0 set type __ap; ip link set wlan0 up
}
echo -e "way\tround\tgap_ms\tconverge_ms" > "$OUT/ssid.tsv"
record() { echo -e "$1\t$2\t$3\t$4" >> "$OUT/ssid.tsv"; }

# way_WAY ROUND: leaves wlan0 serving foo (checked), changes it to bar, prints "GAP T0"
start_foo_hostapd() {
  ap_stop wlan0
  ap_start wlan0 ssid=foo || return 1
  wait_until 5 is_ssid foo
}
way_inplace() {
  if (( $1 == 1 )); then ap_stop wlan0; iw_ap_mode; fi
  iw dev wlan0 ap stop 2>/dev/null; iw_ap_start foo; wait_until 5 is_ssid foo || return 1
  local gap; gap=$(rand_ms 900)
  iw dev wlan0 ap stop; sleep "$(ms "$gap")"
  T0=${EPOCHREALTIME/./}; GAP=$gap; iw_ap_start bar
}
way_restart() {
  start_foo_hostapd || return 1
  local gaps=(0 100 300 700) gap; gap=${gaps[$(( ($1 - 1) % 4 ))]}
  ap_stop wlan0; sleep "$(ms "$gap")"
  T0=${EPOCHREALTIME/./}; GAP=$gap; ap_start wlan0 ssid=bar
}
way_cli() {
  start_foo_hostapd || return 1
  T0=${EPOCHREALTIME/./}; GAP=0; cli disable; cli set ssid bar; cli enable
}
way_reload() {
  start_foo_hostapd || return 1
  T0=${EPOCHREALTIME/./}; GAP=0; cli set ssid bar; cli reload
}
way_beacon() {
  start_foo_hostapd || return 1
  T0=${EPOCHREALTIME/./}; GAP=0; cli set ssid bar; cli update_beacon
}

for w in $WAYS; do
  note "way $w: $N rounds foo -> bar"
  bad=0 first=''
  for i in $(seq "$N"); do
    if ! "way_$w" "$i"; then bad=$((bad + 1)); first=${first:-"round $i: setting up foo: $WHY"}; continue; fi
    c=$(converged_ms "$T0")
    record "$w" "$i" "$GAP" "$c"
    if (( c < 0 )); then
      is_ssid bar; bad=$((bad + 1)); first=${first:-"round $i (gap $GAP ms): $WHY"}
      note "way $w round $i: not converged: $WHY"
    fi
  done
  if [[ $w == inplace ]]; then iw dev wlan0 ap stop 2>/dev/null; ip link set wlan0 down; iw dev wlan0 set type managed; fi
  eval "r_$w() { [[ $bad == 0 ]] || { WHY=\"$bad of $N rounds did not end in br-bar; first: ${first//\"/\\\"}\"; return 1; }; }"
  check "ssid_${w}_converges" "r_$w"
done
"$PY" - "$OUT/ssid.tsv" "$(uname -r)" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for way in dict.fromkeys(r["way"] for r in rows):
    c = sorted(int(r["converge_ms"]) for r in rows if r["way"] == way and int(r["converge_ms"]) >= 0)
    if c:
        p = lambda q: c[min(len(c) - 1, int(q * len(c)))]
        print(f"ssid: kernel {sys.argv[2]}: {way}: {len(c)} converged, change -> bar's bridge port p50 {p(0.5)} ms, p95 {p(0.95)} ms, max {c[-1]} ms")
EOF

# ---------------------------------------------------------------- robustness
ap_stop wlan0
note "two BSSes on one radio: wlan0 foo, wlan0-1 bar"
ap_start wlan0 ssid=foo bss=wlan0-1 ssid=bar
two() { all 'in_bridge wlan0 br-foo' 'in_bridge wlan0-1 br-bar' 'has_dropin foo br-foo' 'has_dropin bar br-bar'; }
check ssid_two_bss wait_until 10 two
ap_stop wlan0
note "hostapd killed with -9, its control socket left behind, then removed"
start_foo_hostapd
kill -9 "${APPID[wlan0]}"; unset "APPID[wlan0]"; sleep 0.5
rm -f /run/hostapd/wlan0
ap_start wlan0 ssid=bar
check ssid_socket_removed wait_until 10 is_ssid bar
ap_stop wlan0
note "an AP with no hostapd at all"
iw_ap_mode; iw_ap_start foo
check ssid_no_hostapd wait_until 10 is_ssid foo
iw dev wlan0 ap stop; ip link set wlan0 down; iw dev wlan0 set type managed
check ssid_agent_alive alive "$AGENT_PID" "apwatch run"
grep -E 'hostapd|START_AP|stack' "$AGENT_LOG" | head -20 | sed 's/^/  agent: /'
agent_stop
ap_stop_all
