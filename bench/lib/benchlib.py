#!/usr/bin/env python3
"""Helpers for bench/run, bench/memory and bench/probing (no third-party modules).

    benchlib.py ticks PID             utime+stime (clock ticks) of PID and all its descendants
    benchlib.py tree PID              PID and its descendants, one per line
    benchlib.py mem PID               RSS and PSS (KiB) of PID alone and of its process tree
    benchlib.py dnsperf FILE          key=value lines from a dnsperf report
    benchlib.py latency FILE          p50/p90/p99/p99.9 (µs) from `dnsperf -v` per-query lines
    benchlib.py table RESULTS         the benchmark table from bench/run's results file
    benchlib.py memtable RESULTS      the table of bench/memory
"""

import os
import re
import sys


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parens)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(stat_fields(d)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [int(root)]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def ticks(root):
    """utime (field 14) + stime (field 15) over the tree; the fields after the name start at 3."""
    total = 0
    for p in tree(root):
        try:
            f = stat_fields(p)
            total += int(f[14 - 3]) + int(f[15 - 3])
        except (OSError, ValueError, IndexError):
            pass
    return total


def mem(root):
    def status_kib(p, key):
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def pss_kib(p):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    pids = [p for p in tree(root) if os.path.exists(f"/proc/{p}/status")]
    rss = {p: status_kib(p, "VmRSS") for p in pids}
    pss = {p: pss_kib(p) for p in pids}
    print(f"rss_root={rss.get(int(root), 0)}")
    print(f"pss_root={pss.get(int(root), 0)}")
    print(f"rss_tree={sum(rss.values())}")
    print(f"pss_tree={sum(pss.values())}")
    print(f"rss_max={max(rss.values(), default=0)}")
    print(f"processes={len(pids)}")


def dnsperf(path):
    text = open(path, errors="replace").read()
    out = {}

    def grab(key, pattern, cast=float):
        m = re.search(pattern, text)
        if m:
            out[key] = cast(m.group(1))

    grab("sent", r"Queries sent:\s+(\d+)", int)
    grab("completed", r"Queries completed:\s+(\d+)", int)
    grab("lost", r"Queries lost:\s+(\d+)", int)
    grab("qps", r"Queries per second:\s+([\d.]+)")
    grab("avg_latency_us", r"Average Latency \(s\):\s+([\d.]+)")
    out["avg_latency_us"] = round(out.get("avg_latency_us", 0) * 1e6, 1)
    grab("runtime", r"Run time \(s\):\s+([\d.]+)")
    grab("response_bytes", r"Average packet size:\s+request \d+, response (\d+)", int)
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        out["rcodes"] = m.group(1).strip().replace(" ", "_")
    for k, v in out.items():
        print(f"{k}={v}")


def latency(path):
    lats = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                try:
                    lats.append(float(line.rsplit(None, 1)[1]))
                except (ValueError, IndexError):
                    pass
    lats.sort()
    n = len(lats)
    print(f"samples={n}")

    def pct(p):
        if not n:
            return 0
        return round(lats[min(n - 1, int(p / 100 * n))] * 1e6, 1)

    for p, key in ((50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p999")):
        print(f"{key}_us={pct(p)}")


def load(path):
    """RESULTS lines: `server key value`."""
    r = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) == 3:
                r.setdefault(parts[0], {})[parts[1]] = parts[2].strip()
    return r


def num(d, key):
    try:
        return float(d[key])
    except (KeyError, ValueError):
        return None


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(v, ref):
    if v is None or not ref:
        return "–"
    return f"{v / ref:.2f}"


def render(header, rows, aligns):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    def line(r):
        return "  ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w) for c, w, a in zip(r, widths, aligns))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def table(path):
    r = load(path)
    meta = r.pop("_", {})
    servers = [s for s in meta.get("servers", "carousel nsd gdnsd").split() if s in r]
    nsd = r.get("nsd", {})
    header = ["server", "qps 1 core", "lost", "×NSD", f"CPU µs/q @{meta.get('rate', '?')}", "×NSD",
              "avg µs", "p50 µs", "p99 µs", "×NSD", "resp B", "qps all cores", "lost"]
    rows = []
    for s in servers:
        d = r[s]
        rows.append([
            s, fmt(num(d, "pinned_qps")), fmt(num(d, "pinned_lost")), ratio(num(d, "pinned_qps"), num(nsd, "pinned_qps")),
            fmt(num(d, "cpu_us_per_query"), 2), ratio(num(d, "cpu_us_per_query"), num(nsd, "cpu_us_per_query")),
            fmt(num(d, "rate_avg_latency_us"), 0), fmt(num(d, "p50_us"), 0), fmt(num(d, "p99_us"), 0),
            ratio(num(d, "p99_us"), num(nsd, "p99_us")), fmt(num(d, "pinned_response_bytes")),
            fmt(num(d, "all_qps")), fmt(num(d, "all_lost")),
        ])
    print(render(header, rows, "l" + "r" * (len(header) - 1)))
    tcp = [s for s in servers if "tcp_qps" in r[s]]
    if tcp:
        parts = [f"{s} {fmt(num(r[s], 'tcp_qps'))} qps ({fmt(num(r[s], 'tcp_lost'))} lost)" for s in tcp]
        line = "TCP, 1 core (-m tcp): " + ", ".join(parts)
        if "carousel" in tcp and "nsd" in tcp:
            line += f"; carousel/nsd = {ratio(num(r['carousel'], 'tcp_qps'), num(nsd, 'tcp_qps'))}"
        print(line)
    notes = [f"{s}: {v}" for s in servers for k, v in sorted(r[s].items()) if k.startswith("warning")]
    for n in notes:
        print("warning: " + n)


def memtable(path):
    r = load(path)
    meta = r.pop("_", {})
    servers = [s for s in meta.get("servers", "carousel nsd").split() if s in r]
    nsd = r.get("nsd", {})
    header = ["server", "load s", "×NSD", "memory MiB (PSS, all processes)", "×NSD", "VmRSS MiB (largest process)",
              "RSS MiB (sum)", "processes"]
    rows = []
    for s in servers:
        d = r[s]
        mib = lambda k: None if num(d, k) is None else num(d, k) / 1024
        rows.append([s, fmt(num(d, "load_s"), 2), ratio(num(d, "load_s"), num(nsd, "load_s")),
                     fmt(mib("pss_tree"), 1), ratio(num(d, "pss_tree"), num(nsd, "pss_tree")),
                     fmt(mib("rss_max"), 1), fmt(mib("rss_tree"), 1), d.get("processes", "–")])
    print(render(header, rows, "lrrrrrrr"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "ticks":
        print(ticks(arg))
    elif cmd == "tree":
        print("\n".join(map(str, tree(arg))))
    elif cmd == "mem":
        mem(arg)
    elif cmd == "dnsperf":
        dnsperf(arg)
    elif cmd == "latency":
        latency(arg)
    elif cmd == "table":
        table(arg)
    elif cmd == "memtable":
        memtable(arg)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
