#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of the three decoders on the same bytes, with
# the empty run (0 iterations) subtracted: counts are exact and repeatable on a noisy machine.
#   bench/callgrind.sh [ITERS]     prints a markdown table (instructions per message)
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-2000}
cargo build --profile bench -p apwatch-bench --bin callgrind-decode --locked -q
bin=target/release/callgrind-decode
[ -x "$bin" ] || bin=target/bench/callgrind-decode
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 >/dev/null | awk '/Collected/ {print $NF}'; }
echo "| input | decoder | instructions per message | vs floor |"
echo "|---|---|---|---|"
for input in start_ap mixed64; do
  per=1; [ "$input" = mixed64 ] && per=64
  base=$(ir floor "$input" 0)
  floor=$(( ($(ir floor "$input" "$iters") - base) / (iters * per) ))
  for d in apwatch floor wl; do
    n=$(( ($(ir "$d" "$input" "$iters") - base) / (iters * per) ))
    name=$d; [ "$d" = wl ] && name=wl-nl80211
    echo "| $input | $name | $n | $(awk -v a="$n" -v b="$floor" 'BEGIN { printf "%.2fx", a / b }') |"
  done
done
