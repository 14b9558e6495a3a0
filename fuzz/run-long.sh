#!/bin/bash
# The long fuzz runs (the `soak` part): each target for $1 seconds (default 1800), one job,
# corpora seeded from the test data; prints the exec count and crashes per target.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-1800}
out=${FUZZ_LOG_DIR:-$here/../target/fuzzlogs}
mkdir -p "$out"
"$here/seed.sh"
rc=0
for t in decode uci policy ubus; do
  (cd "$here" && cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 -max_len=4096) > "$out/$t.log" 2>&1
  r=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$' | tail -1)
  crashes=0
  for a in "$here/artifacts/$t"/crash-* "$here/artifacts/$t"/oom-* "$here/artifacts/$t"/timeout-* "$here/artifacts/$t"/leak-*; do
    [ -e "$a" ] && crashes=$((crashes + 1))
  done
  echo "fuzz $t: ${secs}s, ${execs:-?} execs, exit $r, artifacts $crashes"
  [ "$r" -eq 0 ] || rc=1
done
exit $rc
