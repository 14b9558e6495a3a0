#!/usr/bin/env bash
# Idle memory of `apwatch run`: VmRSS/VmHWM after 3 s with one AP served, in a throwaway network
# namespace (a dummy/ifb link stands in for the AP through the test-only APWATCH_TEST_WIFI).
#   bench/rss.sh [BINARY]    (default: target/release/apwatch, built with the size profile)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/apwatch}
[ -x "$bin" ] || cargo build --release -p apwatch --locked -q
bin=$(realpath "$bin")
exec unshare -n bash -c '
  set -e; ip link set lo up; d=$(mktemp -d)
  printf "config apwatch main\n option backend rtnl\n option dnsmasq_dir $d/dd\n option state_file $d/state\n list dnsmasq_restart /bin/true\nconfig rule foo\n option ssid foo\n option bridge br-foo\n option dhcp_range 192.0.2.10,192.0.2.20\n" > $d/c
  ip link add d0 type dummy 2>/dev/null || ip link add d0 type ifb; ip link set d0 up
  echo "d0 AP 666f6f" > $d/wifi
  APWATCH_TEST_WIFI=$d/wifi "$0" -c $d/c run 2>$d/log & p=$!
  sleep 3
  grep -q "d0 ssid=\"foo\" rule=foo -> br-foo" $d/log || { echo "rss: the agent did not serve the AP:"; cat $d/log; kill $p; exit 1; }
  echo "idle apwatch run ($(basename "$0")), one AP served: $(grep -E "VmRSS" /proc/$p/status | tr -s " \t" " ")"
  kill $p; wait $p || true; rm -rf $d' "$bin"
