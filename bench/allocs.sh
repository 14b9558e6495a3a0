#!/usr/bin/env bash
# Heap allocations of `apwatch run` per event, counted by valgrind (memcheck's "total heap
# usage"), in a throwaway network namespace with one AP served (a dummy link stands in for it
# through the test-only APWATCH_TEST_WIFI). Three runs of the same binary: no events, N link
# events of the AP netdev (each a hint, a re-query and a reconcile that changes nothing) and N
# of a netdev that is not wireless (ignored). Prints allocations per event over the idle run.
#   bench/allocs.sh [BINARY] [N]    (default: target/release/apwatch, N=200)
# A measurement, not a test: nothing here passes or fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/apwatch}
n=${2:-200}
[ -x "$bin" ] || cargo build --release -p apwatch --locked -q
command -v valgrind >/dev/null || { echo "allocs: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bin=$(realpath "$bin")
run() { # run KIND: prints the run's total allocations
  unshare -n bash -c '
    set -e; ip link set lo up; d=$(mktemp -d); kind=$1; n=$2; bin=$3
    printf "config apwatch main\n option backend rtnl\n option dnsmasq_dir $d/dd\n option state_file $d/state\n list dnsmasq_restart /bin/true\nconfig rule foo\n option ssid foo\n option bridge br-foo\n" > $d/c
    for l in d0 d9; do ip link add $l type dummy 2>/dev/null || ip link add $l type ifb; ip link set $l up; done
    echo "d0 AP 666f6f" > $d/wifi
    APWATCH_TEST_WIFI=$d/wifi valgrind --log-file=$d/vg "$bin" -c $d/c run 2>$d/log & p=$!
    for _ in $(seq 300); do grep -q "d0 ssid=\"foo\" rule=foo -> br-foo" $d/log && break; sleep 0.1; done
    grep -q "d0 ssid=\"foo\" rule=foo -> br-foo" $d/log || { echo "allocs: the agent did not serve the AP" >&2; cat $d/log >&2; exit 1; }
    sleep 1
    # the same time in every run (timers run meanwhile): one event every 50 ms, or none
    for i in $(seq $n); do
      case $kind in
        ap) ip link set dev d0 alias "e$i" ;;
        other) ip link set dev d9 alias "e$i" ;;
      esac
      sleep 0.05
    done
    sleep 1
    kill $p; wait $p || true
    valgrind_total=$(sed -n "s/.*total heap usage: \([0-9,]*\) allocs.*/\1/p" $d/vg | tr -d ,)
    echo "${valgrind_total:-?}"
    rm -rf $d' _ "$1" "$n" "$bin"
}
idle=$(run idle) ap=$(run ap) other=$(run other)
echo "apwatch run under valgrind, heap allocations in all: idle $idle, +$n AP link events $ap, +$n other-link events $other"
awk -v i="$idle" -v a="$ap" -v o="$other" -v n="$n" 'BEGIN {
  printf "per AP link event (hint, re-query, reconcile that changes nothing): %.1f\n", (a - i) / n
  printf "per event of a link that is not wireless: %.1f\n", (o - i) / n }'
