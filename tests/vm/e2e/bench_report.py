#!/usr/bin/python3
"""bench_report.py DIR [NOTE...]: the markdown report of a bench-latency run (stdlib only).

DIR holds what bench.sh wrote: marks.tsv (one row per AP start: mode, iter, enable, lease, disable,
note; epoch seconds), iw-event.log (`iw event -t`), ip-monitor.log (`ip -ts monitor link`, TZ=UTC),
wpa_supplicant.log (-t), env.txt. Per start, within [enable, disable]: START_AP = the first `unknown event 15` of wlan0,
bridged = the first RTM_NEWLINK of wlan0 carrying `master br-foo`, lease = the udhcpc bound time.
NOTE lines are added under the table.
"""
import csv
import datetime
import re
import statistics
import sys

IW = re.compile(r"^(\d+\.\d+): wlan0 \(phy #\d+\): unknown event 15\b")
WPAS = re.compile(r"^(\d+\.\d+): wlan1: CTRL-EVENT-CONNECTED")
IP = re.compile(r"^\[(\d{4}-\d\d-\d\dT[\d:.]+)\] (\d+: wlan0: .*\bmaster br-foo\b)")


def times(path, rx, conv):
    out = []
    for line in open(path, errors="replace"):
        m = rx.match(line)
        if m:
            out.append(conv(m.group(1)))
    return sorted(out)


def ip_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def first_in(ts, lo, hi):
    return next((t for t in ts if lo <= t <= hi), None)


def pct(xs):
    if not xs:
        return None, None
    if len(xs) == 1:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=20, method="inclusive")
    return q[9], q[18]


def ms(x):
    return "–" if x is None else f"{x * 1000:.1f} ms"


def main(d, notes):
    starts = times(f"{d}/iw-event.log", IW, float)
    bridged = times(f"{d}/ip-monitor.log", IP, ip_ts)
    assoc = times(f"{d}/wpa_supplicant.log", WPAS, float)
    rows = list(csv.DictReader(open(f"{d}/marks.tsv"), delimiter="\t"))
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    res = {m: {"bridge": [], "lease": [], "assoc": [], "start": [], "bad": [], "n": 0} for m in modes}
    for r in rows:
        m, lo, hi = r["mode"], float(r["enable"]), float(r["disable"])
        s = res[m]
        s["n"] += 1
        t_ap = first_in(starts, lo, hi)
        t_br = first_in(bridged, lo, hi)
        if r["note"] != "ok":
            s["bad"].append(f"#{r['iter']} {r['note']}")
        if t_ap is None:
            s["bad"].append(f"#{r['iter']} no START_AP seen")
            continue
        s["start"].append(t_ap - lo)
        if t_br is not None:
            if t_br < t_ap:
                s["bad"].append(f"#{r['iter']} bridged {1000 * (t_ap - t_br):.1f} ms before START_AP")
            else:
                s["bridge"].append(t_br - t_ap)
        t_as = first_in(assoc, t_ap, hi)
        if t_as is not None:
            s["assoc"].append(t_as - t_ap)
        if r["lease"] not in ("", "-"):
            s["lease"].append(float(r["lease"]) - t_ap)

    out = ["# apwatch bench-latency", ""]
    env = open(f"{d}/env.txt").read().strip() if __import__("os").path.exists(f"{d}/env.txt") else ""
    out += [f"Guest: {env}." if env else "", *notes, ""]
    head = "| from START_AP to | " + " | ".join(f"{m} p50 | {m} p95" for m in modes)
    has_ratio = "agent" in modes and "baseline" in modes
    if has_ratio:
        head += " | baseline/agent p50 | baseline/agent p95"
    out += [head + " |", "|" + "---|" * (head.count("|"))]
    for key, label in (("bridge", "wlan0 is a port of br-foo"), ("assoc", "(the station is associated: same path in both)"),
                       ("lease", "the station holds a lease"),
                       ("start", "(from the ENABLE command: START_AP)")):
        cells, p = [], {}
        for m in modes:
            p[m] = pct(res[m][key])
            cells += [ms(p[m][0]), ms(p[m][1])]
        line = f"| {label} | " + " | ".join(cells)
        if has_ratio:
            rat = []
            for i in (0, 1):
                a, b = p["agent"][i], p["baseline"][i]
                rat.append(f"{b / a:.2f}" if a and b else "–")
            line += " | " + " | ".join(rat)
        out.append(line + " |")
    out += [""]
    for m in modes:
        s = res[m]
        out.append(f"- {m}: {s['n']} starts, {len(s['bridge'])} bridge latencies "
                   f"(min {ms(min(s['bridge'], default=None))}, max {ms(max(s['bridge'], default=None))}), "
                   f"{len(s['lease'])} leases (max {ms(max(s['lease'], default=None))})"
                   + (f"; anomalies: {', '.join(s['bad'][:8])}{' …' if len(s['bad']) > 8 else ''}" if s["bad"] else ""))
    out += ["",
            "START_AP: `iw event -t` (\"unknown event 15\"); bridge port: first `ip -ts monitor link` line of wlan0 "
            "with `master br-foo`; association: wpa_supplicant's CTRL-EVENT-CONNECTED (a scan "
            "is requested right after ENABLE); lease: busybox udhcpc's bound script (started once the station is "
            "associated, DISCOVER repeated every 1 s). The AP is cycled with `hostapd_cli disable`/`enable`. "
            "The baseline is `hostapd_cli -a` running `ip link set wlan0 master br-foo` and a dnsmasq restart "
            "on AP-ENABLED. The VM is TCG-emulated (no KVM): absolute times are inflated several-fold, "
            "compare the two columns, not the numbers with hardware.", ""]
    print("\n".join(out))
    ok = all(res[m]["bridge"] for m in modes)
    return 0 if ok and modes else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
