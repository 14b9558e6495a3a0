#!/bin/bash
# Seeds the fuzz corpora from the project's test data: recorded frames for `decode`, the
# example configs for `uci`, short op sequences for `policy`. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/decode" "$here/corpus/uci" "$here/corpus/policy"
cp -n "$here"/../tests/data/frames/*.bin "$here/corpus/decode/" 2>/dev/null || true
cp -n "$here"/../tests/data/brvlan/*.bin "$here/corpus/decode/" 2>/dev/null || true
for f in "$here"/../tests/data/config/*.conf "$here"/../openwrt/apwatch/files/apwatch.config; do
  [ -f "$f" ] && cp -n "$f" "$here/corpus/uci/$(basename "$f")" || true
done
printf '\x00\x00\x06\x00\x01\x00\x06\x00' > "$here/corpus/policy/start-stop"
printf '\x00\x00\x06\x00\x00\x01\x06\x00\x02\x00\x06\x00' > "$here/corpus/policy/flip"
