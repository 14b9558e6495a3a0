#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of the three decoders on the same bytes, with
# the empty run (0 iterations) subtracted: counts are exact and repeatable on a noisy machine.
# Two builds of the bench crate (a crate that depends on apwatch-core), see the workspace
# Cargo.toml: bench-nolto (cargo's default `release`: no LTO, 16 codegen units) and
# bench-fatlto (fat LTO, 1 codegen unit).
#   bench/callgrind.sh [ITERS]                                  one table per profile
#   bench/callgrind.sh annotate PROFILE DECODER INPUT [ITERS]   where the instructions go, per function
set -euo pipefail
cd "$(dirname "$0")/.."
profiles=(bench-nolto bench-fatlto)

build() {
  cargo build --profile "$1" -p apwatch-bench --bin callgrind-decode --locked -q
  echo "target/$1/callgrind-decode"
}

if [ "${1:-}" = annotate ]; then
  [ $# -ge 4 ] || { echo "usage: $0 annotate bench-nolto|bench-fatlto apwatch|floor|wl start_ap|mixed64 [ITERS]" >&2; exit 2; }
  bin=$(build "$2")
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$3" "$4" "${5:-2000}" >/dev/null 2>&1
  callgrind_annotate --inclusive=no "$out" 2>/dev/null | sed -n '/^Ir/,$p' | head -40
  exit 0
fi

iters=${1:-2000}
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ {print $NF}'; }
for profile in "${profiles[@]}"; do
  bin=$(build "$profile")
  echo
  echo "$profile:"
  echo
  echo "| input | decoder | instructions per message | vs floor |"
  echo "|---|---|---|---|"
  for input in start_ap mixed64; do
    per=1; [ "$input" = mixed64 ] && per=64
    base=$(ir "$bin" floor "$input" 0)
    floor=$(( ($(ir "$bin" floor "$input" "$iters") - base) / (iters * per) ))
    for d in apwatch floor wl; do
      n=$(( ($(ir "$bin" "$d" "$input" "$iters") - base) / (iters * per) ))
      name=$d; [ "$d" = wl ] && name=wl-nl80211
      echo "| $input | $name | $n | $(awk -v a="$n" -v b="$floor" 'BEGIN { printf "%.2fx", a / b }') |"
    done
  done
done
