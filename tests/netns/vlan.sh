#!/usr/bin/env bash
# apwatch-core's bridge-VLAN requests and decoders against a real kernel (issue 15), in a network
# namespace of its own: br-lan (vlan_filtering 1) with ports p1 (dummy) and va (veth; its peer vb
# is a "station" in a second namespace), VLAN uppers br-lan.10 (192.0.2.1/24) and br-lan.20
# (198.51.100.1/24), br-plain (no filtering).
#
#   cargo build -p apwatch-core --example brvlan && sudo tests/netns/vlan.sh
#   tests/netns/vlan.sh --vm        the same inside the VM (tests/vm/vm-run): for a host kernel
#                                   without CONFIG_BRIDGE_VLAN_FILTERING or 8021q
#
# The requests are the encoders' bytes (core/examples/brvlan.rs prints them, in host order) sent
# by tests/data/tools/brvlan_rec.py; the result is read back with `bridge -j vlan show` and with
# the decoders (the example decodes the kernel's dump replies), and by sending UDP from the
# station to both VLANs' addresses. Prints "ok - ..." / "not ok - ..." per check, then
# "N passed, M failed"; exits 1 if anything failed. Needs root, ip, bridge, python3.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${BRVLAN_BIN:-$REPO/target/debug/examples/brvlan}
REC=$REPO/tests/data/tools/brvlan_rec.py

if [ "${1:-}" = --vm ]; then
	cd "$REPO" || exit 1
	exec flock /tmp/apwatch-vm.lock tests/vm/vm-run --radios 0 --timeout 600 -- tests/netns/vlan.sh
fi

PASS=0 FAIL=0
ok() { echo "ok - $1"; PASS=$((PASS + 1)); }
bad() { echo "not ok - $1${2:+: $2}"; FAIL=$((FAIL + 1)); }
check() { # check NAME CMD...: CMD's success is the check's
	local n=$1
	shift
	if "$@"; then ok "$n"; else bad "$n"; fi
}
finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}

NS=apwatch-vlan-$$ STA=apwatch-sta-$$ T=$(mktemp -d)
cleanup() {
	ip netns del "$NS" 2>/dev/null
	ip netns del "$STA" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
x() { ip netns exec "$NS" "$@"; }
rec() { x python3 "$REC" "$@"; }
idx() { x cat "/sys/class/net/$1/ifindex"; }

[ -x "$BIN" ] || { bad "encoder tool built" "no $BIN (cargo build -p apwatch-core --example brvlan)"; finish; }
ip netns add "$NS" && ip netns add "$STA" || { bad "namespaces created"; finish; }
x ip link set lo up
# the strong host model: an address answers (ARP) and accepts only on its own device, so the
# station reaching 192.0.2.1 proves its frames are in VLAN 10 (not merely at the host)
for k in arp_ignore=1 rp_filter=1; do
	x sysctl -qw "net.ipv4.conf.all.$k" "net.ipv4.conf.default.$k"
done
if ! x ip link add br-lan type bridge vlan_filtering 1 2>"$T/err"; then
	bad "kernel has VLAN-filtering bridges" "$(cat "$T/err"); try tests/netns/vlan.sh --vm"
	finish
fi
# dummy where the kernel has it, else ifb (both are plain links the bridge accepts)
x ip link add p1 type dummy 2>/dev/null || x ip link add p1 type ifb
x ip link add br-plain type bridge
x ip link add va type veth peer name vb
x ip link set vb netns "$STA"
x ip link set p1 master br-lan
x ip link set va master br-lan
if ! x ip link add link br-lan name br-lan.10 type vlan id 10 2>"$T/err"; then
	bad "kernel has 802.1Q VLAN devices" "$(cat "$T/err"); try tests/netns/vlan.sh --vm"
	finish
fi
x ip link add link br-lan name br-lan.20 type vlan id 20
for d in br-lan br-plain p1 va br-lan.10 br-lan.20; do x ip link set "$d" up; done
x ip addr add 192.0.2.1/24 dev br-lan.10
x ip addr add 198.51.100.1/24 dev br-lan.20
# the bridge itself takes part in both VLANs (what OpenWrt's bridge-vlan sections do)
x bridge vlan add dev br-lan vid 10 self
x bridge vlan add dev br-lan vid 20 self
ip -n "$STA" link set lo up
ip -n "$STA" link set vb up
ip -n "$STA" addr add 192.0.2.2/24 dev vb
ip -n "$STA" addr add 198.51.100.2/24 dev vb
P1=$(idx p1) VA=$(idx va) BR=$(idx br-lan)
echo "# kernel $(uname -r); br-lan $BR, p1 $P1, va $VA"

# a port's VLANs as "VID[ PVID][ untagged]" lines, from `bridge -j vlan show`
vlans() {
	x bridge -j vlan show dev "$1" | python3 -c '
import json, sys
for port in json.load(sys.stdin):
    for v in port.get("vlans", []):
        for vid in range(v["vlan"], v.get("vlanEnd", v["vlan"]) + 1):
            f = v.get("flags", [])
            print(str(vid) + (" PVID" if "PVID" in f else "") + (" untagged" if "Egress Untagged" in f else ""))'
}
is_vlans() { # is_vlans PORT LINE...: the port's VLANs are exactly these
	local want
	want=$(printf '%s\n' "${@:2}")
	[ "$(vlans "$1")" = "$want" ] || { echo "# $1: $(vlans "$1" | tr '\n' ',') (want ${want//$'\n'/,})"; return 1; }
}
send() { rec send "$1" "${2:-}" >"$T/send.out"; } # send HEX [PREFIX]: the kernel ACKed
# sends the example's request(s); each must be ACKed
do_req() {
	local h
	h=$("$BIN" "$@") || return 1
	while read -r line; do send "$line" || { cat "$T/send.out"; return 1; }; done <<<"$h"
}
dump() { # dump PREFIX [compressed]: the example's dump request, replies in PREFIX-NNN.bin
	rm -f "$1"-*.bin
	send "$("$BIN" dump ${2:+"$2"})" "$1"
}

# --- the encoders, and what the kernel made of them
check "a new port has the default PVID 1" is_vlans p1 "1 PVID untagged"
check "add 20 PVID untagged is ACKed" do_req add "$P1" 20
check "the PVID moved to 20; 1 stays a member, egress-untagged" is_vlans p1 "1 untagged" "20 PVID untagged"
check "delete 1 is ACKed" do_req del "$P1" 1
check "p1 is in VLAN 20 only" is_vlans p1 "20 PVID untagged"
check "p1 still exists after an AF_BRIDGE RTM_DELLINK" x test -e /sys/class/net/p1
x bridge vlan add dev va vid 100-110
x bridge vlan add dev va vid 300
check "a range delete 100-110 is ACKed" do_req del "$VA" 100 110
check "the range is gone, the rest kept" is_vlans va "1 PVID untagged" "300"
check "vid 4095 is refused by the encoder" bash -c '! "$0" add 1 4095 2>/dev/null' "$BIN"
check "vid 0 is refused by the encoder" bash -c '! "$0" del 1 0 2>/dev/null' "$BIN"

# --- the decoders against `bridge -j vlan show`, both dump forms
x bridge vlan add dev va vid 200-205
x bridge vlan add dev va vid 207
same_as_bridge() { # same_as_bridge [compressed]
	dump "$T/d" "${1:-}" || return 1
	local mine theirs p
	mine=$("$BIN" show "$T"/d-*.bin | sort -s -n -k1,1) || return 1
	theirs=$(for p in br-lan br-plain p1 va; do vlans "$p" | sed "s/^/$(idx "$p") /"; done | sort -s -n -k1,1)
	[ "$mine" = "$theirs" ] || { diff <(echo "$mine") <(echo "$theirs") | sed 's/^/# /'; return 1; }
}
check "the dump decodes as bridge -j vlan show" same_as_bridge
check "the compressed dump decodes the same (ranges folded)" same_as_bridge compressed
links_ok() {
	rm -f "$T"/l-*.bin
	send "$("$BIN" dump links)" "$T/l" || return 1
	local got want
	got=$("$BIN" links "$T"/l-*.bin | sort) || return 1
	want=$(printf '%s\n' "$BR br-lan filtering=1" "$(idx br-plain) br-plain filtering=0" \
		"$(idx br-lan.10) br-lan.10 vlan=10 parent=$BR" "$(idx br-lan.20) br-lan.20 vlan=20 parent=$BR" | sort)
	[ "$got" = "$want" ] || { diff <(echo "$got") <(echo "$want") | sed 's/^/# /'; return 1; }
}
check "the link dump gives filtering and the VLAN uppers" links_ok

# --- the plan, step by step on a real port: va (1 PVID, 200-205, 207, 300) to 10, then 20, then 10
# the station sends 5 rounds of one UDP datagram to each VLAN's address (the first resolves ARP)
UDP='
import socket, time
for _ in range(5):
    for src, dst in (("192.0.2.2", "192.0.2.1"), ("198.51.100.2", "198.51.100.1")):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(b"x", (dst, 9999))
    time.sleep(0.2)'
# the host listens on both until 1 s after the station is done (the file DONE exists)
LISTEN='
import os, select, socket, sys, time
done, socks, got, end = sys.argv[1], [], set(), None
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 9999))
    socks.append(s)
open(done + ".ready", "w").close()
while end is None or time.monotonic() < end:
    for s in select.select(socks, [], [], 0.1)[0]:
        s.recv(16)
        got.add(s.getsockname()[0])
    if end is None and os.path.exists(done):
        end = time.monotonic() + 1.0
print(" ".join(sorted(got)))'
reach() { # reach: which of the two VLAN addresses hear the station
	rm -f "$T/done" "$T/done.ready"
	ip -n "$STA" neigh flush dev vb 2>/dev/null
	x python3 -c "$LISTEN" "$T/done" 192.0.2.1 198.51.100.1 >"$T/heard" &
	local l=$! i
	for i in $(seq 100); do [ -e "$T/done.ready" ] && break; sleep 0.1; done
	ip netns exec "$STA" python3 -c "$UDP" 2>/dev/null
	touch "$T/done"
	wait "$l"
	cat "$T/heard"
}
hears() { # hears ADDRS: exactly these VLAN addresses hear the station
	local got
	got=$(reach)
	[ "$got" = "$1" ] || { echo "# heard: '$got', want '$1'"; return 1; }
}
never_two() { # after each step: never the target VLAN beside another one
	local n
	n=$(vlans va | wc -l)
	if vlans va | grep -q "^$1\b" && [ "$n" -gt 1 ]; then
		echo "# va carries $1 beside others: $(vlans va | tr '\n' ',')"
		return 1
	fi
}
flip() { # flip VID: plan from a live dump, each step sent and checked
	local h line
	dump "$T/d" compressed || return 1
	h=$("$BIN" plan "$VA" "$1" "$T"/d-*.bin) || return 1
	echo "# plan va -> $1: $(echo "$h" | wc -l) requests"
	while read -r line; do
		send "$line" || { cat "$T/send.out"; return 1; }
		never_two "$1" || return 1
	done <<<"$h"
}
# before any VLAN: the station is in VLAN 1, reaching neither
check "station reaches neither VLAN from PVID 1" hears ""
check "plan va -> 10 applies, never two VLANs at once" flip 10
check "va is in VLAN 10 only" is_vlans va "10 PVID untagged"
check "station reaches br-lan.10 only" hears 192.0.2.1
check "plan va -> 20 applies, never two VLANs at once" flip 20
check "va is in VLAN 20 only" is_vlans va "20 PVID untagged"
check "station reaches br-lan.20 only" hears 198.51.100.1
plan_empty() {
	dump "$T/d" || return 1
	[ -z "$("$BIN" plan "$VA" 20 "$T"/d-*.bin)" ]
}
check "a second plan to 20 has nothing to do" plan_empty
check "plan va -> 10 (flip back) applies" flip 10
check "va is in VLAN 10 only again" is_vlans va "10 PVID untagged"
check "station reaches br-lan.10 only again" hears 192.0.2.1
check "p1 was not touched by va's plans" is_vlans p1 "20 PVID untagged"

# --- a bridge without filtering
x ip link set br-lan type bridge vlan_filtering 0
filtering_off() {
	rm -f "$T"/l-*.bin
	send "$("$BIN" dump links)" "$T/l" || return 1
	"$BIN" links "$T"/l-*.bin | grep -qx "$BR br-lan filtering=0"
}
check "vlan_filtering 0 reads back as off" filtering_off
finish
