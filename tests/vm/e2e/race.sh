#!/bin/bash
# e2e group "race" (one VM boot, --radios 3): scenario 2 (AP foo replaced by AP bar within 0-500 ms,
# RACE_N times, default 50: everything must end up as bar) and scenario 6 (storm under a tiny netlink
# receive buffer: the agent logs ENOBUFS and still converges).
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=race; source "$(dirname "$0")/lib.sh"
trap finish EXIT
RACE_N=${RACE_N:-50}
plan s2_race_converges s2_race_never_foo s2_dnsmasq_final \
  s6_enobufs_logged s6_storm_converges s6_agent_survived s6_after_storm_tracks s6_sigterm_exit0

have_agent || { echo "FATAL: $WHY"; exit 1; }
write_config \
  "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h" \
  "bar ssid=bar bridge=br-bar dhcp_start=100 dhcp_limit=50 leasetime=1h"
mkbr br-foo 192.0.2.1/24
mkbr br-bar 198.51.100.1/24
"$E2E_DIR/dnsmasq-restart" "$T"
agent_start agent.log || note "agent: $WHY"

is_bar() { all 'in_bridge wlan0 br-bar' 'has_dropin bar br-bar' 'no_dropin foo'; }
is_foo() { all 'in_bridge wlan0 br-foo' 'has_dropin foo br-foo' 'no_dropin bar'; }
rand_ms() { echo $(( RANDOM % ($1 + 1) )); }
ms() { printf '0.%03d' "$1"; }

# ---------------------------------------------------------------- scenario 2
note "scenario 2: $RACE_N x (AP foo for 0-300 ms, hostapd killed, 0-500 ms, AP bar)"
echo -e "iter\tfoo_ms\tgap_ms\tconverge_ms\tresult" > "$OUT/race.tsv"
bad=0 flips=0 first_bad='' first_flip=''
for i in $(seq "$RACE_N"); do
  ap_stop wlan0
  life=$(rand_ms 300) gap=$(rand_ms 500)
  ap_start wlan0 ssid=foo || note "iteration $i: $WHY"
  sleep "$(ms "$life")"
  ap_stop wlan0
  sleep "$(ms "$gap")"
  t0=${EPOCHREALTIME/./}
  ap_start wlan0 ssid=bar || note "iteration $i: $WHY"
  if wait_until 5 is_bar; then
    conv=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
    if stays 0.3 is_bar; then res=ok; else res="flip: $WHY"; flips=$((flips + 1)); first_flip=${first_flip:-"iteration $i: $WHY"}; fi
  else
    conv=-1 res="no: $WHY"; bad=$((bad + 1)); first_bad=${first_bad:-"iteration $i (foo ${life} ms, gap ${gap} ms): $WHY"}
  fi
  echo -e "$i\t$life\t$gap\t$conv\t$res" >> "$OUT/race.tsv"
  [[ $res == ok ]] || note "iteration $i: foo ${life} ms, gap ${gap} ms: $res"
done
"$PY" - "$OUT/race.tsv" <<'EOF'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if int(r["converge_ms"]) >= 0]
c = sorted(int(r["converge_ms"]) for r in rows)
if c:
    print(f"scenario 2: converged {len(c)} times; bar start -> converged: median {statistics.median(c)} ms, "
          f"max {c[-1]} ms (includes hostapd -B and polling)")
EOF
r_conv() { [[ $bad == 0 ]] || { WHY="$bad of $RACE_N did not converge to bar within 5 s; first: $first_bad"; return 1; }; }
r_flip() { [[ $flips == 0 ]] || { WHY="$flips of $RACE_N left bar after converging; first: $first_flip"; return 1; }; }
check s2_race_converges r_conv
check s2_race_never_foo r_flip
check s2_dnsmasq_final wait_until 5 dnsmasq_serves 198.51.100.100 198.51.100.149
agent_stop

# ---------------------------------------------------------------- scenario 6
note "scenario 6: storm with APWATCH_TEST_RCVBUF=1024"
ap_stop wlan0
agent_start agent-storm.log APWATCH_TEST_RCVBUF=1024 || note "agent: $WHY"
link_flood & LF=$!
bss_flood & BF=$!
for i in $(seq 20); do        # AP restarts on wlan0 with no pause; the last one is bar
  ap_stop wlan0
  if (( i % 2 )); then ap_start wlan0 ssid=foo; else ap_start wlan0 ssid=bar; fi
done
wait "$LF" "$BF"
note "storm over; $(grep -c ENOBUFS "$AGENT_LOG") ENOBUFS lines in the agent's log"
enobufs() { grep -q ENOBUFS "$AGENT_LOG" || { WHY="no line with ENOBUFS in $AGENT_LOG"; return 1; }; }
check s6_enobufs_logged enobufs
check s6_storm_converges wait_until 10 is_bar
check s6_agent_survived alive "$AGENT_PID" "apwatch run (storm)"
ap_stop wlan0
ap_start wlan0 ssid=foo
check s6_after_storm_tracks wait_until 5 is_foo
agent_stop
s6_rc() { [[ $AGENT_RC == 0 ]] || { WHY="apwatch run exited $AGENT_RC on SIGTERM"; return 1; }; }
check s6_sigterm_exit0 s6_rc
ap_stop_all
