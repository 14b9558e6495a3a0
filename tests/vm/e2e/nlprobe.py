#!/usr/bin/python3
"""nlprobe.py SECONDS [RCVBUF]: harness self-test only. Until SECONDS pass or SIGTERM, listens to rtnl link and nl80211 "config" +
"mlme" multicasts with SO_RCVBUF=RCVBUF (default 1024) for SECONDS, reading as fast as it can, and
prints per socket how many messages arrived and how many recv() calls failed with ENOBUFS. Shows
whether the e2e storm overflows a tiny buffer at all (what APWATCH_TEST_RCVBUF relies on)."""
import errno, select, signal, socket, struct, sys, time

NETLINK_ADD_MEMBERSHIP, SOL_NETLINK, NETLINK_GENERIC = 1, 270, 16


def attrs(buf):
    while len(buf) >= 4:
        ln, ty = struct.unpack_from("=HH", buf)
        if ln < 4:
            break
        yield ty & 0x3FFF, buf[4:ln]
        buf = buf[(ln + 3) & ~3:]


def nl80211_groups():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    name = b"nl80211\0"
    at = struct.pack("=HH", 4 + len(name), 2) + name + b"\0" * (-len(name) % 4)
    msg = struct.pack("=BBH", 3, 1, 0) + at                     # CTRL_CMD_GETFAMILY, version 1
    s.send(struct.pack("=IHHII", 16 + len(msg), 0x10, 1, 1, 0) + msg)   # GENL_ID_CTRL, NLM_F_REQUEST
    data = s.recv(65536)
    groups = {}
    for ty, val in attrs(data[20:]):
        if ty == 7:                                              # CTRL_ATTR_MCAST_GROUPS
            for _, grp in attrs(val):
                g = dict(attrs(grp))
                groups[g[1].rstrip(b"\0").decode()] = struct.unpack("=I", g[2])[0]
    s.close()
    return groups


def main():
    secs, rcvbuf = float(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    rt = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    rt.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    rt.bind((0, 1))                                              # RTMGRP_LINK
    ge = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    ge.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    ge.bind((0, 0))
    for g in ("config", "mlme"):
        ge.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, nl80211_groups()[g])
    stats = {rt: ["rtnl link", 0, 0], ge: ["nl80211 config+mlme", 0, 0]}
    end = time.time() + secs
    signal.signal(signal.SIGTERM, lambda *a: globals().update(end_now=True))
    print(f"nlprobe: listening (SO_RCVBUF {rcvbuf} -> {rt.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)})", flush=True)
    while time.time() < end and not globals().get("end_now"):
        r, _, _ = select.select(list(stats), [], [], 0.2)
        for s in r:
            try:
                s.recv(65536)
                stats[s][1] += 1
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                stats[s][2] += 1
    for name, n, nobufs in stats.values():
        print(f"nlprobe: {name}: {n} messages, {nobufs} ENOBUFS")


main()
