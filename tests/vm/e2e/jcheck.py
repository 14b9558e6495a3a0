#!/usr/bin/python3
"""Checks on the agent's JSON output and drop-ins for the e2e suite (stdlib only).

  jcheck.py lines FILE                     every non-empty line is a JSON object
  jcheck.py find FILE [--in KEY] EXPECT... some object matches all EXPECTs; FILE is JSON lines,
                                           or with --in one JSON document whose KEY is a list
      EXPECT: key=value (string equal, or number equal when the JSON value is a number; 0x.. ok)
              key?int   (present, an integer)
  jcheck.py count FILE [--in KEY] EXPECT... prints how many objects match
  jcheck.py dhcp-range FILE LO HI          FILE has a dhcp-range= line whose first two IPv4
                                           addresses are exactly LO and HI
Exit 0 = holds; 1 = does not (the reason on stdout, one line).
"""
import ipaddress
import json
import re
import sys


def objects(path, key):
    text = open(path, encoding="utf-8", errors="replace").read()
    if key:
        doc = json.loads(text)
        return doc.get(key, []) if isinstance(doc, dict) else []
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def matches(obj, expect):
    if not isinstance(obj, dict):
        return False
    for e in expect:
        if "?" in e and "=" not in e:
            k, t = e.split("?", 1)
            v = obj.get(k)
            if t == "int" and not (isinstance(v, int) and not isinstance(v, bool)):
                return False
            continue
        k, want = e.split("=", 1)
        if k not in obj:
            return False
        v = obj[k]
        if isinstance(v, bool) or v is None:
            if str(v).lower() != want.lower():
                return False
        elif isinstance(v, (int, float)):
            try:
                if v != int(want, 0):
                    return False
            except ValueError:
                return False
        elif v != want:
            return False
    return True


def parse_in(args):
    key = None
    if len(args) >= 2 and args[0] == "--in":
        key, args = args[1], args[2:]
    return key, args


def main(argv):
    cmd, path, rest = argv[1], argv[2], argv[3:]
    try:
        if cmd == "lines":
            bad = []
            n = 0
            for i, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                if not line.strip():
                    continue
                n += 1
                try:
                    if not isinstance(json.loads(line), dict):
                        bad.append(i)
                except ValueError:
                    bad.append(i)
            if n == 0:
                print(f"{path}: no lines")
                return 1
            if bad:
                print(f"{path}: {len(bad)} of {n} lines are not JSON objects, first: line {bad[0]}")
                return 1
            print(f"{n} JSON lines")
            return 0
        if cmd in ("find", "count"):
            key, expect = parse_in(rest)
            objs = objects(path, key)
            hits = [o for o in objs if matches(o, expect)]
            if cmd == "count":
                print(len(hits))
                return 0
            if hits:
                return 0
            # the nearest candidates, to say why
            ev = [e for e in expect if e.startswith("event=")]
            near = [o for o in objs if matches(o, ev)] if ev else objs
            print(f"no object with {' '.join(expect)} among {len(objs)}; "
                  f"candidates: {json.dumps(near[-3:])[:600]}")
            return 1
        if cmd == "dhcp-range":
            lo, hi = (ipaddress.IPv4Address(a) for a in rest[:2])
            lines = [l for l in open(path) if l.startswith("dhcp-range=")]
            if not lines:
                print(f"{path}: no dhcp-range= line")
                return 1
            addrs = [ipaddress.IPv4Address(a) for a in
                     re.findall(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])", lines[0])]
            if len(addrs) < 2 or addrs[0] != lo or addrs[1] != hi:
                print(f"{path}: {lines[0].strip()!r}, want range {lo}..{hi}")
                return 1
            return 0
    except (OSError, ValueError) as e:
        print(f"{path}: {e}")
        return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
