#!/usr/bin/env python3
"""Byte-level checks for the hostile-SSID test (issue 9).

  scan.py absent HEX... -- FILE...   no FILE contains any SSID (given in hex) nor a NUL or
                                     0xff byte; with a file that holds argv records, no
                                     argument equals or contains an SSID either
  scan.py log FILE                   every line is "<level>: ..." and printable ASCII only
                                     (no raw newline-injected line, no raw 0xff/NUL byte)
  scan.py status HEX... < JSON       `status --json` output: valid JSON, ASCII only, every
                                     AP's ssid_hex is one of HEX, and every given HEX is there
Prints what is wrong and exits 1, or exits 0 silently.
"""
import json
import re
import sys


def split(args):
    i = args.index("--")
    return args[:i], args[i + 1:]


def absent(args):
    hexes, files = split(args)
    ssids = [bytes.fromhex(h) for h in hexes]
    bad = []
    for f in files:
        try:
            data = open(f, "rb").read()
        except FileNotFoundError:
            bad.append(f"{f}: missing")
            continue
        for s in ssids:
            if s in data:
                bad.append(f"{f}: contains the SSID {s!r}")
        for b in (b"\0", b"\xff"):
            if b in data:
                bad.append(f"{f}: contains a raw {b!r} byte")
    for b in bad:
        print(b)
    return 1 if bad else 0


LINE = re.compile(rb"^(error|warn|info|debug): [\x20-\x7e]*$")


def log(args):
    data = open(args[0], "rb").read()
    bad = []
    if data and not data.endswith(b"\n"):
        bad.append("the log does not end with a newline")
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        if not LINE.match(line):
            bad.append(f"line {n} is not one escaped log line: {line!r}")
    for b in bad[:10]:
        print(b)
    return 1 if bad else 0


def status(args):
    raw = sys.stdin.buffer.read()
    if any(b > 0x7e or (b < 0x20 and b != 0x0a) for b in raw):
        print(f"status --json has raw control or non-ASCII bytes: {raw!r}")
        return 1
    try:
        doc = json.loads(raw)
    except ValueError as e:
        print(f"status --json is not JSON ({e}): {raw!r}")
        return 1
    want = set(args)
    seen = set()
    for ap in doc.get("aps", []):
        h = ap.get("ssid_hex", "")
        if h not in want:
            print(f"unexpected AP in status: {ap!r}")
            return 1
        seen.add(h)
    if seen != want:
        print(f"status lacks the SSIDs {sorted(want - seen)}")
        return 1
    return 0


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    sys.exit({"absent": absent, "log": log, "status": status}[cmd](rest))
