#!/bin/bash
# Guest side of tests/vm/bench-allocs: heap allocations of `apwatch run` per event on a real
# kernel (nl80211 present), counted by valgrind (memcheck's "total heap usage"). hostapd serves
# foo on wlan0, bridged; then, in runs of the same length, no event, ALLOC_N link events of the
# AP netdev (each a hint, a re-query and a reconcile that changes nothing) and ALLOC_N events of
# a link that is not wireless. A report, not a test.
# shellcheck disable=SC2034 # GROUP is read by lib.sh
GROUP=allocs LOG_LEVEL=${LOG_LEVEL:-info}; source "$(dirname "$0")/lib.sh"
N=${ALLOC_N:-100}
mkbr br-foo 192.0.2.1/24
ip link add d9 type dummy && ip link set d9 up
"$E2E_DIR/dnsmasq-restart" "$T"
write_config "foo ssid=foo bridge=br-foo dhcp_start=100 dhcp_limit=50 leasetime=1h"
ap_start wlan0 ssid=foo || echo "hostapd: $WHY"
declare -A total
for kind in ${ALLOC_KINDS:-idle ap other}; do
  log=$T/agent-$kind.log vg=$T/vg-$kind
  valgrind --log-file="$vg" --xtree-memory=full --xtree-memory-file="$T/xt-$kind.kcg" \
    "$APWATCH_BIN" --config "$CFG" run > "$log" 2>&1 &
  p=$!
  wait_until 120 all "in_bridge wlan0 br-foo" "has_dropin foo br-foo" || echo "FAIL $kind: $WHY"
  sleep 2
  for i in $(seq "$N"); do
    case $kind in
      ap) ip link set dev wlan0 alias "e$i" ;;
      other) ip link set dev d9 alias "e$i" ;;
    esac
    sleep 0.1
  done
  sleep 2
  kill "$p"; wait "$p"
  total[$kind]=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$vg" | tr -d ,)
  ip link set wlan0 nomaster 2>/dev/null
  rm -f "$DROPINS"/* "$T/apwatch.state"
done
echo "kernel $(uname -r); apwatch run under valgrind, heap allocations in all: idle ${total[idle]:-?}, +$N AP link events ${total[ap]:-?}, +$N other-link events ${total[other]:-?}"
awk -v i="${total[idle]:-?}" -v a="${total[ap]:-?}" -v o="${total[other]:-?}" -v n="$N" 'BEGIN {
  printf "per AP link event (hint, re-query, reconcile that changes nothing): %.1f allocations\n", (a - i) / n
  printf "per event of a link that is not wireless: %.1f allocations\n", (o - i) / n }'
cp -f "$T"/xt-*.kcg "$T"/agent-*.log "$OUT"/ 2>/dev/null
ap_stop_all
