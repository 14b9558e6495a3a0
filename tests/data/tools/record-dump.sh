#!/bin/bash
# Runs inside the VM (tests/vm/vm-run -- tests/data/tools/record-dump.sh OUTDIR): records a real
# GET_INTERFACE dump reply (iw dev) and an RTM_GETLINK dump while hostapd runs AP "foo" on wlan0,
# then splits the nlmon capture into frames with nlmon_tool.py.
set -euo pipefail
out=$1; mkdir -p "$out"; t=$(mktemp -d)
ip link add nlmon0 type nlmon; ip link set nlmon0 up
tcpdump -i nlmon0 -w "$t/dump.pcap" -U 2>/dev/null & tcpd=$!
sleep 1
printf 'interface=wlan0\ndriver=nl80211\nhw_mode=g\nchannel=1\nssid=foo\n' > "$t/h.conf"
hostapd -B -P "$t/h.pid" "$t/h.conf" >/dev/null
sleep 1
iw dev > "$out/iw-dev.txt"
ip link show > "$out/ip-link.txt"
sleep 0.5
kill "$tcpd"; wait "$tcpd" || true
kill "$(cat "$t/h.pid")"
python3 "$(dirname "$0")/nlmon_tool.py" frames --all "$t/frames" "$t/dump.pcap" >/dev/null
cp "$t"/frames/* "$out/"
