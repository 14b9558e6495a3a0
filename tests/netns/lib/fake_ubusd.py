#!/usr/bin/env python3
"""A ubusd + netifd stand-in for the netns tests (stdlib only), and a small ubus client.

Owns its own blob/blobmsg and ubus codec, written from the format as tests/data/ubus/README.md
describes it and checked byte for byte against the recorded traffic there (`selftest`).

  fake_ubusd.py serve --socket SOCK --config NETS.json --log LOG.jsonl [--control CTL]
        ubusd (HELLO, LOOKUP, INVOKE, ADD_OBJECT/REMOVE_OBJECT, events, forwarding to client
        objects) with netifd's network objects built in, acting on REAL bridges of the
        network namespace it runs in (`ip link`, /sys/class/net). Every message in and out is
        one JSON line in LOG; netifd's own actions are lines of kind "netifd".
  fake_ubusd.py ctl CTL COMMAND...      a command to a running server (see Server.control)
  fake_ubusd.py call SOCK PATH METHOD [JSON]   like `ubus call`: the reply as JSON
  fake_ubusd.py listen SOCK PATTERN...  like `ubus listen`: one JSON line per event
  fake_ubusd.py send SOCK NAME [JSON]   like `ubus send`
  fake_ubusd.py calls LOG [--from NAME]       the INVOKEs a client sent, one line each:
        "PATH METHOD ARGS_JSON -> STATUS"
  fake_ubusd.py absent LOG HEX... [--from NAME]   no byte string HEX in any message that
        client sent to netifd's objects (raw bytes, from the log's hex); exit 1 otherwise
  fake_ubusd.py selftest [DIR]          codec against the recordings, then a live server
        (networks without bridges, so no root needed) driven by this file's own client

NETS.json: {"networks": {"guest": {"device": "br-guest"}, "plain": {"device": "eth9",
"type": "plain"}, "nodev": {"device": null}, "late": {"device": "br-late", "hidden": true},
"lan": {"device": "br-lan", "members": ["d0"]}}, "stale": false}. A bridge device (the
default type) is created by the server if missing and owned: deleted and re-created on
`restart`. `members`: pre-seeded netifd members (as if add_device had been called, no kernel
change). `hidden`: the network's object is not on the bus until `show NET`.
"""
import grp
import json
import os
import pwd
import random
import re
import selectors
import socket
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------------------------------
# blob / blobmsg

BLOB_EXT = 0x80000000
BLOB_LEN_MASK = 0x00FFFFFF

# blobmsg types
UNSPEC, ARRAY, TABLE, STRING, INT64, INT32, INT16, INT8, DOUBLE = range(9)
TYPE_NAMES = {UNSPEC: "unspec", ARRAY: "array", TABLE: "table", STRING: "string", INT64: "int64",
              INT32: "int32", INT16: "int16", INT8: "int8", DOUBLE: "double"}

# ubus message types
HELLO, STATUS_MSG, DATA_MSG, PING, LOOKUP, INVOKE, ADD_OBJECT, REMOVE_OBJECT, SUBSCRIBE, \
    UNSUBSCRIBE, NOTIFY, MONITOR = range(12)
MSG_NAMES = ["HELLO", "STATUS", "DATA", "PING", "LOOKUP", "INVOKE", "ADD_OBJECT", "REMOVE_OBJECT",
             "SUBSCRIBE", "UNSUBSCRIBE", "NOTIFY", "MONITOR"]

# UBUS_ATTR_*
A_STATUS, A_OBJPATH, A_OBJID, A_METHOD, A_OBJTYPE, A_SIGNATURE, A_DATA, A_TARGET, A_ACTIVE, \
    A_NO_REPLY, A_SUBSCRIBERS, A_USER, A_GROUP = range(1, 14)
ATTR_NAMES = {A_STATUS: "STATUS", A_OBJPATH: "OBJPATH", A_OBJID: "OBJID", A_METHOD: "METHOD",
              A_OBJTYPE: "OBJTYPE", A_SIGNATURE: "SIGNATURE", A_DATA: "DATA", A_TARGET: "TARGET",
              A_ACTIVE: "ACTIVE", A_NO_REPLY: "NO_REPLY", A_SUBSCRIBERS: "SUBSCRIBERS",
              A_USER: "USER", A_GROUP: "GROUP"}
INT32_ATTRS = (A_STATUS, A_OBJID, A_OBJTYPE, A_TARGET)
STRING_ATTRS = (A_OBJPATH, A_METHOD, A_USER, A_GROUP)
INT8_ATTRS = (A_ACTIVE, A_NO_REPLY)
NESTED_ATTRS = (A_SIGNATURE, A_DATA, A_SUBSCRIBERS)

# UBUS_STATUS_*
OK, INVALID_COMMAND, INVALID_ARGUMENT, METHOD_NOT_FOUND, NOT_FOUND, NO_DATA, PERMISSION_DENIED, \
    TIMEOUT, NOT_SUPPORTED, UNKNOWN_ERROR, CONNECTION_FAILED = range(11)
STATUS_NAMES = ["OK", "INVALID_COMMAND", "INVALID_ARGUMENT", "METHOD_NOT_FOUND", "NOT_FOUND",
                "NO_DATA", "PERMISSION_DENIED", "TIMEOUT", "NOT_SUPPORTED", "UNKNOWN_ERROR",
                "CONNECTION_FAILED", "NO_MEMORY", "PARSE_ERROR", "SYSTEM_ERROR"]

EVENT_OBJECT = 1  # ubusd's own object for "send" and "register"
HEADER_LEN = 8
MAX_MSG = 1024 * 1024  # ubusd's UBUS_MAX_MSGLEN


class Malformed(Exception):
    pass


def pad4(n):
    return (n + 3) & ~3


def attr(aid, payload, ext=False):
    """One blob attribute: header (extended bit, id, length without padding) + payload,
    padded to 4 with zeros (the padding is counted by the parent, not by this length)."""
    n = 4 + len(payload)
    if n > BLOB_LEN_MASK:
        raise ValueError("attribute too long")
    hdr = (BLOB_EXT if ext else 0) | ((aid & 0x7F) << 24) | n
    return struct.pack(">I", hdr) + payload + b"\0" * (pad4(n) - n)


def split_attrs(buf):
    """The attributes in a container's payload: (id, ext, payload) each; strict about
    lengths, and the padding between attributes must be zero."""
    out = []
    pos = 0
    while pos < len(buf):
        if len(buf) - pos < 4:
            raise Malformed(f"{len(buf) - pos} trailing bytes")
        (hdr,) = struct.unpack_from(">I", buf, pos)
        n = hdr & BLOB_LEN_MASK
        if n < 4 or pos + n > len(buf):
            raise Malformed(f"attribute length {n} at {pos} (container {len(buf)})")
        out.append(((hdr >> 24) & 0x7F, bool(hdr & BLOB_EXT), bytes(buf[pos + 4:pos + n])))
        end = min(pad4(pos + n), len(buf))
        if any(buf[pos + n:end]):
            raise Malformed("non-zero padding")
        pos = pad4(pos + n)
    return out


# A blobmsg value is a (type, value) pair: TABLE -> [(name, (type, value)), ...] in order,
# ARRAY -> [(type, value), ...], STRING -> bytes (without the NUL), ints -> int (signed),
# DOUBLE -> float, UNSPEC -> None. Keeping the types makes decode + encode exact.

def bm_field(name, typed):
    """One blobmsg field: name header (u16 length, name, NUL, padded to 4), then the value."""
    t, v = typed
    if isinstance(name, str):
        name = name.encode()
    hdr = struct.pack(">H", len(name)) + name + b"\0"
    hdr += b"\0" * (pad4(len(hdr)) - len(hdr))
    return attr(t, hdr + bm_payload(t, v), ext=True)


def bm_payload(t, v):
    if t == TABLE:
        return b"".join(bm_field(n, tv) for n, tv in v)
    if t == ARRAY:
        return b"".join(bm_field(b"", tv) for tv in v)
    if t == STRING:
        return (v.encode() if isinstance(v, str) else v) + b"\0"
    if t == INT64:
        return struct.pack(">q", v)
    if t == INT32:
        return struct.pack(">i", v)
    if t == INT16:
        return struct.pack(">h", v)
    if t == INT8:
        return struct.pack(">b", v)
    if t == DOUBLE:
        return struct.pack(">d", v)
    if t == UNSPEC:
        return b""
    raise ValueError(f"blobmsg type {t}")


def bm_fields(fields):
    """The contents of a table (e.g. a DATA attribute's payload)."""
    return b"".join(bm_field(n, tv) for n, tv in fields)


def bm_parse_field(aid, ext, payload):
    if not ext:
        raise Malformed("blobmsg field without the extended bit")
    if len(payload) < 2:
        raise Malformed("blobmsg name header truncated")
    (nl,) = struct.unpack_from(">H", payload, 0)
    hl = pad4(2 + nl + 1)
    if hl > len(payload) or payload[2 + nl] != 0:
        raise Malformed("blobmsg name not NUL-terminated")
    name = payload[2:2 + nl]
    return name, (aid, bm_value(aid, payload[hl:]))


def bm_value(t, p):
    if t == TABLE:
        return [bm_parse_field(*a) for a in split_attrs(p)]
    if t == ARRAY:
        return [bm_parse_field(*a)[1] for a in split_attrs(p)]
    if t == STRING:
        if not p or p[-1] != 0:
            raise Malformed("string without NUL")
        return p[:-1]
    sizes = {INT64: ">q", INT32: ">i", INT16: ">h", INT8: ">b", DOUBLE: ">d"}
    if t in sizes:
        fmt = sizes[t]
        if len(p) != struct.calcsize(fmt):
            raise Malformed(f"{TYPE_NAMES[t]} of {len(p)} bytes")
        return struct.unpack(fmt, p)[0]
    if t == UNSPEC:
        return None
    raise Malformed(f"unknown blobmsg type {t}")


def bm_parse_fields(payload):
    return [bm_parse_field(*a) for a in split_attrs(payload)]


def text(b):
    """Bytes as a str for JSON: UTF-8 where valid; other bytes survive as surrogate escapes,
    which json.dumps writes as \\udcXX (never raw)."""
    return b.decode("utf-8", "surrogateescape")


def to_json(typed):
    """As `ubus call` prints it: int8 as a bool (libubus' BOOL is INT8)."""
    t, v = typed
    if t == TABLE:
        return {text(n): to_json(tv) for n, tv in v}
    if t == ARRAY:
        return [to_json(tv) for tv in v]
    if t == STRING:
        return text(v)
    if t == INT8:
        return v != 0
    return v


def fields_json(fields):
    return {text(n): to_json(tv) for n, tv in fields}


def from_json(v):
    """JSON to blobmsg as libubox's blobmsg_add_json_element types it."""
    if isinstance(v, bool):
        return (INT8, 1 if v else 0)
    if isinstance(v, int):
        return (INT32, v) if -2**31 <= v < 2**31 else (INT64, v)
    if isinstance(v, float):
        return (DOUBLE, v)
    if isinstance(v, str):
        return (STRING, v.encode("utf-8", "surrogateescape"))
    if isinstance(v, dict):
        return (TABLE, [(k.encode("utf-8", "surrogateescape"), from_json(x)) for k, x in v.items()])
    if isinstance(v, list):
        return (ARRAY, [from_json(x) for x in v])
    if v is None:
        return (UNSPEC, None)
    raise ValueError(f"not JSON: {v!r}")


def json_fields(obj):
    return from_json(obj)[1]


# ---------------------------------------------------------------------------------------
# ubus messages

class Msg:
    """One ubus message: header fields and the top-level UBUS_ATTR_* in wire order."""

    def __init__(self, mtype, seq, peer, attrs=()):
        self.type, self.seq, self.peer = mtype, seq, peer
        self.attrs = list(attrs)  # (id, python value): int, bytes (strings), nested payload bytes

    def get(self, aid, default=None):
        for a, v in self.attrs:
            if a == aid:
                return v
        return default

    def has(self, aid):
        return any(a == aid for a, _ in self.attrs)

    def encode(self):
        body = b""
        for aid, v in self.attrs:
            if aid in INT32_ATTRS:
                body += attr(aid, struct.pack(">I", v & 0xFFFFFFFF))
            elif aid in STRING_ATTRS:
                body += attr(aid, (v.encode() if isinstance(v, str) else v) + b"\0")
            elif aid in INT8_ATTRS:
                body += attr(aid, struct.pack(">B", v))
            else:
                body += attr(aid, v)
        root = attr(0, body)
        return struct.pack(">BBHI", 0, self.type, self.seq, self.peer & 0xFFFFFFFF) + root

    @staticmethod
    def decode(raw):
        if len(raw) < HEADER_LEN + 4:
            raise Malformed("short message")
        ver, mtype, seq, peer = struct.unpack_from(">BBHI", raw, 0)
        (rh,) = struct.unpack_from(">I", raw, HEADER_LEN)
        if ver != 0:
            raise Malformed(f"version {ver}")
        if rh & BLOB_EXT or (rh >> 24) & 0x7F:
            raise Malformed("root attribute with an id or the extended bit")
        if HEADER_LEN + (rh & BLOB_LEN_MASK) != len(raw):
            raise Malformed("root length does not match the message")
        m = Msg(mtype, seq, peer)
        for aid, ext, p in split_attrs(raw[HEADER_LEN + 4:]):
            if ext:
                raise Malformed("extended top-level attribute")
            if aid in INT32_ATTRS:
                if len(p) != 4:
                    raise Malformed(f"{ATTR_NAMES[aid]} of {len(p)} bytes")
                v = struct.unpack(">I", p)[0]
            elif aid in STRING_ATTRS:
                if not p or p[-1] != 0:
                    raise Malformed(f"{ATTR_NAMES.get(aid)} without NUL")
                v = p[:-1]
            elif aid in INT8_ATTRS:
                if len(p) != 1:
                    raise Malformed(f"{ATTR_NAMES[aid]} of {len(p)} bytes")
                v = p[0]
            else:
                v = p
            m.attrs.append((aid, v))
        return m

    def describe(self):
        """For the log: header and attributes as JSON-able values."""
        d = {"type": MSG_NAMES[self.type] if self.type < len(MSG_NAMES) else self.type,
             "seq": self.seq, "peer": f"0x{self.peer:08x}"}
        for aid, v in self.attrs:
            k = ATTR_NAMES.get(aid, str(aid)).lower()
            if aid in (A_OBJID, A_OBJTYPE, A_TARGET):
                d[k] = f"0x{v:08x}"
            elif aid == A_STATUS:
                d[k] = v
                d["status_name"] = STATUS_NAMES[v] if v < len(STATUS_NAMES) else str(v)
            elif aid in STRING_ATTRS:
                d[k] = text(v)
            elif aid in INT8_ATTRS:
                d[k] = v
            elif aid in (A_DATA, A_SIGNATURE):
                try:
                    d[k] = fields_json(bm_parse_fields(v))
                except Malformed as e:
                    d[k] = f"(malformed: {e})"
            elif aid == A_SUBSCRIBERS:
                d[k] = [f"0x{struct.unpack('>I', p)[0]:08x}" for _, _, p in split_attrs(v)]
            else:
                d[k] = v.hex() if isinstance(v, bytes) else v
        return d


def frame_len(buf):
    """The length of the first message in buf, or None when its header is not all there."""
    if len(buf) < HEADER_LEN + 4:
        return None
    (rh,) = struct.unpack_from(">I", buf, HEADER_LEN)
    return HEADER_LEN + (rh & BLOB_LEN_MASK)


def status_msg(seq, peer, status, objid=None):
    a = [(A_STATUS, status)]
    if objid is not None:
        a.append((A_OBJID, objid))
    return Msg(STATUS_MSG, seq, peer, a)


def signature(methods):
    """SIGNATURE: a table of methods, each a table of argument name -> int32 blobmsg type."""
    return bm_fields([(m.encode(), (TABLE, [(a.encode(), (INT32, t)) for a, t in args]))
                      for m, args in methods])


def i32(u):
    """A u32 id as blobmsg's signed int32 (ubus.object.add ids, register's object)."""
    return struct.unpack(">i", struct.pack(">I", u & 0xFFFFFFFF))[0]


def object_event(oid, path):
    """ubus.object.add / ubus.object.remove payload."""
    return [(b"id", (INT32, i32(oid))), (b"path", (STRING, path))]


def m_lookup(seq, path=None):
    return Msg(LOOKUP, seq, 0, [] if path is None else [(A_OBJPATH, path)])


def m_invoke(seq, objid, method, fields=()):
    return Msg(INVOKE, seq, objid, [(A_OBJID, objid), (A_METHOD, method), (A_DATA, bm_fields(fields))])


def m_add_object(seq, path=None, sig=None):
    return Msg(ADD_OBJECT, seq, 0, ([] if path is None else [(A_OBJPATH, path)]) +
               ([] if sig is None else [(A_SIGNATURE, sig)]))


def m_register(seq, listener, pattern):
    return m_invoke(seq, EVENT_OBJECT, b"register", [(b"object", (INT32, i32(listener))), (b"pattern", (STRING, pattern))])


def m_send(seq, name, fields):
    return m_invoke(seq, EVENT_OBJECT, b"send", [(b"id", (STRING, name)), (b"data", (TABLE, list(fields)))])


def m_deliver(seq, listener, name, payload):
    """ubusd delivering an event: header peer 0, no USER/GROUP, no NO_REPLY."""
    return Msg(INVOKE, seq, 0, [(A_OBJID, listener), (A_METHOD, name), (A_DATA, payload)])


def m_forward(req, caller, user, group):
    """ubusd passing a client's INVOKE on to the object's owner: header peer = the caller's
    client id, the caller's credentials added before DATA."""
    fwd = [(A_NO_REPLY, 1)] if req.get(A_NO_REPLY) else []
    fwd += [(A_OBJID, req.get(A_OBJID)), (A_METHOD, req.get(A_METHOD)), (A_USER, user), (A_GROUP, group)]
    if req.has(A_DATA):
        fwd.append((A_DATA, req.get(A_DATA)))
    return Msg(INVOKE, req.seq, caller, fwd)


def m_reply_data(seq, peer, objid, fields):
    return Msg(DATA_MSG, seq, peer, [(A_OBJID, objid), (A_DATA, bm_fields(fields))])


# signatures as netifd registers them (tests/data/ubus/09-netifd-start-events.txt)
DEV_ARGS = [("name", STRING), ("link-ext", INT8), ("vlan", ARRAY)]
SIG_INTERFACE = signature([("up", []), ("down", []), ("renew", []), ("restart", []), ("status", []),
                           ("prepare", []), ("dump", []), ("add_device", DEV_ARGS),
                           ("remove_device", DEV_ARGS), ("notify_proto", []), ("remove", []),
                           ("set_data", [])])
SIG_NETWORK = signature([("restart", []), ("reload", []),
                         ("add_host_route", [("target", STRING), ("v6", INT8), ("interface", STRING),
                                             ("exclude", INT8)]),
                         ("get_proto_handlers", []), ("add_dynamic", [("name", STRING)]),
                         ("netns_updown", [("jail", STRING), ("start", INT8)])])
# OpenWrt hostapd's ucode object (hostapd.uc): only what apwatch uses
SIG_HOSTAPD = signature([("bss_info", [("iface", STRING)]), ("reload", [("phy", STRING), ("radio", INT32)])])
SIG_DEVICE = signature([("status", [("name", STRING)]),
                        ("set_alias", [("alias", ARRAY), ("device", STRING)]),
                        ("set_state", [("name", STRING), ("defer", INT8), ("auth_status", INT8),
                                       ("auth_vlans", ARRAY)]),
                        ("stp_init", [])])


def interface_status(up, available, device, l3_device, ipv4=None, errors=(), uptime=0):
    """network.interface.X status, keys and types in netifd's order (04: a bridge network that
    is up; 07: `nodev` after adopting a netdev, down with error NO_DEVICE)."""
    s = lambda v: (STRING, v.encode() if isinstance(v, str) else v)  # noqa: E731
    f = [("up", (INT8, int(up))), ("pending", (INT8, 0)), ("available", (INT8, int(available))),
         ("autostart", (INT8, 1)), ("dynamic", (INT8, 0))]
    if up:
        f.append(("uptime", (INT32, uptime)))
        if l3_device is not None:
            f.append(("l3_device", s(l3_device)))
    f.append(("proto", s("static")))
    if device is not None:
        f.append(("device", s(device)))
    if up:
        addrs = [] if ipv4 is None else [(TABLE, [(b"address", s(ipv4[0])), (b"mask", (INT32, ipv4[1]))])]
        lists = ["ipv4-address", "ipv6-address", "route", "dns-server", "dns-search", "neighbors"]
        f += [("updated", (ARRAY, [s("addresses")])), ("metric", (INT32, 0)), ("dns_metric", (INT32, 0)),
              ("delegation", (INT8, 1)), ("ipv4-address", (ARRAY, addrs)), ("ipv6-address", (ARRAY, [])),
              ("ipv6-prefix", (ARRAY, [])), ("ipv6-prefix-assignment", (ARRAY, [])), ("route", (ARRAY, [])),
              ("dns-server", (ARRAY, [])), ("dns-search", (ARRAY, [])), ("neighbors", (ARRAY, [])),
              ("inactive", (TABLE, [(n.encode(), (ARRAY, [])) for n in lists]))]
    f.append(("data", (TABLE, [])))
    if errors:
        f.append(("errors", (ARRAY, [(TABLE, [(b"subsystem", s("interface")), (b"code", s(e))])
                                     for e in errors])))
    return [(n.encode(), tv) for n, tv in f]


# ---------------------------------------------------------------------------------------
# the kernel side of netifd: real links of this network namespace

def sys_read(dev, name):
    try:
        with open(f"/sys/class/net/{dev}/{name}") as f:
            return f.read().strip()
    except OSError:
        return None


def ifindex_of(dev):
    v = sys_read(dev, "ifindex")
    return int(v) if v is not None else None


def admin_up(dev):
    v = sys_read(dev, "flags")
    return v is not None and int(v, 16) & 1 == 1


def master_of(dev):
    try:
        return os.path.basename(os.readlink(f"/sys/class/net/{dev}/master"))
    except OSError:
        return None


def is_bridge(dev):
    return os.path.isdir(f"/sys/class/net/{dev}/bridge")


def ports_of(br):
    try:
        return sorted(os.listdir(f"/sys/class/net/{br}/brif"))
    except OSError:
        return []


def valid_ifname(name):
    return 0 < len(name) < 16 and re.fullmatch(rb"[A-Za-z0-9_.@:+-]+", name) is not None


# ---------------------------------------------------------------------------------------
# the server

class Conn:
    def __init__(self, cid, sock):
        self.id, self.sock = cid, sock
        self.rx, self.tx = bytearray(), bytearray()
        self.pid, self.comm, self.user, self.group = 0, "?", b"root", b"root"
        try:
            pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            self.pid = pid
            with open(f"/proc/{pid}/comm") as f:
                self.comm = f.read().strip()
            self.user = pwd.getpwuid(uid).pw_name.encode()
            self.group = grp.getgrgid(gid).gr_name.encode()
        except (OSError, KeyError):
            pass


class Obj:
    def __init__(self, oid, path, type_id, owner):
        self.id, self.path, self.type_id, self.owner = oid, path, type_id, owner  # owner None: netifd


class Member:
    """One netifd device user from add_device (or seeded): what netifd remembers."""

    def __init__(self, dev, link_ext, dropped=False):
        self.dev = dev
        self.ifindex = ifindex_of(dev)  # None: the netdev did not exist at add_device time
        self.link_ext = link_ext
        self.pending = not dropped  # wants the port in the bridge
        self.dropped = dropped  # port gone, netifd will not re-add it (stale membership)
        self.lost = False  # the netdev was deleted / re-created: netifd does not put it back
        self.was_up = admin_up(dev)

    def state(self):
        return {"dev": self.dev, "ifindex": self.ifindex, "link_ext": self.link_ext, "pending": self.pending,
                "dropped": self.dropped, "lost": self.lost}


class Net:
    def __init__(self, name, cfg):
        self.name = name
        self.device = cfg.get("device")
        self.kind = "none" if self.device is None else cfg.get("type", "bridge")
        if self.kind not in ("bridge", "plain", "none"):
            raise ValueError(f"network {name}: type {self.kind!r}")
        self.hidden = bool(cfg.get("hidden", False))
        self.ipaddr = cfg.get("ipaddr")  # "A.B.C.D/N": what netifd puts on the L3 device
        self.seed = list(cfg.get("members", []))
        self.members = {}  # dev name (str) -> Member
        self.adopted = None  # a network without device: the netdev add_device made its main device
        self.obj = None

    @property
    def path(self):
        return f"network.interface.{self.name}".encode()


class Server:
    def __init__(self, sock_path, config, log_path, ctl_path=None):
        self.sock_path, self.ctl_path = sock_path, ctl_path
        self.log_f = open(log_path, "a", buffering=1)
        self.sel = selectors.DefaultSelector()
        self.conns = {}
        self.objects = {}
        self.types = {}  # type id -> signature payload
        self.events = []  # (listener object id, pattern bytes)
        self.event_seq = 0
        self.used_ids = {EVENT_OBJECT}
        self.timers = []
        self.stale = bool(config.get("stale", False))
        self.failing = {}  # method -> [calls left, status]: `fail`
        self.nets = {n: Net(n, c) for n, c in config.get("networks", {}).items()}
        self.netifd_objs = []
        self.subs = []  # (target object id, subscriber object id)
        self.hostapd = None  # the built-in hostapd object, while "up"
        self.bss = {}  # hostapd's BSSes: ifname (bytes) -> ssid (bytes)
        self.generation = 0
        self.quit = False
        for p in (sock_path, ctl_path):
            if p and os.path.exists(p):
                os.unlink(p)
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(sock_path)
        self.lsock.listen(16)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, ("listen", None))
        if ctl_path:
            self.csock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.csock.bind(ctl_path)
            self.csock.listen(4)
            self.sel.register(self.csock, selectors.EVENT_READ, ("ctl-listen", None))
        self.claim_bridges()
        self.netifd_start()

    # --- logging

    def log(self, kind, **kw):
        rec = {"t": round(time.time(), 6), "kind": kind}
        rec.update(kw)
        self.log_f.write(json.dumps(rec, ensure_ascii=True) + "\n")

    def log_msg(self, direction, conn, m, raw):
        d = {"dir": direction, "conn": f"0x{conn.id:08x}", "client": conn.comm}
        d.update(m.describe())
        if m.type == INVOKE and m.has(A_OBJID):
            o = self.objects.get(m.get(A_OBJID))
            if m.get(A_OBJID) == EVENT_OBJECT:
                d["path"] = "(ubusd events)"
            elif o is not None:
                d["path"] = text(o.path) if o.path else "(anonymous)"
        d["hex"] = raw.hex()
        self.log("msg", **d)

    # --- ids, sending

    def new_id(self):
        while True:
            i = random.getrandbits(32)
            if i >= 1024 and i not in self.used_ids:
                self.used_ids.add(i)
                return i

    def send(self, conn, m):
        if conn.id not in self.conns:
            return
        raw = m.encode()
        self.log_msg("out", conn, m, raw)
        conn.tx += raw
        self.flush(conn)

    def flush(self, conn):
        try:
            while conn.tx:
                n = conn.sock.send(conn.tx)
                del conn.tx[:n]
        except BlockingIOError:
            pass
        except OSError as e:
            self.close(conn, f"send: {e}")
            return
        if conn.id in self.conns:
            ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.tx else 0)
            self.sel.modify(conn.sock, ev, ("conn", conn))

    def close(self, conn, why):
        if conn.id not in self.conns:
            return
        del self.conns[conn.id]
        self.sel.unregister(conn.sock)
        conn.sock.close()
        self.log("conn", event="close", conn=f"0x{conn.id:08x}", client=conn.comm, why=why)
        for o in [o for o in self.objects.values() if o.owner is conn]:
            self.remove_object(o)

    # --- objects and events

    def add_object(self, path, type_id, owner):
        o = Obj(self.new_id(), path, type_id, owner)
        self.objects[o.id] = o
        if path:
            self.event(b"ubus.object.add", object_event(o.id, path))
        return o

    def remove_object(self, o):
        self.objects.pop(o.id, None)
        self.events = [(oid, p) for oid, p in self.events if oid != o.id]
        for t, sid in [x for x in self.subs if o.id in x]:
            self.subs.remove((t, sid))
            sub = self.objects.get(sid)
            if t == o.id and sub is not None and sub.owner is not None:
                self.send(sub.owner, Msg(UNSUBSCRIBE, 0, 0, [(A_OBJID, sid), (A_TARGET, t)]))
        if o.path:
            self.event(b"ubus.object.remove", object_event(o.id, o.path))

    def event(self, name, fields):
        payload = bm_fields(fields)
        for oid, pattern in list(self.events):
            o = self.objects.get(oid)
            if o is None or o.owner is None:
                continue
            if pattern.endswith(b"*") and name.startswith(pattern[:-1]) or name == pattern:
                self.event_seq = (self.event_seq + 1) & 0xFFFF
                self.send(o.owner, m_deliver(self.event_seq, oid, name, payload))

    def obj_info(self, seq, o):
        return Msg(DATA_MSG, seq, 0, [(A_OBJPATH, o.path), (A_OBJID, o.id), (A_OBJTYPE, o.type_id),
                                      (A_SIGNATURE, self.types.get(o.type_id, b""))])

    # --- netifd's objects

    def claim_bridges(self):
        """netifd at start deletes the bridges it is configured to own and creates them again
        (empty: ports that came from add_device are gone) and forgets every device user."""
        for net in self.nets.values():
            net.members, net.adopted = {}, None
            if net.kind == "bridge":
                self.own_bridge(net.device)

    def netifd_start(self):
        """Then it registers its objects (new object and type ids) and announces ifup."""
        self.generation += 1
        t_net, t_dev, t_if = self.new_id(), self.new_id(), self.new_id()
        self.types.update({t_net: SIG_NETWORK, t_dev: SIG_DEVICE, t_if: SIG_INTERFACE})
        self.if_type = t_if
        self.netifd_objs = [self.add_object(b"network", t_net, None), self.add_object(b"network.device", t_dev, None),
                            self.add_object(b"network.interface", t_if, None)]
        for net in self.nets.values():
            for dev in net.seed if self.generation == 1 else ():
                net.members[dev] = Member(dev, True, dropped=True)
            if not net.hidden:
                self.show(net)
        for net in self.nets.values():
            if net.obj is not None:
                self.event(b"network.interface", [(b"action", (STRING, b"ifup")),
                                                  (b"interface", (STRING, net.name.encode()))])
        self.log("netifd", action="start", generation=self.generation, objects={
            text(o.path): f"0x{o.id:08x}" for o in self.objects.values() if o.owner is None})

    def netifd_stop(self):
        for net in self.nets.values():
            self.hide(net)
        for o in self.netifd_objs:
            self.remove_object(o)
        self.netifd_objs = []

    def show(self, net):
        if net.obj is None:
            net.obj = self.add_object(net.path, self.if_type, None)
            self.netifd_objs.append(net.obj)

    def hide(self, net):
        if net.obj is not None:
            self.remove_object(net.obj)
            self.netifd_objs = [o for o in self.netifd_objs if o is not net.obj]
            net.obj = None

    def ip(self, *args):
        r = subprocess.run(["ip", *args], capture_output=True, text=True)
        self.log("netifd", action="ip " + " ".join(args), rc=r.returncode, stderr=r.stderr.strip())
        return r.returncode == 0

    def own_bridge(self, br):
        if os.path.exists(f"/sys/class/net/{br}"):
            self.ip("link", "del", br)
        self.ip("link", "add", br, "type", "bridge")
        self.ip("link", "set", br, "up")

    def enslave(self, net, m):
        if not m.link_ext and not admin_up(m.dev):
            self.ip("link", "set", "dev", m.dev, "up")
        if self.ip("link", "set", "dev", m.dev, "master", net.device):
            m.pending = False

    def tick(self):
        """netifd's reactions to the kernel: a pending port is added once the netdev exists and
        (link-ext) is up; admin-down takes it out, up puts it back; a netdev deleted and
        re-created is not put back."""
        for net in self.nets.values():
            if net.kind != "bridge":
                continue
            for m in net.members.values():
                if m.lost or m.dropped:
                    continue
                cur = ifindex_of(m.dev)
                if cur is None:
                    continue
                if m.ifindex is None:
                    m.ifindex = cur
                    self.log("netifd", action="netdev appeared", dev=m.dev, network=net.name)
                elif cur != m.ifindex:
                    m.lost = True
                    self.log("netifd", action="netdev re-created: not re-added", dev=m.dev, network=net.name)
                    continue
                up = admin_up(m.dev)
                if m.pending and (up or not m.link_ext):
                    self.enslave(net, m)
                elif m.was_up and not up and master_of(m.dev) == net.device:
                    self.ip("link", "set", "dev", m.dev, "nomaster")
                    m.pending = True
                m.was_up = up

    def member_of(self, dev):
        for net in self.nets.values():
            if dev in net.members:
                return net
        return None

    def netifd_invoke(self, conn, req, o):
        """A method of netifd's objects; returns (status, data fields or None)."""
        method = req.get(A_METHOD, b"")
        try:
            args = bm_parse_fields(req.get(A_DATA, b""))
        except Malformed:
            return INVALID_ARGUMENT, None
        if o is self.hostapd:
            return self.hostapd_invoke(method, args)
        net = next((n for n in self.nets.values() if n.obj is o), None)
        if net is None:
            if o.path == b"network" and method in (b"reload", b"restart"):
                return OK, None
            return METHOD_NOT_FOUND, None
        if method == b"status":
            return OK, self.status_of(net)
        if method in (b"up", b"down", b"renew", b"restart", b"prepare"):
            return OK, None
        if method not in (b"add_device", b"remove_device"):
            return METHOD_NOT_FOUND, None
        a = dict(args)
        name = a.get(b"name")
        if name is None or name[0] != STRING:
            return INVALID_ARGUMENT, None
        link = a.get(b"link-ext")
        link_ext = link is not None and link[0] == INT8 and link[1] != 0
        dev = name[1]
        if not valid_ifname(dev):
            return INVALID_ARGUMENT, None
        dev = dev.decode()
        f = self.failing.get(method)
        if f and f[0] > 0:
            f[0] -= 1
            self.log("netifd", action=f"{method.decode()} answered {f[1]} and not carried out (fail)", dev=dev,
                     network=net.name, left=f[0])
            return f[1], None
        if method == b"add_device":
            return self.add_device(net, dev, link_ext), None
        return self.remove_device(net, dev), None

    def hostapd_invoke(self, method, args):
        """hostapd.uc's bss_info: the BSS's chosen config lines as strings, NOT_FOUND when no
        BSS has that name."""
        if method != b"bss_info":
            return METHOD_NOT_FOUND, None
        iface = dict(args).get(b"iface")
        if iface is None or iface[0] != STRING:
            return INVALID_ARGUMENT, None
        if iface[1] not in self.bss:
            return NOT_FOUND, None
        fields = [(b"hw_mode", (STRING, b"g")), (b"channel", (STRING, b"1"))]
        if self.bss[iface[1]]:
            fields.append((b"ssid", (STRING, self.bss[iface[1]])))
        return OK, fields

    def add_device(self, net, dev, link_ext):
        if net.kind == "plain":
            return NOT_SUPPORTED
        if net.kind == "none":
            net.adopted = dev
            self.log("netifd", action="adopted as main device", dev=dev, network=net.name)
            if net.ipaddr and ifindex_of(dev) is not None:
                self.ip("addr", "add", net.ipaddr, "dev", dev)
            return OK
        m = net.members.get(dev)
        if m is not None and not m.lost and self.stale:
            self.log("netifd", action="stale member: add_device does nothing", dev=dev, network=net.name)
            return OK
        old = self.member_of(dev)
        if old is not None and old is not net:
            del old.members[dev]  # moving: netifd detaches it from the old network
            self.log("netifd", action="moved", dev=dev, frm=old.name, to=net.name)
        m = Member(dev, link_ext)
        net.members[dev] = m
        if m.ifindex is not None and (admin_up(dev) or not link_ext):
            self.enslave(net, m)
        else:
            self.log("netifd", action="pending", dev=dev, network=net.name,
                     why="no such netdev" if m.ifindex is None else "admin-down (link-ext)")
        return OK

    def remove_device(self, net, dev):
        if net.kind == "none" and net.adopted == dev:
            net.adopted = None
            return OK
        if dev not in net.members:
            return NOT_FOUND
        del net.members[dev]
        if net.kind == "bridge" and master_of(dev) == net.device:
            self.ip("link", "set", "dev", dev, "nomaster")
        return OK

    def status_of(self, net):
        if net.kind == "none":
            dev = net.adopted
            return interface_status(False, False, dev, None, errors=["NO_DEVICE"])
        exists = ifindex_of(net.device) is not None
        up = exists and admin_up(net.device)
        return interface_status(up, exists, net.device, net.device,
                                ipv4=None if not net.ipaddr else (net.ipaddr.split("/")[0], int(net.ipaddr.split("/")[1])),
                                errors=() if exists else ["NO_DEVICE"], uptime=1)

    # --- the protocol

    def handle(self, conn, raw):
        try:
            m = Msg.decode(raw)
        except Malformed as e:
            self.log("malformed", conn=f"0x{conn.id:08x}", client=conn.comm, why=str(e), hex=raw.hex())
            return
        self.log_msg("in", conn, m, raw)
        st = None
        if m.type == LOOKUP:
            st = self.on_lookup(conn, m)
        elif m.type == INVOKE:
            st = self.on_invoke(conn, m)
        elif m.type == ADD_OBJECT:
            st = self.on_add_object(conn, m)
        elif m.type == REMOVE_OBJECT:
            st = self.on_remove_object(conn, m)
        elif m.type == SUBSCRIBE:
            st = self.on_subscribe(conn, m)
        elif m.type in (STATUS_MSG, DATA_MSG):
            self.on_response(conn, m)
        elif m.type == PING:
            self.send(conn, Msg(DATA_MSG, m.seq, m.peer, []))
        else:
            st = INVALID_COMMAND
        if st is not None:
            self.send(conn, status_msg(m.seq, m.peer, st))

    def on_lookup(self, conn, m):
        path = m.get(A_OBJPATH)
        objs = sorted((o for o in self.objects.values() if o.path), key=lambda o: o.path)
        if path is None:
            found = objs
        elif path.endswith(b"*"):
            found = [o for o in objs if o.path.startswith(path[:-1])]
        else:
            found = [o for o in objs if o.path == path]
        if path is not None and not found:
            return NOT_FOUND
        for o in found:
            self.send(conn, self.obj_info(m.seq, o))
        return OK

    def on_add_object(self, conn, m):
        path = m.get(A_OBJPATH)
        if path is not None and any(o.path == path for o in self.objects.values()):
            return INVALID_ARGUMENT
        new_type = None
        if m.has(A_OBJTYPE):
            t = m.get(A_OBJTYPE)
            if t not in self.types:
                return INVALID_ARGUMENT
        elif m.has(A_SIGNATURE) or path is not None:
            t = new_type = self.new_id()
            self.types[t] = m.get(A_SIGNATURE, b"")
        else:
            t = None
        o = self.add_object(path, t, conn)
        reply = [(A_OBJID, o.id)] + ([(A_OBJTYPE, new_type)] if new_type is not None else [])
        self.send(conn, Msg(DATA_MSG, m.seq, 0, reply))
        return OK

    def on_subscribe(self, conn, m):
        sub, target = self.objects.get(m.get(A_OBJID)), self.objects.get(m.get(A_TARGET))
        if sub is None or sub.owner is not conn or target is None:
            return NOT_FOUND
        if (target.id, sub.id) not in self.subs:
            self.subs.append((target.id, sub.id))
        return OK

    def notify(self, target, method, fields, notifier_id):
        """An owner's NOTIFY sent with NO_REPLY (hostapd.uc's bss_event, netifd): forwarded to
        each subscriber as an INVOKE, NO_REPLY first, with the notifier's client id."""
        for t, sid in self.subs:
            o = self.objects.get(sid)
            if t != target.id or o is None or o.owner is None:
                continue
            self.send(o.owner, Msg(INVOKE, 1, notifier_id, [(A_NO_REPLY, 1), (A_OBJID, sid), (A_METHOD, method),
                                                           (A_USER, b"root"), (A_GROUP, b"root"),
                                                           (A_DATA, bm_fields(fields))]))

    def on_remove_object(self, conn, m):
        o = self.objects.get(m.get(A_OBJID))
        if o is None or o.owner is not conn:
            return NOT_FOUND if o is None else PERMISSION_DENIED
        self.remove_object(o)
        self.send(conn, Msg(DATA_MSG, m.seq, 0, [(A_OBJID, o.id)] + ([(A_OBJTYPE, o.type_id)] if o.type_id else [])))
        return OK

    def on_invoke(self, conn, m):
        if not m.has(A_OBJID) or not m.has(A_METHOD):
            return INVALID_ARGUMENT
        oid, method = m.get(A_OBJID), m.get(A_METHOD)
        if oid == EVENT_OBJECT:
            return self.on_event_call(conn, m, method)
        o = self.objects.get(oid)
        if o is None:
            return NOT_FOUND
        if o.owner is None:
            st, data = self.netifd_invoke(conn, m, o)
            if m.get(A_NO_REPLY):
                return None
            if data is not None:
                self.send(conn, m_reply_data(m.seq, oid, oid, data))
            self.send(conn, status_msg(m.seq, oid, st, oid))
            return None
        self.send(o.owner, m_forward(m, conn.id, conn.user, conn.group))
        return None

    def on_event_call(self, conn, m, method):
        try:
            a = dict(bm_parse_fields(m.get(A_DATA, b"")))
        except Malformed:
            return INVALID_ARGUMENT
        if method == b"register":
            obj, pat = a.get(b"object"), a.get(b"pattern")
            if obj is None or obj[0] != INT32 or pat is None or pat[0] != STRING:
                return INVALID_ARGUMENT
            oid = obj[1] & 0xFFFFFFFF
            o = self.objects.get(oid)
            if o is None or o.owner is not conn:
                return NOT_FOUND
            self.events.append((oid, pat[1]))
            return OK
        if method == b"send":
            name, data = a.get(b"id"), a.get(b"data")
            if name is None or name[0] != STRING or (data is not None and data[0] != TABLE):
                return INVALID_ARGUMENT
            # ubusd answers before it delivers
            self.send(conn, status_msg(m.seq, m.peer, OK))
            self.event(name[1], data[1] if data is not None else [])
            return None
        return INVALID_COMMAND

    def on_response(self, conn, m):
        o = self.objects.get(m.get(A_OBJID)) if m.has(A_OBJID) else None
        target = self.conns.get(m.peer)
        if o is None or o.owner is not conn or target is None:
            self.log("dropped", conn=f"0x{conn.id:08x}", why="a response to nobody (an event's STATUS, or a caller gone)")
            return
        self.send(target, Msg(m.type, m.seq, o.id, m.attrs))

    # --- control

    def control(self, line):
        """Commands, each answered with one JSON line ({"ok": true, ...}):
          ping | state (networks, members, bridge ports, clients)
          stale on|off        add_device of a netdev that is already a member answers 0 and does
                              nothing (netifd's stale membership) until remove_device
          restart [close] [gap=SECONDS]   netifd restarts: its objects go (ubus.object.remove),
                              its bridges are deleted and re-created without ports, memberships
                              are forgotten, then (after the gap) its objects come back with new
                              ids (ubus.object.add, network.interface ifup); `close` also ends
                              every client's connection (as a ubusd restart would)
          hide NET | show NET the network's object leaves / joins the bus
          drop DEV            netifd drops DEV's kernel port itself but keeps it as a member
          seed NET DEV        DEV becomes NET's member without any kernel change
          fail METHOD N STATUS  the next N add_device / remove_device calls answer STATUS and do
                              nothing (STATUS 0: netifd's 0 that changes nothing)
          hostapd up|down     OpenWrt hostapd's ucode object `hostapd` (bss_info) joins / leaves
                              the bus (leaving: UNSUBSCRIBE to its subscribers)
          bss add|reload IFNAME SSID_HEX | bss remove IFNAME | bss quiet IFNAME SSID_HEX
                              hostapd's BSS changes and its subscribers get bss.<what> {name}
                              with NO_REPLY (quiet: no notification); SSID_HEX "-": no ssid line
          close | quit"""
        w = line.split()
        if not w:
            return {"ok": False, "error": "empty command"}
        cmd, args = w[0], w[1:]
        if cmd == "ping":
            return {"ok": True}
        if cmd == "state":
            return {"ok": True, "stale": self.stale, "generation": self.generation, "nets": {
                n.name: {"device": n.device, "kind": n.kind, "object": None if n.obj is None else f"0x{n.obj.id:08x}",
                         "adopted": n.adopted, "members": [m.state() for m in n.members.values()],
                         "ports": ports_of(n.device) if n.kind == "bridge" else None}
                for n in self.nets.values()}, "clients": [c.comm for c in self.conns.values()]}
        if cmd == "stale" and args in (["on"], ["off"]):
            self.stale = args == ["on"]
            return {"ok": True}
        if cmd == "restart":
            close = "close" in args
            gap = 0.0
            for a in args:
                if a.startswith("gap="):
                    gap = float(a[4:])
            self.netifd_stop()
            if close:
                for c in list(self.conns.values()):
                    self.close(c, "restart close")
            self.claim_bridges()
            if gap > 0:
                self.timers.append((time.monotonic() + gap, self.netifd_start))
            else:
                self.netifd_start()
            return {"ok": True}
        if cmd == "fail" and len(args) == 3 and args[0] in ("add_device", "remove_device"):
            self.failing[args[0].encode()] = [int(args[1]), int(args[2])]
            return {"ok": True}
        if cmd in ("hide", "show") and len(args) == 1 and args[0] in self.nets:
            net = self.nets[args[0]]
            net.hidden = cmd == "hide"  # kept across a restart, as a config change would be
            (self.hide if cmd == "hide" else self.show)(net)
            return {"ok": True}
        if cmd == "drop" and len(args) == 1:
            net = self.member_of(args[0])
            if net is None:
                return {"ok": False, "error": f"{args[0]} is no network's member"}
            m = net.members[args[0]]
            m.dropped, m.pending = True, False
            if master_of(m.dev) == net.device:
                self.ip("link", "set", "dev", m.dev, "nomaster")
            return {"ok": True, "network": net.name}
        if cmd == "seed" and len(args) == 2 and args[0] in self.nets:
            self.nets[args[0]].members[args[1]] = Member(args[1], True, dropped=True)
            return {"ok": True}
        if cmd == "hostapd" and args in (["up"], ["down"]):
            if args == ["up"] and self.hostapd is None:
                t = self.new_id()
                self.types[t] = SIG_HOSTAPD
                self.hostapd = self.add_object(b"hostapd", t, None)
            elif args == ["down"] and self.hostapd is not None:
                o, self.hostapd = self.hostapd, None
                self.remove_object(o)
            return {"ok": True, "object": None if self.hostapd is None else f"0x{self.hostapd.id:08x}",
                    "subscribers": [f"0x{s:08x}" for t, s in self.subs if self.hostapd and t == self.hostapd.id]}
        if cmd == "bss" and len(args) in (2, 3) and args[0] in ("add", "reload", "remove", "quiet"):
            # bss add|reload|quiet IFNAME SSID_HEX ("-": no ssid line), bss remove IFNAME
            name = args[1].encode()
            if args[0] == "remove":
                self.bss.pop(name, None)
            elif len(args) == 3:
                self.bss[name] = b"" if args[2] == "-" else bytes.fromhex(args[2])
            else:
                return {"ok": False, "error": "bss add|reload|quiet IFNAME SSID_HEX"}
            if args[0] != "quiet" and self.hostapd is not None:
                self.notify(self.hostapd, f"bss.{args[0]}".encode(), [(b"name", (STRING, name))], 0x72647935)
            return {"ok": True}
        if cmd == "close":
            for c in list(self.conns.values()):
                self.close(c, "closed by ctl")
            return {"ok": True}
        if cmd == "quit":
            self.quit = True
            return {"ok": True}
        return {"ok": False, "error": f"unknown command: {line}"}

    # --- the loop

    def run(self):
        last_tick = 0.0
        while not self.quit:
            for key, ev in self.sel.select(timeout=0.1):
                kind, conn = key.data
                if kind == "listen":
                    self.accept()
                elif kind == "ctl-listen":
                    self.accept_ctl()
                elif kind == "ctl":
                    self.read_ctl(key.fileobj)
                elif ev & selectors.EVENT_WRITE:
                    self.flush(conn)
                if kind == "conn" and ev & selectors.EVENT_READ:
                    self.read(conn)
            now = time.monotonic()
            for t in [t for t in self.timers if t[0] <= now]:
                self.timers.remove(t)
                t[1]()
            if now - last_tick >= 0.1:
                last_tick = now
                self.tick()
        self.lsock.close()
        os.unlink(self.sock_path)
        if self.ctl_path:
            os.unlink(self.ctl_path)

    def accept(self):
        try:
            s, _ = self.lsock.accept()
        except BlockingIOError:
            return
        s.setblocking(False)
        conn = Conn(self.new_id(), s)
        self.conns[conn.id] = conn
        self.sel.register(s, selectors.EVENT_READ, ("conn", conn))
        self.log("conn", event="open", conn=f"0x{conn.id:08x}", client=conn.comm, pid=conn.pid)
        self.send(conn, Msg(HELLO, 0, conn.id, []))

    def read(self, conn):
        if conn.id not in self.conns:
            return
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.close(conn, f"recv: {e}")
            return
        if not data:
            self.close(conn, "EOF")
            return
        conn.rx += data
        while conn.id in self.conns:
            n = frame_len(conn.rx)
            if n is None or len(conn.rx) < n:
                break
            if n < HEADER_LEN + 4 or n > MAX_MSG:
                self.close(conn, f"bad message length {n}")
                break
            raw = bytes(conn.rx[:n])
            del conn.rx[:n]
            try:
                self.handle(conn, raw)
            except Exception as e:  # a bug here must show in the log, not end the test's bus
                import traceback
                self.log("bug", error=repr(e), trace=traceback.format_exc(), hex=raw.hex())

    def accept_ctl(self):
        s, _ = self.csock.accept()
        s.setblocking(True)
        s.settimeout(2)
        self.sel.register(s, selectors.EVENT_READ, ("ctl", None))

    def read_ctl(self, s):
        try:
            line = s.recv(4096).decode(errors="replace").strip()
        except OSError:
            line = ""
        if line:
            reply = self.control(line)
            self.log("ctl", cmd=line, reply=reply)
            try:
                s.sendall((json.dumps(reply) + "\n").encode())
            except OSError:
                pass
        self.sel.unregister(s)
        s.close()


# ---------------------------------------------------------------------------------------
# a client (what `ubus call` / `ubus listen` / `ubus send` do on the wire)

class UbusError(Exception):
    def __init__(self, status):
        super().__init__(STATUS_NAMES[status] if status < len(STATUS_NAMES) else str(status))
        self.status = status


class Client:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rx = bytearray()
        self.seq = 0
        self.queue = []
        hello = self.recv()
        if hello.type != HELLO:
            raise Malformed(f"first message is {MSG_NAMES[hello.type]}, not HELLO")
        self.id = hello.peer

    def recv(self):
        while True:
            n = frame_len(self.rx)
            if n is not None and len(self.rx) >= n:
                raw = bytes(self.rx[:n])
                del self.rx[:n]
                return Msg.decode(raw)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("ubusd closed the connection")
            self.rx += data

    def next_seq(self):
        self.seq = self.seq % 0xFFFF + 1
        return self.seq

    def request(self, m):
        """Sends m; returns (its DATA messages, STATUS), matched by seq and peer; whatever else
        comes meanwhile is queued."""
        self.sock.sendall(m.encode())
        datas = []
        while True:
            r = self.recv()
            if r.seq == m.seq and r.peer == m.peer and r.type == DATA_MSG:
                datas.append(r)
            elif r.seq == m.seq and r.peer == m.peer and r.type == STATUS_MSG:
                return datas, r.get(A_STATUS, UNKNOWN_ERROR)
            else:
                self.queue.append(r)

    def lookup(self, path=None):
        datas, st = self.request(m_lookup(self.next_seq(), path))
        if st != OK:
            raise UbusError(st)
        return [(d.get(A_OBJPATH), d.get(A_OBJID), d.get(A_OBJTYPE), d.get(A_SIGNATURE)) for d in datas]

    def invoke(self, objid, method, fields=()):
        datas, st = self.request(m_invoke(self.next_seq(), objid, method, fields))
        data = None
        for d in datas:
            if d.has(A_DATA):
                data = bm_parse_fields(d.get(A_DATA))
        return st, data

    def call(self, path, method, fields=()):
        found = self.lookup(path)
        objid = next(i for p, i, _, _ in found if p == path)
        return self.invoke(objid, method, fields)

    def add_object(self, path=None, sig=None):
        datas, st = self.request(m_add_object(self.next_seq(), path, sig))
        if st != OK:
            raise UbusError(st)
        return datas[0].get(A_OBJID)

    def register(self, objid, pattern):
        _, st = self.request(m_register(self.next_seq(), objid, pattern))
        if st != OK:
            raise UbusError(st)

    def send_event(self, name, fields):
        _, st = self.request(m_send(self.next_seq(), name, fields))
        if st != OK:
            raise UbusError(st)

    def next_message(self):
        return self.queue.pop(0) if self.queue else self.recv()

    def reply(self, inv, status, data=None):
        """Answers an INVOKE of one of our objects (or an event delivery, as libubus does)."""
        oid = inv.get(A_OBJID)
        if data is not None:
            self.sock.sendall(m_reply_data(inv.seq, inv.peer, oid, data).encode())
        self.sock.sendall(status_msg(inv.seq, inv.peer, status, oid).encode())


def cli_call(argv):
    if len(argv) not in (3, 4):
        sys.exit("usage: fake_ubusd.py call SOCK PATH METHOD [JSON]")
    args = json.loads(argv[3]) if len(argv) == 4 else {}
    c = Client(argv[0])
    try:
        st, data = c.call(argv[1].encode(), argv[2].encode(), json_fields(args))
    except UbusError as e:
        print(f"Command failed: {e}", file=sys.stderr)
        sys.exit(e.status)
    if data is not None:
        print(json.dumps(fields_json(data), indent="\t"))
    if st != OK:
        print(f"Command failed: {UbusError(st)}", file=sys.stderr)
        sys.exit(st)


def cli_listen(argv):
    """listen SOCK [-n COUNT] [--ready FILE] PATTERN...: one JSON line per event, as
    {"name": data}; exits after COUNT events when given."""
    count, ready, pats = None, None, []
    it = iter(argv[1:])
    for a in it:
        if a == "-n":
            count = int(next(it))
        elif a == "--ready":
            ready = next(it)
        else:
            pats.append(a.encode())
    c = Client(argv[0], timeout=None)
    oid = c.add_object()
    for p in pats or [b"*"]:
        c.register(oid, p)
    if ready:
        open(ready, "w").close()
    seen = 0
    while count is None or seen < count:
        m = c.next_message()
        if m.type == INVOKE and m.get(A_OBJID) == oid:
            if not m.get(A_NO_REPLY):
                c.reply(m, OK)
            data = bm_parse_fields(m.get(A_DATA, b""))
            print(json.dumps({text(m.get(A_METHOD, b"")): fields_json(data)}), flush=True)
            seen += 1


def cli_send(argv):
    c = Client(argv[0])
    c.send_event(argv[1].encode(), json_fields(json.loads(argv[2]) if len(argv) > 2 else {}))


def cli_ctl(argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(argv[0])
    except OSError as e:
        print(json.dumps({"ok": False, "error": f"control socket {argv[0]}: {e}"}))
        sys.exit(1)
    s.sendall((" ".join(argv[1:]) + "\n").encode())
    out = b""
    while not out.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        out += d
    print(out.decode().strip())
    sys.exit(0 if json.loads(out or b"{}").get("ok") else 1)


def log_records(path, sender=None):
    """The messages a client (by its comm, e.g. apwatch) sent, in order."""
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "msg" and r["dir"] == "in" and (sender is None or r["client"] == sender):
                yield r


def split_from(argv):
    sender = None
    if "--from" in argv:
        i = argv.index("--from")
        sender = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    return argv, sender


def cli_calls(argv):
    """The INVOKEs of netifd's and other objects a client sent (events apart), with the
    STATUS each got: "PATH METHOD ARGS -> STATUS"."""
    argv, sender = split_from(argv)
    recs = [json.loads(line) for line in open(argv[0])]
    for i, r in enumerate(recs):
        if r.get("kind") != "msg" or r["dir"] != "in" or r["type"] != "INVOKE" or r.get("objid") == "0x00000001":
            continue
        if sender is not None and r["client"] != sender:
            continue
        st = "?"
        for q in recs[i + 1:]:
            if (q.get("kind") == "msg" and q["dir"] == "out" and q["conn"] == r["conn"] and q["type"] == "STATUS"
                    and q["seq"] == r["seq"] and q["peer"] == r["peer"]):
                st = q.get("status_name", "?")
                break
        print(f"{r.get('path', r.get('objid'))} {r.get('method')} {json.dumps(r.get('data'), separators=(',', ':'))} -> {st}")


def cli_absent(argv):
    """No HEX byte string in any request the client sent to netifd (network*) objects."""
    argv, sender = split_from(argv)
    needles = [bytes.fromhex(h) for h in argv[1:]]
    bad, n = [], 0
    for r in log_records(argv[0], sender):
        if not str(r.get("path", "")).startswith("network"):
            continue
        n += 1
        raw = bytes.fromhex(r["hex"])
        for s in needles:
            if s in raw:
                bad.append(f"{r['path']} {r.get('method')}: contains {s!r}")
    for b in bad:
        print(b)
    if n == 0:
        print("no request to netifd's objects in the log")
    sys.exit(1 if bad or n == 0 else 0)


def cli_serve(argv):
    opts = {}
    it = iter(argv)
    for a in it:
        if a in ("--socket", "--config", "--log", "--control"):
            opts[a[2:]] = next(it)
        else:
            sys.exit(f"serve: unknown argument {a}")
    with open(opts["config"]) as f:
        config = json.load(f)
    srv = Server(opts["socket"], config, opts["log"], opts.get("control"))
    srv.log("ready", socket=opts["socket"], pid=os.getpid())
    srv.run()


# ---------------------------------------------------------------------------------------
# selftest

class Checks:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def eq(self, name, got, want):
        if got == want:
            self.passed += 1
        else:
            self.failed += 1
            g = got.hex() if isinstance(got, bytes) else got
            w = want.hex() if isinstance(want, bytes) else want
            print(f"not ok - {name}\n  got  {g}\n  want {w}")

    def true(self, name, cond, why=""):
        self.eq(name, bool(cond), True) if cond else self.eq(f"{name} {why}", False, True)


def recorded(data_dir):
    """Every recorded message: (file, section title, direction, raw bytes)."""
    out = []
    for fn in sorted(os.listdir(data_dir)):
        if not re.match(r"\d\d-.*\.txt$", fn):
            continue
        section = ""
        with open(os.path.join(data_dir, fn)) as f:
            for line in f:
                if line.startswith("## "):
                    section = line[3:].strip()
                elif line[:4] in ("C>S ", "S>C "):
                    out.append((fn, section, line[:3], bytes.fromhex(line[4:].strip())))
    return out


def find(msgs, fn, direction, pred, section=None):
    for f, s, d, raw in msgs:
        if f.startswith(fn) and d == direction and (section is None or section in s):
            m = Msg.decode(raw)
            if pred(m):
                return raw
    raise LookupError(f"{fn}: no such recorded message")


def selftest_codec(data_dir, ck):
    msgs = recorded(data_dir)
    ck.true("recordings found", len(msgs) > 100, f"({len(msgs)} messages in {data_dir})")
    for fn, _, d, raw in msgs:
        m = Msg.decode(raw)
        ck.eq(f"{fn} {d} {MSG_NAMES[m.type]} seq {m.seq}: decode + encode", m.encode(), raw)
        for aid in (A_DATA, A_SIGNATURE):
            if m.has(aid):
                p = m.get(aid)
                ck.eq(f"{fn} {MSG_NAMES[m.type]} seq {m.seq}: typed blobmsg round trip", bm_fields(bm_parse_fields(p)), p)
    # what this server sends, built by its own code, against what ubusd / netifd sent
    for fn, _, d, raw in msgs:
        m = Msg.decode(raw)
        if m.type == HELLO:
            ck.eq(f"{fn}: HELLO", Msg(HELLO, 0, m.peer, []).encode(), raw)
    is_ = lambda t, seq=None: lambda m: m.type == t and (seq is None or m.seq == seq)  # noqa: E731
    guest, itype = 0x6a14ba8c, 0x1b70630d
    ck.eq("01 LOOKUP reply: object info + netifd's interface signature",
          Msg(DATA_MSG, 1, 0, [(A_OBJPATH, b"network.interface.guest"), (A_OBJID, guest), (A_OBJTYPE, itype),
                               (A_SIGNATURE, SIG_INTERFACE)]).encode(), find(msgs, "01", "S>C", is_(DATA_MSG)))
    allobj = [Msg.decode(r) for f, s, d, r in msgs if f.startswith("09") and d == "S>C" and "netifd" in s
              and Msg.decode(r).type == DATA_MSG and Msg.decode(r).seq == 7]
    for path, sig in ((b"network", SIG_NETWORK), (b"network.device", SIG_DEVICE), (b"network.interface", SIG_INTERFACE)):
        m = next(x for x in allobj if x.get(A_OBJPATH) == path)
        ck.eq(f"09 LOOKUP-all reply {path.decode()}: signature", m.get(A_SIGNATURE), sig)
    ck.eq("09 LOOKUP-all lists objects sorted by path", [m.get(A_OBJPATH) for m in allobj],
          sorted(m.get(A_OBJPATH) for m in allobj))
    ck.eq("01 LOOKUP STATUS 0", status_msg(1, 0, OK).encode(), find(msgs, "01", "S>C", is_(STATUS_MSG)))
    ck.eq("05 LOOKUP of an unknown path: STATUS 4", status_msg(1, 0, NOT_FOUND).encode(),
          find(msgs, "05", "S>C", is_(STATUS_MSG)))
    ck.eq("02 add_device STATUS to the caller", status_msg(2, guest, OK, guest).encode(),
          find(msgs, "02", "S>C", is_(STATUS_MSG, 2), "client"))
    ck.eq("06 NOT_SUPPORTED to the caller", status_msg(2, 0xe6214cf6, NOT_SUPPORTED, 0xe6214cf6).encode(),
          find(msgs, "06", "S>C", is_(STATUS_MSG, 2), "client"))
    add_args = json.loads('{"name":"veth0","link-ext":true}')
    ck.eq("02 the CLI's LOOKUP", m_lookup(1, b"network.interface.guest").encode(), find(msgs, "02", "C>S", is_(LOOKUP)))
    ck.eq("02 the CLI's add_device INVOKE (JSON -> blobmsg)", m_invoke(2, guest, b"add_device", json_fields(add_args)).encode(),
          find(msgs, "02", "C>S", is_(INVOKE), "client"))
    req = Msg.decode(find(msgs, "02", "C>S", is_(INVOKE), "client"))
    ck.eq("02 INVOKE forwarded to netifd with USER/GROUP", m_forward(req, 0x17d4e333, b"root", b"root").encode(),
          find(msgs, "02", "S>C", is_(INVOKE), "netifd"))
    ck.eq("03 the CLI's remove_device INVOKE", m_invoke(2, guest, b"remove_device", json_fields({"name": "veth0"})).encode(),
          find(msgs, "03", "C>S", is_(INVOKE), "client"))
    st = interface_status(True, True, "br-guest", "br-guest", ipv4=("192.168.50.1", 24), uptime=4)
    ck.eq("04 status DATA of an up bridge network", m_reply_data(2, guest, guest, st).encode(),
          find(msgs, "04", "S>C", is_(DATA_MSG, 2), "client"))
    nodev = Msg.decode(find(msgs, "07", "C>S", lambda m: m.type == DATA_MSG and m.seq == 2 and b"NO_DEVICE" in m.get(A_DATA, b"")))
    ck.eq("07 status DATA of nodev after adopting wlan0", nodev.get(A_DATA),
          bm_fields(interface_status(False, False, "wlan0", None, errors=["NO_DEVICE"])))
    for code, sect in ((INVALID_ARGUMENT, "(no name)"), (METHOD_NOT_FOUND, "no_such_method")):
        ck.eq(f"07 STATUS {STATUS_NAMES[code]}", status_msg(2, guest, code, guest).encode(),
              find(msgs, "07", "S>C", is_(STATUS_MSG, 2), sect))
    ck.eq("07 add_device name int (JSON -> int32)", m_invoke(2, guest, b"add_device", json_fields({"name": 7})).encode(),
          find(msgs, "07", "C>S", is_(INVOKE), "name\":7"))
    # events
    ck.eq("08 anonymous ADD_OBJECT", m_add_object(1).encode(), find(msgs, "08", "C>S", is_(ADD_OBJECT)))
    ck.eq("08 its reply: OBJID only", Msg(DATA_MSG, 1, 0, [(A_OBJID, 0x7281abea)]).encode(),
          find(msgs, "08", "S>C", is_(DATA_MSG)))
    ck.eq("08 register", m_register(2, 0x7281abea, b"apwatch.ap").encode(), find(msgs, "08", "C>S", is_(INVOKE, 2)))
    ck.eq("08 register's STATUS (peer 1, no OBJID)", status_msg(2, EVENT_OBJECT, OK).encode(),
          find(msgs, "08", "S>C", is_(STATUS_MSG, 2)))
    ev = json_fields(json.loads('{"ifname":"wlan0","ssid":"foo","up":true}'))
    ck.eq("08 ubus send", m_send(1, b"apwatch.ap", ev).encode(), find(msgs, "08", "C>S", is_(INVOKE), "sender"))
    ck.eq("08 event delivery (peer 0)", m_deliver(19, 0x7281abea, b"apwatch.ap", bm_fields(ev)).encode(),
          find(msgs, "08", "S>C", is_(INVOKE, 19)))
    ck.eq("08 the listener's STATUS", status_msg(19, 0, OK, 0x7281abea).encode(), find(msgs, "08", "C>S", is_(STATUS_MSG, 19)))
    ck.eq("09 ubus.object.add (id as int32)",
          m_deliver(1, 0xcb2e5464, b"ubus.object.add", bm_fields(object_event(0x59d7c35a, b"network"))).encode(),
          find(msgs, "09", "S>C", is_(INVOKE, 1), "listener"))
    ck.eq("09 ubus.object.add of a negative id",
          m_deliver(10, 0xcb2e5464, b"ubus.object.add", bm_fields(object_event(0xe6214cf6, b"network.interface.plain"))).encode(),
          find(msgs, "09", "S>C", is_(INVOKE, 10), "listener"))
    rm = Msg.decode(find(msgs, "10", "S>C", lambda m: m.type == INVOKE and m.get(A_METHOD) == b"ubus.object.remove"))
    ck.eq("10 ubus.object.remove payload", rm.get(A_DATA), bm_fields(object_event(
        i32(dict(bm_parse_fields(rm.get(A_DATA)))[b"id"][1]), dict(bm_parse_fields(rm.get(A_DATA)))[b"path"][1])))
    # an object server (12, 14)
    hsig = signature([("bss_info", [("iface", STRING)])])
    ck.eq("12 ADD_OBJECT with a signature", m_add_object(1, b"hostapd", hsig).encode(), find(msgs, "12", "C>S", is_(ADD_OBJECT)))
    ck.eq("12 its reply: OBJID + OBJTYPE", Msg(DATA_MSG, 1, 0, [(A_OBJID, 0xdecef44e), (A_OBJTYPE, 0xf91b2106)]).encode(),
          find(msgs, "12", "S>C", is_(DATA_MSG, 1)))
    call = Msg.decode(find(msgs, "14", "C>S", is_(INVOKE), "client"))
    ck.eq("14 INVOKE forwarded to the object server", m_forward(call, 0xca3f2777, b"root", b"root").encode(),
          find(msgs, "14", "S>C", is_(INVOKE), "server"))
    for t in (DATA_MSG, STATUS_MSG):
        srv = Msg.decode(find(msgs, "14", "C>S", is_(t), "server"))
        ck.eq(f"14 the server's {MSG_NAMES[t]} relayed with peer = object id",
              Msg(t, srv.seq, srv.get(A_OBJID), srv.attrs).encode(), find(msgs, "14", "S>C", is_(t, 2), "client"))
    bss = json_fields(json.loads('{"iface":"wlan0","ssid":"foo","up":true,"freq":2412,"stations":["aa:bb:cc:dd:ee:01"]}'))
    ck.eq("14 a DATA reply built from JSON", m_reply_data(2, 0xca3f2777, 0xdecef44e, bss).encode(),
          find(msgs, "14", "C>S", is_(DATA_MSG), "server"))
    # malformed input is refused, not mis-read
    for name, bad in (("root length", bytes.fromhex("0000000000000000000000ff")),
                      ("non-zero padding", bytes.fromhex("000400010000000000000010020000096e657400") + b"\x01\x00\x00"),
                      ("string without NUL", bytes.fromhex("00040001000000000000000c0200000878787878"))):
        try:
            Msg.decode(bad)
            ck.eq(f"malformed ({name}) refused", "accepted", "Malformed")
        except Malformed:
            ck.eq(f"malformed ({name}) refused", "Malformed", "Malformed")


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def events_of(c, n, timeout=5.0):
    """The next n events delivered to client c (answered as libubus does)."""
    out = []
    c.sock.settimeout(timeout)
    while len(out) < n:
        m = c.next_message()
        if m.type == INVOKE and m.peer == 0:
            c.reply(m, OK)
            out.append((m.get(A_METHOD), dict(bm_parse_fields(m.get(A_DATA, b"")))))
    return out


def selftest_live(tmp, ck):
    """The server as a process, several clients of this file against it; networks without
    bridges, so nothing here touches the kernel."""
    sockp, ctlp, logp, cfgp = (os.path.join(tmp, n) for n in ("ubus.sock", "ctl.sock", "log.jsonl", "nets.json"))
    with open(cfgp, "w") as f:
        json.dump({"networks": {"plain": {"device": "eth9", "type": "plain"}, "nodev": {"device": None},
                                "late": {"device": "eth8", "type": "plain", "hidden": True}}}, f)
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", "--socket", sockp, "--config", cfgp,
                            "--log", logp, "--control", ctlp])
    ctl = lambda *a: subprocess.run([sys.executable, os.path.abspath(__file__), "ctl", ctlp, *a],  # noqa: E731
                                    capture_output=True, text=True)
    try:
        ck.true("server starts", wait_for(lambda: os.path.exists(ctlp) and ctl("ping").returncode == 0))
        a, b, lis = Client(sockp), Client(sockp), Client(sockp)
        ck.true("HELLO ids differ per connection", len({a.id, b.id, lis.id}) == 3)
        found = a.lookup(b"network.interface.plain")
        ck.eq("lookup: one object", [p for p, _, _, _ in found], [b"network.interface.plain"])
        ck.eq("lookup: the interface signature", found[0][3], SIG_INTERFACE)
        try:
            a.lookup(b"network.interface.nosuch")
            ck.eq("lookup of an unknown path", "found", "NOT_FOUND")
        except UbusError as e:
            ck.eq("lookup of an unknown path", e.status, NOT_FOUND)
        ck.eq("lookup-all, sorted", [p for p, _, _, _ in a.lookup()],
              [b"network", b"network.device", b"network.interface", b"network.interface.nodev", b"network.interface.plain"])
        ck.eq("lookup by prefix", [p for p, _, _, _ in a.lookup(b"network.interface.*")],
              [b"network.interface.nodev", b"network.interface.plain"])
        dev = json_fields({"name": "d0", "link-ext": True})
        ck.eq("add_device on a plain device: NOT_SUPPORTED", a.call(b"network.interface.plain", b"add_device", dev)[0], NOT_SUPPORTED)
        ck.eq("add_device without name", a.call(b"network.interface.plain", b"add_device", json_fields({"link-ext": True}))[0],
              INVALID_ARGUMENT)
        ck.eq("add_device with an int name", a.call(b"network.interface.nodev", b"add_device", json_fields({"name": 7}))[0],
              INVALID_ARGUMENT)
        ck.eq("unknown method", a.call(b"network.interface.plain", b"no_such_method")[0], METHOD_NOT_FOUND)
        ck.eq("add_device on nodev: 0 (adopted)", a.call(b"network.interface.nodev", b"add_device", dev)[0], OK)
        st, data = a.call(b"network.interface.nodev", b"status")
        ck.eq("nodev status names the adopted netdev", (st, fields_json(data).get("device")), (OK, "d0"))
        ck.eq("remove_device of the adopted netdev", a.call(b"network.interface.nodev", b"remove_device", dev[:1])[0], OK)
        ck.eq("remove_device again: NOT_FOUND", a.call(b"network.interface.nodev", b"remove_device", dev[:1])[0], NOT_FOUND)
        st, data = a.call(b"network.interface.plain", b"status")
        ck.eq("plain status: device", fields_json(data).get("device"), "eth9")
        # events: object add/remove, forwarding to a client's object
        lid = lis.add_object()
        lis.register(lid, b"ubus.object.*")
        lis.register(lid, b"apwatch.ap")
        ck.eq("show late: ubus.object.add", ctl("show", "late").returncode, 0)
        (name, d), = events_of(lis, 1)
        ck.eq("ubus.object.add names the path", (name, d[b"path"][1]), (b"ubus.object.add", b"network.interface.late"))
        ck.eq("its id is the lookup's", i32(a.lookup(b"network.interface.late")[0][1]), d[b"id"][1])
        oid = b.add_object(b"apwatch", signature([("status", []), ("reload", [])]))
        (name, d), = events_of(lis, 1)
        ck.eq("a client's object: ubus.object.add", (name, d[b"path"][1], d[b"id"][1]), (b"ubus.object.add", b"apwatch", i32(oid)))
        a.sock.sendall(m_invoke(a.next_seq(), oid, b"status").encode())
        inv = b.next_message()
        ck.eq("INVOKE forwarded: peer = the caller's id, USER/GROUP", (inv.type, inv.peer, inv.get(A_METHOD), inv.has(A_USER),
                                                                        inv.has(A_GROUP)), (INVOKE, a.id, b"status", True, True))
        b.reply(inv, OK, json_fields({"aps": [{"ifname": "d0"}]}))
        got = [a.recv(), a.recv()]
        ck.eq("the caller gets DATA + STATUS with peer = object id", [(m.type, m.peer) for m in got],
              [(DATA_MSG, oid), (STATUS_MSG, oid)])
        ck.eq("the data", fields_json(bm_parse_fields(got[0].get(A_DATA))), {"aps": [{"ifname": "d0"}]})
        b.send_event(b"apwatch.ap", json_fields({"ifname": "d0", "action": "up"}))
        (name, d), = events_of(lis, 1)
        ck.eq("an event sent by a client reaches the listener", (name, fields_json(list(d.items()))),
              (b"apwatch.ap", {"ifname": "d0", "action": "up"}))
        # netifd restart: objects removed and added with new ids; the old id is NOT_FOUND from ubusd
        old = a.lookup(b"network.interface.plain")[0][1]
        ck.eq("restart", ctl("restart").returncode, 0)
        evs = events_of(lis, 12)
        rem = [text(d[b"path"][1]) for n, d in evs if n == b"ubus.object.remove"]
        add = [text(d[b"path"][1]) for n, d in evs if n == b"ubus.object.add"]
        ck.eq("restart: ubus.object.remove for every netifd object", sorted(rem),
              ["network", "network.device", "network.interface", "network.interface.late", "network.interface.nodev",
               "network.interface.plain"])
        ck.eq("restart: ubus.object.add again", sorted(add), sorted(rem))
        new = a.lookup(b"network.interface.plain")[0][1]
        ck.true("restart: a new object id", new != old)
        m = m_invoke(a.next_seq(), old, b"status")
        _, st = a.request(m)
        ck.eq("the old id: NOT_FOUND", st, NOT_FOUND)
        b.sock.close()
        (name, d), = events_of(lis, 1)
        ck.eq("a client gone: its object's ubus.object.remove", (name, d[b"path"][1]), (b"ubus.object.remove", b"apwatch"))
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "call", sockp, "network.interface.plain", "add_device",
                              '{"name":"d1"}'], capture_output=True, text=True)
        ck.eq("call CLI: a failed call exits with its status", (out.returncode, out.stderr.strip()),
              (NOT_SUPPORTED, "Command failed: NOT_SUPPORTED"))
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "call", sockp, "network.interface.plain", "status"],
                             capture_output=True, text=True)
        ck.eq("call CLI prints the reply as JSON", json.loads(out.stdout or "{}").get("device"), "eth9")
        ck.eq("restart close", ctl("restart", "close").returncode, 0)
        try:
            a.sock.settimeout(5)
            a.recv()
            ck.eq("restart close ends the connections", "a message", "EOF")
        except ConnectionError:
            ck.eq("restart close ends the connections", "EOF", "EOF")
        ck.eq("quit", ctl("quit").returncode, 0)
        ck.eq("server exits 0", srv.wait(timeout=5), 0)
        recs = [json.loads(line) for line in open(logp)]
        ck.true("log: every line is JSON with a kind", all("kind" in r for r in recs))
        ck.true("log: requests and replies with their bytes", any(r.get("dir") == "in" and r.get("method") == "add_device"
                                                                  and r.get("data") == {"name": "d0", "link-ext": True}
                                                                  and r.get("hex") for r in recs))
        calls = subprocess.run([sys.executable, os.path.abspath(__file__), "calls", logp], capture_output=True, text=True).stdout
        ck.true("calls: one line per INVOKE with its status",
                'network.interface.plain add_device {"name":"d0","link-ext":true} -> NOT_SUPPORTED' in calls, calls[:300])
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def selftest(argv):
    import tempfile
    data_dir = argv[0] if argv else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../data/ubus")
    ck = Checks()
    selftest_codec(data_dir, ck)
    with tempfile.TemporaryDirectory() as tmp:
        selftest_live(tmp, ck)
    print(f"{ck.passed} passed, {ck.failed} failed")
    sys.exit(1 if ck.failed else 0)


COMMANDS = {"serve": cli_serve, "ctl": cli_ctl, "call": cli_call, "listen": cli_listen, "send": cli_send,
            "calls": cli_calls, "absent": cli_absent, "selftest": selftest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].lstrip("-") not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1].lstrip("-")](sys.argv[2:])
    except BrokenPipeError:
        sys.exit(1)
