#!/bin/bash
# e2e group "vlan" (one VM boot, --radios 3): SSID -> VLAN on a VLAN-filtering bridge, the layout of
# DSA-era OpenWrt. br-lan (vlan_filtering 1) with br-lan.10 (192.0.2.1/24) and br-lan.20
# (198.51.100.1/24), dnsmasq on both through the drop-ins; rules home -> VLAN 10, guest -> VLAN 20.
#   - hostapd "home" on wlan0: wlan0 is a port of br-lan carrying VLAN 10 only (PVID, untagged),
#     DHCP on br-lan.10, and a station on the second radio gets a lease from 192.0.2.0/24;
#   - hostapd "guest": VLAN 20 only, DHCP on br-lan.20, the station's lease from 198.51.100.0/24;
#   - the race: VLAN_N rounds (default 30) of a flip within 0-500 ms always end in the last SSID's
#     VLAN with no membership left in the other;
#   - a rule with a VLAN on a bridge without vlan_filtering: a located error, the AP left alone.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=vlan; source "$(dirname "$0")/lib.sh"
trap finish EXIT
N=${VLAN_N:-30}
plan v_home_port v_home_dropin v_home_lease v_guest_port v_guest_dropin v_guest_lease \
  v_race_converges v_plain_beside v_nofilter_logged v_nofilter_left_alone v_agent_alive

have_agent || { echo "FATAL: $WHY"; exit 1; }
ip link add br-lan type bridge vlan_filtering 1 && ip link set br-lan up
bridge vlan add dev br-lan vid 10 self && bridge vlan add dev br-lan vid 20 self
ip link add link br-lan name br-lan.10 type vlan id 10 && ip addr add 192.0.2.1/24 dev br-lan.10 && ip link set br-lan.10 up
ip link add link br-lan name br-lan.20 type vlan id 20 && ip addr add 198.51.100.1/24 dev br-lan.20 && ip link set br-lan.20 up
mkbr br-plain 203.0.113.1/24
write_config \
  "home ssid=home bridge=br-lan vlan=10 dhcp_start=100 dhcp_limit=50 leasetime=1h" \
  "guest ssid=guest bridge=br-lan vlan=20 dhcp_start=100 dhcp_limit=50 leasetime=1h" \
  "plain ssid=plain bridge=br-plain dhcp_start=100 dhcp_limit=50 leasetime=1h"
"$APWATCH_BIN" check-config "$CFG" | sed 's/^/  check-config: /'
"$E2E_DIR/dnsmasq-restart" "$T"
sta_setup
agent_start agent.log || note "agent: $WHY"

# vlan_only IF VID: IF carries exactly VID, as PVID and egress-untagged (the kernel's VLAN table)
vlan_only() {
  local out
  out=$(bridge -j vlan show dev "$1" 2>/dev/null | "$PY" -c '
import json, sys
want = int(sys.argv[1]); rows = json.load(sys.stdin)
v = [x for r in rows for x in r.get("vlans", [])]
ok = len(v) == 1 and v[0]["vlan"] == want and v[0].get("vlanEnd", want) == want \
     and {"PVID", "Egress Untagged"} <= set(v[0].get("flags", []))
print("ok" if ok else "vlans %s" % [(x["vlan"], x.get("vlanEnd"), x.get("flags")) for x in v])' "$2")
  [[ $out == ok ]] || { WHY="$1: $out, want only $2 PVID untagged"; return 1; }
}
is_vlan() {  # is_vlan RULE VID: in br-lan with only VID, and RULE's drop-in serves br-lan.VID
  all "in_bridge wlan0 br-lan" "vlan_only wlan0 $2" "has_dropin $1 br-lan.$2"
}
other() { [[ $1 == home ]] && echo guest || echo home; }
lease_for() {  # lease_for SSID LO HI: the station associates to SSID and gets a lease in LO..HI
  sta_stop; rm -f "$T/lease.ip"
  sta_assoc "$1" 20 || return 1
  sta_dhcp 5 2 > /dev/null
  lease_in "$2" "$3"
}

note "hostapd home (VLAN 10)"
ap_start wlan0 ssid=home || note "$WHY"
check v_home_port wait_until 10 all 'in_bridge wlan0 br-lan' 'vlan_only wlan0 10'
check v_home_dropin wait_until 10 all 'has_dropin home br-lan.10' 'no_dropin guest'
wait_until 5 dnsmasq_serves 192.0.2.100 192.0.2.149 || note "dnsmasq: $WHY"
check v_home_lease lease_for home 192.0.2.100 192.0.2.149
sta_stop

note "hostapd guest (VLAN 20)"
ap_stop wlan0
ap_start wlan0 ssid=guest || note "$WHY"
check v_guest_port wait_until 10 all 'in_bridge wlan0 br-lan' 'vlan_only wlan0 20'
check v_guest_dropin wait_until 10 all 'has_dropin guest br-lan.20' 'no_dropin home'
wait_until 5 dnsmasq_serves 198.51.100.100 198.51.100.149 || note "dnsmasq: $WHY"
check v_guest_lease lease_for guest 198.51.100.100 198.51.100.149
sta_stop

note "race: $N rounds, the SSID flips within 0-500 ms"
rand_ms() { echo $(( RANDOM % ($1 + 1) )); }
ms() { printf '0.%03d' "$1"; }
echo -e "round\tfirst\tlast\tgap_ms\tconverge_ms" > "$OUT/vlan-race.tsv"
bad=0 first_bad='' last=guest
for i in $(seq "$N"); do
  a=$(other "$last"); b=$(other "$a")
  (( RANDOM % 2 )) && b=$a          # sometimes the same SSID twice: nothing may move then
  gap=$(rand_ms 500)
  ap_stop wlan0; ap_start wlan0 "ssid=$a"; sleep "$(ms "$gap")"
  ap_stop wlan0; t0=${EPOCHREALTIME/./}; ap_start wlan0 "ssid=$b"
  vid=$([[ $b == home ]] && echo 10 || echo 20)
  if wait_until 10 is_vlan "$b" "$vid" && stays 0.3 is_vlan "$b" "$vid"; then
    c=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  else
    c=-1; bad=$((bad + 1)); first_bad=${first_bad:-"round $i ($a then $b after $gap ms): $WHY"}
  fi
  echo -e "$i\t$a\t$b\t$gap\t$c" >> "$OUT/vlan-race.tsv"
  last=$b
done
# a rule without a VLAN beside them: wlan2 joins br-plain and its VLANs are left as they are
ap_start wlan2 ssid=plain || note "$WHY"
plain_ok() { all 'in_bridge wlan2 br-plain' 'has_dropin plain br-plain' "is_vlan $last $([[ $last == home ]] && echo 10 || echo 20)"; }
check v_plain_beside wait_until 10 plain_ok
ap_stop wlan2
r_race() { [[ $bad == 0 ]] || { WHY="$bad of $N rounds did not end in the last SSID's VLAN only; first: $first_bad"; return 1; }; }
check v_race_converges r_race
ap_stop wlan0
agent_stop

note "a VLAN rule on a bridge without vlan_filtering"
mkbr br-flat 203.0.113.1/24
mkbr br-keep
write_config "flat ssid=flat bridge=br-flat vlan=30 dhcp_start=100 dhcp_limit=50"
agent_start agent-flat.log || note "agent: $WHY"
ap_start wlan0 ssid=flat
ip link set wlan0 master br-keep || note "wlan0 could not join br-keep"
nofilter_logged() {
  grep -q "rule 'flat', option 'vlan': bridge br-flat does not filter VLANs" "$AGENT_LOG" ||
    { WHY="no located error in $AGENT_LOG: $(grep -a error "$AGENT_LOG" | tail -2 | tr '\n' '|')"; return 1; }
}
check v_nofilter_logged wait_until 10 nofilter_logged
check v_nofilter_left_alone stays 1 all 'no_dropin flat' '! in_bridge wlan0 br-flat'
check v_agent_alive alive "$AGENT_PID" "apwatch run"
agent_stop
ap_stop_all
