#!/usr/bin/env python3
"""Talks rtnetlink to the kernel about bridge port VLANs and records what it answers.
Stdlib only; run as root inside the namespace whose links it names.

  brvlan_rec.py dump PREFIX {bridge|bridge-compressed|links}
      RTM_GETLINK dump: AF_BRIDGE with IFLA_EXT_MASK = RTEXT_FILTER_BRVLAN (what
      `bridge -j vlan show` asks) or RTEXT_FILTER_BRVLAN_COMPRESSED (`bridge -c`), or AF_UNSPEC
      (every link with its IFLA_LINKINFO). Writes PREFIX-req.bin and PREFIX-NNN.bin, one per reply
      message (the NLM_F_MULTI parts, then NLMSG_DONE).
  brvlan_rec.py add PREFIX IFNAME VID [pvid] [untagged]
  brvlan_rec.py del PREFIX IFNAME VID[-LAST]
      RTM_SETLINK / RTM_DELLINK, family AF_BRIDGE, IFLA_AF_SPEC { IFLA_BRIDGE_VLAN_INFO... }:
      what `bridge vlan add|del` sends, with NLM_F_ACK. Writes PREFIX-req.bin, PREFIX-ack.bin
      and PREFIX-event-NNN.bin: the RTNLGRP_LINK notifications the change caused.
  brvlan_rec.py send HEX [PREFIX]
      Sends one request given as hex (e.g. from `cargo run -p apwatch-core --example brvlan`)
      and prints the errno of the kernel's answer (0 = ACK; a dump's NLMSG_DONE counts as 0);
      exits 0 only then. With PREFIX, writes the replies to PREFIX-NNN.bin.

The requests are laid out exactly as apwatch-core's encoders lay them out (seq 1, nested
attributes with NLA_F_NESTED), so core's tests can compare byte for byte. Host byte order.
"""
import os, select, socket, struct, sys

NETLINK_ROUTE, RTNLGRP_LINK = 0, 1
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
NLMSG_ERROR, NLMSG_DONE = 2, 3
F_REQUEST, F_ACK, F_DUMP, NLA_F_NESTED = 0x1, 0x4, 0x300, 0x8000
AF_UNSPEC, AF_BRIDGE = 0, 7
IFLA_AF_SPEC, IFLA_EXT_MASK, IFLA_BRIDGE_VLAN_INFO = 26, 29, 2
RTEXT_FILTER_BRVLAN, RTEXT_FILTER_BRVLAN_COMPRESSED = 2, 4
PVID, UNTAGGED, RANGE_BEGIN, RANGE_END = 2, 4, 8, 16
SEQ = 1


def attr(kind, value):
    n = 4 + len(value)
    return struct.pack("=HH", n, kind) + value + bytes((-n) % 4)


def message(kind, flags, body):
    return struct.pack("=IHHII", 16 + len(body), kind, flags, SEQ, 0) + body


def ifinfo(family, index):
    return struct.pack("=BBHiII", family, 0, 0, index, 0, 0)


def dump_request(what):
    if what == "links":
        return message(RTM_GETLINK, F_REQUEST | F_DUMP, ifinfo(AF_UNSPEC, 0))
    mask = RTEXT_FILTER_BRVLAN_COMPRESSED if what == "bridge-compressed" else RTEXT_FILTER_BRVLAN
    return message(RTM_GETLINK, F_REQUEST | F_DUMP, ifinfo(AF_BRIDGE, 0) + attr(IFLA_EXT_MASK, struct.pack("=I", mask)))


def vlan_request(kind, index, infos):
    spec = b"".join(attr(IFLA_BRIDGE_VLAN_INFO, struct.pack("=HH", fl, vid)) for fl, vid in infos)
    return message(kind, F_REQUEST | F_ACK, ifinfo(AF_BRIDGE, index) + attr(IFLA_AF_SPEC | NLA_F_NESTED, spec))


def split(buf):
    out = []
    while len(buf) >= 16:
        n = struct.unpack("=I", buf[:4])[0]
        if n < 16 or n > len(buf):
            break
        out.append(buf[:n])
        buf = buf[(n + 3) & ~3:]
    return out


def sock(groups=0):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((0, groups))
    return s


def talk(s, req):
    """Sends req; returns the reply messages up to NLMSG_DONE or the NLMSG_ERROR (ACK)."""
    s.send(req)
    out = []
    while True:
        for m in split(s.recv(1 << 20)):
            kind, seq = struct.unpack("=H", m[4:6])[0], struct.unpack("=I", m[8:12])[0]
            if seq != SEQ:
                continue
            out.append(m)
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                return out


def errno_of(m):
    if struct.unpack("=H", m[4:6])[0] != NLMSG_ERROR:
        return None
    return -struct.unpack("=i", m[16:20])[0]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def cmd_dump(prefix, what):
    req = dump_request(what)
    write(f"{prefix}-req.bin", req)
    replies = talk(sock(), req)
    for i, m in enumerate(replies, 1):
        write(f"{prefix}-{i:03d}.bin", m)
    print(f"{prefix}: {len(replies)} messages")


def cmd_vlan(prefix, op, ifname, vid, opts):
    index = socket.if_nametoindex(ifname)
    if op == "add":
        fl = (PVID if "pvid" in opts else 0) | (UNTAGGED if "untagged" in opts else 0)
        req = vlan_request(RTM_SETLINK, index, [(fl, int(vid))])
    else:
        first, _, last = vid.partition("-")
        infos = [(RANGE_BEGIN, int(first)), (RANGE_END, int(last))] if last else [(0, int(first))]
        req = vlan_request(RTM_DELLINK, index, infos)
    ev = sock(1 << (RTNLGRP_LINK - 1))
    write(f"{prefix}-req.bin", req)
    ack = talk(sock(), req)[-1]
    write(f"{prefix}-ack.bin", ack)
    n = 0
    while select.select([ev], [], [], 0.3)[0]:
        for m in split(ev.recv(1 << 20)):
            n += 1
            write(f"{prefix}-event-{n:03d}.bin", m)
    print(f"{prefix}: errno {errno_of(ack)}, {n} events")


def cmd_send(hexreq, prefix=None):
    req = bytes.fromhex(hexreq)
    # the encoder's seq may be anything: answer by whatever seq it carries
    global SEQ
    SEQ = struct.unpack("=I", req[8:12])[0]
    replies = talk(sock(), req)
    for i, m in enumerate(replies, 1):
        if prefix:
            write(f"{prefix}-{i:03d}.bin", m)
    last = replies[-1]
    e = 0 if struct.unpack("=H", last[4:6])[0] == NLMSG_DONE else errno_of(last)
    print(f"errno {e}")
    sys.exit(0 if e == 0 else 1)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["dump"] and len(a) == 3 and a[2] in ("bridge", "bridge-compressed", "links"):
        cmd_dump(a[1], a[2])
    elif a[:1] in (["add"], ["del"]) and len(a) >= 4:
        cmd_vlan(a[1], a[0], a[2], a[3], a[4:])
    elif a[:1] == ["send"] and len(a) in (2, 3):
        cmd_send(*a[1:])
    else:
        sys.exit(__doc__)
