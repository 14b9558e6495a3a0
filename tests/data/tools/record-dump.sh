#!/bin/bash
# Runs inside the VM (tests/vm/vm-run --radios 2 -- tests/data/tools/record-dump.sh OUTDIR): records
# real replies while hostapd runs AP "foo" on wlan0: the GET_INTERFACE dump of `iw dev` (multi-part,
# ended by NLMSG_DONE), hostapd's own GET_INTERFACE and GET_WIPHY replies, and splits the nlmon
# capture into one file per message with nlmon_tool.py (frames --all).
set -euo pipefail
out=$1; mkdir -p "$out"; t=$(mktemp -d)
ip link add nlmon0 type nlmon; ip link set nlmon0 up
tcpdump -i nlmon0 -w "$t/dump.pcap" -U 2>/dev/null & tcpd=$!
sleep 1
printf 'interface=wlan0\ndriver=nl80211\nhw_mode=g\nchannel=1\nssid=foo\n' > "$t/h.conf"
hostapd -B -P "$t/h.pid" "$t/h.conf" >/dev/null
sleep 1.5
iw dev > "$out/iw-dev.txt"
sleep 1
kill "$tcpd"; wait "$tcpd" || true
kill "$(cat "$t/h.pid")"
python3 "$(dirname "$0")/nlmon_tool.py" frames --all "$t/frames" "$t/dump.pcap" >/dev/null
cp "$t"/frames/* "$out/"
