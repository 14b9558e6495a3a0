#!/usr/bin/env python3
"""Writes a broken copy of a good apwatch .apk, to show validate_apk.py and
read_apk.py reject it.

  tamper_apk.py KIND IN.apk OUT.apk [--binary FILE]

KIND: config-mode (/etc/config/apwatch 0644), no-conffiles (no
apwatch.conffiles), script (post-install without default_postinst),
binary (usr/sbin/apwatch replaced by --binary, everything else consistent,
so that only the ELF check can catch it), installed-size (one more than
the files' sum), data (one byte of the binary's data block changed).
The package is re-encoded with openwrt/apkv3.py from what read_apk.py
decodes, then changed.
"""

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "openwrt"))
import apkv3  # noqa: E402
import read_apk  # noqa: E402

KINDS = ["config-mode", "no-conffiles", "script", "binary", "installed-size",
         "data"]


def rebuild(p, kind, binary):
    info = {k: v for k, v in p.tree["info"].items()
            if k not in ("hashes", "installed-size", "depends")}
    info["depends"] = " ".join(d["name"] for d in p.tree["info"]["depends"])
    scripts = {k: v.encode() for k, v in p.tree["scripts"].items()}
    tree = apkv3.Tree()
    mtime = 0
    for name, (f, data) in read_apk.files(p).items():
        mode = f["acl"]["mode"]
        mtime = f["mtime"]
        if kind == "config-mode" and name == "/etc/config/apwatch":
            mode = 0o644
        if kind == "no-conffiles" and name.endswith(".conffiles"):
            continue
        if kind == "binary" and name == "/usr/sbin/apwatch":
            with open(binary, "rb") as b:
                data = b.read()
        tree.add_file(name, data, mode)
    if kind == "script":
        scripts["post-install"] = scripts["post-install"].replace(
            b"default_postinst\n", b"")
    return apkv3.encode(info, scripts, tree, mtime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("good")
    ap.add_argument("bad")
    ap.add_argument("--binary")
    a = ap.parse_args()
    if a.kind == "binary" and not a.binary:
        ap.error("binary needs --binary")
    with open(a.good, "rb") as f:
        p = read_apk.read(f.read())
    out = bytearray(rebuild(p, a.kind, a.binary))
    if a.kind == "installed-size":
        # The info object's slot 12 holds installed-size.
        adb_at = 12
        root = struct.unpack_from("<I", out, adb_at + 4)[0] & 0x0FFFFFFF
        info = struct.unpack_from("<I", out, adb_at + root + 4)[0] & 0x0FFFFFFF
        slot = adb_at + info + 4 * 12
        value = struct.unpack_from("<I", out, slot)[0]
        if value >> 28 != 1:
            sys.exit("tamper_apk: installed-size is not a direct number")
        struct.pack_into("<I", out, slot, value + 1)
    if a.kind == "data":
        out[-20] ^= 0x01  # inside the last data block (the binary's)
    compression = "none" if a.kind in ("installed-size", "data") else "deflate"
    with open(a.bad, "wb") as f:
        f.write(apkv3.compress(bytes(out), compression))
    return 0


if __name__ == "__main__":
    sys.exit(main())
