#!/usr/bin/env bash
# The agent's ubus backend against a ubusd + netifd stand-in (lib/fake_ubusd.py) on REAL bridges,
# each case in fresh network + mount + PID namespaces (issue 14).
#
#   tests/netns/ubus.sh              every case
#   tests/netns/ubus.sh stale flip   only these (names below)
#
# APWATCH_BIN: the binary (default target/debug/apwatch). APWATCH_NETNS_KEEP=1 keeps the temp
# dirs (agent log, the peer's JSON request log peer.jsonl, its config); APWATCH_UBUS_WORK=DIR
# puts them in DIR (tests/netns/run's `ubus` test does, and removes it). Each check prints
# "ok - CASE/CHECK" or "not ok - CASE/CHECK: why" ("# ..." lines are notes), then
# "N passed, M failed"; exits 1 if anything failed. Needs root. Every check reads the kernel's
# bridge ports (/sys/class/net) and the peer's log of what the agent sent; waits poll (50 ms
# steps, 5 s unless a case says otherwise), nothing asserts a timing.
# Reasons are single-quoted on purpose (expanded only on failure); helpers run indirectly.
# shellcheck disable=SC2016,SC2317,SC2012
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PEER=$HERE/lib/fake_ubusd.py
BIN=${APWATCH_BIN:-$REPO/target/debug/apwatch}
CASES=(peer first flip stale retry failed readback noop restart recreated nodev plain bus hostile hostapd)

CASE="" T="" LOG="" CFG="" AGENT="" AGENT_RC="" PEER_PID="" KICKS=0 FAILS=0 APTYPE=""

ok() { echo "ok - $CASE/$1"; }
bad() {
	echo "not ok - $CASE/$1: $2"
	FAILS=$((FAILS + 1))
}
note() { echo "# $CASE: $*"; }
reason() {
	eval "cat <<__REASON__
$1
__REASON__
"
}
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	NOW_MS=$((10#$t / 1000))
}
# wait_until [-t MS] CMD...: polls CMD every 50 ms for up to 5 s (or MS)
wait_until() {
	local limit=5000
	if [ "$1" = -t ]; then
		limit=$2
		shift 2
	fi
	now_ms
	local end=$((NOW_MS + limit))
	while :; do
		"$@" && return 0
		now_ms
		[ "$NOW_MS" -ge "$end" ] && return 1
		sleep 0.05
	done
}
# expect [-t MS] NAME 'WHY' CMD...: passes when CMD becomes true in time
expect() {
	local t=()
	if [ "$1" = -t ]; then
		t=(-t "$2")
		shift 2
	fi
	local _n=$1 _w=$2
	shift 2
	if wait_until "${t[@]}" "$@"; then ok "$_n"; else bad "$_n" "$(reason "$_w" | tr '\n' ' ')"; fi
}
check() {
	local _n=$1 _w=$2
	shift 2
	if "$@"; then ok "$_n"; else bad "$_n" "$(reason "$_w" | tr '\n' ' ')"; fi
}
not() { ! "$@"; }

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
master_of() {
	local l
	l=$(readlink "/sys/class/net/$1/master" 2>/dev/null) || return 0
	echo "${l##*/}"
}
in_bridge() { [ "$(master_of "$1")" = "$2" ]; }
no_master() { [ -e "/sys/class/net/$1" ] && [ ! -e "/sys/class/net/$1/master" ]; }
# ports BR: the bridge's kernel ports, space-separated
ports() { ls "/sys/class/net/$1/brif" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
ports_are() { [ "$(ports "$1")" = "$2" ]; }
ifindex() { cat "/sys/class/net/$1/ifindex" 2>/dev/null; }
log_has() { grep -aqF -- "$1" "$LOG"; }
log_count() { grep -acF -- "$1" "$LOG"; }
log_count_ge() { [ "$(log_count "$1")" -ge "$2" ]; }
tail_log() { [ -f "$LOG" ] && tail -n "${1:-15}" "$LOG" | LC_ALL=C sed -n 'l' | sed 's/^/  | /'; }

mkap() {
	if [ -z "$APTYPE" ]; then
		if ip link add "$1" type dummy 2>/dev/null; then
			APTYPE=dummy
		else
			APTYPE=ifb
			ip link add "$1" type ifb || return 1
		fi
	else
		ip link add "$1" type "$APTYPE" || return 1
	fi
	ip link set "$1" up
}
wifi() {
	printf '%s\n' "$@" >"$T/wifi.tmp"
	mv -f "$T/wifi.tmp" "$T/wifi"
}
kick() {
	KICKS=$((KICKS + 1))
	ip link set dev "$1" alias "apwatch-test-$KICKS"
}

# --- the peer

# peer_start JSON: the stand-in with these networks (it creates and owns their bridges)
peer_start() {
	printf '%s\n' "$1" >"$T/nets.json"
	python3 "$PEER" serve --socket "$T/ubus.sock" --config "$T/nets.json" --log "$T/peer.jsonl" \
		--control "$T/ctl.sock" 2>>"$T/peer.stderr" &
	PEER_PID=$!
	wait_until peer ping >/dev/null
}
peer() { python3 "$PEER" ctl "$T/ctl.sock" "$@"; }
# calls: the agent's INVOKEs of netifd's objects, "PATH METHOD ARGS -> STATUS", one a line
calls() { python3 "$PEER" calls "$T/peer.jsonl" --from apwatch | grep '^network'; }
calls_shown() { calls | tr '\n' ';'; }
has_call() { calls | grep -qxF -- "$1"; }
count_calls() { calls | grep -cF -- "$1"; }
count_calls_ge() { [ "$(count_calls "$1")" -ge "$2" ]; }
# after N LINE...: the calls from line N on (to look only at what came after an event)
calls_from() { calls | tail -n "+$1"; }
ncalls() { calls | wc -l; }
# in_order N A B: after call line N, some call A comes before some call B (exact lines)
in_order() {
	calls_from "$1" | python3 -c '
import sys
lines = [l.rstrip("\n") for l in sys.stdin]
a = [i for i, l in enumerate(lines) if l == sys.argv[1]]
b = [i for i, l in enumerate(lines) if l == sys.argv[2]]
sys.exit(0 if a and b and a[0] < b[-1] else 1)' "$2" "$3"
}
peer_state() { peer state; }
member_state() { # NET: its members as "dev:flags" (netifd's memory)
	peer state | python3 -c '
import json, sys
n = json.load(sys.stdin)["nets"][sys.argv[1]]
print(" ".join(m["dev"] + ("(dropped)" if m["dropped"] else "") + ("(lost)" if m["lost"] else "") for m in n["members"]))' "$1"
}

# --- the agent

main_section() {
	cat <<EOF
config apwatch 'main'
	option backend 'ubus'
	option log_level '${LOGLEVEL:-debug}'
	option dnsmasq_dir '$T/dns'
	option state_file '$T/run/apwatch.state'
	list dnsmasq_restart '$T/restart.sh'
EOF
}
# rule NAME SSID|hex:HEX NETWORK [OPTION VALUE]...
rule() {
	local name=$1 ssid=$2 net=$3
	shift 3
	printf "\nconfig rule '%s'\n" "$name"
	case $ssid in
	hex:*) printf "\toption ssid_hex '%s'\n" "${ssid#hex:}" ;;
	*) printf "\toption ssid '%s'\n" "$ssid" ;;
	esac
	printf "\toption network '%s'\n" "$net"
	while [ $# -ge 2 ]; do
		printf "\toption %s '%s'\n" "$1" "$2"
		shift 2
	done
}
start_agent() {
	local before
	before=$(log_count "info: started:")
	env APWATCH_TEST_WIFI="$T/wifi" APWATCH_UBUS_SOCKET="$T/ubus.sock" "$BIN" -c "$CFG" run 2>>"$LOG" &
	AGENT=$!
	wait_until log_count_ge "info: started:" $((before + 1))
}
proc_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo gone
		return
	}
	s=${s##*) }
	echo "${s%% *}"
}
agent_exited() { case $(proc_state "$AGENT") in Z | gone) return 0 ;; *) return 1 ;; esac }
agent_alive() { [ -n "$AGENT" ] && ! agent_exited; }
stop_agent() {
	[ -n "$AGENT" ] || return 0
	kill -s "${1:-TERM}" "$AGENT" 2>/dev/null
	wait_until agent_exited || kill -9 "$AGENT" 2>/dev/null
	wait "$AGENT"
	AGENT_RC=$?
	AGENT=""
}

setup_dir() {
	mkdir -p "$T/run" "$T/dns"
	LOG=$T/agent.log CFG=$T/config
	: >"$LOG"
	cat >"$T/restart.sh" <<'EOF'
#!/bin/sh
echo "--- restart" >>"$(dirname "$0")/restarts.log"
EOF
	chmod 755 "$T/restart.sh"
	wifi
}

TWO_NETS='{"networks": {"guest": {"device": "br-guest"}, "lan": {"device": "br-lan"}}}'
two_rules() {
	{
		main_section
		rule guest guest guest dhcp_range 192.0.2.10,192.0.2.20
		rule lan lan lan
	} >"$CFG"
}

# ---------------------------------------------------------------------------------------
# the cases

# the peer itself: its codec against the recordings and its protocol against its own client,
# then netifd's kernel behaviours through `call` (the agent is not involved)
c_peer() {
	local out
	out=$(python3 "$PEER" selftest 2>&1)
	check selftest '$(echo "$out" | grep -v "^  " | tail -5 | tr "\n" " ")' eval '[[ "$out" == *" passed, 0 failed" ]]'
	note "selftest: $(echo "$out" | tail -1)"
	mkap d0
	mkap d1
	ip link set d1 down
	peer_start '{"networks": {"guest": {"device": "br-guest"}, "lan": {"device": "br-lan"}}}'
	local S=$T/ubus.sock call=(python3 "$PEER" call "$T/ubus.sock")
	check bridges-created 'br-guest: $(ls -d /sys/class/net/br-guest/bridge 2>&1)' test -d /sys/class/net/br-guest/bridge
	"${call[@]}" network.interface.guest add_device '{"name":"d0","link-ext":true}'
	check add-enslaves 'd0 in [$(master_of d0)]' in_bridge d0 br-guest
	"${call[@]}" network.interface.guest add_device '{"name":"d1","link-ext":true}'
	check link-ext-waits-for-up 'd1 (down) in [$(master_of d1)]' no_master d1
	ip link set d1 up
	expect link-ext-up-enslaves 'd1 in [$(master_of d1)]' in_bridge d1 br-guest
	"${call[@]}" network.interface.lan add_device '{"name":"d0","link-ext":true}'
	check move 'd0 in [$(master_of d0)]; guest members: $(member_state guest)' eval 'in_bridge d0 br-lan && [ "$(member_state guest)" = d1 ]'
	"${call[@]}" network.interface.guest remove_device '{"name":"d0"}' 2>/dev/null
	check remove-non-member-not-found 'exit $?' test $? = 4
	peer stale on >/dev/null
	peer drop d0 >/dev/null
	check drop 'd0 in [$(master_of d0)], lan members $(member_state lan)' eval 'no_master d0 && [ "$(member_state lan)" = "d0(dropped)" ]'
	"${call[@]}" network.interface.lan add_device '{"name":"d0","link-ext":true}'
	check stale-add-is-a-noop 'd0 in [$(master_of d0)]' no_master d0
	"${call[@]}" network.interface.lan remove_device '{"name":"d0"}'
	"${call[@]}" network.interface.lan add_device '{"name":"d0","link-ext":true}'
	check stale-cleared-by-remove 'd0 in [$(master_of d0)]' in_bridge d0 br-lan
	local gi
	gi=$(ifindex br-guest)
	peer restart >/dev/null
	check restart-recreates-bridges 'br-guest ifindex $gi -> $(ifindex br-guest)' test "$(ifindex br-guest)" != "$gi"
	check restart-drops-ports 'br-guest: [$(ports br-guest)], br-lan: [$(ports br-lan)]' eval 'ports_are br-guest "" && ports_are br-lan ""'
	"${call[@]}" network.interface.guest add_device '{"name":"d0","link-ext":true}'
	ip link del d0
	mkap d0
	sleep 0.3
	check recreated-netdev-not-readded 'd0 in [$(master_of d0)]' no_master d0
	stop_peer
}

# o) OpenWrt hostapd's ucode object as the SSID's second witness (issue 13): an in-place reload
# that the kernel never hears of (its SSID stays "guest") is told by bss.reload, and bss_info's
# SSID wins; hostapd's object leaving and coming back (new id) is followed; a BSS hostapd no
# longer has leaves the kernel's word standing.
bss_infos() { python3 "$PEER" calls "$T/peer.jsonl" --from apwatch | grep -c '^hostapd bss_info'; }
c_hostapd() {
	peer_start "$TWO_NETS"
	two_rules
	peer hostapd up >/dev/null
	peer bss add d0 "$(hex guest)" >/dev/null
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined-guest 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	expect subscribed 'log: $(grep -a "hostapd on ubus" "$LOG" | tail -2); peer: $(peer hostapd up)' \
		eval 'log_has "subscribed to the hostapd object" && peer hostapd up | grep -q "\"subscribers\": \[\"0x"'
	check asked-bss-info 'calls: $(python3 "$PEER" calls "$T/peer.jsonl" --from apwatch | grep hostapd | tail -3)' \
		eval '[ "$(bss_infos)" -ge 1 ]'
	# `wifi reload` in place: hostapd beacons "lan", the kernel still says "guest", no link event
	peer bss reload d0 "$(hex lan)" >/dev/null
	expect reload-followed 'br-lan [$(ports br-lan)], br-guest [$(ports br-guest)]; log: $(grep -a "hostapd" "$LOG" | tail -3)' \
		eval 'ports_are br-lan d0 && ports_are br-guest ""'
	check logged-once 'log: $(grep -a "kernel still says" "$LOG")' \
		eval '[ "$(log_count "hostapd beacons ssid=\"lan\", the kernel still says \"guest\"")" = 1 ]'
	expect dropin-follows 'lan drop-in: $(ls "$T/dns")' not test -e "$T/dns/apwatch-guest.conf"
	# hostapd exits: its object goes (UNSUBSCRIBE); the kernel's word stands again
	peer hostapd down >/dev/null
	expect gone-kernel-word 'br-guest [$(ports br-guest)]; log: $(grep -a "hostapd" "$LOG" | tail -3)' ports_are br-guest d0
	# a new hostapd (new object id) with the same BSS: subscribed again at once, its word wins
	peer hostapd up >/dev/null
	expect back-resubscribed 'br-lan [$(ports br-lan)]; log: $(grep -a "hostapd on ubus" "$LOG" | tail -3)' ports_are br-lan d0
	# hostapd no longer serves the BSS (bss.remove): no opinion, the kernel's SSID
	peer bss remove d0 >/dev/null
	expect removed-kernel-word 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	check no-errors 'errors: $(grep -a "^error" "$LOG" | head -3)' not grep -aq '^error' "$LOG"
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# a) first start: add_device {name, link-ext: true}; the bridge is what netifd's status names
c_first() {
	peer_start '{"networks": {"guest": {"device": "br-guest"}, "iot": {"device": "br-things"}}}'
	{
		main_section
		rule guest guest guest dhcp_range 192.0.2.10,192.0.2.20
		rule iot iot iot
	} >"$CFG"
	mkap d0
	mkap d1
	wifi "d0 AP $(hex guest)" "d1 AP $(hex iot)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	check backend-logged 'no "started: backend ubus" line: $(grep -a started "$LOG")' log_has 'started: backend ubus'
	expect joined 'br-guest ports [$(ports br-guest)]; calls: $(calls_shown)' ports_are br-guest d0
	expect status-device 'br-things ports [$(ports br-things)]; calls: $(calls_shown)' ports_are br-things d1
	check add-args 'calls: $(calls_shown)' has_call 'network.interface.guest add_device {"name":"d0","link-ext":true} -> OK'
	check asked-status 'calls: $(calls_shown)' has_call 'network.interface.guest status {} -> OK'
	expect dropin-on-netifd-device 'drop-in: $(cat "$T/dns/apwatch-guest.conf" 2>&1)' grep -qx 'interface=br-guest' "$T/dns/apwatch-guest.conf"
	check no-errors 'errors: $(grep -a "^error" "$LOG" | head -3)' not grep -aq '^error' "$LOG"
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# b) guest -> lan: out of guest, into lan
c_flip() {
	peer_start "$TWO_NETS"
	two_rules
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined-guest 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	local n
	n=$(ncalls)
	wifi "d0 AP $(hex lan)"
	kick d0
	expect in-br-lan 'br-lan [$(ports br-lan)], br-guest [$(ports br-guest)]; calls: $(calls_shown)' \
		eval 'ports_are br-lan d0 && ports_are br-guest ""'
	check removed-then-added 'calls after the flip: $(calls_from $((n + 1)) | tr "\n" ";")' in_order $((n + 1)) \
		'network.interface.guest remove_device {"name":"d0"} -> OK' 'network.interface.lan add_device {"name":"d0","link-ext":true} -> OK'
	check netifd-members 'guest: [$(member_state guest)], lan: [$(member_state lan)]' \
		eval '[ "$(member_state guest)" = "" ] && [ "$(member_state lan)" = d0 ]'
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# c) stale membership: netifd drops the port itself when the AP stops but keeps the member;
# the next AP on the netdev must still end in the bridge
c_stale() {
	peer_start "$TWO_NETS"
	two_rules
	peer stale on >/dev/null
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	expect settled 'still asking: $(tail -2 "$LOG")' has_call 'network.interface.guest add_device {"name":"d0","link-ext":true} -> OK'
	local n
	n=$(ncalls)
	# hostapd exits: the SSID goes and netifd drops the port itself (its link event is the
	# agent's only news), keeping d0 as a member
	wifi "d0 AP -"
	peer drop d0 >/dev/null
	check dropped-by-netifd 'br-guest [$(ports br-guest)], members $(member_state guest)' \
		eval 'ports_are br-guest "" && [ "$(member_state guest)" = "d0(dropped)" ]'
	expect down-logged 'no "d0 AP down" line' log_has 'info: d0 AP down'
	wifi "d0 AP $(hex guest)"
	kick d0
	expect back-in-bridge 'br-guest [$(ports br-guest)]; members $(member_state guest); calls: $(calls_from $((n + 1)) | tr "\n" ";")' \
		ports_are br-guest d0
	check remove-before-add 'calls after the drop: $(calls_from $((n + 1)) | tr "\n" ";")' in_order $((n + 1)) \
		'network.interface.guest remove_device {"name":"d0"} -> OK' 'network.interface.guest add_device {"name":"d0","link-ext":true} -> OK'
	stop_agent
}

# d) the network's object is missing at first (NOT_FOUND), then appears
c_retry() {
	peer_start '{"networks": {"guest": {"device": "br-guest", "hidden": true}}}'
	{
		main_section
		rule guest guest guest
	} >"$CFG"
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	not_found_seen() { grep -q '"network.interface.guest"' "$T/peer.jsonl" && grep -q '"status_name": "NOT_FOUND"' "$T/peer.jsonl"; }
	expect lookup-not-found 'the peer never answered NOT_FOUND: $(tail -2 "$T/peer.jsonl")' not_found_seen
	check not-joined 'd0 in [$(master_of d0)]' no_master d0
	peer show guest >/dev/null
	expect -t 10000 joined-when-it-appears 'br-guest [$(ports br-guest)]; calls: $(calls_shown); log: $(tail -3 "$LOG")' ports_are br-guest d0
	check asked-once-it-was-there 'calls: $(calls_shown)' has_call 'network.interface.guest add_device {"name":"d0","link-ext":true} -> OK'
	stop_agent
}

# d') netifd refuses add_device twice (no event at all): retried with back-off
c_failed() {
	peer_start "$TWO_NETS"
	two_rules
	peer fail add_device 2 9 >/dev/null
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect refused 'calls: $(calls_shown)' has_call 'network.interface.guest add_device {"name":"d0","link-ext":true} -> UNKNOWN_ERROR'
	expect -t 10000 joined-after-retries 'br-guest [$(ports br-guest)]; calls: $(calls_shown)' ports_are br-guest d0
	check three-adds '$(count_calls "add_device") add_device calls: $(calls_shown)' count_calls_ge 'add_device {"name":"d0","link-ext":true}' 3
	check error-logged 'no error line for the refused call' grep -aq '^error: .*d0' "$LOG"
	stop_agent
}

# e) a stale member seeded before the agent starts (netifd answers add_device with 0 and does
# nothing): the agent's read-back / remove-before-add gets the port in
c_readback() {
	mkap d0
	peer_start '{"stale": true, "networks": {"guest": {"device": "br-guest", "members": ["d0"]}}}'
	{
		main_section
		rule guest guest guest
	} >"$CFG"
	check seeded 'members: $(member_state guest)' test "$(member_state guest)" = "d0(dropped)"
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined 'br-guest [$(ports br-guest)]; calls: $(calls_shown)' ports_are br-guest d0
	check stale-cleared 'calls: $(calls_shown)' in_order 1 \
		'network.interface.guest remove_device {"name":"d0"} -> OK' 'network.interface.guest add_device {"name":"d0","link-ext":true} -> OK'
	stop_agent
}

# e') add_device answers 0 twice and changes nothing: only the kernel read-back can tell
c_noop() {
	peer_start "$TWO_NETS"
	two_rules
	peer fail add_device 2 0 >/dev/null
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect -t 10000 joined 'br-guest [$(ports br-guest)]; calls: $(calls_shown)' ports_are br-guest d0
	check asked-again '$(count_calls add_device) add_device calls: $(calls_shown)' count_calls_ge 'add_device {"name":"d0","link-ext":true} -> OK' 3
	note "calls: $(calls_shown)"
	stop_agent
}

# f) netifd restarts (bridges re-created without ports, new object ids): every membership is
# re-applied; also with the objects back only after a gap, and with the bus connection closed
c_restart() {
	peer_start "$TWO_NETS"
	two_rules
	mkap d0
	mkap d1
	wifi "d0 AP $(hex guest)" "d1 AP $(hex lan)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined 'br-guest [$(ports br-guest)], br-lan [$(ports br-lan)]' eval 'ports_are br-guest d0 && ports_are br-lan d1'
	local how gi
	for how in "" "gap=1" "close" "close gap=1"; do
		gi=$(ifindex br-guest)
		# shellcheck disable=SC2086 # the words are the command's arguments
		peer restart $how >/dev/null
		local tag=restart${how:+-${how// /-}}
		check "$tag/bridges-recreated" 'br-guest ifindex $gi -> $(ifindex br-guest)' test "$(ifindex br-guest)" != "$gi"
		expect -t 10000 "$tag/reapplied" 'br-guest [$(ports br-guest)], br-lan [$(ports br-lan)]; log: $(tail -3 "$LOG" | tr "\n" " ")' \
			eval 'ports_are br-guest d0 && ports_are br-lan d1'
		check "$tag/alive" 'the agent died' agent_alive
	done
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# g) the AP netdev deleted and re-created with the same name (netifd does not put it back)
c_recreated() {
	peer_start "$TWO_NETS"
	two_rules
	mkap d0
	wifi "d0 AP $(hex guest)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect joined 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	local n i0
	n=$(count_calls 'add_device {"name":"d0"')
	i0=$(ifindex d0)
	ip link del d0
	mkap d0
	kick d0
	check new-ifindex 'd0 ifindex $i0 -> $(ifindex d0)' test "$(ifindex d0)" != "$i0"
	expect re-added 'br-guest [$(ports br-guest)]; calls: $(calls_shown)' ports_are br-guest d0
	check asked-again '$(count_calls add_device) add_device calls' count_calls_ge 'add_device {"name":"d0"' $((n + 1))
	stop_agent
}

# h) a rule whose network has no device: a located warning and an error line, never adopted
c_nodev() {
	peer_start '{"networks": {"guest": {"device": "br-guest"}, "nodev": {"device": null, "ipaddr": "192.0.2.1/24"}}}'
	{
		main_section
		rule guest guest guest
		rule orphan orphan nodev
	} >"$CFG"
	local line
	line=$(grep -n "^config rule 'orphan'" "$CFG" | cut -d: -f1)
	mkap d0
	mkap d1
	wifi "d0 AP $(hex guest)" "d1 AP $(hex orphan)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect warning 'no "warn: $CFG:$line: rule '"'orphan'"', option '"'network'"': ..." line: $(grep -a "^warn" "$LOG" | head -3)' \
		log_has "warn: $CFG:$line: rule 'orphan', option 'network': "
	expect error-line 'no error line for d1: $(grep -a "^error" "$LOG" | head -3)' grep -aq '^error: d1 .*orphan' "$LOG"
	expect guest-fine 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	sleep 0.5
	check no-add-device 'calls: $(calls_shown)' not eval 'calls | grep -q "^network.interface.nodev add_device"'
	check not-adopted 'peer: nodev adopted $(peer state | python3 -c "import json,sys; print(json.load(sys.stdin)[\"nets\"][\"nodev\"][\"adopted\"])")' \
		eval 'peer state | python3 -c "import json,sys; sys.exit(json.load(sys.stdin)[\"nets\"][\"nodev\"][\"adopted\"] is not None)"'
	check no-address 'd1: $(ip -o -4 addr show dev d1)' test -z "$(ip -o -4 addr show dev d1)"
	check d1-unbridged 'd1 in [$(master_of d1)]' no_master d1
	stop_agent
}

# i) a plain (non-bridge) device: NOT_SUPPORTED is an error line; the rest works
c_plain() {
	mkap eth9
	peer_start '{"networks": {"guest": {"device": "br-guest"}, "wired": {"device": "eth9", "type": "plain"}}}'
	{
		main_section
		rule guest guest guest
		rule wired wired wired
	} >"$CFG"
	mkap d0
	mkap d1
	wifi "d0 AP $(hex guest)" "d1 AP $(hex wired)"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect refused 'calls: $(calls_shown)' has_call 'network.interface.wired add_device {"name":"d1","link-ext":true} -> NOT_SUPPORTED'
	expect error-line 'no error line naming NOT_SUPPORTED: $(grep -a "^error" "$LOG" | head -3)' grep -aqE '^error: .*d1.*(NOT_SUPPORTED|not supported)' "$LOG"
	expect guest-fine 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	check d1-unbridged 'd1 in [$(master_of d1)], eth9 [$(master_of eth9)]' eval 'no_master d1 && no_master eth9'
	wifi "d0 AP $(hex wired)" "d1 AP $(hex guest)"
	kick d0
	kick d1
	expect swap-still-works 'br-guest [$(ports br-guest)]' ports_are br-guest d1
	check alive 'the agent died' agent_alive
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# j) apwatch on the bus: `call apwatch status` = `status --json`; apwatch.ap events
c_bus() {
	peer_start "$TWO_NETS"
	two_rules
	mkap d0
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	expect object 'apwatch is not on the bus' eval 'python3 "$PEER" call "$T/ubus.sock" apwatch status >/dev/null 2>&1'
	python3 "$PEER" listen "$T/ubus.sock" --ready "$T/listening" apwatch.ap >"$T/events.jsonl" 2>"$T/listen.stderr" &
	local lpid=$!
	expect listening 'the listener did not register: $(cat "$T/listen.stderr")' test -e "$T/listening"
	wifi "d0 AP $(hex guest)"
	kick d0
	expect joined 'br-guest [$(ports br-guest)]' ports_are br-guest d0
	python3 "$PEER" call "$T/ubus.sock" apwatch status >"$T/ubus-status.json" 2>&1
	"$BIN" -c "$CFG" status --json >"$T/status.json"
	check status-same-aps 'ubus: $(tr -d "\n\t" <"$T/ubus-status.json"); cli: $(cat "$T/status.json")' python3 -c '
import json, sys
u, c = (json.load(open(f)) for f in sys.argv[1:])
assert u["aps"] == c["aps"] and len(u["aps"]) == 1 and u["aps"][0]["ifname"] == "d0", (u, c)' "$T/ubus-status.json" "$T/status.json"
	wifi "d0 AP $(hex lan)"
	kick d0
	expect moved 'br-lan [$(ports br-lan)]' ports_are br-lan d0
	wifi "d0 AP -"
	kick d0
	expect left 'd0 in [$(master_of d0)]' no_master d0
	events_are() { python3 - "$T/events.jsonl" <<'EOF'
import json, sys
evs = [json.loads(l)["apwatch.ap"] for l in open(sys.argv[1])]
acts = [e.get("action") for e in evs]
for want in ("up", "moved", "down"):
    if want not in acts:
        sys.exit(f"no {want} event in {acts}")
# every event names the AP fully (issue 14: ifname, phy, ssid, ssid_hex, rule, network, bridge);
# a down event names the SSID, rule, network and bridge the AP had
need = ("ifname", "phy", "ssid", "ssid_hex", "rule", "network", "bridge")
for e in evs:
    missing = [k for k in need if not e.get(k)]
    if missing or e["ifname"] != "d0":
        sys.exit(f"{e.get('action')} event lacks {missing}: {e}")
    if bytes.fromhex(e["ssid_hex"]).decode(errors="replace") != e["ssid"]:
        sys.exit(f"ssid and ssid_hex disagree: {e}")
want = {"up": ("guest", "guest", "br-guest", "guest"), "moved": ("lan", "lan", "br-lan", "lan"),
        "down": ("lan", "lan", "br-lan", "lan")}
for act, w in want.items():
    e = next(e for e in evs if e["action"] == act)
    if (e.get("rule"), e.get("network"), e.get("bridge"), e.get("ssid")) != w:
        sys.exit(f"{act} event: {e}, want rule/network/bridge/ssid {w}")
EOF
	}
	expect events 'events: $(cat "$T/events.jsonl" | tr "\n" " "); $(events_are 2>&1)' eval 'events_are 2>/dev/null'
	python3 "$PEER" call "$T/ubus.sock" apwatch reload >/dev/null 2>&1
	expect reload 'no "configuration reloaded" line after ubus call apwatch reload' log_has 'configuration reloaded'
	kill "$lpid" 2>/dev/null
	stop_agent
	check exit-0 'SIGTERM: exit code $AGENT_RC' test "$AGENT_RC" = 0
}

# k) hostile SSIDs: nothing but rule and netdev names reaches netifd; events are escaped
c_hostile() {
	local H=(
		"$(hex "q\"uo'te\`id\`")"
		"$(hex $'new\ninfo: injected line')"
		"$(hex 'a;reboot;b')"
		"$(hex '$(reboot)')"
		"$(hex '%s%n%x%p')"
		"6e756c00627974650a"
		"$(printf 'ff%.0s' {1..32})"
		"$(hex '../../etc/passwd')"
	)
	local n=${#H[@]} i lines=() nets=""
	for i in $(seq 1 "$n"); do nets+="${nets:+, }\"h$i\": {\"device\": \"br-h$i\"}"; done
	peer_start "{\"networks\": {$nets}}"
	{
		main_section
		for i in $(seq 1 "$n"); do rule "h$i" "hex:${H[i - 1]}" "h$i" dhcp_range "10.0.$i.10,10.0.$i.20"; done
	} >"$CFG"
	for i in $(seq 1 "$n"); do
		mkap "d$i"
		lines+=("d$i AP ${H[i - 1]}")
	done
	python3 "$PEER" listen "$T/ubus.sock" --ready "$T/listening" apwatch.ap >"$T/events.jsonl" 2>/dev/null &
	wait_until test -e "$T/listening"
	wifi "${lines[@]}"
	start_agent || bad start 'no started line: $(tail -3 "$LOG")'
	all_in() { for i in $(seq 1 "$n"); do in_bridge "d$i" "br-h$i" || return 1; done; }
	none_in() { for i in $(seq 1 "$n"); do no_master "d$i" || return 1; done; }
	memberships() { for i in $(seq 1 "$n"); do printf 'd%s:%s ' "$i" "$(master_of "d$i")"; done; }
	expect all-joined 'memberships: $(memberships)' all_in
	lines=()
	for i in $(seq 1 "$n"); do lines+=("d$i AP -"); done
	wifi "${lines[@]}"
	for i in $(seq 1 "$n"); do kick "d$i"; done
	expect all-left 'memberships: $(memberships)' none_in
	stop_agent
	local out
	out=$(python3 "$PEER" absent "$T/peer.jsonl" "${H[@]}" --from apwatch)
	check requests-clean '$out' python3 "$PEER" absent "$T/peer.jsonl" "${H[@]}" --from apwatch
	local shape='network\.interface\.h[0-9]+ (add_device \{"name":"d[0-9]+","link-ext":true\}|remove_device \{"name":"d[0-9]+"\}|status \{\}) -> [A-Z_]+'
	check request-shape 'unexpected requests: $(calls | grep -vxE -- "$shape" | head -3)' not eval 'calls | grep -vqxE -- "$shape"'
	check add-calls '$(count_calls add_device) add_device calls, want $n' test "$(count_calls add_device)" = "$n"
	check remove-before-each-add '$(count_calls "remove_device") remove_device calls, want ≥ $((2 * n))' count_calls_ge remove_device $((2 * n))
	check events-escaped 'events: $(head -c 600 "$T/events.jsonl")' python3 - "$T/events.jsonl" "${H[@]}" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
assert all(0x20 <= b < 0x7f or b == 0x0a for b in raw), "raw bytes in the events"
evs = [json.loads(l)["apwatch.ap"] for l in raw.decode().splitlines()]
seen = {e["ssid_hex"] for e in evs if e["action"] == "up"}
assert seen == set(sys.argv[2:]), f"up events for {sorted(seen)}"
for e in evs:
    assert all(0x20 <= ord(c) < 0x7f for c in e["ssid"]), e
EOF
	check log-lines '$(python3 "$HERE/lib/scan.py" log "$LOG")' python3 "$HERE/lib/scan.py" log "$LOG"
	check no-injected-line 'a log line starts with the injected text' not grep -aq '^info: injected' "$LOG"
}

stop_peer() {
	[ -n "$PEER_PID" ] || return 0
	peer quit >/dev/null 2>&1
	wait_until not kill -0 "$PEER_PID" 2>/dev/null || kill -9 "$PEER_PID" 2>/dev/null
	wait "$PEER_PID" 2>/dev/null
	PEER_PID=""
}

# ---------------------------------------------------------------------------------------
# inside the namespaces: one case

in_namespace() {
	CASE=$1 T=$2
	ip link set lo up || {
		bad setup "ip link set lo up failed"
		exit 1
	}
	mount -t sysfs sysfs /sys || {
		bad setup "cannot mount sysfs in the new mount namespace"
		exit 1
	}
	setup_dir
	"c_$CASE"
	stop_agent
	if [ -s "$T/peer.stderr" ] || grep -q '"kind": "bug"' "$T/peer.jsonl" 2>/dev/null; then
		bad peer-healthy "the peer failed: $(tail -3 "$T/peer.stderr" 2>/dev/null | tr '\n' ' ') $(grep '"kind": "bug"' "$T/peer.jsonl" | head -1)"
	fi
	stop_peer
	if [ "$FAILS" -gt 0 ]; then
		echo "# $CASE: agent log (last lines):"
		tail_log 25
	fi
	[ "$FAILS" = 0 ]
}

if [ "${1:-}" = --in-namespace ]; then
	in_namespace "$2" "$3"
	exit
fi

# ---------------------------------------------------------------------------------------
# outside: one namespace per case, the tally

START=$SECONDS
passed=0 failed=0
harness_fail() {
	echo "not ok - $1: $2"
	failed=$((failed + 1))
}
finish() {
	echo "# run time $((SECONDS - START)) s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}
selected=()
for a in "$@"; do
	if [[ " ${CASES[*]} " == *" $a "* ]]; then
		selected+=("$a")
	else
		echo "ubus.sh: unknown case '$a' (cases: ${CASES[*]})" >&2
		exit 2
	fi
done
[ ${#selected[@]} -gt 0 ] || selected=("${CASES[@]}")
if [ "$(id -u)" != 0 ]; then
	harness_fail prerequisites "must run as root (namespaces, bridges)"
	finish
fi
for p in unshare ip python3 timeout od mount; do
	command -v "$p" >/dev/null || harness_fail prerequisites "$p is missing"
done
[ -x "$BIN" ] || harness_fail prerequisites "no apwatch binary at $BIN (cargo build -p apwatch, or set APWATCH_BIN)"
[ "$failed" = 0 ] || finish
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
export APWATCH_BIN=$BIN

if [ -n "${APWATCH_UBUS_WORK:-}" ]; then # tests/netns/run's ubus test: inside its temp dir
	WORK=$APWATCH_UBUS_WORK
	mkdir -p "$WORK"
else
	WORK=$(mktemp -d /tmp/apwatch-ubus.XXXXXX)
fi
chmod 755 "$WORK"
if [ "${APWATCH_NETNS_KEEP:-0}" = 1 ] || [ -n "${APWATCH_UBUS_WORK:-}" ]; then
	echo "# temp dirs kept in $WORK"
else
	trap 'rm -rf "$WORK"' EXIT
fi
for c in "${selected[@]}"; do
	dir=$WORK/$c
	mkdir -p "$dir"
	t0=$SECONDS
	timeout -k 5 90 unshare --net --mount --pid --fork --mount-proc \
		"$HERE/ubus.sh" --in-namespace "$c" "$dir" </dev/null 2>"$dir/stderr" | tee "$dir/out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok - ' "$dir/out")
	f=$(grep -c '^not ok - ' "$dir/out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		harness_fail "$c" "timed out after 90 s"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		harness_fail "$c" "the case exited $rc without a failed check: $(tail -3 "$dir/stderr" | tr '\n' ' ')"
	elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
		harness_fail "$c" "no check ran: $(tail -3 "$dir/stderr" | tr '\n' ' ')"
	fi
	if [ -s "$dir/stderr" ]; then
		sed 's/^/# stderr: /' "$dir/stderr" | tail -5
	fi
	echo "# $c: $((SECONDS - t0)) s"
done
finish
