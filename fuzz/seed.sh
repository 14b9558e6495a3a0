#!/bin/bash
# Seeds the fuzz corpora from the project's test data: recorded frames for `decode`, the
# example configs for `uci`, short op sequences for `policy`, recorded ubus messages (one per
# file, and whole connections back to back) for `ubus`. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/decode" "$here/corpus/uci" "$here/corpus/policy" "$here/corpus/ubus"
cp -n "$here"/../tests/data/frames/*.bin "$here/corpus/decode/" 2>/dev/null || true
cp -n "$here"/../tests/data/brvlan/*.bin "$here/corpus/decode/" 2>/dev/null || true
for f in "$here"/../tests/data/config/*.conf "$here"/../openwrt/apwatch/files/apwatch.config; do
  [ -f "$f" ] && cp -n "$f" "$here/corpus/uci/$(basename "$f")" || true
done
printf '\x00\x00\x06\x00\x01\x00\x06\x00' > "$here/corpus/policy/start-stop"
printf '\x00\x00\x06\x00\x00\x01\x06\x00\x02\x00\x06\x00' > "$here/corpus/policy/flip"
# ubus: each recorded message alone, and each capture file's messages as one stream
for f in "$here"/../tests/data/ubus/[0-9]*.txt; do
  base=$(basename "$f" .txt)
  n=0
  while read -r _ hex; do
    n=$((n + 1))
    printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" > "$here/corpus/ubus/$base-$n"
  done < <(grep -E '^(C>S|S>C) ' "$f")
  cat "$here/corpus/ubus/$base"-[0-9]* > "$here/corpus/ubus/$base-all"
done
