#!/usr/bin/env python3
"""Turns one bench/run.sh run directory into result tables.

  report.py RUN_DIR            prints Markdown to stdout, writes RUN_DIR/results.json

RUN_DIR/manifest.tsv has one line per measured command (written by run.sh):
  scenario  name  parser  probes  truth_file  rc  timeout_s  note
and for each line RUN_DIR/<scenario>.<slug>.{out,err,time} (stdout, stderr,
/usr/bin/time -v). RUN_DIR/env.txt holds the machine and tool versions and
RUN_DIR/peers.tsv the install status of each peer.

Nothing here is estimated: every number comes from those files.
"""
import json
import os
import re
import sys


def slug(name):
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


# ---------------------------------------------------------------- parsers ---
def parse_gk_jsonl(path):
    found, bad = set(), 0
    for line in open(path, errors="replace"):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if d.get("state", "open") == "open":
            found.add(f"{d['ip']}:{d['port']}")
    return found, bad


def parse_naabu_json(path):
    found, bad = set(), 0
    for line in open(path, errors="replace"):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
            found.add(f"{d['ip']}:{d['port']}")
        except (ValueError, KeyError):
            bad += 1
    return found, bad


def parse_nmap_grep(path):
    found, bad = set(), 0
    for line in open(path, errors="replace"):
        if not line.startswith("Host:") or "Ports:" not in line:
            continue
        ip = line.split()[1]
        ports = line.split("Ports:", 1)[1].split("\t")[0]
        for entry in ports.split(","):
            f = entry.strip().split("/")
            if len(f) < 2:
                bad += 1
            elif f[1] == "open":
                found.add(f"{ip}:{f[0]}")
    return found, bad


def parse_rustscan_grep(path):
    # "127.77.0.33 -> [3306,8080]"
    found, bad = set(), 0
    for line in open(path, errors="replace"):
        m = re.match(r"^(\S+) -> \[([0-9,\s]*)\]", line.strip())
        if not m:
            if line.strip():
                bad += 1
            continue
        for p in m.group(2).split(","):
            if p.strip():
                found.add(f"{m.group(1)}:{int(p)}")
    return found, bad


def parse_lines(path):
    found, bad = set(), 0
    for line in open(path, errors="replace"):
        line = line.strip()
        if re.match(r"^\d+\.\d+\.\d+\.\d+:\d+$", line):
            found.add(line)
        elif line:
            bad += 1
    return found, bad


PARSERS = {
    "gk": parse_gk_jsonl,
    "naabu": parse_naabu_json,
    "nmap": parse_nmap_grep,
    "rustscan": parse_rustscan_grep,
    "lines": parse_lines,
}


def parse_time_v(path):
    """Wall seconds, peak RSS KiB, user+sys seconds from /usr/bin/time -v."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(": ", 1)[1]
            secs = 0.0
            for part in v.split(":"):
                secs = secs * 60 + float(part)
            out["wall_s"] = secs
        elif line.startswith("Maximum resident set size"):
            out["rss_kib"] = int(line.rsplit(": ", 1)[1])
        elif line.startswith("User time"):
            out["user_s"] = float(line.rsplit(": ", 1)[1])
        elif line.startswith("System time"):
            out["sys_s"] = float(line.rsplit(": ", 1)[1])
    return out


def gk_stderr_facts(path):
    """Concurrency actually used and warning lines from goalkeeper's stderr."""
    facts = {"warnings": []}
    if not os.path.exists(path):
        return facts
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.search(r"scan start .*?\bconcurrency=(\d+)", line)
        if m:
            facts["concurrency_used"] = int(m.group(1))
        m = re.search(r"scan done .*?\battempts=(\d+)", line)
        if m:
            facts["attempts"] = int(m.group(1))
        if re.match(r"^\S+ [WE] ", line) or " warning" in line.lower():
            facts["warnings"].append(line)
    return facts


def epoll_stderr_facts(path):
    facts = {}
    if os.path.exists(path):
        for line in open(path, errors="replace"):
            m = re.search(r"concurrency=(\d+)", line)
            if m and line.startswith("epoll_connect: probes"):
                facts["concurrency_used"] = int(m.group(1))
    return facts


# --------------------------------------------------------------- strace ---
def first_connect(path, binary_name):
    """ms from the goalkeeper execve to its first connect(), from strace -f -ttt."""
    exec_t = None
    first = None
    first_line = None
    for line in open(path, errors="replace"):
        m = re.match(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$", line)
        if not m:
            continue
        t, rest = float(m.group(2)), m.group(3)
        if exec_t is None and rest.startswith("execve(") and binary_name in rest \
                and re.search(r"\) = 0$", rest):
            exec_t = t
        elif exec_t is not None and first is None and rest.startswith("connect(") \
                and "AF_INET" in rest:
            first = t
            first_line = line.strip()
    if exec_t is None:
        return {"error": f"no successful execve of {binary_name} in strace output"}
    if first is None:
        return {"error": "no AF_INET connect() in the strace output before the process was stopped"}
    return {"ms": (first - exec_t) * 1000.0, "first_connect": first_line}


# ----------------------------------------------------------------- report ---
def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def main():
    run = sys.argv[1]
    rows = []
    truth_cache = {}
    peers = {}
    if os.path.exists(os.path.join(run, "peers.tsv")):
        for line in open(os.path.join(run, "peers.tsv")):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 3:
                peers[f[0]] = (f[1], f[2])
    for line in open(os.path.join(run, "manifest.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        scenario, name, parser, probes, truth, rc, tmo, note = f[:8]
        tries = int(f[8]) if len(f) > 8 and f[8] else 1
        kept = int(f[9]) if len(f) > 9 and f[9] else 1
        base = os.path.join(run, f"{scenario}.{slug(name)}")
        row = {"scenario": scenario, "name": name, "note": note, "rc": None if rc == "" else int(rc),
               "timeout_s": int(tmo) if tmo else None, "probes": int(probes) if probes else None,
               "tries": tries, "kept_try": kept}
        if parser == "skip":
            rows.append(row)
            continue
        if parser == "strace":
            row.update(first_connect(base + ".strace", "goalkeeper-worker"))
            rows.append(row)
            continue
        row.update(parse_time_v(base + ".time"))
        if os.path.exists(base + ".busy"):
            ticks, hz = open(base + ".busy").read().split()
            row["machine_cpu_s"] = int(ticks) / int(hz)
            row["other_cpu_s"] = max(0.0, row["machine_cpu_s"] - row.get("user_s", 0) - row.get("sys_s", 0))
        row["timed_out"] = row["rc"] == 124 or (row["rc"] == 137)
        found, bad = PARSERS[parser](base + ".out")
        row["unparsed_lines"] = bad
        if truth:
            if truth not in truth_cache:
                truth_cache[truth] = set(open(truth).read().split())
            t = truth_cache[truth]
            row["truth"] = len(t)
            row["found"] = len(found)
            row["true_pos"] = len(found & t)
            row["recall"] = len(found & t) / len(t) if t else None
            row["false_pos"] = len(found - t)
        else:
            row["found"] = len(found)
            row["false_pos"] = len(found)  # nothing is open in these scenarios
        if row.get("wall_s") and row["probes"]:
            row["probes_per_s"] = row["probes"] / row["wall_s"]
        if name.startswith("goalkeeper"):
            row.update(gk_stderr_facts(base + ".err"))
        elif name.startswith("epoll"):
            row.update(epoll_stderr_facts(base + ".err"))
        rows.append(row)

    with open(os.path.join(run, "results.json"), "w") as fh:
        json.dump({"rows": rows, "peers": peers}, fh, indent=1)

    out = []
    if os.path.exists(os.path.join(run, "env.txt")):
        out.append("### Machine and versions\n")
        out.append("```")
        out.append(open(os.path.join(run, "env.txt")).read().rstrip())
        out.append("```\n")

    def status_of(r):
        if r["rc"] is None:
            return r["note"] or "not run"
        s = "ok" if r["rc"] == 0 else f"exit {r['rc']}"
        if r.get("timed_out"):
            s = f"TIMED OUT after {r['timeout_s']} s (partial output)"
        if r.get("unparsed_lines"):
            s += f", {r['unparsed_lines']} unparsed lines"
        if r.get("tries", 1) > 1:
            s += f" (measured {r['tries']}x, kept try {r['kept_try']}: least other work)"
        return s

    # Scenario 1
    s1 = [r for r in rows if r["scenario"] == "lab"]
    ref = next((r for r in s1 if r["name"] == "goalkeeper C=4096" and r.get("wall_s")), None)
    if s1:
        out.append("### Scenario 1: lab (127.77.0.0/16 x 8 ports = 524,288 probes; 300 open, /20 dropped)\n")
        out.append("| tool | wall s | probes/s | peak RSS MiB | CPU s (user+sys) | other CPU s | recall | false pos. | wall / goalkeeper | status |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in s1:
            if r["rc"] is None:
                out.append(f"| {r['name']} | | | | | | | | | {status_of(r)} |")
                continue
            cpu = (r.get("user_s") or 0) + (r.get("sys_s") or 0)
            ratio = (f"{r['wall_s'] / ref['wall_s']:.2f}x" if ref and r.get("wall_s") else "n/a")
            rec = f"{r['true_pos']}/{r['truth']} = {100 * r['recall']:.1f}%" if r.get("recall") is not None else "n/a"
            out.append(
                f"| {r['name']} | {fmt(r.get('wall_s'), '.2f')} | {fmt(r.get('probes_per_s'), ',.0f')} | "
                f"{fmt(r.get('rss_kib', 0) / 1024 if r.get('rss_kib') else None, '.1f')} | {cpu:.2f} | "
                f"{fmt(r.get('other_cpu_s'), '.2f')} | {rec} | "
                f"{r.get('false_pos', 'n/a')} | {ratio} | {status_of(r)} |")
        out.append("")
        if ref:
            out.append("Wall-time ratios against goalkeeper C=4096:\n")
            for r in s1:
                if r is not ref and r.get("wall_s"):
                    out.append(f"- {r['name']}/goalkeeper = {r['wall_s'] / ref['wall_s']:.2f}x")
            out.append("")
        for r in s1:
            if r.get("concurrency_used") and r["name"].startswith("goalkeeper"):
                out.append(f"- {r['name']}: concurrency used {r['concurrency_used']}"
                           + (f", warnings: {r['warnings']}" if r.get("warnings") else ""))
        out.append("")

    # Scenario 2
    s2 = [r for r in rows if r["scenario"] == "closed"]
    if s2:
        out.append("### Scenario 2: closed only (127.78.0.0/16 x 8 ports = 524,288 probes, every probe refused)\n")
        out.append("| tool | wall s | probes/s | peak RSS MiB | CPU s (user+sys) | other CPU s | false pos. | status |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for r in s2:
            if r["rc"] is None:
                out.append(f"| {r['name']} | | | | | | | {status_of(r)} |")
                continue
            cpu = (r.get("user_s") or 0) + (r.get("sys_s") or 0)
            out.append(
                f"| {r['name']} | {fmt(r.get('wall_s'), '.2f')} | {fmt(r.get('probes_per_s'), ',.0f')} | "
                f"{fmt(r.get('rss_kib', 0) / 1024 if r.get('rss_kib') else None, '.1f')} | {cpu:.2f} | "
                f"{fmt(r.get('other_cpu_s'), '.2f')} | {r.get('false_pos', 'n/a')} | {status_of(r)} |")
        out.append("")
        for c in ("4096", "16384"):
            g = next((r for r in s2 if r["name"] == f"goalkeeper C={c}" and r.get("probes_per_s")), None)
            e = next((r for r in s2 if r["name"] == f"epoll loop 2 threads C={c}" and r.get("probes_per_s")), None)
            if g and e:
                out.append(f"- C={c}: goalkeeper {g['probes_per_s']:,.0f} probes/s = "
                           f"{100 * g['probes_per_s'] / e['probes_per_s']:.1f}% of the epoll loop "
                           f"({e['probes_per_s']:,.0f} probes/s)")
        out.append("")

    # Scenario 3
    s3 = [r for r in rows if r["scenario"] == "fdmax"]
    if s3:
        out.append("### Scenario 3: peak RSS at the fd limit (127.77.16.0/20 x 8 ports = 32,768 probes, all dropped)\n")
        out.append("| tool | concurrency asked | concurrency used | wall s | peak RSS MiB | other CPU s | status |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        for r in s3:
            if r["rc"] is None:
                out.append(f"| {r['name']} | | | | | | {status_of(r)} |")
                continue
            out.append(
                f"| {r['name']} | {r['note']} | {r.get('concurrency_used', 'n/a')} | {fmt(r.get('wall_s'), '.2f')} | "
                f"{fmt(r.get('rss_kib', 0) / 1024 if r.get('rss_kib') else None, '.1f')} | "
                f"{fmt(r.get('other_cpu_s'), '.2f')} | {status_of(r)} |")
        out.append("")
        for r in s3:
            for w in r.get("warnings", []):
                out.append(f"- {r['name']} stderr: `{w}`")
        out.append("")

    # Scenario 4
    s4 = [r for r in rows if r["scenario"] == "startup"]
    if s4:
        out.append("### Scenario 4: process start to first connect() (127.0.0.0/8, port 80)\n")
        for r in s4:
            if "ms" in r:
                out.append(f"- {r['name']}: execve -> first connect() = {r['ms']:.1f} ms (under strace)")
                out.append(f"  - first connect: `{r['first_connect']}`")
            else:
                out.append(f"- {r['name']}: {r.get('error') or r['note']}")
        out.append("")

    if peers:
        out.append("### Peer install status\n")
        for k, (st, msg) in sorted(peers.items()):
            out.append(f"- {k}: {st}: {msg}")
        out.append("")
    out.append("\"other CPU s\" is CPU time used on the machine during that measurement by anything but the tool "
               "(busy ticks in /proc/stat minus the tool's user+sys); near 0 means the numbers are not skewed "
               "by other work. A measurement with other work above 10% of the machine is repeated "
               "(GK_BENCH_MAX_TRIES tries at most) and the least disturbed try is kept.\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
