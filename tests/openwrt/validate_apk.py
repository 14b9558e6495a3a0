#!/usr/bin/env python3
"""Checks one apwatch .apk (apk v3) against what OpenWrt 25.12's
package-pack.mk and apk-tools expect, through the test reader read_apk.py.

  validate_apk.py --arch ARCH --version VER [--epoch N] [--binary FILE]
                  [--compression deflate|none] [--files-dir DIR] PACKAGE.apk

Prints one line per check, "ok - NAME" or "not ok - NAME: why", and exits 1
if any failed. Shares no code with openwrt/mkpkg or openwrt/apkv3.py.
"""

import argparse
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import read_apk  # noqa: E402
from validate_ipk import ELF, Checker, elf_check  # noqa: E402,F401

# path -> (mode, source in openwrt/apwatch/files/, or None)
FILES = {
    "/usr/sbin/apwatch": (0o755, None),
    "/etc/init.d/apwatch": (0o755, "apwatch.init"),
    "/etc/config/apwatch": (0o600, "apwatch.config"),
    "/etc/capabilities/apwatch.json": (0o644, "apwatch.json"),
    "/lib/apk/packages/apwatch.list": (0o644, None),
    "/lib/apk/packages/apwatch.conffiles": (0o644, None),
    "/lib/apk/packages/apwatch.conffiles_static": (0o644, None),
}
DIRS = ["", "etc", "etc/capabilities", "etc/config", "etc/init.d", "lib",
        "lib/apk", "lib/apk/packages", "usr", "usr/sbin"]
CONFFILES = ["/etc/config/apwatch"]

# include/package-pack.mk's scripts for a package without its own.
HEAD = [
    '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0',
    "[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0",
    ". ${IPKG_INSTROOT}/lib/functions.sh",
    'export root="${IPKG_INSTROOT}"',
    'export pkgname="apwatch"',
]
SCRIPTS = {
    "post-install": ["#!/bin/sh"] + HEAD + ["add_group_and_user",
                                             "default_postinst"],
    "post-upgrade": ["#!/bin/sh", "export PKG_UPGRADE=1"] + HEAD
    + ["add_group_and_user", "default_postinst"],
    "pre-deinstall": ["#!/bin/sh"] + HEAD[1:] + ["default_prerm"],
}


def makefile_description():
    """Package/apwatch/description of the feed Makefile, on one line, as
    package-pack.mk's $(strip ...) makes it."""
    with open(os.path.join(REPO, "openwrt", "apwatch", "Makefile")) as f:
        text = f.read()
    m = re.search(r"^define Package/apwatch/description\n(.*?)^endef", text,
                  re.M | re.S)
    return " ".join(m.group(1).split()) if m else None


def validate(path, arch, version, epoch, binary, compression, files_dir):
    c = Checker()
    c.check("file name is apwatch-<version>_<arch>.apk",
            os.path.basename(path) == f"apwatch-{version}_{arch}.apk",
            os.path.basename(path))
    with open(path, "rb") as f:
        blob = f.read()
    try:
        p = read_apk.read(blob)
    except read_apk.ReadError as e:
        c.check("package decodes (read_apk)", False, str(e))
        return c
    c.check("package decodes (read_apk): blocks, values, data sizes and "
            "sha256 agree", True)
    c.check(f"compression is {compression}", p.compression == compression,
            p.compression)
    c.check("no signature block (install with --allow-untrusted)",
            p.signatures == 0, str(p.signatures))
    info = p.tree.get("info", {})
    expect = {
        "name": "apwatch", "version": version, "arch": arch,
        "license": "MIT OR Apache-2.0", "origin": "feeds/apwatch/apwatch",
        "url": "https://example.invalid/apwatch",
        "maintainer": "apwatch maintainers <maintainers@apwatch.invalid>",
        "description": makefile_description(),
    }
    for key, value in expect.items():
        c.check(f"info {key}: {value}", info.get(key) == value,
                repr(info.get(key)))
    c.check("info depends: libc (nothing else)",
            info.get("depends") == [{"name": "libc"}],
            repr(info.get("depends")))
    c.check("info hashes is the package's unique id (sha256 of the ADB block)",
            info.get("hashes") == read_apk.unique_id(p),
            f"{info.get('hashes')} vs {read_apk.unique_id(p)}")
    extra = sorted(set(info) - set(expect) - {"depends", "hashes",
                                              "installed-size"})
    c.check("no other info fields", not extra, ", ".join(extra))

    files = read_apk.files(p)
    dirs = [d.get("name", "") for d in p.tree.get("paths", [])]
    c.check("directories: / and every parent, in name order", dirs == DIRS,
            repr(dirs))
    bad = [f"{d.get('name', '/')} {d['acl']}" for d in p.tree.get("paths", [])
           if d.get("acl") != {"mode": 0o755, "user": "root",
                               "group": "root"}]
    c.check("directories are 0755 root:root", not bad, "; ".join(bad))
    c.check("files are exactly the expected ones",
            sorted(files) == sorted(FILES),
            f"extra {sorted(set(files) - set(FILES))} missing "
            f"{sorted(set(FILES) - set(files))}")
    bad = [f"{n} {f['acl'].get('mode', 0):o}" for n, (f, _) in files.items()
           if n in FILES and f["acl"].get("mode") != FILES[n][0]]
    c.check("modes: binary, init 0755; config 0600; others 0644", not bad,
            ", ".join(bad))
    bad = [n for n, (f, _) in files.items()
           if (f["acl"].get("user"), f["acl"].get("group")) != ("root", "root")
           or "xattrs" in f["acl"] or "target" in f]
    c.check("files are plain, root:root, no xattrs", not bad, ", ".join(bad))
    if epoch is not None:
        bad = [n for n, (f, _) in files.items() if f.get("mtime") != epoch]
        c.check(f"every mtime is SOURCE_DATE_EPOCH {epoch}", not bad,
                ", ".join(bad))
    bad = [n for n, (f, d) in files.items() if f.get("size") != len(d)]
    c.check("every size is its data's length", not bad, ", ".join(bad))
    total = sum(len(d) for _, d in files.values())
    c.check(f"installed-size is the sum of the file sizes ({total})",
            info.get("installed-size") == total,
            repr(info.get("installed-size")))

    for name, (_, src) in FILES.items():
        if src and name in files:
            with open(os.path.join(files_dir, src), "rb") as f:
                c.check(f"{name} is openwrt/apwatch/files/{src}",
                        files[name][1] == f.read())

    def content(name):
        return files.get(name, ({}, b""))[1].decode("utf-8", "replace")

    c.check("apwatch.conffiles lists /etc/config/apwatch",
            content("/lib/apk/packages/apwatch.conffiles").split("\n")
            == CONFFILES + [""],
            repr(content("/lib/apk/packages/apwatch.conffiles")))
    want_static = "".join(
        f"{cf} {hashlib.sha256(files.get(cf, ({}, b''))[1]).hexdigest()}\n"
        for cf in CONFFILES)
    c.check("apwatch.conffiles_static: each conffile with the sha256 of the "
            "packed one", content("/lib/apk/packages/apwatch.conffiles_static")
            == want_static,
            repr(content("/lib/apk/packages/apwatch.conffiles_static")))
    listed = content("/lib/apk/packages/apwatch.list").split("\n")
    payload = sorted(n for n in FILES if not n.startswith("/lib/apk/"))
    c.check("apwatch.list: the installed files, sorted (as package-pack.mk "
            "writes it before adding the conffiles files)",
            listed == payload + [""], repr(listed))
    c.check("apwatch.list names /etc/init.d/apwatch (default_postinst "
            "enables what it lists there)", "/etc/init.d/apwatch" in listed)

    scripts = p.tree.get("scripts", {})
    c.check("scripts: post-install, post-upgrade, pre-deinstall only",
            sorted(scripts) == sorted(SCRIPTS), repr(sorted(scripts)))
    for name, lines in SCRIPTS.items():
        c.check(f"{name} is package-pack.mk's",
                scripts.get(name, "").split("\n") == lines + [""],
                repr(scripts.get(name)))

    program = files.get("/usr/sbin/apwatch", (None, None))[1]
    if program is not None:
        elf_check(c, arch, program)
        if binary:
            with open(binary, "rb") as f:
                c.check("binary is the input binary, byte for byte",
                        program == f.read())
    return c


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, choices=sorted(ELF))
    p.add_argument("--version", required=True)
    p.add_argument("--epoch", type=int)
    p.add_argument("--binary")
    p.add_argument("--compression", default="deflate",
                   choices=["deflate", "none"])
    p.add_argument("--files-dir",
                   default=os.path.join(REPO, "openwrt", "apwatch", "files"))
    p.add_argument("apk")
    a = p.parse_args()
    try:
        c = validate(a.apk, a.arch, a.version, a.epoch, a.binary,
                     a.compression, a.files_dir)
    except (OSError, read_apk.ReadError) as e:
        print(f"not ok - {a.apk} is readable: {e}")
        return 1
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
