#!/usr/bin/env python3
"""Writes a broken copy of a good .ipk, to show validate_ipk.py rejects it.

  tamper_ipk.py KIND IN.ipk OUT.ipk [--binary FILE]

KIND: outer-order, gzip-name, installed-size, config-mode, owner,
no-conffiles, binary (replace ./usr/sbin/apwatch with --binary and fix
Installed-Size, so that only the ELF check can catch it).
"""

import argparse
import gzip
import io
import sys
import tarfile

KINDS = ["outer-order", "gzip-name", "installed-size", "config-mode", "owner",
         "no-conffiles", "binary"]


def read_tar(raw):
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
        return [(m, tf.extractfile(m).read() if m.isreg() else None)
                for m in tf.getmembers()]


def write_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for m, data in entries:
            if data is not None:
                m.size = len(data)
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gz(data, name=""):
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buf,
                       mtime=1 if name else 0) as f:
        f.write(data)
    return buf.getvalue()


def set_field(control, key, value):
    lines = control.decode().split("\n")
    out = [f"{key}: {value}" if l.startswith(key + ":") else l for l in lines]
    return "\n".join(out).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=KINDS)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--binary")
    a = p.parse_args()

    with open(a.src, "rb") as f:
        outer = read_tar(gzip.decompress(f.read()))
    parts = {m.name: (m, d) for m, d in outer}
    data = read_tar(gzip.decompress(parts["./data.tar.gz"][1]))
    control = read_tar(gzip.decompress(parts["./control.tar.gz"][1]))
    order = ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    name = ""

    if a.kind == "outer-order":
        order = ["./debian-binary", "./control.tar.gz", "./data.tar.gz"]
    elif a.kind == "gzip-name":
        name = "apwatch.ipk"
    elif a.kind == "config-mode":
        for m, _ in data:
            if m.name.endswith("etc/config/apwatch"):
                m.mode = 0o666
    elif a.kind == "owner":
        for m, _ in data:
            if m.name.endswith("etc/init.d/apwatch"):
                m.uid = m.gid = 1000
    elif a.kind == "no-conffiles":
        control = [(m, d) for m, d in control if not m.name.endswith("conffiles")]

    if a.kind == "binary":
        with open(a.binary, "rb") as f:
            program = f.read()
        data = [(m, program if m.name.endswith("usr/sbin/apwatch") else d)
                for m, d in data]

    data_raw = write_tar(data)
    size = len(data_raw) + (512 if a.kind == "installed-size" else 0)
    control = [(m, set_field(d, "Installed-Size", size)
                if m.name.endswith("control") else d) for m, d in control]
    parts["./data.tar.gz"] = (parts["./data.tar.gz"][0], gz(data_raw))
    parts["./control.tar.gz"] = (parts["./control.tar.gz"][0],
                                 gz(write_tar(control)))
    with open(a.dst, "wb") as f:
        f.write(gz(write_tar([parts[n] for n in order]), name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
