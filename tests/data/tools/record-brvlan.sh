#!/bin/bash
# Records the kernel's bridge-VLAN replies into OUTDIR (tests/data/brvlan). Needs a kernel with
# CONFIG_BRIDGE_VLAN_FILTERING and 8021q, e.g. the VM's:
#   tests/vm/vm-run -- tests/data/tools/record-brvlan.sh tests/data/brvlan
# In a namespace of its own: br-lan (vlan_filtering 1) with ports p1 (dummy) and va (veth, peer
# vb), VLAN uppers br-lan.10 / br-lan.20, br-plain (no filtering). Then, through brvlan_rec.py:
# the AF_BRIDGE dumps (plain and compressed), the AF_UNSPEC link dump, and the VLAN changes apwatch
# makes (add 20 PVID untagged on p1, delete the kernel's default 1, a range delete, a bad vid),
# each request with the kernel's ACK and the notifications it caused.
set -euo pipefail
out=$(realpath "$1"); mkdir -p "$out"
rec=$(realpath "$(dirname "$0")/brvlan_rec.py")
ns=apwatch-rec-$$
ip netns add "$ns"; trap 'ip netns del "$ns"' EXIT
x() { ip netns exec "$ns" "$@"; }
r() { x python3 "$rec" "$@"; }
x ip link set lo up
x ip link add br-lan type bridge vlan_filtering 1
x ip link add br-plain type bridge
x ip link add p1 type dummy
x ip link add va type veth peer name vb
x ip link set p1 master br-lan
x ip link set va master br-lan
x ip link add link br-lan name br-lan.10 type vlan id 10
x ip link add link br-lan name br-lan.20 type vlan id 20
for d in br-lan br-plain p1 va vb br-lan.10 br-lan.20; do x ip link set "$d" up; done
x bridge vlan add dev br-lan vid 10 self
x bridge vlan add dev br-lan vid 20 self
x bridge vlan add dev va vid 10 pvid untagged
x bridge vlan add dev va vid 100-110
x bridge vlan add dev va vid 200
{ uname -r; x ip -o link; x bridge vlan show; } > "$out/topology.txt"

r dump "$out/dump-brvlan" bridge
r dump "$out/dump-compressed" bridge-compressed
r dump "$out/dump-links" links
r add "$out/add-p1-20" p1 20 pvid untagged
r del "$out/del-p1-1" p1 1
r del "$out/del-va-range" va 100-110
r add "$out/add-bad-4095" p1 4095 pvid untagged || true
r dump "$out/dump-after" bridge
{ x bridge -j vlan show; echo; } > "$out/after.json"
