#!/usr/bin/env python3
"""The package version has one source: Cargo.toml's workspace version, with
the feed Makefile's PKG_RELEASE as the release (0.1.0 + 1 -> 0.1.0-r1).
Checks that the Makefile's PKG_VERSION, mkpkg's default and every built
.apk and .ipk agree, and that apk and opkg accept the string and order it
as OpenWrt's own versions (<PKG_VERSION>-r<PKG_RELEASE> on 25.12).

  check_version.py [--expect VER] [PACKAGE.apk|PACKAGE.ipk]...

One line per check, "ok - ..." or "not ok - ...: why"; exits 1 if any
failed. Standard library only.
"""

import argparse
import gzip
import io
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import read_apk  # noqa: E402

import tap  # noqa: E402  (next to this file)
from tap import check  # noqa: E402


def cargo_version():
    with open(os.path.join(REPO, "Cargo.toml")) as f:
        text = f.read()
    m = re.search(r"^\[workspace\.package\]\n(?:[^\[].*\n)*?version\s*=\s*"
                  r'"([^"]*)"', text, re.M)
    return m.group(1) if m else None


def makefile():
    with open(os.path.join(REPO, "openwrt", "apwatch", "Makefile")) as f:
        return dict(re.findall(r"^(PKG_\w+):=(.*)$", f.read(), re.M))


# --- apk's order (apk-package(5)): number{.number}...{letter}
# {_suffix{number}}...{~hash}{-r#}; suffixes alpha < beta < pre < rc <
# (none) < cvs < svn < git < hg < p.
SUFFIXES = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"]
APK_RE = re.compile(r"([0-9]+(?:\.[0-9]+)*)([a-z]?)((?:_[a-z]+[0-9]*)*)"
                    r"(?:~([0-9a-f]+))?(?:-r([0-9]+))?")


def apk_parts(v):
    m = APK_RE.fullmatch(v)
    if not m:
        raise ValueError(f"{v!r} is not an apk version")
    nums, letter, sufs, commit, rev = m.groups()
    suffixes = []
    for s in re.findall(r"_([a-z]+)([0-9]*)", sufs):
        if s[0] not in SUFFIXES or not s[0]:
            raise ValueError(f"{v!r}: unknown suffix _{s[0]}")
        suffixes.append((SUFFIXES.index(s[0]), int(s[1] or 0)))
    return nums.split("."), letter, suffixes, commit or "", int(rev or 0)


def apk_cmp(a, b):
    na, la, sa, ca, ra = apk_parts(a)
    nb, lb, sb, cb, rb = apk_parts(b)
    for i, (x, y) in enumerate(zip(na, nb)):
        # After the first, a component with a leading zero compares as text.
        if i and (x[0] == "0" or y[0] == "0"):
            if x != y:
                return -1 if x < y else 1
        elif int(x) != int(y):
            return -1 if int(x) < int(y) else 1
    if len(na) != len(nb):
        return -1 if len(na) < len(nb) else 1
    if la != lb:
        return -1 if la < lb else 1
    none = (SUFFIXES.index(""), 0)
    n = max(len(sa), len(sb))
    sa, sb = sa + [none] * (n - len(sa)), sb + [none] * (n - len(sb))
    if sa != sb:
        return -1 if sa < sb else 1
    if ca != cb:
        return -1 if ca < cb else 1
    return (ra > rb) - (ra < rb)


# --- opkg's order (libopkg pkg_vercmp: [epoch:]upstream[-revision], each
# compared like dpkg's verrevcmp).
def _order(ch):
    if ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    if ch == "~":
        return -1
    return ord(ch) + 256 if ch else 0


def verrevcmp(a, b):
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or \
                (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def opkg_cmp(a, b):
    ua, _, ra = a.rpartition("-") if "-" in a else (a, "", "")
    ub, _, rb = b.rpartition("-") if "-" in b else (b, "", "")
    r = verrevcmp(ua, ub) or verrevcmp(ra, rb)
    return (r > 0) - (r < 0)


def package_version(path):
    with open(path, "rb") as f:
        blob = f.read()
    if path.endswith(".apk"):
        return read_apk.read(blob).tree["info"]["version"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as outer:
        control_gz = outer.extractfile("./control.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(control_gz))) as tf:
        control = tf.extractfile("./control").read().decode()
    m = re.search(r"^Version: (.*)$", control, re.M)
    return m.group(1) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--expect", help="the version the test suite uses")
    p.add_argument("packages", nargs="*")
    a = p.parse_args()

    cargo = cargo_version()
    mk = makefile()
    check(f"Cargo.toml workspace version {cargo!r} is a plain x.y.z",
          cargo is not None and re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", cargo),
          repr(cargo))
    check("feed Makefile PKG_VERSION is Cargo.toml's version",
          mk.get("PKG_VERSION") == cargo, repr(mk.get("PKG_VERSION")))
    check("feed Makefile PKG_RELEASE is a number",
          mk.get("PKG_RELEASE", "").isdigit(), repr(mk.get("PKG_RELEASE")))
    version = f"{cargo}-r{mk.get('PKG_RELEASE')}"
    run = subprocess.run([os.path.join(REPO, "openwrt", "mkpkg"),
                          "--print-version"], capture_output=True, text=True)
    check(f"mkpkg's default version is {version}",
          run.returncode == 0 and run.stdout.strip() == version,
          run.stdout.strip() + run.stderr.strip())
    if a.expect:
        check(f"the version the tests pack ({a.expect}) is that one",
              a.expect == version)
    with open(os.path.join(REPO, "openwrt", "mkpkg")) as f:
        url = re.search(r'^URL = "([^"]*)"', f.read(), re.M)
    with open(os.path.join(REPO, "Cargo.toml")) as f:
        repo_url = re.search(r'^repository = "([^"]*)"', f.read(), re.M)
    check("the packages' url is Cargo.toml's repository",
          url and repo_url and url.group(1) == repo_url.group(1))

    for path in a.packages:
        try:
            got = package_version(path)
        except (OSError, KeyError, tarfile.TarError, read_apk.ReadError) as e:
            got = f"unreadable: {e}"
        check(f"{os.path.basename(path)} has version {version}",
              got == version, repr(got))

    try:
        apk_parts(version)
        check(f"{version} is an apk version", True)
    except ValueError as e:
        check(f"{version} is an apk version", False, str(e))
    # (lower, higher) pairs; the first ones hold for both apk and opkg.
    both = [("0.1.0-r0", "0.1.0-r1"), ("0.1.0-r1", "0.1.0-r2"),
            ("0.1.0-r9", "0.1.0-r10"), ("0.1.0-r1", "0.1.1-r1"),
            ("0.1.9-r1", "0.1.10-r1"), ("0.1.0-r1", "0.2.0-r1"),
            ("0.9.0-r5", "1.0.0-r1")]
    apk_only = [("0.1.0_rc1-r1", "0.1.0-r1"), ("0.1.0-r1", "0.1.0_p1-r1"),
                ("0.1.0", "0.1.0-r1"), ("0.1.0-r1", "0.1.0a-r1")]
    for lo, hi in both + apk_only:
        check(f"apk orders {lo} < {hi}",
              apk_cmp(lo, hi) < 0 and apk_cmp(hi, lo) > 0)
    for lo, hi in both:
        check(f"opkg orders {lo} < {hi}",
              opkg_cmp(lo, hi) < 0 and opkg_cmp(hi, lo) > 0)
    check(f"both see {version} equal to itself",
          apk_cmp(version, version) == 0 and opkg_cmp(version, version) == 0)
    # What a 23.05/24.10 SDK names the same release ("-1"): opkg puts "-r1"
    # above any "-N", so do not mix the two on one router.
    check(f"opkg orders an SDK-built {cargo}-2 below {version}",
          opkg_cmp(f"{cargo}-2", version) < 0)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
