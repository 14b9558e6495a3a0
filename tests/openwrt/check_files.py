#!/usr/bin/env python3
"""Static checks of openwrt/apwatch: the default config against the contract
(docs/INTERFACES.md), the capabilities file against the init script, and the
feed Makefile's settings. One line per check, "ok - ..." or "not ok - ...",
exit 1 if any failed. Standard library only."""

import json
import os
import re
import shlex
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PKG = os.path.join(REPO, "openwrt", "apwatch")
FILES = os.path.join(PKG, "files")

# Linux capability names (include/uapi/linux/capability.h, up to 6.x).
LINUX_CAPS = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
}

import tap  # noqa: E402  (next to this file)
from tap import check  # noqa: E402


def uci_parse(text, commented=False):
    """Sections of a UCI file: [(type, name, [(kind, option, value)])].
    Strict like libuci for what it accepts: config/option/list lines with
    one or two words, quoted or bare, and comments. With commented=True,
    lines starting '#config', '#<tab>option' etc. are read as if the '#'
    were not there (and their own trailing '#' text as a comment)."""
    sections = []
    for number, line in enumerate(text.split("\n"), 1):
        body = line.strip()
        if commented and re.match(r"#\s*(config|option|list)\s", body):
            body = body.lstrip("#").strip()
        if not body or body.startswith("#"):
            continue
        lexer = shlex.shlex(body, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError as e:
            raise ValueError(f"line {number}: {e}") from None
        kind = words[0]
        if kind == "config" and len(words) in (2, 3):
            sections.append((words[1], words[2] if len(words) == 3 else None, []))
        elif kind in ("option", "list") and len(words) == 3 and sections:
            if not re.fullmatch(r"[A-Za-z0-9_]+", words[1]):
                raise ValueError(f"line {number}: bad option name {words[1]!r}")
            sections[-1][2].append((kind, words[1], words[2]))
        else:
            raise ValueError(f"line {number}: not UCI: {line!r}")
    return sections


def contract():
    """{section type: {option: [documented values]}} from the configuration
    block of docs/INTERFACES.md, commented-out options included."""
    with open(os.path.join(REPO, "docs", "INTERFACES.md")) as f:
        doc = f.read()
    block = re.search(r"## Configuration\s*```\n(.*?)```", doc, re.S).group(1)
    out, current = {}, None
    for line in block.split("\n"):
        m = re.match(r"\s*config\s+(\w+)", line)
        if m:
            current = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"\s*#?\s*(option|list)\s+(\w+)\s+'([^']*)'", line)
        if m and current is not None:
            current.setdefault(m.group(2), []).append(m.group(3))
    return out


def check_config():
    with open(os.path.join(FILES, "apwatch.config")) as f:
        text = f.read()
    documented = contract()
    check("docs/INTERFACES.md documents sections apwatch and rule",
          {"apwatch", "rule"} <= set(documented), repr(sorted(documented)))
    try:
        active = uci_parse(text)
        check("apwatch.config parses as UCI", True)
    except ValueError as e:
        check("apwatch.config parses as UCI", False, str(e))
        return
    types = [(t, n) for t, n, _ in active]
    check("apwatch.config has one section, config apwatch 'main'",
          types == [("apwatch", "main")], repr(types))
    check("apwatch.config has no active rule (installing changes nothing)",
          not any(t == "rule" for t, _ in types))
    main = {o: v for _, o, v in active[0][2]} if active else {}
    check("option enabled '1'", main.get("enabled") == "1", repr(main.get("enabled")))
    check("option backend 'auto'", main.get("backend") == "auto", repr(main.get("backend")))
    check("option log_level is documented default 'info'", main.get("log_level") == "info")
    undocumented = [o for o in main if o not in documented.get("apwatch", {})]
    check("every active option of main is in the contract", not undocumented,
          ", ".join(undocumented))

    try:
        everything = uci_parse(text, commented=True)
        check("apwatch.config with its examples uncommented parses as UCI", True)
    except ValueError as e:
        check("apwatch.config with its examples uncommented parses as UCI", False, str(e))
        return
    for stype, sname, options in everything:
        known = documented.get(stype, {})
        bad = [o for _, o, _ in options if o not in known]
        check(f"commented example options of {stype} '{sname}' are in the contract",
              not bad, ", ".join(bad))
        if stype == "rule":
            check(f"example rule name {sname!r} is [A-Za-z0-9_]{{1,32}}",
                  bool(sname and re.fullmatch(r"[A-Za-z0-9_]{1,32}", sname)))
    main_all = [(k, o, v) for t, n, opts in everything if t == "apwatch" for k, o, v in opts]
    for option in ("dnsmasq_dir", "state_file"):
        values = [v for _, o, v in main_all if o == option]
        check(f"the default shown for {option} is the contract's",
              values == documented["apwatch"].get(option), repr(values))
    restart = [v for k, o, v in main_all if o == "dnsmasq_restart" and k == "list"]
    check("the default shown for dnsmasq_restart is the contract's list",
          restart == documented["apwatch"].get("dnsmasq_restart"), repr(restart))
    rules = [s for s in everything if s[0] == "rule"]
    check("the config shows exactly one example rule", len(rules) == 1, str(len(rules)))


def check_init_and_caps():
    with open(os.path.join(FILES, "apwatch.init")) as f:
        init = f.read()
    lines = init.split("\n")
    check("init script starts with '#!/bin/sh /etc/rc.common'",
          lines[0] == "#!/bin/sh /etc/rc.common", repr(lines[0]))
    for assignment in ("START=60", "STOP=15", "USE_PROCD=1"):
        check(f"init script sets {assignment}", assignment in lines)
    with open(os.path.join(FILES, "apwatch.json")) as f:
        caps = json.load(f)
    sets = ["bounding", "effective", "ambient", "permitted", "inheritable"]
    check("capabilities JSON has exactly the five ujail sets",
          sorted(caps) == sorted(sets), repr(sorted(caps)))
    granted = set(caps.get("bounding", []))
    check("all five sets are the same", all(set(caps.get(s, [])) == granted for s in sets))
    check("every capability is a Linux capability name", granted <= LINUX_CAPS,
          ", ".join(sorted(granted - LINUX_CAPS)))
    check("CAP_NET_ADMIN is granted", "CAP_NET_ADMIN" in granted)
    explained = set(re.findall(r"#\s+(CAP_[A-Z_]+)\s", init))
    check("the init script explains exactly the capabilities granted",
          explained == granted, f"explained {sorted(explained)}, granted {sorted(granted)}")
    check("init script uses this capabilities file",
          "CAPABILITIES=/etc/capabilities/apwatch.json" in lines)


def makefile_vars(text):
    out = {}
    for m in re.finditer(r"^([A-Z_]+)\s*:?=\s*(.*)$", text, re.M):
        out.setdefault(m.group(1), m.group(2).strip())
    return out


def cargo_package():
    """(name, version) of agent/Cargo.toml, the version resolved through the
    workspace when inherited; None when the file is not there."""
    import tomllib
    path = os.path.join(REPO, "agent", "Cargo.toml")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        package = tomllib.load(f).get("package", {})
    version = package.get("version")
    if isinstance(version, dict) and version.get("workspace"):
        with open(os.path.join(REPO, "Cargo.toml"), "rb") as f:
            version = tomllib.load(f).get("workspace", {}).get(
                "package", {}).get("version")
    return package.get("name"), version


def check_makefile():
    with open(os.path.join(PKG, "Makefile")) as f:
        text = f.read()
    v = makefile_vars(text)
    for key, want in [("PKG_NAME", "apwatch"), ("PKG_BUILD_DEPENDS", "rust/host"),
                      ("RUST_PKG_LOCKED", "1"), ("PKG_SOURCE_PROTO", "git"),
                      ("PKG_LICENSE", "MIT OR Apache-2.0")]:
        check(f"Makefile {key}:={want}", v.get(key) == want, repr(v.get(key)))
    check("Makefile includes the packages feed's rust-package.mk",
          "include $(TOPDIR)/feeds/packages/lang/rust/rust-package.mk" in text)
    check("Makefile DEPENDS:=$(RUST_ARCH_DEPENDS)",
          re.search(r"^\s*DEPENDS:=\$\(RUST_ARCH_DEPENDS\)\s*$", text, re.M) is not None)
    h = v.get("PKG_MIRROR_HASH", "")
    check("Makefile PKG_MIRROR_HASH is a sha256, not 'skip'",
          re.fullmatch(r"[0-9a-f]{64}", h) is not None, repr(h))
    check("Makefile has PKG_SOURCE_URL and PKG_SOURCE_VERSION",
          bool(v.get("PKG_SOURCE_URL")) and bool(v.get("PKG_SOURCE_VERSION")))
    m = re.search(r"define Package/apwatch/conffiles\n(.*?)endef", text, re.S)
    check("Makefile conffiles is /etc/config/apwatch",
          m is not None and m.group(1).split() == ["/etc/config/apwatch"])
    agent = cargo_package()
    if agent is None:
        print("skip - agent/Cargo.toml not there yet: PKG_VERSION and "
              "package name not compared")
    else:
        name, version = agent
        check("agent/Cargo.toml is package apwatch", name == "apwatch", repr(name))
        check("Makefile PKG_VERSION is the agent crate's version",
              v.get("PKG_VERSION") == version,
              f"{v.get('PKG_VERSION')} vs {version}")
    lock = os.path.join(REPO, "Cargo.lock")
    if os.path.exists(os.path.join(REPO, "Cargo.toml")):
        check("Cargo.lock is there (RUST_PKG_LOCKED:=1 needs it)", os.path.exists(lock))
    else:
        print("skip - no workspace Cargo.toml yet: Cargo.lock not checked")


def main():
    check_config()
    check_init_and_caps()
    check_makefile()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
