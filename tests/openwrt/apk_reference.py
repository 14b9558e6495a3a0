#!/usr/bin/env python3
"""Checks the apk v3 reader and writer against packages made by the real
`apk mkpkg` (apk-tools 3.0.6, tests/data/apk/):

- read_apk.py prints each reference package's `apk adbdump` text exactly,
  agrees with the installed database apk wrote for it, and recomputes its
  unique id;
- openwrt/apkv3.py, given the reference input tree and mkpkg arguments,
  writes the same bytes (uncompressed and deflate);
- malformed input (every truncation, wrong magic and schema, bad block and
  value lengths, every single byte flipped) is a ReadError with a message,
  never another exception, and the command line says so and exits 1.

One line per check, "ok - ..." or "not ok - ...: why"; exits 1 if any
failed. Standard library only.
"""

import base64
import difflib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "tests", "data", "apk")
WRITER = os.path.join(REPO, "openwrt", "apkv3.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "openwrt"))
import apkv3  # noqa: E402  (only to make hostile packages)
import read_apk  # noqa: E402
from read_apk import ReadError  # noqa: E402

EPOCH = 1764547200
PKG = "apwatch-0.1.0-r1"
# The mkpkg call of REFERENCE.md, paths relative to the input directory.
MKPKG_ARGS = [
    "--info", "name:apwatch", "--info", "version:0.1.0-r1",
    "--info", "description:Bridge wireless APs by SSID, with dnsmasq DHCP",
    "--info", "arch:mipsel_24kc",
    "--info", "license:MIT OR Apache-2.0",
    "--info", "origin:feeds/packages/net/apwatch",
    "--info", "url:https://example.invalid/apwatch",
    "--info", "maintainer:apwatch maintainers <maintainers@apwatch.invalid>",
    "--script", "post-install:scripts/post-install",
    "--script", "post-upgrade:scripts/post-upgrade",
    "--script", "pre-deinstall:scripts/pre-deinstall",
    "--info", "depends:libc",
    "--files", "files",
]

import tap  # noqa: E402  (next to this file)
from tap import check  # noqa: E402


def raw(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def text(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


def diff(got, want):
    lines = difflib.unified_diff(want.splitlines(), got.splitlines(),
                                 "reference", "read_apk", lineterm="", n=1)
    return "\n    ".join(list(lines)[:30])


def q1(hexdigest):
    """apk's checksum text: Q1 + base64 of the first 20 bytes."""
    return "Q1" + base64.b64encode(bytes.fromhex(hexdigest)[:20]).decode()


def installed_db():
    """lib/apk/db/installed as [(package fields, [file records])]: a record
    is [(key, value)] from an R: line to the next R: or F: line."""
    out = []
    for para in text("installed-root/lib-apk-db-installed.txt").split("\n\n"):
        fields, records, current_dir = [], [], None
        for line in para.splitlines():
            key, _, value = line.partition(":")
            if key == "F":
                current_dir = value
            elif key == "R":
                records.append([("F", current_dir), ("R", value)])
            elif records and key in ("a", "Z"):
                records[-1].append((key, value))
            else:
                fields.append((key, value))
        if fields:
            out.append((dict(fields), records))
    return out


def reader_checks():
    for name in (f"{PKG}.apk", f"{PKG}.uncompressed.apk"):
        dump_name = name[:-4] + ".adbdump.txt"
        try:
            p = read_apk.read(raw(name))
        except ReadError as e:
            check(f"read_apk decodes {name}", False, str(e))
            continue
        check(f"read_apk decodes {name}", True)
        got, want = read_apk.adbdump(p), text(dump_name)
        check(f"{name}: decoded tree is {dump_name}, line for line "
              "(info, paths, acl, sizes, mtimes, sha256, scripts, blocks)",
              got == want, diff(got, want))
        check(f"{name}: info hashes is the sha256 of the ADB block with it "
              "zeroed (first 20 bytes)",
              read_apk.unique_id(p) == p.tree["info"]["hashes"],
              f"{read_apk.unique_id(p)} vs {p.tree['info']['hashes']}")
        check(f"{name}: compression {p.compression}",
              p.compression == ("none" if "uncompressed" in name
                                else "deflate"))
    try:
        whole = zlib.decompress(raw(f"{PKG}.apk")[4:], -15)
        check("the deflate package is 'ADBd' + raw deflate of the "
              "uncompressed one", raw(f"{PKG}.apk")[:4] == b"ADBd"
              and whole == raw(f"{PKG}.uncompressed.apk"))
    except zlib.error as e:
        check("the deflate package inflates", False, str(e))

    # What apk wrote into lib/apk/db/installed for the same packages.
    db = installed_db()
    packages = {}
    for name in (f"{PKG}.apk", "libc-1.2.5-r4.apk"):
        p = read_apk.read(raw(name))
        packages[p.tree["info"]["name"]] = (name, p)
    check("installed db holds apwatch and libc",
          sorted(f["P"] for f, _ in db) == sorted(packages))
    for fields, records in db:
        if fields.get("P") not in packages:
            continue
        name, p = packages[fields["P"]]
        info = p.tree["info"]
        deps = " ".join(read_apk._dep_text(d) for d in info.get("depends", []))
        want = {"C": q1(info["hashes"]), "P": info["name"],
                "V": info["version"], "A": info["arch"],
                "S": str(len(raw(name))), "I": str(info["installed-size"]),
                "T": info.get("description", ""), "U": info.get("url", ""),
                "L": info.get("license", "")}
        if "origin" in info:
            want["o"] = info["origin"]
        if "maintainer" in info:
            want["m"] = info["maintainer"]
        if deps:
            want["D"] = deps
        bad = [f"{k}: db {fields.get(k)!r} package {v!r}"
               for k, v in want.items() if fields.get(k) != v]
        check(f"installed db entry of {info['name']} matches the package "
              "(C P V A S I T U L o m D)", not bad, "; ".join(bad))
        want_records = []
        for d in p.tree["paths"]:
            for f in d.get("files", []):
                rec = [("F", d.get("name")), ("R", f["name"])]
                mode, acl = f["acl"]["mode"], f["acl"]
                # The db lists an acl only where it is not 0644 root:root.
                if (mode, acl["user"], acl["group"]) != (0o644, "root", "root"):
                    rec.append(("a", f"0:0:{mode:o}"))
                rec.append(("Z", q1(f["hash"])))
                want_records.append(rec)
        check(f"installed db files of {info['name']} match the package's "
              "(dir, name, acl, Z = Q1 of the sha256)",
              records == want_records, f"{records} vs {want_records}")


def writer_checks():
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "input")
        shutil.copytree(os.path.join(DATA, "input"), work)
        with open(os.path.join(DATA, "input-modes.txt")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    mode, path = line.split()
                    os.chmod(os.path.join(work, "files", path), int(mode, 8))
        for compression, ref in (("none", f"{PKG}.uncompressed.apk"),
                                 ("deflate", f"{PKG}.apk")):
            out = os.path.join(tmp, f"{compression}.apk")
            run = subprocess.run(
                [sys.executable, WRITER, "-c", compression] + MKPKG_ARGS
                + ["--output", out], cwd=work, capture_output=True,
                text=True, env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))
            if not check(f"apkv3.py -c {compression} packs the reference "
                         "input", run.returncode == 0, run.stderr.strip()):
                continue
            with open(out, "rb") as f:
                got = f.read()
            want = raw(ref)
            first = next((i for i, (a, b) in enumerate(zip(got, want))
                          if a != b), min(len(got), len(want)))
            check(f"apkv3.py -c {compression} writes {ref} byte for byte",
                  got == want, f"{len(got)} vs {len(want)} bytes, first "
                  f"difference at {first}")
            try:
                dump = read_apk.adbdump(read_apk.read(got))
                ref_dump = text(ref[:-4] + ".adbdump.txt")
                check(f"apkv3.py -c {compression}: decoded tree is the "
                      "reference adbdump", dump == ref_dump,
                      diff(dump, ref_dump))
            except ReadError as e:
                check(f"apkv3.py -c {compression}: output decodes", False,
                      str(e))


def outcome(blob):
    """"ok", "error: ..." or "crash: ..." for one input."""
    try:
        p = read_apk.read(blob)
        # What the validators use of a package that decodes.
        read_apk.adbdump(p)
        read_apk.files(p)
        read_apk.unique_id(p)
        return "ok"
    except ReadError as e:
        return "error: " + str(e) if str(e) else "crash: empty message"
    except Exception as e:  # noqa: BLE001 -- what this test looks for
        return f"crash: {type(e).__name__}: {e}"


def malformed_checks():
    plain = raw(f"{PKG}.uncompressed.apk")
    packed = raw(f"{PKG}.apk")
    adb_len = struct.unpack_from("<I", plain, 8)[0] - 4

    for what, blob in (("uncompressed", plain), ("deflate", packed)):
        results = [outcome(blob[:n]) for n in range(len(blob))]
        bad = [(n, r) for n, r in enumerate(results)
               if not r.startswith("error: ")]
        check(f"every truncation of the {what} reference (0..{len(blob) - 1} "
              "bytes) is a clear error", not bad, repr(bad[:3]))

    def patched(at, fmt, value, base=plain):
        b = bytearray(base)
        struct.pack_into(fmt, b, at, value)
        return bytes(b)

    block2 = 8 + (4 + adb_len + 7) // 8 * 8  # the first data block
    root_at = 8 + 4 + 4  # the root value in the ADB header
    cases = [
        ("empty file", b"", "too short"),
        ("wrong magic", b"XDB." + plain[4:], "bad magic"),
        ("gzip instead of ADB", b"\x1f\x8b\x08\x00" + plain[4:], "bad magic"),
        ("wrong schema", plain[:4] + b"indx" + plain[8:], "not a package"),
        ("ADBc with zstd", b"ADBc\x02\x00" + packed[4:], "not supported"),
        ("garbage after the deflate stream", packed + b"xx", "after the "
         "deflate"),
        ("ADB block size past the end", patched(8, "<I", 0x3FFFFFF0),
         "runs past the end"),
        ("ADB block size below its header", patched(8, "<I", 2),
         "less than its header"),
        ("data block size past the end", patched(block2, "<I", 0x80001000),
         "runs past the end"),
        ("first block a data block", patched(8, "<I", 0x80000000 | adb_len + 4),
         "not the ADB block"),
        ("root offset past the block", patched(root_at, "<I", 0xE0FFFFF0),
         "past the ADB block"),
        ("root a number, not an object", patched(root_at, "<I", 0x10000005),
         "not an object"),
        ("ADB compat version 1", patched(12, "<B", 1), "compat version"),
        ("a data block's bytes changed",
         plain[:block2 + 20] + bytes([plain[block2 + 20] ^ 1])
         + plain[block2 + 21:], "sha256"),
        ("a data block's file index changed", patched(block2 + 8, "<I", 9),
         "not one per non-empty file"),
    ]
    for name, blob, want in cases:
        r = outcome(blob)
        check(f"malformed: {name} is a clear error ({want})",
              r.startswith("error: ") and want in r, r)

    # Blob and object lengths inside the ADB block: the info name's length
    # byte, and the info object's slot count.
    adb = plain[12:12 + adb_len]
    root = struct.unpack_from("<I", adb, 4)[0] & 0x0FFFFFFF
    info = struct.unpack_from("<I", adb, root + 4)[0] & 0x0FFFFFFF
    name = struct.unpack_from("<I", adb, info + 4)[0] & 0x0FFFFFFF
    for what, at, fmt, value, want in (
            ("info name blob 255 bytes long (into binary data)", 12 + name,
             "<B", 0xFF, "not a package name"),
            ("info slot count past the block", 12 + info, "<I", 0x00FFFFFF,
             "past the ADB block"),
            ("info slot count 0", 12 + info, "<I", 0, "slot count 0")):
        r = outcome(patched(at, fmt, value))
        check(f"malformed: {what} is a clear error",
              r.startswith("error: ") and want in r, r)

    for what, blob in (("uncompressed", plain), ("deflate", packed)):
        crashes = []
        for i in range(len(blob)):
            b = bytearray(blob)
            b[i] ^= 0xFF
            r = outcome(bytes(b))
            if r.startswith("crash"):
                crashes.append((i, r))
        check(f"every single byte of the {what} reference flipped: decoded "
              f"or a clear error, never a crash ({len(blob)} cases)",
              not crashes, repr(crashes[:3]))

    rng = random.Random(16)
    crashes = []
    for case in range(3000):
        b = bytearray(plain)
        for _ in range(rng.randint(2, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        r = outcome(bytes(b))
        if r.startswith("crash"):
            crashes.append((case, r))
    check("3000 copies of the uncompressed reference with 2-6 random bytes "
          "changed (seed 16): decoded or a clear error, never a crash",
          not crashes, repr(crashes[:3]))

    # A well-formed package naming a directory "../evil": decodes, but is
    # not extracted.
    tree = apkv3.Tree()
    tree.dirs["../evil"] = apkv3.Dir()
    tree.dirs["../evil"].files["f"] = apkv3.File(b"x", 0o644)
    hostile = apkv3.encode({"name": "evil", "version": "1-r0"}, {}, tree, 0)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            read_apk.extract(read_apk.read(hostile), os.path.join(tmp, "r"))
            r = "extracted"
        except ReadError as e:
            r = f"error: {e}"
        check("a package with a '../' path is refused by --extract",
              r.startswith("error: unsafe path") and
              not os.path.exists(os.path.join(tmp, "evil")), r)

    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "truncated.apk")
        with open(bad, "wb") as f:
            f.write(plain[:1000])
        run = subprocess.run([sys.executable, os.path.join(HERE, "read_apk.py"),
                              bad], capture_output=True, text=True)
        check("read_apk.py on a truncated file exits 1 with one "
              "'read_apk: FILE: why' line, no traceback",
              run.returncode == 1 and run.stdout == ""
              and run.stderr.startswith(f"read_apk: {bad}: ")
              and run.stderr.count("\n") == 1
              and "Traceback" not in run.stderr, run.stderr)


def main():
    reader_checks()
    writer_checks()
    malformed_checks()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
