#!/usr/bin/env python3
"""Checks one apwatch .ipk against what opkg and OpenWrt's ipkg-build expect.

  validate_ipk.py --arch ARCH --version VER [--epoch N] [--binary FILE]
                  [--files-dir DIR] PACKAGE.ipk

Prints one line per check, "ok - NAME" or "not ok - NAME: why", and exits 1
if any failed. Written apart from openwrt/mkpkg (standard library only) so
that it does not share that program's mistakes.
"""

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# arch -> (ELF class, ELF data, e_machine): 1/2 = 32/64-bit, 1/2 = LSB/MSB.
ELF = {
    "mips_24kc": (1, 2, 8),                  # EM_MIPS, big endian
    "mipsel_24kc": (1, 1, 8),                # EM_MIPS, little endian
    "arm_cortex-a7_neon-vfpv4": (1, 1, 40),  # EM_ARM
    "aarch64_cortex-a53": (2, 1, 183),       # EM_AARCH64
}

OUTER = ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
CONTROL_MEMBERS = {  # name -> mode
    "./": 0o755, "./conffiles": 0o644, "./control": 0o644,
    "./postinst": 0o755, "./prerm": 0o755,
}
DATA_MEMBERS = {  # name -> (mode, source in files/ or None)
    "./": (0o755, None),
    "./etc/": (0o755, None),
    "./etc/capabilities/": (0o755, None),
    "./etc/capabilities/apwatch.json": (0o644, "apwatch.json"),
    "./etc/config/": (0o755, None),
    "./etc/config/apwatch": (0o600, "apwatch.config"),
    "./etc/init.d/": (0o755, None),
    "./etc/init.d/apwatch": (0o755, "apwatch.init"),
    "./usr/": (0o755, None),
    "./usr/sbin/": (0o755, None),
    "./usr/sbin/apwatch": (0o755, None),
}
REQUIRED_FIELDS = ["Package", "Version", "Depends", "Source", "SourceName",
                   "License", "Section", "Architecture", "Installed-Size",
                   "Maintainer", "Description"]
# What OpenWrt's package-pack.mk generates for every package.
POSTINST = [
    "#!/bin/sh",
    '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0',
    "[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0",
    ". ${IPKG_INSTROOT}/lib/functions.sh",
    "default_postinst $0 $@",
]
PRERM = [
    "#!/bin/sh",
    "[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0",
    ". ${IPKG_INSTROOT}/lib/functions.sh",
    "default_prerm $0 $@",
]


class Checker:
    def __init__(self):
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            print(f"ok - {name}")
        else:
            self.failed += 1
            print(f"not ok - {name}" + (f": {why}" if why else ""))
        return ok


def gunzip_checked(c, what, blob):
    """Decompresses, and checks the header is gzip -n's: no name, time 0."""
    ok = blob[:3] == b"\x1f\x8b\x08"
    c.check(f"{what} is gzip", ok, blob[:3].hex())
    if not ok:
        return None
    flags, mtime = blob[3], int.from_bytes(blob[4:8], "little")
    c.check(f"{what} gzip header has no name and time 0 (gzip -n)",
            not flags & 0x08 and mtime == 0, f"flags={flags:#x} mtime={mtime}")
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError) as e:
        c.check(f"{what} decompresses", False, str(e))
        return None


def raw_names(raw):
    """Entry names exactly as stored (tarfile strips a directory's '/')."""
    names, pos, long_name = [], 0, None
    while pos + 512 <= len(raw):
        header = raw[pos:pos + 512]
        if header == bytes(512):
            break
        size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        kind = header[156:157]
        body = raw[pos + 512:pos + 512 + size]
        pos += 512 + (size + 511) // 512 * 512
        if kind == b"L":  # GNU long name: the next entry's name
            long_name = body.rstrip(b"\0").decode()
            continue
        names.append(long_name or header[:100].rstrip(b"\0").decode())
        long_name = None
    return names


def members(raw):
    """[(TarInfo, bytes or None)], each TarInfo's name as stored."""
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        out = []
        for m in tf.getmembers():
            data = tf.extractfile(m).read() if m.isreg() else None
            out.append((m, data))
    names = raw_names(raw)
    if len(names) != len(out):
        raise tarfile.TarError("tar headers and entries do not pair up")
    for (m, _), name in zip(out, names):
        m.name = name
    return out


def check_entries(c, what, entries, epoch):
    bad_owner = [m.name for m, _ in entries
                 if m.uid or m.gid or m.uname not in ("", "root")
                 or m.gname not in ("", "root")]
    c.check(f"{what}: every entry owned by 0:0 (numeric)", not bad_owner,
            ", ".join(bad_owner))
    if epoch is not None:
        bad = [m.name for m, _ in entries if m.mtime != epoch]
        c.check(f"{what}: every mtime is SOURCE_DATE_EPOCH {epoch}", not bad,
                ", ".join(bad))
    bad = [m.name for m, _ in entries
           if m.name.startswith("/") or ".." in m.name.split("/")]
    c.check(f"{what}: no absolute or '..' names", not bad, ", ".join(bad))


def sort_key(name):
    # GNU tar --sort=name: a directory, then its contents, names bytewise.
    return [p.encode() for p in name.rstrip("/").split("/")]


def parse_control(text):
    fields, order, last = {}, [], None
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] in " \t":
            if last is None:
                raise ValueError("continuation line before any field")
            fields[last] += "\n" + line[1:]
            continue
        if ":" not in line:
            raise ValueError(f"not a field: {line!r}")
        key, value = line.split(":", 1)
        if key in fields:
            raise ValueError(f"field {key} twice")
        fields[key] = value.strip()
        order.append(key)
        last = key
    return fields, order


def gnu_tar_same(c, what, entries, raw, epoch, names=None):
    """Re-creates the tar with GNU tar and ipkg-build's options from the
    extracted entries and compares bytes."""
    if epoch is None or not shutil.which("tar"):
        return
    ver = subprocess.run(["tar", "--version"], capture_output=True, text=True)
    if "GNU tar" not in ver.stdout:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "r")
        os.mkdir(root)
        for m, data in entries:
            path = os.path.join(root, m.name)
            if m.isdir():
                os.makedirs(path, exist_ok=True)
            else:
                with open(path, "wb") as f:
                    f.write(data)
            os.chmod(path, m.mode)
        os.chmod(root, 0o755)
        cmd = ["tar", "--format=gnu", "--numeric-owner", "--owner=0",
               "--group=0", "--sort=name", f"--mtime=@{epoch}", "-cf", "-"]
        cmd += names if names else ["."]
        ref = subprocess.run(cmd, cwd=root, capture_output=True, check=True)
    c.check(f"{what} is byte-identical to GNU tar's (ipkg-build options)",
            ref.stdout == raw, f"{len(ref.stdout)} vs {len(raw)} bytes")


def elf_check(c, arch, blob):
    want = ELF[arch]
    if not c.check("binary is ELF", blob[:4] == b"\x7fELF", blob[:4].hex()):
        return
    ei_class, ei_data = blob[4], blob[5]
    order = "little" if ei_data == 1 else "big"
    e_type = int.from_bytes(blob[16:18], order)
    e_machine = int.from_bytes(blob[18:20], order)
    names = {1: "32-bit", 2: "64-bit"}, {1: "little endian", 2: "big endian"}
    c.check(f"binary is {names[0].get(want[0])} (EI_CLASS)",
            ei_class == want[0], f"EI_CLASS={ei_class}")
    c.check(f"binary is {names[1].get(want[1])} (EI_DATA)",
            ei_data == want[1], f"EI_DATA={ei_data}")
    c.check(f"binary e_machine is {want[2]} for {arch}",
            e_machine == want[2], f"e_machine={e_machine}")
    c.check("binary is an executable (ET_EXEC or ET_DYN)", e_type in (2, 3),
            f"e_type={e_type}")


def validate(path, arch, version, epoch, binary, files_dir):
    c = Checker()
    with open(path, "rb") as f:
        blob = f.read()
    c.check("file name is apwatch_<version>_<arch>.ipk",
            os.path.basename(path) == f"apwatch_{version}_{arch}.ipk",
            os.path.basename(path))

    outer_raw = gunzip_checked(c, "package", blob)
    if outer_raw is None:
        return c
    outer = members(outer_raw)
    names = [m.name for m, _ in outer]
    if not c.check("outer members are ./debian-binary, ./data.tar.gz, "
                   "./control.tar.gz in that order", names == OUTER,
                   repr(names)):
        return c
    c.check("outer members are regular 0644 files",
            all(m.isreg() and m.mode == 0o644 for m, _ in outer))
    check_entries(c, "outer", outer, epoch)
    gnu_tar_same(c, "outer tar", outer, outer_raw, epoch, names=OUTER)
    by_name = {m.name: d for m, d in outer}
    c.check("debian-binary is '2.0\\n'", by_name["./debian-binary"] == b"2.0\n",
            repr(by_name["./debian-binary"]))

    # control.tar.gz
    control_raw = gunzip_checked(c, "control.tar.gz", by_name["./control.tar.gz"])
    data_raw = gunzip_checked(c, "data.tar.gz", by_name["./data.tar.gz"])
    if control_raw is None or data_raw is None:
        return c
    control = members(control_raw)
    cnames = [m.name for m, _ in control]
    c.check("control.tar.gz holds ./ conffiles control postinst prerm, sorted",
            cnames == sorted(CONTROL_MEMBERS, key=sort_key), repr(cnames))
    bad = [f"{m.name} {m.mode:o}" for m, _ in control
           if m.name in CONTROL_MEMBERS and m.mode != CONTROL_MEMBERS[m.name]]
    c.check("control.tar.gz modes (scripts 0755, others 0644)", not bad,
            ", ".join(bad))
    c.check("control.tar.gz types (./ a directory, the rest files)",
            all(m.isdir() == (m.name == "./") and (m.isdir() or m.isreg())
                for m, _ in control))
    check_entries(c, "control.tar.gz", control, epoch)
    gnu_tar_same(c, "control tar", control, control_raw, epoch)
    cby = {m.name: d for m, d in control}

    try:
        fields, order = parse_control(cby.get("./control", b"").decode())
        parsed = True
    except (ValueError, UnicodeDecodeError) as e:
        c.check("control parses", False, str(e))
        fields, order, parsed = {}, [], False
    if parsed:
        c.check("control parses", True)
    missing = [f for f in REQUIRED_FIELDS if not fields.get(f)]
    c.check("control has every required field", not missing, ", ".join(missing))
    expect = {"Package": "apwatch", "Version": version, "Depends": "libc",
              "SourceName": "apwatch", "License": "MIT OR Apache-2.0",
              "Section": "net", "Architecture": arch,
              "Installed-Size": str(len(data_raw))}
    if epoch is not None and "SourceDateEpoch" in fields:
        expect["SourceDateEpoch"] = str(epoch)
    for key, value in expect.items():
        c.check(f"control {key}: {value}", fields.get(key) == value,
                repr(fields.get(key)))
    c.check("control ends with Description",
            order[-1:] == ["Description"], repr(order[-1:]))

    conffiles = cby.get("./conffiles", b"").decode().split("\n")
    c.check("conffiles is /etc/config/apwatch",
            conffiles == ["/etc/config/apwatch", ""], repr(conffiles))
    c.check("postinst is OpenWrt's (default_postinst)",
            cby.get("./postinst", b"").decode().split("\n") == POSTINST + [""])
    c.check("prerm is OpenWrt's (default_prerm)",
            cby.get("./prerm", b"").decode().split("\n") == PRERM + [""])

    # data.tar.gz
    data = members(data_raw)
    dnames = [m.name for m, _ in data]
    c.check("data.tar.gz holds exactly the expected entries",
            sorted(dnames) == sorted(DATA_MEMBERS),
            f"extra {sorted(set(dnames) - set(DATA_MEMBERS))} missing "
            f"{sorted(set(DATA_MEMBERS) - set(dnames))}")
    c.check("data.tar.gz entries in name order (tar --sort=name)",
            dnames == sorted(dnames, key=sort_key), repr(dnames))
    c.check("data.tar.gz types (directories end in '/', the rest are files)",
            all((m.isdir() and m.name.endswith("/")) or
                (m.isreg() and not m.name.endswith("/")) for m, _ in data))
    bad = [f"{m.name} {m.mode:o}" for m, _ in data
           if m.name in DATA_MEMBERS and m.mode != DATA_MEMBERS[m.name][0]]
    c.check("data.tar.gz modes (binary, init 0755; config 0600; json 0644; "
            "directories 0755)", not bad, ", ".join(bad))
    check_entries(c, "data.tar.gz", data, epoch)
    gnu_tar_same(c, "data tar", data, data_raw, epoch)
    dby = {m.name: d for m, d in data}

    for cf in conffiles:
        if cf:
            c.check(f"conffile {cf} is a file in data.tar.gz",
                    dby.get("." + cf) is not None)
    for name, (_, src) in DATA_MEMBERS.items():
        if src:
            with open(os.path.join(files_dir, src), "rb") as f:
                c.check(f"{name} is openwrt/apwatch/files/{src}",
                        dby.get(name) == f.read())
    try:
        caps = json.loads(dby.get("./etc/capabilities/apwatch.json") or b"")
        c.check("capabilities JSON has the five ujail sets",
                sorted(caps) == sorted(["bounding", "effective", "ambient",
                                        "permitted", "inheritable"]))
    except ValueError as e:
        c.check("capabilities JSON parses", False, str(e))

    program = dby.get("./usr/sbin/apwatch")
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
    p.add_argument("--files-dir",
                   default=os.path.join(REPO, "openwrt", "apwatch", "files"))
    p.add_argument("ipk")
    a = p.parse_args()
    try:
        c = validate(a.ipk, a.arch, a.version, a.epoch, a.binary, a.files_dir)
    except (OSError, tarfile.TarError, KeyError) as e:
        print(f"not ok - {a.ipk} is readable: {e}")
        return 1
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
