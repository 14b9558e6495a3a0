#!/usr/bin/env python3
"""apk v3 package writer: the ADB container (schema "pckg") that apk-tools 3
installs, as OpenWrt 25.12 uses it. Owns the encoding only; openwrt/mkpkg
decides what goes in.

The format (apk-tools doc/apk-v3.5.scd, doc/apk-package.5.scd):
  file    = "ADB." schema(u32 le "pckg") block*          (uncompressed)
          | "ADBd" raw-deflate("ADB." schema block*)     (apk's default)
  block   = u32 le (type << 30 | 4 + len) payload, zero padded to 8
            type 0 ADB (one, first), 2 DATA (one per non-empty file)
  ADB     = hdr(u8 compat 0, u8 ver 0, u16 0, u32 root value) values...
  value   = u32 le: high nibble type, low 28 bits a number (INT) or the
            offset of the data in the ADB payload (the others):
            0x1 INT, 0x2 INT32, 0x3 INT64, 0x8/0x9/0xa blob with a u8/u16/
            u32 length, 0xd array, 0xe object: u32 count (slots + 1), slots
  DATA    = u32 path index, u32 file index (1-based, into paths and that
            path's files), then the file's bytes

Byte for byte like `apk mkpkg` of apk-tools 3.0.6 (checked against its
output by tests/openwrt/apk_reference.py): values are written in the order
mkpkg writes them, identical data is written once (mkpkg's write cache),
each datum aligned to its length prefix (blobs) or to 4 (objects, ints),
arrays committed through an object slot carry the object type as mkpkg's
do, and "hashes" (the package's unique id) is the first 20 bytes of the
sha256 of the ADB payload written with that field zeroed.

Not written: extended attributes (mkpkg --xattrs=no), symlinks, device
nodes and hard links (an apwatch package has none), signatures.

Also a command line, for checking against apk mkpkg with the same inputs:
  apkv3.py [-c none|deflate] --info KEY:VALUE... --script TYPE:FILE...
           --files DIR --output FILE
Python 3 standard library only.
"""

import argparse
import grp
import hashlib
import os
import pwd
import re
import stat
import struct
import sys
import zlib

SCHEMA_PACKAGE = 0x676B6370  # "pckg" as a little-endian u32

T_SPECIAL, T_INT, T_INT32, T_INT64 = 0x0, 0x1, 0x2, 0x3
T_BLOB8, T_BLOB16, T_BLOB32 = 0x8, 0x9, 0xA
T_ARRAY, T_OBJECT = 0xD, 0xE
NULL = 0

BLOCK_ADB, BLOCK_DATA = 0, 2
BLOCK_ALIGN = 8
BLOCK_MAX_LEN = 0x3FFFFFFF - 4  # longer needs the extended block header

# Slot numbers of the schemas (apk-tools src/apk_adb.h); slot 0 is the count.
INFO_FIELDS = {  # name -> (slot, kind)
    "name": (1, "name"), "version": (2, "version"), "hashes": (3, None),
    "description": (4, "string"), "arch": (5, "string"),
    "license": (6, "string"), "origin": (7, "string"),
    "maintainer": (8, "string"), "url": (9, "string"),
    "installed-size": (12, None), "file-size": (13, None),
    "provider-priority": (14, "int"), "depends": (15, "deps"),
    "provides": (16, "deps"), "replaces": (17, "deps"),
    "install-if": (18, "deps"), "recommends": (19, "deps"),
}
INFO_SLOTS = 22
SCRIPTS = {  # name -> slot
    "trigger": 1, "pre-install": 2, "post-install": 3, "pre-deinstall": 4,
    "post-deinstall": 5, "pre-upgrade": 6, "post-upgrade": 7,
}
PKG_INFO, PKG_PATHS, PKG_SCRIPTS = 1, 2, 3
DIR_NAME, DIR_ACL, DIR_FILES = 1, 2, 3
FILE_NAME, FILE_ACL, FILE_SIZE, FILE_MTIME, FILE_HASH = 1, 2, 3, 4, 5
ACL_MODE, ACL_USER, ACL_GROUP = 1, 2, 3
DEP_NAME, DEP_VERSION, DEP_MATCH = 1, 2, 3
UNIQUE_ID_LEN = 20  # a sha1's length, filled from a sha256

# Dependency operators (apk-tools src/apk_version.h).
V_EQUAL, V_LESS, V_GREATER, V_FUZZY, V_CONFLICT = 1, 2, 4, 8, 16
V_ANY = V_EQUAL | V_LESS | V_GREATER

# number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}
VERSION_RE = re.compile(
    r"[0-9]+(\.[0-9]+)*[a-z]?"
    r"(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*"
    r"(~[0-9a-f]+)?(-r[0-9]+)?")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
DEP_RE = re.compile(r"(!?)([^<>=~!\s]+)(?:([<>=~]+)(\S+))?")


class Error(Exception):
    pass


def valid_version(version):
    return VERSION_RE.fullmatch(version) is not None


class Adb:
    """The ADB payload being written: a header, then values appended."""

    def __init__(self):
        self.buf = bytearray(8)  # header; the root value is set last
        self.cache = {}

    def _append(self, data, align, cached=True):
        if cached:
            offset = self.cache.get(data)
            # mkpkg reuses a datum only where it is aligned for this use.
            if offset is not None and offset % align == 0:
                return offset
        self.buf += bytes(-len(self.buf) % align)
        offset = len(self.buf)
        if offset > 0x0FFFFFFF:
            raise Error("ADB payload over 256 MiB")
        self.buf += data
        if cached:
            self.cache[data] = offset
        return offset

    def blob(self, data, cached=True):
        n = len(data)
        if n == 0:
            return NULL
        if n <= 0xFF:
            kind, head = T_BLOB8, struct.pack("<B", n)
        elif n <= 0xFFFF:
            kind, head = T_BLOB16, struct.pack("<H", n)
        else:
            kind, head = T_BLOB32, struct.pack("<I", n)
        return kind << 28 | self._append(head + data, len(head), cached)

    def int(self, n):
        if n < 0x10000000:
            return T_INT << 28 | n
        if n < 1 << 32:
            return T_INT32 << 28 | self._append(struct.pack("<I", n), 4)
        return T_INT64 << 28 | self._append(struct.pack("<Q", n), 4)

    def obj(self, slots, kind=T_OBJECT):
        """slots: values of slots 1..; trailing NULLs are not written, and
        an object with no value left is NULL itself."""
        slots = list(slots)
        while slots and slots[-1] == NULL:
            slots.pop()
        if not slots:
            return NULL
        data = struct.pack(f"<{len(slots) + 1}I", len(slots) + 1, *slots)
        return kind << 28 | self._append(data, 4)

    def set_root(self, value):
        struct.pack_into("<I", self.buf, 4, value)


class Dir:
    def __init__(self, mode=0o755, user="root", group="root"):
        self.mode, self.user, self.group = mode, user, group
        self.files = {}  # name -> File


class File:
    def __init__(self, data, mode, user="root", group="root"):
        self.data, self.mode, self.user, self.group = data, mode, user, group


class Tree:
    """A package's file system: directories by path ("" is the root), each
    with its regular files. Every parent of a directory must be in it."""

    def __init__(self):
        self.dirs = {"": Dir()}

    def add_dir(self, path, mode=0o755, user="root", group="root"):
        path = path.strip("/")
        if path and any(x in ("", ".", "..") for x in path.split("/")):
            raise Error(f"bad directory name {path!r}")
        if path and "/" in path:
            parent = path.rsplit("/", 1)[0]
            if parent not in self.dirs:
                self.add_dir(parent)
        elif path:
            self.dirs.setdefault("", Dir())
        d = self.dirs.get(path)
        if d is None:
            d = self.dirs[path] = Dir(mode, user, group)
        else:
            d.mode, d.user, d.group = mode, user, group
        return d

    def add_file(self, path, data, mode, user="root", group="root"):
        path = path.strip("/")
        parent, _, name = path.rpartition("/")
        if not name or name in (".", ".."):
            raise Error(f"bad file name {path!r}")
        if parent not in self.dirs:
            self.add_dir(parent)
        self.dirs[parent].files[name] = File(data, mode, user, group)

    def files(self):
        """[(path, File)] in package order."""
        out = []
        for dpath in sorted(self.dirs, key=str.encode):
            d = self.dirs[dpath]
            for name in sorted(d.files, key=str.encode):
                out.append((f"{dpath}/{name}" if dpath else name, d.files[name]))
        return out


def parse_deps(adb, text):
    """A dependency list ("libc foo>=1.2 !bar") as mkpkg encodes it."""
    values = []
    for word in text.split():
        m = DEP_RE.fullmatch(word)
        if not m or not NAME_RE.fullmatch(m.group(2)):
            raise Error(f"bad dependency {word!r}")
        conflict, name, ops, version = m.groups()
        op = V_CONFLICT if conflict else 0
        if ops:
            mask = 0
            for ch in ops:
                mask |= {"<": V_LESS, ">": V_GREATER, "=": V_EQUAL,
                         "~": V_FUZZY | V_EQUAL}[ch]
            if not valid_version(version):
                raise Error(f"bad version in dependency {word!r}")
            op |= mask
        else:
            op |= V_ANY
        slots = [adb.blob(name.encode()), NULL, NULL]
        if op != V_ANY:
            slots[1] = adb.blob(version.encode() if version else b"")
            if op != V_EQUAL:
                slots[2] = adb.int(op)
        values.append(((name.encode(), version or "", op), adb.obj(slots)))
    # The array's pre-commit sorts (by name first) and drops duplicates.
    out = []
    for _, value in sorted(values, key=lambda kv: kv[0]):
        if not out or out[-1] != value:
            out.append(value)
    return adb.obj(out)


def info_value(adb, key, text):
    kind = INFO_FIELDS[key][1]
    if kind == "name":
        if not NAME_RE.fullmatch(text):
            raise Error(f"info name: {text!r} is not a package name")
        return adb.blob(text.encode())
    if kind == "version":
        if not valid_version(text):
            raise Error(f"info version: {text!r} is not an apk version "
                        "(e.g. 1.2.3-r1)")
        return adb.blob(text.encode())
    if kind == "string":
        return adb.blob(text.encode())
    if kind == "int":
        if not text.isdigit():
            raise Error(f"info {key}: {text!r} is not a number")
        return adb.int(int(text))
    if kind == "deps":
        return parse_deps(adb, text)
    raise Error(f"info {key} is computed, not given")


def encode(info, scripts, tree, mtime):
    """The uncompressed package: bytes of "ADB." ... and its data blocks.
    info: {key: text}; scripts: {type: bytes}; mtime: of every file."""
    for key in info:
        if key not in INFO_FIELDS or INFO_FIELDS[key][1] is None:
            raise Error(f"invalid info field: {key}")
    for key in ("name", "version"):
        if not info.get(key):
            raise Error(f"required info field '{key}' not provided")
    for key in scripts:
        if key not in SCRIPTS:
            raise Error(f"invalid script type: {key}")

    adb = Adb()
    info_slots = [NULL] * INFO_SLOTS
    # mkpkg writes the given fields in slot order, whatever the order given.
    for key, text in sorted(info.items(), key=lambda kv: INFO_FIELDS[kv[0]][0]):
        info_slots[INFO_FIELDS[key][0]] = info_value(adb, key, text)

    installed_size = 0
    dir_values = []  # (name, value)
    for dpath in sorted(tree.dirs, key=str.encode):
        d = tree.dirs[dpath]
        file_values = []
        for name in sorted(d.files, key=str.encode):
            f = d.files[name]
            slots = [NULL] * 6
            slots[FILE_NAME] = adb.blob(name.encode())
            slots[FILE_HASH] = adb.blob(hashlib.sha256(f.data).digest())
            slots[FILE_MTIME] = adb.int(mtime)
            slots[FILE_SIZE] = adb.int(len(f.data))
            slots[FILE_ACL] = acl(adb, f.mode, f.user, f.group)
            file_values.append(adb.obj(slots[1:]))
            installed_size += len(f.data)
        slots = [NULL] * 4
        slots[DIR_NAME] = adb.blob(dpath.encode())
        slots[DIR_ACL] = acl(adb, d.mode, d.user, d.group)
        slots[DIR_FILES] = adb.obj(file_values)
        dir_values.append(adb.obj(slots[1:]))

    info_slots[INFO_FIELDS["installed-size"][0]] = adb.int(installed_size or 1)
    # Zeros for now, written past the cache so nothing else shares them.
    hashes = adb.blob(bytes(UNIQUE_ID_LEN), cached=False)
    info_slots[INFO_FIELDS["hashes"][0]] = hashes

    pkg = [NULL] * 4
    pkg[PKG_INFO] = adb.obj(info_slots[1:])
    pkg[PKG_PATHS] = adb.obj(dir_values)
    if scripts:
        script_slots = [NULL] * 8
        for key, slot in sorted(SCRIPTS.items(), key=lambda kv: kv[1]):
            script_slots[slot] = adb.blob(scripts.get(key, b""))
        pkg[PKG_SCRIPTS] = adb.obj(script_slots[1:])
    adb.set_root(adb.obj(pkg[1:]))

    uid = hashlib.sha256(adb.buf).digest()[:UNIQUE_ID_LEN]
    at = (hashes & 0x0FFFFFFF) + 1
    adb.buf[at:at + UNIQUE_ID_LEN] = uid

    out = bytearray(struct.pack("<II", 0x2E424441, SCHEMA_PACKAGE))  # "ADB."
    out += block(BLOCK_ADB, bytes(adb.buf))
    for i, dpath in enumerate(sorted(tree.dirs, key=str.encode), 1):
        files = tree.dirs[dpath].files
        for j, name in enumerate(sorted(files, key=str.encode), 1):
            data = files[name].data
            if data:
                out += block(BLOCK_DATA, struct.pack("<II", i, j) + data)
    return bytes(out)


def acl(adb, mode, user, group):
    slots = [adb.int(mode & 0o7777), adb.blob(user.encode()),
             adb.blob(group.encode())]
    return adb.obj(slots)


def block(kind, payload):
    if len(payload) > BLOCK_MAX_LEN:
        raise Error("block over 1 GiB")
    head = struct.pack("<I", kind << 30 | (4 + len(payload)))
    return head + payload + bytes(-(4 + len(payload)) % BLOCK_ALIGN)


def compress(package, compression):
    """compression: "deflate" (apk mkpkg's default: raw deflate, level 9,
    after "ADBd") or "none"."""
    if compression == "none":
        return package
    if compression == "deflate":
        z = zlib.compressobj(9, zlib.DEFLATED, -15, 8)
        return b"ADBd" + z.compress(package) + z.flush()
    raise Error(f"unknown compression {compression!r} (none, deflate)")


def tree_from_dir(root):
    """A Tree of the directory root, like mkpkg --files reads it: modes
    and owners from the file system, names resolved like apk does."""
    tree = Tree()

    def owner(st):
        try:
            user = pwd.getpwuid(st.st_uid).pw_name
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            raise Error(f"uid {st.st_uid} or gid {st.st_gid} has no name") from None
        return user, group

    st = os.lstat(root)
    tree.dirs[""] = Dir(stat.S_IMODE(st.st_mode), *owner(st))
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        rel = "" if rel == "." else rel
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            relpath = f"{rel}/{name}" if rel else name
            if stat.S_ISDIR(st.st_mode):
                tree.dirs[relpath] = Dir(stat.S_IMODE(st.st_mode), *owner(st))
            elif stat.S_ISREG(st.st_mode):
                if st.st_nlink > 1:
                    raise Error(f"{path}: hard links are not supported")
                with open(path, "rb") as f:
                    data = f.read()
                d = tree.dirs[rel]
                d.files[name] = File(data, stat.S_IMODE(st.st_mode), *owner(st))
            else:
                raise Error(f"{path}: only directories and regular files "
                            "are supported")
    return tree


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="apkv3.py", description="Write an apk v3 package from a file "
        "tree, taking apk mkpkg's arguments.")
    p.add_argument("-c", "--compression", default="deflate",
                   choices=["deflate", "none"])
    p.add_argument("-I", "--info", action="append", default=[],
                   metavar="KEY:VALUE")
    p.add_argument("-s", "--script", action="append", default=[],
                   metavar="TYPE:FILE")
    p.add_argument("-F", "--files", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--mtime", type=int, help="every file's mtime (default: "
                   "$SOURCE_DATE_EPOCH, as apk mkpkg does)")
    a = p.parse_args(argv)
    try:
        info = {}
        for item in a.info:
            key, sep, value = item.partition(":")
            if not sep:
                raise Error(f"missing key or value: {item}")
            info[key] = value
        scripts = {}
        for item in a.script:
            key, sep, path = item.partition(":")
            if not sep:
                raise Error(f"missing script type: {item}")
            with open(path, "rb") as f:
                scripts[key] = f.read()
        mtime = a.mtime
        if mtime is None:
            epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
            if not epoch.isdigit():
                raise Error("set SOURCE_DATE_EPOCH or --mtime")
            mtime = int(epoch)
        package = encode(info, scripts, tree_from_dir(a.files), mtime)
        with open(a.output, "wb") as f:
            f.write(compress(package, a.compression))
    except (Error, OSError) as e:
        print(f"apkv3.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
