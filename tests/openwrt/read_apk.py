#!/usr/bin/env python3
"""Reads apk v3 packages (apk-tools 3's ADB "pckg" container) for the tests:
decodes, checks every length and offset, and prints what `apk adbdump` does.

  read_apk.py PACKAGE.apk     prints the decoded tree like `apk adbdump`
  read_apk.py --script TYPE PACKAGE.apk    prints one script (post-install..)
  read_apk.py --extract ROOT PACKAGE.apk   writes its directories and files
                              under ROOT with their modes, as apk add does
On malformed input each prints "read_apk: FILE: why" and exits 1.

Written from the format documents (apk-tools doc/apk-v3.5.scd,
doc/apk-package.5.scd) and the recorded reference packages, apart from
openwrt/apkv3.py (the writer), so that the two do not share mistakes.
Standard library only. Anything wrong with the input raises ReadError and
nothing else.
"""

import hashlib
import os
import re
import struct
import sys
import zlib

MAX_UNPACKED = 256 << 20
# apk-package(5): names [a-zA-Z0-9._+-], alphanumeric first; versions
# number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*[a-z]?"
                     r"(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*"
                     r"(?:~[0-9a-f]+)?(?:-r[0-9]+)?")


class ReadError(Exception):
    pass


# Value types: the high nibble of a value word.
SPECIAL, INT, INT32, INT64 = 0x0, 0x1, 0x2, 0x3
BLOB8, BLOB16, BLOB32 = 0x8, 0x9, 0xA
ARRAY, OBJECT = 0xD, 0xE

# Schemas: object -> [(slot, name, kind)], kind a schema name or a scalar:
# "str", "mstr" (multi-line), "hex", "int", "oct", "time", "dep", "xattr".
SCHEMAS = {
    "package": [(1, "info", "pkginfo"), (2, "paths", ["dir"]),
                (3, "scripts", "scripts"), (4, "triggers", ["str"]),
                (5, "replaces-priority", "int")],
    "pkginfo": [(1, "name", "str"), (2, "version", "str"), (3, "hashes", "hex"),
                (4, "description", "str"), (5, "arch", "str"),
                (6, "license", "str"), (7, "origin", "str"),
                (8, "maintainer", "str"), (9, "url", "str"),
                (10, "repo-commit", "hex"), (11, "build-time", "time"),
                (12, "installed-size", "int"), (13, "file-size", "int"),
                (14, "provider-priority", "int"), (15, "depends", ["dep"]),
                (16, "provides", ["dep"]), (17, "replaces", ["dep"]),
                (18, "install-if", ["dep"]), (19, "recommends", ["dep"]),
                (20, "layer", "int"), (21, "tags", ["str"])],
    "dir": [(1, "name", "str"), (2, "acl", "acl"), (3, "files", ["file"])],
    "file": [(1, "name", "str"), (2, "acl", "acl"), (3, "size", "int"),
             (4, "mtime", "time"), (5, "hash", "hex"), (6, "target", "hex")],
    "acl": [(1, "mode", "oct"), (2, "user", "str"), (3, "group", "str"),
            (4, "xattrs", ["xattr"])],
    "scripts": [(1, "trigger", "mstr"), (2, "pre-install", "mstr"),
                (3, "post-install", "mstr"), (4, "pre-deinstall", "mstr"),
                (5, "post-deinstall", "mstr"), (6, "pre-upgrade", "mstr"),
                (7, "post-upgrade", "mstr")],
    "dep": [(1, "name", "str"), (2, "version", "str"), (3, "match", "int")],
}
SCALARS = {"str", "mstr", "hex", "int", "oct", "time", "xattr"}


class Adb:
    """The ADB block's payload, read with bounds checks."""

    def __init__(self, buf):
        self.buf = buf

    def u32(self, offset, what):
        if offset < 0 or offset + 4 > len(self.buf):
            raise ReadError(f"{what}: offset {offset} + 4 is past the ADB "
                            f"block ({len(self.buf)} bytes)")
        return struct.unpack_from("<I", self.buf, offset)[0]

    def take(self, offset, n, what):
        if offset + n > len(self.buf):
            raise ReadError(f"{what}: {n} bytes at {offset} run past the ADB "
                            f"block ({len(self.buf)} bytes)")
        return bytes(self.buf[offset:offset + n])

    def integer(self, v, what):
        kind, arg = v >> 28, v & 0x0FFFFFFF
        if kind == INT:
            return arg
        if kind == INT32:
            return self.u32(arg, what)
        if kind == INT64:
            lo, hi = self.u32(arg, what), self.u32(arg + 4, what)
            return hi << 32 | lo
        raise ReadError(f"{what}: value {v:#010x} is not a number")

    def blob(self, v, what):
        kind, arg = v >> 28, v & 0x0FFFFFFF
        width = {BLOB8: 1, BLOB16: 2, BLOB32: 4}.get(kind)
        if width is None:
            raise ReadError(f"{what}: value {v:#010x} is not a blob")
        head = self.take(arg, width, what)
        n = int.from_bytes(head, "little")
        return self.take(arg + width, n, what)

    def slots(self, v, what):
        kind, arg = v >> 28, v & 0x0FFFFFFF
        # apk mkpkg commits arrays through object slots, typed as objects.
        if kind not in (OBJECT, ARRAY):
            raise ReadError(f"{what}: value {v:#010x} is not an object or "
                            "array")
        count = self.u32(arg, what)
        if count == 0:
            raise ReadError(f"{what}: slot count 0 (at least the count "
                            "itself)")
        if arg + 4 * count > len(self.buf):
            raise ReadError(f"{what}: {count} slots at {arg} run past the "
                            f"ADB block ({len(self.buf)} bytes)")
        return list(struct.unpack_from(f"<{count}I", self.buf, arg))[1:]

    def decode(self, v, kind, what):
        """A value as Python data: dict (objects, keys in slot order), list
        (arrays), str (strings, hex for "hex"), int, or None for NULL."""
        if v == 0:
            return None
        if isinstance(kind, list):
            return [self.decode(item, kind[0], f"{what}[{i}]")
                    for i, item in enumerate(self.slots(v, what), 1)
                    if item != 0]
        if kind in ("str", "mstr"):
            return self.blob(v, what).decode("utf-8", "surrogateescape")
        if kind == "hex":
            return self.blob(v, what).hex()
        if kind == "xattr":
            name, sep, value = self.blob(v, what).partition(b"\0")
            if not sep:
                raise ReadError(f"{what}: xattr without a NUL after its name")
            return name.decode("utf-8", "surrogateescape") + "=" + value.hex()
        if kind in ("int", "oct", "time"):
            return self.integer(v, what)
        out = {}
        slots = self.slots(v, what)
        for slot, name, sub in SCHEMAS[kind]:
            if slot <= len(slots) and slots[slot - 1] != 0:
                out[name] = self.decode(slots[slot - 1], sub, f"{what}.{name}")
        return out


class Package:
    """A decoded package: compression, adb (the ADB payload bytes),
    compat/ver, tree (the root object as dicts), data blocks as
    [(path index, file index, bytes)], signature block count."""


def unpack(raw):
    """The uncompressed container ("ADB." + schema + blocks)."""
    if len(raw) < 4:
        raise ReadError(f"{len(raw)} bytes: too short for a magic number")
    magic = raw[:4]
    if magic == b"ADB.":
        return "none", raw
    if magic == b"ADBd":
        body = raw[4:]
    elif magic == b"ADBc":
        if len(raw) < 6:
            raise ReadError("ADBc without its compression spec")
        alg, level = raw[4], raw[5]
        if alg == 0:
            return "none", raw[6:]
        if alg != 1:
            raise ReadError(f"compression algorithm {alg} (zstd is 2) is not "
                            "supported; deflate (1) and none (0) are")
        body = raw[6:]
        del level
    else:
        raise ReadError(f"bad magic {magic!r}: not an apk v3 package "
                        "(ADB., ADBd or ADBc)")
    z = zlib.decompressobj(-15)
    try:
        out = z.decompress(body, MAX_UNPACKED)
    except zlib.error as e:
        raise ReadError(f"deflate stream is corrupt: {e}") from None
    if z.unconsumed_tail:
        raise ReadError(f"unpacks to more than {MAX_UNPACKED} bytes")
    if not z.eof:
        raise ReadError("deflate stream ends early (truncated)")
    if z.unused_data:
        raise ReadError(f"{len(z.unused_data)} bytes after the deflate "
                        "stream")
    return "deflate", out


def blocks(data):
    """[(type, payload)] of the blocks after the 8-byte file header."""
    out, pos = [], 8
    while pos < len(data):
        if pos + 4 > len(data):
            raise ReadError(f"block at {pos}: header cut short")
        word = struct.unpack_from("<I", data, pos)[0]
        kind, size, head = word >> 30, word & 0x3FFFFFFF, 4
        if kind == 3:  # extended: the type in the low bits, a u64 size
            if pos + 16 > len(data):
                raise ReadError(f"block at {pos}: extended header cut short")
            kind, size, head = word & 0x3FFFFFFF, \
                struct.unpack_from("<Q", data, pos + 8)[0], 16
        if size < head:
            raise ReadError(f"block at {pos}: size {size} is less than its "
                            f"header ({head})")
        padded = (size + 7) // 8 * 8
        if pos + padded > len(data):
            raise ReadError(f"block at {pos}: size {size} (padded {padded}) "
                            f"runs past the end ({len(data) - pos} bytes "
                            "left; truncated?)")
        out.append((kind, data[pos + head:pos + size]))
        pos += padded
    return out


def read(raw):
    """Decodes and checks a whole package; raises ReadError."""
    p = Package()
    p.compression, data = unpack(raw)
    if len(data) < 8 or data[:4] != b"ADB.":
        raise ReadError("no ADB. file header after the compression header")
    p.schema = struct.unpack_from("<I", data, 4)[0]
    if data[4:8] != b"pckg":
        raise ReadError(f"schema {data[4:8]!r} is not a package (pckg)")
    bl = blocks(data)
    if not bl or bl[0][0] != 0:
        raise ReadError("the first block is not the ADB block")
    p.adb = bl[0][1]
    p.signatures = 0
    p.data = []
    seen_data = False
    for kind, payload in bl[1:]:
        if kind == 0:
            raise ReadError("a second ADB block")
        if kind == 1:
            if seen_data:
                raise ReadError("a signature block after data blocks")
            p.signatures += 1
        elif kind == 2:
            seen_data = True
            if len(payload) < 8:
                raise ReadError(f"data block of {len(payload)} bytes: no "
                                "path/file index")
            i, j = struct.unpack_from("<II", payload)
            p.data.append((i, j, payload[8:]))
        else:
            raise ReadError(f"block type {kind} (DATAX or unknown) is not "
                            "allowed")
    if len(p.adb) < 8:
        raise ReadError(f"ADB block of {len(p.adb)} bytes: no header")
    p.compat, p.ver = p.adb[0], p.adb[1]
    if p.compat != 0:
        raise ReadError(f"ADB compat version {p.compat} is not 0")
    adb = Adb(p.adb)
    root = adb.u32(4, "root")
    if root == 0:
        raise ReadError("root value is NULL")
    p.tree = adb.decode(root, "package", "package")
    info = p.tree.get("info") or {}
    if not NAME.fullmatch(info.get("name", "")):
        raise ReadError(f"info name {info.get('name')!r} is not a package "
                        "name")
    if not VERSION.fullmatch(info.get("version", "")):
        raise ReadError(f"info version {info.get('version')!r} is not an "
                        "apk version")
    check_data(p)
    return p


def check_data(p):
    """Every non-empty file has one data block, in order, of its size and
    sha256; nothing else has one."""
    paths = p.tree.get("paths") or []
    want = []
    for i, d in enumerate(paths, 1):
        if i > 1 and not d.get("name"):
            raise ReadError(f"paths[{i}] has no name (only the root has none)")
        for j, f in enumerate(d.get("files") or [], 1):
            if not f.get("name") or "/" in f["name"]:
                raise ReadError(f"paths[{i}].files[{j}]: name "
                                f"{f.get('name')!r} is not a file name")
            if "target" not in f and f.get("size", 0):
                want.append((i, j, f))
    got = [(i, j) for i, j, _ in p.data]
    if got != [(i, j) for i, j, _ in want]:
        missing = sorted(set((i, j) for i, j, _ in want) - set(got))
        raise ReadError(f"data blocks {got} are not one per non-empty file "
                        f"in order {[(i, j) for i, j, _ in want]} "
                        f"(missing {missing}; truncated?)")
    for (i, j, blob), (_, _, f) in zip(p.data, want):
        where = f"{paths[i - 1].get('name', '')}/{f.get('name')}"
        if len(blob) != f["size"]:
            raise ReadError(f"{where}: data block of {len(blob)} bytes, "
                            f"size says {f['size']}")
        if hashlib.sha256(blob).hexdigest() != f.get("hash"):
            raise ReadError(f"{where}: data does not match its sha256")


def unique_id(p):
    """The sha256 (first 20 bytes, hex) of the ADB payload with the info
    hashes field zeroed, which apk mkpkg stores as that field."""
    adb = Adb(p.adb)
    pkg = adb.slots(adb.u32(4, "root"), "package")
    info = adb.slots(pkg[0], "info")
    if len(info) < 3 or info[2] >> 28 != BLOB8:
        raise ReadError("info.hashes is not a short blob")
    at = (info[2] & 0x0FFFFFFF) + 1
    n = p.adb[at - 1]
    zeroed = p.adb[:at] + bytes(n) + p.adb[at + n:]
    return hashlib.sha256(zeroed).hexdigest()[:2 * n]


def files(p):
    """{"/path/name": (file dict, bytes)} of the package's regular files."""
    blobs = {(i, j): b for i, j, b in p.data}
    out = {}
    for i, d in enumerate(p.tree.get("paths") or [], 1):
        for j, f in enumerate(d.get("files") or [], 1):
            name = "/" + "/".join(x for x in (d.get("name"), f["name"]) if x)
            out[name] = (f, blobs.get((i, j), b""))
    return out


def _safe(path):
    parts = path.split("/")
    if any(x in ("", ".", "..") or "\0" in x for x in parts):
        raise ReadError(f"unsafe path {path!r}")
    return path


def extract(p, root):
    for d in p.tree.get("paths") or []:
        name = d.get("name")
        target = os.path.join(root, _safe(name)) if name else root
        os.makedirs(target, exist_ok=True)
        os.chmod(target, d.get("acl", {}).get("mode", 0o755) & 0o7777)
    for name, (f, data) in files(p).items():
        if "target" in f:
            raise ReadError(f"{name}: links and special files are not "
                            "extracted")
        target = os.path.join(root, _safe(name[1:]))
        with open(target, "wb") as out:
            out.write(data)
        os.chmod(target, f.get("acl", {}).get("mode", 0o644) & 0o7777)


# --- the `apk adbdump` text -------------------------------------------------

def _quote(s):
    """YAML style apk's serializer picks: 0 plain, 1 'single', 2 block."""
    if not s:
        return 0
    if len(s) >= 80:
        return 2
    style = 1 if s[0] in "-?:,[]{}#&*!|>'\"%@`" else 0
    prev = ""
    for ch in s:
        if ch in "\r\n'":
            return 2
        if ch == " " and prev == ":":
            style = 1
        if ch == "#":
            if prev == " ":
                return 2
            style = 1
        prev = ch
    return style


def _scalar(lines, lead, indent, value, kind):
    if kind == "oct":
        lines.append(f"{lead} 0{value:o}")
        return
    if isinstance(value, int):
        lines.append(f"{lead} {value}")
        return
    style = 2 if kind == "mstr" else _quote(value)
    if style == 0:
        lines.append(f"{lead} {value}" if value else lead)
    elif style == 1:
        lines.append(f"{lead} '{value}'")
    else:
        lines.append(f"{lead} |")
        for line in value.split("\n"):
            if line:
                lines.append("  " * (indent + 1) + line)


def _dep_text(d):
    name, version, match = d.get("name", ""), d.get("version"), d.get("match", 1)
    bang = "!" if match & 16 else ""
    if version is None:
        return bang + name
    op = ""
    if match & 8:
        op = "~"
    else:
        op += "<" if match & 2 else ""
        op += ">" if match & 4 else ""
        op += "=" if match & 1 else ""
    return f"{bang}{name}{op}{version}"


def _object(lines, obj, schema, indent, item=False):
    first = True
    for _, key, kind in SCHEMAS[schema]:
        if key not in obj:
            continue
        value = obj[key]
        pad = "  " * indent
        if item and first:
            pad = "  " * (indent - 1) + "- "
        first = False
        if isinstance(kind, list):
            lines.append(f"{pad}{key}: # {len(value)} items")
            for elem in value:
                if kind[0] == "dep":
                    lines.append("  " * (indent + 1) + "- " + _dep_text(elem))
                elif kind[0] in SCALARS:
                    _scalar(lines, "  " * (indent + 1) + "-", indent + 1,
                            elem, kind[0])
                else:
                    _object(lines, elem, kind[0], indent + 2, item=True)
        elif kind in SCALARS:
            _scalar(lines, f"{pad}{key}:", indent, value, kind)
        else:
            lines.append(f"{pad}{key}:")
            _object(lines, value, kind, indent + 1)


def adbdump(p):
    """The text `apk adbdump` prints for the package."""
    lines = [f"#%SCHEMA: {p.schema:08X}",
             f"# ADB block, size: {len(p.adb)}, compat: {p.compat}, "
             f"ver: {p.ver}"]
    _object(lines, p.tree, "package", 0)
    lines += ["# signature block"] * p.signatures
    lines += [f"# data block, size: {len(b) + 8}" for _, _, b in p.data]
    return "\n".join(lines) + "\n"


def main(argv):
    args = argv[1:]
    mode = None
    if len(args) == 3 and args[0] in ("--script", "--extract"):
        mode, arg = args[0], args[1]
        args = args[2:]
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: read_apk.py [--script TYPE | --extract ROOT] "
              "PACKAGE.apk", file=sys.stderr)
        return 2
    try:
        with open(args[0], "rb") as f:
            p = read(f.read())
        if mode == "--script":
            script = (p.tree.get("scripts") or {}).get(arg)
            if script is None:
                raise ReadError(f"no {arg} script")
            sys.stdout.write(script)
        elif mode == "--extract":
            extract(p, arg)
        else:
            sys.stdout.write(adbdump(p))
    except (OSError, ReadError) as e:
        print(f"read_apk: {args[0]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
