#!/bin/bash
# Guest side of tests/vm/bench-memory (--radios 32): for each binary in MEM_BINS, `apwatch run`
# starts beside 32 wireless interfaces (its start-up dump reads all 32), hostapd starts AP foo on
# wlan0, the agent bridges it and writes its DHCP drop-in; 3 s later VmRSS and VmHWM are read, with
# the agent's mappings (smaps: Rss and Private_Dirty per mapping) to show where the pages are.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=memory LOG_LEVEL=${LOG_LEVEL:-info}; source "$(dirname "$0")/lib.sh"
n=$(ls /sys/class/net | grep -c '^wlan')
echo "kernel $(uname -r), $n wlan interfaces, $(ls /sys/class/ieee80211 | wc -l) radios"
mkbr br-foo 192.0.2.1/24
"$E2E_DIR/dnsmasq-restart" "$T"
write_config "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h"
rc=0
for bin in $MEM_BINS; do
  mkdir -p /tmp/e2e-bin && cp "$bin" /tmp/e2e-bin/apwatch-mem && APWATCH_BIN=/tmp/e2e-bin/apwatch-mem
  agent_start "agent-mem.log" || { echo "FAIL $bin: $WHY"; rc=1; continue; }
  ap_start wlan0 ssid=foo || echo "hostapd: $WHY"
  if ! wait_until 10 all "in_bridge wlan0 br-foo" "has_dropin foo br-foo"; then
    echo "FAIL $bin: $WHY"; rc=1
  fi
  sleep 3
  p=$AGENT_PID
  echo "== $bin ($(stat -c %s "$bin") bytes): idle apwatch run, one AP served, after a dump of $n interfaces"
  grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|VmData|VmStk)' "/proc/$p/status" | tr -s ' \t' ' '
  # one line per mapping with pages in memory: kB resident, kB private dirty, what
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon " $1 "]" : $6)}
       /^Rss:/ {rss = $2} /^Private_Dirty:/ {if (rss > 0) printf "  %6d kB rss %6d kB dirty  %s\n", rss, $2, name}' \
    "/proc/$p/smaps"
  agent_stop
  ap_stop wlan0
  ip link set wlan0 nomaster 2>/dev/null
  rm -f "$DROPINS"/* "$T/apwatch.state"
done
cp -f "$T"/agent-mem.log "$OUT"/ 2>/dev/null
exit $rc
