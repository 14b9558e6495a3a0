#!/bin/bash
# Records hostapd's control interface in the VM, for core/src/hostapd.rs and tests/data/hostapd/:
#   tests/vm/vm-run --radios 3 --timeout 900 -- tests/vm/e2e/record-hostapd.sh OUTDIR
# STATUS / GET_CONFIG / PING / ATTACH replies (one BSS, two BSSes on one radio, DISABLED, an SSID
# with bytes hostapd escapes), the unsolicited events an ATTACHed client gets for each way of
# changing the SSID foo -> bar, and what STATUS, GET_INTERFACE (`iw dev wlan0 info`) and the
# beacon on the air (tcpdump on hwsim0) say afterwards; what a client sees when hostapd is killed
# or its socket removed. Prints one "WAY ..." line per way (the README table is made from them).
set -uo pipefail
out=${1:?usage: record-hostapd.sh OUTDIR}
mkdir -p "$out"; out=$(cd "$out" && pwd)
rm -f "$out"/events-*.jsonl "$out"/event-*.bin   # the monitors append
PY=/usr/bin/python3                      # not a pyenv shim: the guest has no $HOME setup for it
T=/tmp/rec; mkdir -p "$T" /run/hostapd
CTRL=/run/hostapd

# The ctrl client: `cmd CTRL CMD OUT` sends CMD and stores the reply's bytes exactly;
# `mon CTRL OUT` ATTACHes and appends every datagram (time, bytes as hex) until SIGTERM;
# `probe CTRL` says what connect + PING give (errno names), for the vanished-hostapd cases.
cat > "$T/ctrl.py" <<'EOF'
import errno, json, os, signal, socket, sys, time
def sock(ctrl, tag):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    local = "/tmp/rec/c-%s-%d" % (tag, os.getpid())
    try: os.unlink(local)
    except FileNotFoundError: pass
    s.bind(local)
    return s, local
def ename(e): return errno.errorcode.get(e.errno, str(e.errno))
mode, ctrl = sys.argv[1], sys.argv[2]
if mode == "cmd":
    s, local = sock(ctrl, "cmd")
    s.connect(ctrl); s.settimeout(5)
    s.send(sys.argv[3].encode())
    d = s.recv(65536)
    open(sys.argv[4], "wb").write(d)
    os.unlink(local)
elif mode == "mon":
    s, local = sock(ctrl, "mon")
    s.connect(ctrl)
    f = open(sys.argv[3], "a")
    def rec(kind, d=b"", err=None):
        f.write(json.dumps({"t": time.time(), "kind": kind, "hex": d.hex(), "err": err}) + "\n"); f.flush()
    def stop(*_):
        rec("stop"); os.unlink(local); sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    s.send(b"ATTACH")
    rec("attach-reply", s.recv(65536))
    while True:
        try:
            d = s.recv(65536)
        except OSError as e:
            rec("recv-error", err=ename(e)); time.sleep(0.2); continue
        rec("datagram", d)
elif mode == "probe":
    s, local = sock(ctrl, "probe")
    r = []
    try:
        s.connect(ctrl); r.append("connect ok")
        s.send(b"PING"); s.settimeout(2); r.append("reply " + repr(s.recv(4096)))
    except socket.timeout: r.append("timeout")
    except OSError as e: r.append(ename(e))
    print(" ".join(r)); os.unlink(local)
EOF

note() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*"; }
ctl() { "$PY" "$T/ctrl.py" cmd "$CTRL/$1" "$2" "$3"; }
declare -A MON=()
mon_start() {  # returns once ATTACH was answered (python starts slowly over 9p under TCG)
  "$PY" "$T/ctrl.py" mon "$CTRL/$1" "$2" & MON[$1]=$!
  for _ in $(seq 200); do grep -q attach-reply "$2" 2>/dev/null && return 0; sleep 0.05; done
  note "monitor on $1 did not attach"
}
mon_stop() { local p=${MON[$1]:-}; [[ $p ]] || return 0; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; unset "MON[$1]"; }
# events FILE: the event datagrams of a monitor file, as text, ' | '-separated
events() {
  "$PY" - "$1" <<'EOF'
import json, sys
ev = []
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["kind"] == "datagram": ev.append(bytes.fromhex(j["hex"]).decode("latin1").rstrip())
    elif j["kind"] == "recv-error": ev.append("recv " + j["err"])
print(" | ".join(ev) if ev else "(none)")
EOF
}
status_ssid() { ctl "$1" STATUS "$T/st"; sed -n "s/^ssid\[${2:-0}\]=//p" "$T/st"; }
iw_ssid() { iw dev "$1" info | sed -n 's/^[[:space:]]*ssid //p'; }
# beacon_ssid IF: the SSID in the next beacons of IF's MAC, from hwsim0 (every frame of every radio)
beacon_ssid() {
  local mac; mac=$(cat "/sys/class/net/$1/address")
  timeout 5 tcpdump -i hwsim0 -c 3 -nn -e "wlan type mgt subtype beacon and wlan addr2 $mac" 2>/dev/null \
    | sed -n 's/.*Beacon (\([^)]*\)).*/\1/p' | sort -u | paste -sd, -
}
sockets() { find "$CTRL" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | paste -sd' '; }
declare -A HPID=()
hap_start() {  # hap_start NAME IFACE CONFIG-LINES...
  local name=$1 ifc=$2; shift 2
  printf '%s\n' "interface=$ifc" driver=nl80211 hw_mode=g channel=1 "ctrl_interface=$CTRL" "$@" > "$T/$name.conf"
  rm -f "$T/$name.pid"
  hostapd -B -t -P "$T/$name.pid" -f "$T/hostapd.log" "$T/$name.conf" || { note "hostapd $name failed"; return 1; }
  for _ in $(seq 100); do HPID[$name]=$(cat "$T/$name.pid" 2>/dev/null) && [[ ${HPID[$name]} ]] && break; sleep 0.02; done
  for _ in $(seq 100); do [[ -S $CTRL/$ifc ]] && break; sleep 0.05; done
  [[ -S $CTRL/$ifc ]] || note "hostapd $name: no socket $CTRL/$ifc ($(sockets))"
  sleep 0.5
}
hap_stop() {  # hap_stop NAME [SIGNAL]
  local p=${HPID[$1]:-}; [[ $p ]] || return 0
  kill "-${2:-TERM}" "$p" 2>/dev/null
  for _ in $(seq 200); do [[ -e /proc/$p && $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) != Z ]] || break; sleep 0.02; done
  unset "HPID[$1]"
}
way() {  # way NAME EVENTS-FILE: the table row, also kept in $out/ways.tsv
  local st iw bc
  st=$(status_ssid wlan0) iw=$(iw_ssid wlan0) bc=$(beacon_ssid wlan0)
  printf 'WAY %s\tevents: %s\tSTATUS ssid: %s\tGET_INTERFACE ssid: %s\tbeacon: %s\n' "$1" "$(events "$2")" "${st:-(none)}" "${iw:-(none)}" "${bc:-(none)}" \
    | tee -a "$out/ways.tsv"
}

ip link set hwsim0 up
iw event -t -f > "$out/iw-event.log" 2>&1 & iwev=$!
note "hostapd: $(hostapd -v 2>&1 | head -1), kernel $(uname -r)"
: > "$out/ways.tsv"

# 1. one BSS: the plain replies
hap_start one wlan0 ssid=foo
ctl wlan0 STATUS "$out/status-one-bss.txt"
ctl wlan0 GET_CONFIG "$out/get-config.txt"
ctl wlan0 PING "$out/ping-reply.txt"
ctl wlan0 NO_SUCH_COMMAND "$out/unknown-command-reply.txt"
ctl wlan0 DETACH "$out/detach-unattached-reply.txt"

# 2. way (b): disable / set ssid bar / enable (STATUS while disabled recorded in between)
mon_start wlan0 "$out/events-disable-enable.jsonl"
ctl wlan0 DISABLE "$out/disable-reply.txt"; sleep 1
ctl wlan0 STATUS "$out/status-disabled.txt"
ctl wlan0 "SET ssid bar" "$out/set-reply.txt"
ctl wlan0 ENABLE "$out/enable-reply.txt"; sleep 2
mon_stop wlan0
way "disable/set/enable" "$out/events-disable-enable.jsonl"
hap_stop one

# 3. way (c): set ssid bar, then reload; STATUS and the air between the two as well
hap_start one wlan0 ssid=foo
mon_start wlan0 "$out/events-set-reload.jsonl"
ctl wlan0 "SET ssid bar" "$T/r"; sleep 1
way "set ssid bar (nothing else yet)" "$out/events-set-reload.jsonl"
ctl wlan0 STATUS "$out/status-after-set-before-reload.txt"
ctl wlan0 RELOAD "$out/reload-reply.txt"; sleep 2
mon_stop wlan0
way "set ssid bar + reload" "$out/events-set-reload.jsonl"
ctl wlan0 STATUS "$out/status-after-reload.txt"
hap_stop one

# 4. way (d): set ssid bar, then update_beacon
hap_start one wlan0 ssid=foo
mon_start wlan0 "$out/events-set-update-beacon.jsonl"
ctl wlan0 "SET ssid bar" "$T/r"
ctl wlan0 UPDATE_BEACON "$out/update-beacon-reply.txt"; sleep 2
mon_stop wlan0
way "set ssid bar + update_beacon" "$out/events-set-update-beacon.jsonl"
hap_stop one

# 5. way (a): SIGTERM, a new hostapd "bar"; the attached client of the old one
hap_start one wlan0 ssid=foo
mon_start wlan0 "$out/events-kill-restart.jsonl"
hap_stop one TERM; sleep 0.5
note "after SIGTERM: socket file $( [[ -e $CTRL/wlan0 ]] && echo present || echo gone); probe: $("$PY" "$T/ctrl.py" probe "$CTRL/wlan0")" \
  | tee "$out/probe-after-sigterm.txt"
hap_start two wlan0 ssid=bar; sleep 1
mon_stop wlan0
way "SIGTERM + new hostapd bar" "$out/events-kill-restart.jsonl"
ctl wlan0 STATUS "$out/status-restarted-bar.txt"
# ... and SIGKILL: hostapd cannot say goodbye nor remove its socket
mon_start wlan0 "$out/events-sigkill.jsonl"
hap_stop two KILL; sleep 0.5
note "after SIGKILL: socket file $( [[ -e $CTRL/wlan0 ]] && echo present || echo gone); probe: $("$PY" "$T/ctrl.py" probe "$CTRL/wlan0")" \
  | tee "$out/probe-after-sigkill.txt"
rm -f "$CTRL/wlan0"
note "socket file removed: probe: $("$PY" "$T/ctrl.py" probe "$CTRL/wlan0")" | tee "$out/probe-after-rm.txt"
mon_stop wlan0
note "SIGKILL: the attached client got: $(events "$out/events-sigkill.jsonl")"
ip link set wlan0 down

# 6. two BSSes on one radio (bss= lines). hostapd 2.10 gives a BSS a socket only when its own
#    section names ctrl_interface (the first section's is not inherited): first without, then with.
hap_start multi wlan0 ssid=foo bss=wlan0_1 ssid=foo2
note "two BSSes, ctrl_interface in the first section only: sockets $(sockets)" | tee "$out/two-bss-sockets.txt"
ctl wlan0 STATUS "$out/status-two-bss.txt"
hap_stop multi
hap_start multi wlan0 ssid=foo bss=wlan0_1 "ctrl_interface=$CTRL" ssid=foo2
note "two BSSes, ctrl_interface in both sections: sockets $(sockets)" | tee -a "$out/two-bss-sockets.txt"
ctl wlan0_1 STATUS "$out/status-two-bss-via-wlan0_1.txt"
ctl wlan0_1 GET_CONFIG "$out/get-config-wlan0_1.txt"
mon_start wlan0 "$out/events-two-bss-wlan0.jsonl"
mon_start wlan0_1 "$out/events-two-bss-wlan0_1.jsonl"
ctl wlan0 DISABLE "$T/r"; sleep 1
ctl wlan0 STATUS "$out/status-two-bss-disabled.txt"
ctl wlan0 ENABLE "$T/r"; sleep 2
ctl wlan0_1 "SET ssid bar2" "$T/r"; ctl wlan0_1 RELOAD "$T/r"; sleep 1
ctl wlan0 STATUS "$out/status-two-bss-after-reload-wlan0_1.txt"
note "two BSSes, wlan0_1 set ssid bar2 + reload: iw wlan0_1 ssid $(iw_ssid wlan0_1), beacon $(beacon_ssid wlan0_1)" | tee "$out/two-bss-reload.txt"
hap_stop multi
mon_stop wlan0; mon_stop wlan0_1
note "two BSSes, events on wlan0 (disable, enable, reload of wlan0_1, SIGTERM): $(events "$out/events-two-bss-wlan0.jsonl")"
note "two BSSes, events on wlan0_1 (same): $(events "$out/events-two-bss-wlan0_1.jsonl")"

# 7. SSIDs hostapd escapes: f ff o 80 " \ LF ESC SP t, and 32 x 0xff
hap_start esc wlan0 ssid2=66ff6f80225c0a1b2074
ctl wlan0 STATUS "$out/status-escaped-ssid.txt"
ctl wlan0 GET_CONFIG "$out/get-config-escaped-ssid.txt"
note "escaped SSID: iw says $(iw_ssid wlan0)"
hap_stop esc
hap_start esc32 wlan0 "ssid2=$(printf 'ff%.0s' $(seq 32))"
ctl wlan0 STATUS "$out/status-ssid-32xff.txt"
hap_stop esc32

# 8. a station: AP-STA-CONNECTED / DISCONNECTED
hap_start sta wlan0 ssid=foo
mon_start wlan0 "$out/events-station.jsonl"
ip netns add sta && iw phy phy1 set netns name sta
printf 'ctrl_interface=/run/wpa_supplicant\nautoscan=periodic:1\nfreq_list=2412\nnetwork={\n ssid="foo"\n key_mgmt=NONE\n scan_freq=2412\n}\n' > "$T/sta.conf"
ip netns exec sta wpa_supplicant -B -i wlan1 -c "$T/sta.conf" -P "$T/wpas.pid" >/dev/null
for _ in $(seq 200); do ip netns exec sta iw dev wlan1 link | grep -q 'SSID: foo' && break; sleep 0.1; done
sleep 1
ctl wlan0 STATUS "$out/status-one-station.txt"
kill "$(cat "$T/wpas.pid")"; sleep 2
mon_stop wlan0
note "station: $(events "$out/events-station.jsonl")"
hap_stop sta

kill "$iwev" 2>/dev/null
cp "$T/hostapd.log" "$out/hostapd.log"
# each distinct event datagram once, byte for byte: event-<name>.bin (for core's tests)
"$PY" - "$out" <<'EOF'
import glob, json, os, sys
seen = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "events-*.jsonl"))):
    for l in open(f):
        j = json.loads(l)
        if j["kind"] == "datagram":
            d = bytes.fromhex(j["hex"])
            name = d.split(b">", 1)[-1].split(b" ", 1)[0].decode("ascii", "replace").lower()
            seen.setdefault(name, d)
for name, d in seen.items():
    open(os.path.join(sys.argv[1], "event-%s.bin" % name), "wb").write(d)
EOF
note "done: $(find "$out" -maxdepth 1 -type f | wc -l) files in $out"
