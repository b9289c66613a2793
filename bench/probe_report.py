#!/usr/bin/env python3
"""Turns a bench/probe_bench.sh run directory into Markdown; exits 1 when a check fails.

  probe_report.py RUN_DIR

Reads RUN_DIR/runs.tsv, truth.txt, silent.txt and every run.MODE.REP.jsonl. Checks, for every
run: the open set equals the lab's truth (so every mode found the same set), and in the modes
that probe, every pair whose port has a probe of its own (22, 3306, 5432, 6379, 27017; in
`all` also 80 and 8080 through identification) and that speaks was verified. Prints the
per-mode medians, the ratios to `none`, the per-repetition ratios and every run.
"""
import collections
import json
import os
import statistics
import sys

OWN_PROBE_PORTS = {22, 3306, 5432, 6379, 27017}
IDENTIFIED_PORTS = {80, 8080}  # HTTP: found by identification (`all`) only


def read_pairs(path):
    if not os.path.exists(path):
        return set()
    return {line.strip() for line in open(path) if line.strip()}


def parse_run(path):
    opens, verified, services = set(), set(), collections.Counter()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("state") != "open" or r.get("transport", "tcp") != "tcp":
                continue
            key = f"{r['ip']}:{r['port']}"
            opens.add(key)
            if r.get("verified"):
                verified.add(key)
                services[r.get("service", "?")] += 1
    return opens, verified, services


def main():
    run_dir = sys.argv[1]
    truth = read_pairs(os.path.join(run_dir, "truth.txt"))
    silent = read_pairs(os.path.join(run_dir, "silent.txt"))
    rows = []
    with open(os.path.join(run_dir, "runs.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(head, line.rstrip("\n").split("\t"))))
    failures = []
    by_mode = collections.OrderedDict()
    for r in rows:
        mode, rep = r["mode"], int(r["rep"])
        opens, verified, services = parse_run(os.path.join(run_dir, f"run.{mode}.{rep}.jsonl"))
        r["open"], r["verified"], r["services"] = len(opens), len(verified), services
        r["missed"] = len(truth - opens)
        r["extra"] = len(opens - truth)
        if r["rc"] != "0":
            failures.append(f"{mode} rep {rep}: exit {r['rc']}")
        if opens != truth:
            failures.append(f"{mode} rep {rep}: open set differs from the truth "
                            f"({r['missed']} missed, {r['extra']} not in the truth)")
        if mode != "none":
            ports = OWN_PROBE_PORTS | (IDENTIFIED_PORTS if mode == "all" else set())
            should = {p for p in truth - silent if int(p.rsplit(":", 1)[1]) in ports}
            r["should_verify"] = len(should)
            if should - verified:
                failures.append(f"{mode} rep {rep}: {len(should - verified)} of {len(should)} "
                                f"pairs with a probe were not verified")
        else:
            r["should_verify"] = 0
            if verified:
                failures.append(f"none rep {rep}: {len(verified)} pairs verified without probes")
        by_mode.setdefault(mode, []).append(r)

    def f(x):
        return float(x)

    env = open(os.path.join(run_dir, "env.txt")).read().strip()
    print("### Protocol probes: cost over a plain connect scan\n")
    print("```\n" + env + "\n```\n")
    n_open = len(truth)
    print(f"Lab: 127.77.0.0/16 x 8 ports = 524,288 pairs, {n_open} open "
          f"({100.0 * n_open / 524288:.2f}%), {len(silent)} of them silent, 127.77.16.0/20 dropped.\n")
    base = statistics.median(f(r["wall_s"]) for r in by_mode.get("none", [])) \
        if "none" in by_mode else None
    print("| --probes | median wall s | min-max s | vs none | scanner CPU s | lab servers CPU s "
          "| machine busy s | peak RSS MiB | open found | verified |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, rs in by_mode.items():
        walls = [f(r["wall_s"]) for r in rs]
        med = statistics.median(walls)
        cpu = statistics.median(f(r["user_s"]) + f(r["sys_s"]) for r in rs)
        lab = statistics.median(f(r["lab_cpu_s"]) for r in rs)
        busy = statistics.median(f(r["machine_busy_s"]) for r in rs)
        rss = statistics.median(int(r["maxrss_kb"]) for r in rs) / 1024
        ratio = f"{med / base:.3f}x" if base else "-"
        opens = sorted({r["open"] for r in rs})
        ver = sorted({r["verified"] for r in rs})
        print(f"| {mode} | {med:.2f} | {min(walls):.2f}-{max(walls):.2f} | {ratio} | {cpu:.2f} | "
              f"{lab:.2f} | {busy:.2f} | {rss:.1f} | {'/'.join(map(str, opens))}/{n_open} | "
              f"{'/'.join(map(str, ver))} |")
    print()
    if base and len(by_mode) > 1:
        print("Per repetition (same repetition, modes back to back):\n")
        reps = sorted({int(r["rep"]) for r in rows})
        modes = [m for m in by_mode if m != "none"]
        print("| rep | none s | " + " | ".join(f"{m} s | {m}/none" for m in modes) + " |")
        print("|---:|---:|" + "---:|---:|" * len(modes))
        paired = collections.defaultdict(list)
        for rep in reps:
            w = {r["mode"]: f(r["wall_s"]) for r in rows if int(r["rep"]) == rep}
            if "none" not in w:
                continue
            cells = []
            for m in modes:
                if m in w:
                    paired[m].append(w[m] / w["none"])
                    cells.append(f"{w[m]:.2f} | {w[m] / w['none']:.3f}")
                else:
                    cells.append("- | -")
            print(f"| {rep} | {w['none']:.2f} | " + " | ".join(cells) + " |")
        print()
        for m in modes:
            if paired[m]:
                print(f"- {m}/none: median of medians {statistics.median(f(r['wall_s']) for r in by_mode[m]) / base:.3f}x, "
                      f"median of the per-repetition ratios {statistics.median(paired[m]):.3f}x")
        print()
    for mode, rs in by_mode.items():
        if mode == "none":
            continue
        svc = rs[0]["services"]
        print(f"- verified by service, {mode} (rep 1): " +
              ", ".join(f"{k} {v}" for k, v in sorted(svc.items())))
    print()
    if failures:
        print("**CHECKS FAILED:**\n")
        for x in failures:
            print(f"- {x}")
        sys.exit(1)
    print(f"Checks passed: every run found exactly the {n_open} open pairs of the truth and "
          "verified every pair that has a probe.")


if __name__ == "__main__":
    main()
