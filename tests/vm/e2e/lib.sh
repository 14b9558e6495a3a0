# Guest-side helpers of the e2e suite, sourced by the group scripts (basic.sh, race.sh, ...).
# Checks, polling with a bound, hostapd/station/dnsmasq/agent plumbing on mac80211_hwsim.
# shellcheck shell=bash disable=SC2034  # GROUP, APWATCH_SRC: set before/after sourcing, read across files
set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3                      # not a pyenv shim: the guest has no $HOME setup for it
: "${APWATCH_BIN:=$PWD/target/debug/apwatch}"
T=/tmp/e2e                               # guest tmpfs, like OpenWrt's /tmp: agent-facing files live here
OUT=${E2E_OUT:-$PWD/target/e2e/${GROUP:-adhoc}}   # host-visible results (cwd is shared read-write)
CFG=$T/apwatch.conf
DROPINS=$T/dnsmasq.d
mkdir -p "$T" "$DROPINS" "$OUT"
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd   # the guest has no udev: bash process substitution needs it
# The agent is copied once per boot: a rebuild on the host during the run must not swap binaries mid-test.
if [[ -x $APWATCH_BIN && $APWATCH_BIN != /tmp/e2e-bin/* ]]; then
  APWATCH_SRC=$APWATCH_BIN
  mkdir -p /tmp/e2e-bin && cp "$APWATCH_BIN" /tmp/e2e-bin/apwatch && APWATCH_BIN=/tmp/e2e-bin/apwatch
fi

# ---------------------------------------------------------------- checks
PASSES=0 FAILS=0 PLANNED=() REPORTED=() WHY=
plan() { PLANNED+=("$@"); echo "PLAN $*"; }
note() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
pass() { PASSES=$((PASSES + 1)); REPORTED+=("$1"); echo "PASS $1"; }
fail() { FAILS=$((FAILS + 1)); REPORTED+=("$1"); echo "FAIL $1: ${2:-failed}"; }
# check NAME CMD...: PASS when CMD succeeds, else FAIL with the WHY that CMD left.
check() { local n=$1; shift; WHY=; if "$@"; then pass "$n"; else fail "$n" "${WHY:-$* failed}"; fi; }
# Called from the EXIT trap: planned checks that never reported fail, then the summary line.
finish() {
  local p r seen
  for p in "${PLANNED[@]}"; do
    seen=; for r in "${REPORTED[@]}"; do [[ $r == "$p" ]] && seen=1 && break; done
    [[ $seen ]] || fail "$p" "not run (the script stopped before it)"
  done
  collect_logs
  echo "$PASSES passed, $FAILS failed"
  exit $(( FAILS > 0 ))   # an EXIT trap keeps the script's status unless it exits itself
}
collect_logs() {
  find "$T" -maxdepth 1 -type f -exec cp -f {} "$OUT"/ \; 2>/dev/null
  mkdir -p "$OUT/dnsmasq.d" && cp -f "$DROPINS"/* "$OUT/dnsmasq.d/" 2>/dev/null
  true
}
to_us() {  # seconds (decimal) -> microseconds
  local s=$1 i f=0; i=${s%.*}; [[ $s == *.* ]] && f=${s#*.}; f=${f}000000
  echo $(( 10#${i:-0} * 1000000 + 10#${f:0:6} ))
}
# wait_until SECS CMD...: polls CMD every 50 ms; on time-out CMD's WHY gets " (after SECS s)".
wait_until() {
  local secs=$1; shift
  local end=$(( ${EPOCHREALTIME/./} + $(to_us "$secs") ))
  while :; do
    WHY=; "$@" && return 0
    (( ${EPOCHREALTIME/./} >= end )) && { WHY="${WHY:-$* never true} (after ${secs}s)"; return 1; }
    sleep 0.05
  done
}
# stays SECS CMD...: CMD holds at every poll for SECS (catches a late flip back).
stays() {
  local secs=$1; shift
  local end=$(( ${EPOCHREALTIME/./} + $(to_us "$secs") ))
  while (( ${EPOCHREALTIME/./} < end )); do
    WHY=; "$@" || { WHY="$WHY (flipped within ${secs}s)"; return 1; }
    sleep 0.05
  done
}
now() { echo "$EPOCHREALTIME"; }

# ---------------------------------------------------------------- state predicates (set WHY)
master_of() { local l; l=$(readlink "/sys/class/net/$1/master" 2>/dev/null) && echo "${l##*/}"; }
in_bridge() {  # in_bridge IF BR
  local m; m=$(master_of "$1")
  [[ $m == "$2" ]] || { WHY="$1 master is '${m:-none}', want $2"; return 1; }
}
no_bridge() {
  local m; m=$(master_of "$1")
  [[ -z $m ]] || { WHY="$1 is still a port of $m"; return 1; }
}
dropin() { echo "$DROPINS/apwatch-$1.conf"; }
has_dropin() {  # has_dropin RULE BRIDGE: the file exists and names the bridge
  local f; f=$(dropin "$1")
  [[ -e $f ]] || { WHY="$f missing (dir: $(ls "$DROPINS" | tr '\n' ' '))"; return 1; }
  grep -qx "interface=$2" "$f" || { WHY="$f has no line interface=$2: $(tr '\n' '|' < "$f")"; return 1; }
}
no_dropin() {
  local f; f=$(dropin "$1")
  [[ ! -e $f ]] || { WHY="$f still there"; return 1; }
}
all() {  # all 'CMD ARGS' 'CMD ARGS'...: every predicate holds (first failing one's WHY)
  local c; for c in "$@"; do eval "$c" || return 1; done
}
is_bridge() { [[ -d /sys/class/net/$1/bridge ]] || { WHY="$1 is not a bridge"; return 1; }; }
alive() { kill -0 "$1" 2>/dev/null || { WHY="process $1 ($2) is not running"; return 1; }; }

# ---------------------------------------------------------------- radios, bridges, station
mkbr() {  # mkbr NAME [ADDR/PREFIX]
  ip link add "$1" type bridge && ip link set "$1" up || return 1
  [[ -z ${2:-} ]] || ip addr add "$2" dev "$1"
}
sta_setup() {  # phy1/wlan1 into netns sta: the station side
  ip netns add sta && iw phy phy1 set netns name sta && ip -n sta link set lo up
}
ns() { ip netns exec sta "$@"; }
sta_assoc() {  # sta_assoc SSID [SECS]: wpa_supplicant (open network) on wlan1, wait for association.
  # freq_list: scans of channel 1 only (all channels took 3.8 s under TCG); autoscan: rescan every 1 s
  local ssid=$1 secs=${2:-20}
  printf 'ctrl_interface=/run/wpa_supplicant\nautoscan=periodic:1\nfreq_list=2412\nnetwork={\n ssid="%s"\n key_mgmt=NONE\n scan_freq=2412\n}\n' \
    "$ssid" > "$T/sta.conf"
  ns wpa_supplicant -B -i wlan1 -c "$T/sta.conf" -P "$T/wpas.pid" -t -f "$T/wpa_supplicant.log" || { WHY="wpa_supplicant failed"; return 1; }
  wait_until "$secs" sta_connected "$ssid"
}
sta_connected() {
  ns iw dev wlan1 link 2>/dev/null | grep -q "SSID: $1" || { WHY="station not associated with $1"; return 1; }
}
sta_stop() {
  local p; p=$(cat "$T/wpas.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null; for _ in $(seq 100); do [[ -e /proc/$p ]] || return 0; sleep 0.05; done
}
sta_dhcp() {  # sta_dhcp [TRIES [PAUSE]]: busybox udhcpc on wlan1; the lease lands in $T/lease.ip, also printed
  rm -f "$T/lease.ip"
  printf '#!/bin/sh\n[ "$1" = bound ] && { echo "$ip" > %s/lease.ip; date +%%s.%%N > %s/lease.time; }\nexit 0\n' \
    "$T" "$T" > "$T/udhcpc.sh"
  chmod +x "$T/udhcpc.sh"
  ns busybox udhcpc -i wlan1 -n -q -t "${1:-5}" -T "${2:-2}" -s "$T/udhcpc.sh" >> "$T/udhcpc.log" 2>&1
  cat "$T/lease.ip" 2>/dev/null
}
lease_in() {  # lease_in LO HI: the lease (IPv4) is within LO..HI
  local ip; ip=$(cat "$T/lease.ip" 2>/dev/null)
  [[ -n $ip ]] || { WHY="the station got no lease (udhcpc: $(tail -n 3 "$T/udhcpc.log" | tr '\n' '|'))"; return 1; }
  $PY - "$ip" "$1" "$2" <<'EOF' || { WHY="lease $ip not in $1..$2"; return 1; }
import ipaddress, sys
a, lo, hi = (ipaddress.IPv4Address(x) for x in sys.argv[1:])
sys.exit(0 if lo <= a <= hi else 1)
EOF
}

# ---------------------------------------------------------------- hostapd
# ap_start IFACE CONFIG-LINES...: hostapd -B on IFACE (hw_mode=g channel=1, ctrl_interface);
# -B returns after the BSSes are set up (START_AP sent). Log: $T/hostapd.log (appended).
ap_start() {
  local ifc=$1; shift
  printf '%s\n' "interface=$ifc" driver=nl80211 hw_mode=g channel=1 ctrl_interface=/run/hostapd "$@" \
    > "$T/hostapd.$ifc.conf"
  echo "=== $(date +%T.%N) start $ifc: $*" >> "$T/hostapd.log"
  rm -f "$T/hostapd.$ifc.pid"
  hostapd -B -t -P "$T/hostapd.$ifc.pid" -f "$T/hostapd.log" "$T/hostapd.$ifc.conf" \
    || { WHY="hostapd on $ifc failed to start (see hostapd.log)"; return 1; }
  APPID[$ifc]=$(read_pidfile "$T/hostapd.$ifc.pid") || { WHY="hostapd on $ifc wrote no pid file"; return 1; }
}
# read_pidfile FILE: hostapd -B returns before its daemon child writes the pid file: wait for it (2 s)
read_pidfile() {
  local p; for _ in $(seq 100); do
    p=$(cat "$1" 2>/dev/null) && [[ -n $p ]] && { echo "$p"; return 0; }; sleep 0.02
  done; return 1
}
declare -A APPID=()
ap_enabled() {
  hostapd_cli -p /run/hostapd -i "$1" status 2>/dev/null | grep -q state=ENABLED || { WHY="hostapd on $1 not ENABLED"; return 1; }
}
ap_stop() {  # ap_stop IFACE: SIGTERM, wait for the exit (hostapd removes its pid file: pid kept from start)
  local p=${APPID[$1]:-}; [[ -n $p ]] || return 0
  unset "APPID[$1]"
  kill "$p" 2>/dev/null
  for _ in $(seq 200); do [[ -e /proc/$p ]] || return 0; sleep 0.02; done
  WHY="hostapd $p on $1 did not exit"; kill -9 "$p"; return 1
}
ap_stop_all() { local i; for i in "${!APPID[@]}"; do ap_stop "$i"; done; }

# ---------------------------------------------------------------- agent
# write_config RULE-SPECS...: the main section plus one rule per spec
#   "NAME ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50" (KEY=VALUE -> option KEY 'VALUE')
write_config() {
  {
    printf "config apwatch 'main'\n\toption enabled '1'\n\toption log_level '%s'\n\toption backend 'rtnl'\n" "${LOG_LEVEL:-debug}"
    printf "\toption dnsmasq_dir '%s'\n\toption state_file '%s'\n" "$DROPINS" "$T/apwatch.state"
    printf "\tlist dnsmasq_restart '%s'\n\tlist dnsmasq_restart '%s'\n" "$E2E_DIR/dnsmasq-restart" "$T"
    [[ -z ${MAIN_EXTRA:-} ]] || printf '%b' "$MAIN_EXTRA"   # more main-section lines (e.g. the LED)
    local spec kv
    for spec in "$@"; do
      set -- $spec
      printf "\nconfig rule '%s'\n" "$1"; shift
      for kv in "$@"; do printf "\toption %s '%s'\n" "${kv%%=*}" "${kv#*=}"; done
    done
  } > "$CFG"
}
have_agent() {
  [[ -x $APWATCH_BIN ]] || { WHY="agent binary $APWATCH_BIN missing or not executable"; return 1; }
}
# agent_start [LOG [ENV=VAL...]]: apwatch run in the background, stderr+stdout to $T/LOG (default agent.log)
AGENT_PID='' AGENT_LOG=''
agent_start() {
  AGENT_LOG=$T/${1:-agent.log}; shift || true
  echo "=== test: $(date +%T.%N) agent start ${*:-}" >> "$AGENT_LOG"
  env "$@" "$APWATCH_BIN" --config "$CFG" run >> "$AGENT_LOG" 2>&1 &
  AGENT_PID=$!
  sleep "${AGENT_SETTLE:-1}"   # no readiness signal in the contract: give it time to subscribe and dump
  alive "$AGENT_PID" apwatch || { WHY="$WHY; log: $(tail -n 3 "$AGENT_LOG" | tr '\n' '|')"; return 1; }
}
# agent_stop: SIGTERM, wait (bounded); AGENT_RC = its exit code (124 = did not exit in 5 s)
AGENT_RC=
agent_stop() {
  [[ -n $AGENT_PID ]] || return 0
  kill -TERM "$AGENT_PID" 2>/dev/null
  local i; for i in $(seq 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$AGENT_PID" 2>/dev/null; then kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_RC=124
  else wait "$AGENT_PID"; AGENT_RC=$?; fi
  echo "=== test: $(date +%T.%N) agent stopped, exit code $AGENT_RC" >> "$AGENT_LOG"
  AGENT_PID=
}
dnsmasq_stop() { local p; p=$(cat "$T/dnsmasq.pid" 2>/dev/null) && kill "$p" 2>/dev/null; rm -f "$T/dnsmasq.pid"; }

# jc ARGS...: jcheck.py as a predicate (its one-line reason becomes WHY)
jc() { local o; o=$("$PY" "$E2E_DIR/jcheck.py" "$@") || { WHY=$o; return 1; }; }
# dnsmasq_serves LO HI: the newest dnsmasq instance announced the DHCP range LO -- HI
dnsmasq_serves() {
  local last; last=$(awk '/started, version/ {b=""} {b=b $0 "\n"} END {printf "%s", b}' "$T/dnsmasq.log" 2>/dev/null)
  grep -q "DHCP, IP range $1 -- $2" <<< "$last" || { WHY="the newest dnsmasq has no range $1 -- $2: $(grep -o 'IP range.*' <<< "$last" | tr '\n' '|')"; return 1; }
}
# monitor_start: `apwatch monitor --json` into $T/monitor.jsonl; waits (bounded) until a dummy link's
# rtnl event shows up, so the subscriptions stand before the test goes on.
MON_PID=
monitor_start() {
  "$APWATCH_BIN" --config "$CFG" monitor --json > "$T/monitor.jsonl" 2> "$T/monitor.err" &
  MON_PID=$!
  sleep 0.3
  ip link add e2eprobe0 type dummy
  wait_until 5 grep -q e2eprobe0 "$T/monitor.jsonl" || note "monitor printed nothing for the probe link (WHY: $WHY)"
  ip link del e2eprobe0
  alive "$MON_PID" "apwatch monitor"
}

# ---------------------------------------------------------------- storm generators (scenario 6, selftest)
link_flood() {  # 3 bursts of 100 dummy links created and deleted at once (rtnl link events)
  local r n
  for r in 1 2 3; do
    for n in $(seq 100); do echo "link add e2ed$n type dummy"; done | ip -batch -
    for n in $(seq 100); do echo "link del e2ed$n"; done | ip -batch -
  done
}
bss_flood() {  # [N] restarts (default 6) of an 8-BSS hostapd on phy2 (START_AP bursts, NEW/DEL_INTERFACE, links)
  local r b lines=(ssid=s0)
  for b in 1 2 3 4 5 6 7; do lines+=("bss=wlan2-$b" "ssid=s$b"); done
  printf '%s\n' interface=wlan2 driver=nl80211 hw_mode=g channel=1 "${lines[@]}" > "$T/hostapd.storm.conf"
  for r in $(seq "${1:-6}"); do
    rm -f "$T/hostapd.storm.pid"
    hostapd -B -P "$T/hostapd.storm.pid" "$T/hostapd.storm.conf" >> "$T/hostapd-storm.log" 2>&1 || continue
    local p; p=$(read_pidfile "$T/hostapd.storm.pid") || continue
    kill "$p"; while [[ -e /proc/$p ]]; do sleep 0.02; done
  done
}
