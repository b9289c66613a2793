#!/usr/bin/env python3
"""Turns a bench/udp_bench.sh run directory into Markdown.

  udp_report.py RUN_DIR NET

Reads RUN_DIR/runs.tsv, truth.tsv (the lab's UDP listeners: "ip:port<TAB>name<TAB>service"),
ss-udp.txt (every UDP socket bound in the namespace) and each tool's output:
goalkeeper.REP.out (JSONL), nmap.REP.out (-oG), masscan.REP.list (-oL), zmap.REP.PORT.csv.
Recall = lab listeners reported open / all lab listeners in NET; a false positive is a pair
reported open where no UDP socket is bound (exact address or a wildcard bind on that port).
Exits 1 when goalkeeper's run failed or reported a false positive.
"""
import collections
import ipaddress
import json
import os
import re
import statistics
import sys

UDP_PORTS = [53, 111, 123, 137, 161, 389, 1434, 1900, 5353, 10001, 11211]


def main():
    run_dir, net = sys.argv[1], ipaddress.ip_network(sys.argv[2])
    truth = {}
    for line in open(os.path.join(run_dir, "truth.tsv")):
        key, name, service = line.rstrip("\n").split("\t")
        ip, port = key.rsplit(":", 1)
        if ipaddress.ip_address(ip) in net and int(port) in UDP_PORTS:
            truth[(ip, int(port))] = (name, service)
    bound, wildcard = set(), set()
    for line in open(os.path.join(run_dir, "ss-udp.txt")):
        f = line.split()
        if len(f) < 4:
            continue
        addr, _, port = f[3].rpartition(":")
        if not port.isdigit():
            continue
        addr = addr.strip("[]").split("%")[0]
        if addr in ("0.0.0.0", "*", "::"):
            wildcard.add(int(port))
        else:
            bound.add((addr, int(port)))

    def is_bound(p):
        return p in bound or p[1] in wildcard

    rows = []
    with open(os.path.join(run_dir, "runs.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(head, line.rstrip("\n").split("\t"))))

    def found_by(tool, rep):
        out, extra = set(), {}
        if tool == "goalkeeper":
            path = os.path.join(run_dir, f"goalkeeper.{rep}.out")
            for line in open(path):
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r.get("transport") == "udp" and r.get("state") == "open":
                    out.add((r["ip"], int(r["port"])))
        elif tool == "nmap":
            openfilt = 0
            for line in open(os.path.join(run_dir, f"nmap.{rep}.out")):
                m = re.match(r"Host: (\S+) .*Ports: (.*)", line)
                if not m:
                    continue
                for entry in m.group(2).split(","):
                    parts = entry.strip().split("/")
                    if len(parts) < 3 or parts[2] != "udp":
                        continue
                    if parts[1] == "open":
                        out.add((m.group(1), int(parts[0])))
                    elif parts[1] == "open|filtered":
                        openfilt += 1
            extra["open|filtered"] = openfilt
        elif tool.startswith("masscan"):
            path = os.path.join(run_dir, f"{tool}.{rep}.list")
            if os.path.exists(path):
                for line in open(path):
                    f = line.split()
                    if len(f) >= 4 and f[0] == "open" and f[1] == "udp":
                        out.add((f[3], int(f[2])))
        elif tool == "zmap":
            for port in UDP_PORTS:
                path = os.path.join(run_dir, f"zmap.{rep}.{port}.csv")
                if not os.path.exists(path):
                    continue
                for line in open(path):
                    ip = line.strip().split(",")[0]
                    try:
                        ipaddress.ip_address(ip)
                    except ValueError:
                        continue
                    out.add((ip, port))
        return {p for p in out if ipaddress.ip_address(p[0]) in net and p[1] in UDP_PORTS}, extra

    per = collections.OrderedDict()  # tool -> list of result dicts
    for r in rows:
        per.setdefault((r["tool"], r["rep"]), []).append(r)
    results = collections.OrderedDict()
    for (tool, rep), parts in per.items():
        found, extra = found_by(tool, rep)
        res = {
            "rep": rep,
            "wall": sum(float(p["wall_s"]) for p in parts),
            "cpu": sum(float(p["user_s"]) + float(p["sys_s"]) for p in parts),
            "rss": max(int(p["maxrss_kb"]) for p in parts) / 1024,
            "rcs": sorted({p["rc"] for p in parts}),
            "drops": sum(int(p.get("backlog_drops") or 0) for p in parts),
            "found": found,
            "hit": found & set(truth),
            "fp": {p for p in found if not is_bound(p)},
            "other_real": {p for p in found if is_bound(p) and p not in truth},
            "extra": extra,
        }
        results.setdefault(tool, []).append(res)

    env = open(os.path.join(run_dir, "env.txt")).read().strip()
    n_addr = net.num_addresses
    probes = n_addr * len(UDP_PORTS)
    print("### UDP sweep\n")
    print("```\n" + env + "\n```\n")
    print(f"Range {net} x {len(UDP_PORTS)} UDP ports = {probes:,} probes; {len(truth)} lab UDP "
          f"listeners in it; {len(bound)} UDP sockets bound to an address"
          f"{', wildcard ports ' + ','.join(map(str, sorted(wildcard))) if wildcard else ''}.\n")
    gk = results.get("goalkeeper")
    gk_wall = statistics.median(r["wall"] for r in gk) if gk else None
    print("| tool | wall s | probes/s | CPU s | peak RSS MiB | recall (lab listeners) | false pos. "
          "| other bound sockets found | exit | backlog drops | wall / goalkeeper |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for tool, rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        rss = max(r["rss"] for r in rs)
        hits = sorted({len(r["hit"]) for r in rs})
        fps = sorted({len(r["fp"]) for r in rs})
        other = sorted({len(r["other_real"]) for r in rs})
        rcs = sorted({c for r in rs for c in r["rcs"]})
        ratio = f"{wall / gk_wall:.2f}x" if gk_wall else "-"
        drops = "/".join(str(r["drops"]) for r in rs)
        hit_txt = "/".join(map(str, hits)) + f"/{len(truth)}"
        print(f"| {tool} | {wall:.2f} | {probes / wall:,.0f} | {cpu:.2f} | {rss:.1f} | {hit_txt} | "
              f"{'/'.join(map(str, fps))} | {'/'.join(map(str, other))} | {','.join(rcs)} | {drops} | {ratio} |")
    print()
    for tool, rs in results.items():
        for r in rs:
            if r["extra"]:
                print(f"- {tool} rep {r['rep']}: " +
                      ", ".join(f"{k} {v}" for k, v in r["extra"].items()))
            if r["fp"]:
                print(f"- {tool} rep {r['rep']} false positives: " +
                      ", ".join(f"{a}:{p}" for a, p in sorted(r["fp"])[:20]))
            if r["other_real"]:
                print(f"- {tool} rep {r['rep']} also found (bound, not in the manifest): " +
                      ", ".join(f"{a}:{p}" for a, p in sorted(r["other_real"])))
    print()
    print("Which lab listener each tool reported open (first repetition):\n")
    tools = list(results)
    print("| listener | address:port | " + " | ".join(tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    for key in sorted(truth, key=lambda k: (k[1], ipaddress.ip_address(k[0]))):
        name, service = truth[key]
        cells = ["yes" if key in results[t][0]["found"] else "**no**" for t in tools]
        print(f"| {name} ({service}) | {key[0]}:{key[1]} | " + " | ".join(cells) + " |")
    print()
    bad = gk and any(r["fp"] or r["rcs"] != ["0"] for r in gk)
    if bad:
        print("**CHECK FAILED:** goalkeeper exited non-zero or reported a false positive.")
        sys.exit(1)


if __name__ == "__main__":
    main()
