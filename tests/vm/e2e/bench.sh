#!/bin/bash
# Guest side of tests/vm/bench-latency: BENCH_N (default 50) AP starts per mode, modes BENCH_MODES
# (default "agent baseline"). The AP is cycled with hostapd_cli DISABLE/ENABLE (the same kernel
# sequence as a hostapd restart: driver deinit/init, START_AP) so that the baseline's
# `hostapd_cli -a` stays attached and sees AP-ENABLED.
#   agent:    apwatch run (rule foo -> br-foo, DHCP drop-in, dnsmasq-restart)
#   baseline: hostapd_cli -a baseline-action: on AP-ENABLED `ip link set wlan0 master br-foo` and
#             dnsmasq-restart (a static drop-in for br-foo)
# Timestamps: `iw event -t` (START_AP), `ip -ts monitor link` (wlan0 gets master br-foo), wpa_supplicant -t
# (CTRL-EVENT-CONNECTED), the station's udhcpc script (lease bound; udhcpc starts once associated). Raw data in $OUT: marks.tsv, iw-event.log, ip-monitor.log; the numbers are
# computed by bench_report.py on the host.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=bench LOG_LEVEL=${LOG_LEVEL:-info}; source "$(dirname "$0")/lib.sh"
export TZ=UTC                        # ip -ts prints local time; UTC keeps the parsing trivial
N=${BENCH_N:-50}
cli() { hostapd_cli -p /run/hostapd -i wlan0 "$@" > /dev/null; }
sta_gone() { ! ns iw dev wlan1 link 2>/dev/null | grep -q Connected || { WHY="station still associated"; return 1; }; }

sta_setup; mkbr br-foo 192.0.2.1/24
"$E2E_DIR/dnsmasq-restart" "$T"
write_config "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h"
iw event -t > "$T/iw-event.log" 2>&1 & IWE=$!
ip -ts monitor link > "$T/ip-monitor.log" 2>&1 & IPM=$!
ap_start wlan0 ssid=foo || { echo "FATAL: $WHY"; exit 1; }
cli disable
sta_assoc foo 1 >/dev/null 2>&1     # wpa_supplicant keeps running; it will find the AP on each ENABLE
printf 'mode\titer\tenable\tlease\tdisable\tnote\n' > "$OUT/marks.tsv"
echo "kernel $(uname -r), $(nproc) vCPUs, BENCH_N=$N, $(date -u +%FT%TZ)" > "$OUT/env.txt"

cycle() {  # cycle MODE: N x (ENABLE, wait for the bridge port and the lease, DISABLE, wait for the undo)
  local mode=$1 i te tl td nt
  for i in $(seq "$N"); do
    nt=
    if [[ -n $(master_of wlan0) ]]; then nt+="pre-bridged;"; ip link set wlan0 nomaster; sleep 0.3; fi
    rm -f "$T/lease.time"
    te=$(now); cli enable
    ns wpa_cli -p /run/wpa_supplicant -i wlan1 scan > /dev/null   # no waiting for its rescan backoff
    if wait_until 10 sta_connected foo; then sta_dhcp 10 1 > /dev/null; else nt+="no-assoc;"; fi
    wait_until 10 in_bridge wlan0 br-foo || nt+="not-bridged;"
    tl=$(cat "$T/lease.time" 2>/dev/null) || { tl=; nt+="no-lease;"; }
    td=$(now); cli disable
    wait_until 5 no_bridge wlan0 || { nt+="forced-unbridge;"; ip link set wlan0 nomaster; }
    wait_until 5 sta_gone || nt+="sta-stuck;"
    sleep 0.2
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$i" "$te" "${tl:--}" "$td" "${nt:-ok}" >> "$OUT/marks.tsv"
    (( i % 10 )) || note "$mode: $i of $N"
  done
}

for mode in ${BENCH_MODES:-agent baseline}; do
  note "mode $mode: $N starts"
  case $mode in
    agent)
      have_agent || { echo "FATAL: $WHY"; exit 1; }
      rm -f "$DROPINS"/*; "$E2E_DIR/dnsmasq-restart" "$T"
      agent_start agent.log || { echo "FATAL: agent: $WHY"; exit 1; }
      cycle agent
      agent_stop ;;
    baseline)
      rm -f "$DROPINS"/*
      printf 'interface=br-foo\ndhcp-range=192.0.2.100,192.0.2.149,255.255.255.0,1h\n' > "$DROPINS/baseline-foo.conf"
      "$E2E_DIR/dnsmasq-restart" "$T"
      BASELINE_BRIDGE=br-foo BASELINE_STATE=$T hostapd_cli -p /run/hostapd -i wlan0 \
        -a "$E2E_DIR/baseline-action" > "$T/hostapd_cli.log" 2>&1 &
      CLI=$!
      sleep 0.5
      cycle baseline
      kill "$CLI" ;;
    *) echo "FATAL: unknown mode $mode"; exit 1 ;;
  esac
done
sleep 0.5
kill "$IWE" "$IPM" 2>/dev/null
sta_stop; ap_stop_all
collect_logs
echo "bench done: $(($(wc -l < "$OUT/marks.tsv") - 1)) starts recorded"
