#!/usr/bin/python3
"""Scrapes /metrics of the real daemons and checks them with a real parser.

Starts goalkeeper-coordinator, goalkeeper-notifier and `goalkeeper-worker run`
as processes on 127.0.0.1 (every port 0, read back from their log lines), runs
one scan of a small loopback lab (127.75.0.0/28, one port open on
127.75.0.10) with goalkeeperctl, and parses each daemon's /metrics with
prometheus_client's exposition-format parser (Debian: python3-prometheus-client,
hence /usr/bin/python3). It checks:
  - every required family is there with its type;
  - Prometheus naming: counters end in _total, gauges do not, histograms have
    _bucket/_sum/_count (the +Inf bucket equal to the count) and a unit suffix;
  - goalkeeper_build_info{version,component} is 1 with the project's version;
  - values move: after a GetScan of an unknown id the handled counter for that
    method and NotFound is >= 1, after the scan the worker's probe counters
    are > 0, the coordinator counted the lease, the shard duration and the
    scan, and the notifier counted the report stream and the email it sent.
Also: `--metrics-listen ""` turns the worker's /metrics off, and a malformed
value is a usage error (exit 2). Every gRPC link is mutual TLS, with the
certificates scripts/dev-certs.sh makes in the temporary directory.

Usage: metrics_test.py --coordinator BIN --notifier BIN --worker BIN --ctl BIN
       --version 0.1.0 --dev-certs scripts/dev-certs.sh
Exits 0 when every check passed; prints one line per check and a summary
"metrics-tests: N passed, M failed".
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

LAB_OPEN = "127.75.0.10"
LAB_PORT = 15432

# Families every daemon serves: name (as the parser names it: a counter
# without its _total) -> type.
COMMON = {
    "goalkeeper_build_info": "gauge",
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}
GRPC = {
    "grpc_server_started": "counter",
    "grpc_server_handled": "counter",
    "grpc_server_handling_seconds": "histogram",
}
REQUIRED = {
    "coordinator": {
        **COMMON,
        **GRPC,
        "goalkeeper_scans": "gauge",
        "goalkeeper_scans_finished": "counter",
        "goalkeeper_scan_duration_seconds": "histogram",
        "goalkeeper_shards": "gauge",
        "goalkeeper_shards_pending": "gauge",
        "goalkeeper_probes_pending": "gauge",
        "goalkeeper_shard_duration_seconds": "histogram",
        "goalkeeper_leases": "counter",
        "goalkeeper_probes_done": "counter",
        "goalkeeper_probes_per_second": "gauge",
        "goalkeeper_workers_connected": "gauge",
        "goalkeeper_findings": "counter",
        "goalkeeper_reports_pending": "gauge",
        "goalkeeper_report_oldest_undelivered_age_seconds": "gauge",
        "goalkeeper_report_delivery_attempts": "counter",
        "goalkeeper_operator_streams": "gauge",
        "goalkeeper_findings_held": "gauge",
        "goalkeeper_db_writes_refused": "gauge",
        "goalkeeper_nodes_silent": "gauge",
        "goalkeeper_node_findings_undelivered": "gauge",
        "goalkeeper_node_finding_delivery_attempts": "counter",
        "goalkeeper_node_findings_delivered": "counter",
    },
    "notifier": {
        **COMMON,
        **GRPC,
        "goalkeeper_notifications": "gauge",
        "goalkeeper_outbox_depth": "gauge",
        "goalkeeper_outbox_oldest_age_seconds": "gauge",
        "goalkeeper_notifications_sent": "counter",
        "goalkeeper_notifications_failed": "counter",
        "goalkeeper_notifications_dead_lettered": "counter",
        "goalkeeper_notifications_rate_limited": "counter",
        "goalkeeper_owner_resolutions": "counter",
    },
    "worker": {
        **COMMON,
        "goalkeeper_worker_probes": "counter",
        "goalkeeper_worker_probe_attempts": "counter",
        "goalkeeper_worker_local_errors": "counter",
        "goalkeeper_worker_probes_in_flight": "gauge",
        "goalkeeper_worker_probes_per_second": "gauge",
        "goalkeeper_worker_applied_rate_probes_per_second": "gauge",
        "goalkeeper_worker_shards_completed": "counter",
        "goalkeeper_worker_shards_handed_back": "counter",
        "goalkeeper_worker_leases_lost": "counter",
    },
}
# prometheus-cpp's Exposer adds these to every endpoint and cannot be told
# not to; exposer_request_latencies is a summary in microseconds (the
# library's choice). They are left out of the naming checks, nothing else.
LIBRARY_FAMILIES = {"exposer_transferred_bytes", "exposer_scrapes", "exposer_request_latencies"}
UNIT_SUFFIXES = ("_seconds", "_bytes")

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    return ok


class Daemon:
    """A process of ours logging to a file; `wait_for` finds a line in it."""

    def __init__(self, name, argv, workdir):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def text(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no line matching {pattern!r}:\n{self.text()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def scrape(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        return r.read().decode("utf-8")


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams, family, sample, **labels):
    """The value of the sample named `sample` with (at least) these labels, or None."""
    f = fams.get(family)
    if f is None:
        return None
    for s in f.samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def check_conventions(component, text, fams, version):
    # Raw TYPE lines: what the exposition names a family, before the parser
    # strips a counter's _total.
    for name, typ in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        base = name[:-6] if name.endswith("_total") else name
        if base in LIBRARY_FAMILIES or name in LIBRARY_FAMILIES:
            continue
        check(re.fullmatch(r"[a-z_][a-z0-9_]*", name) is not None,
              f"{component}: {name} is a lower-case snake_case name")
        if typ == "counter":
            check(name.endswith("_total"), f"{component}: counter {name} ends in _total")
        else:
            check(not name.endswith("_total"), f"{component}: {typ} {name} does not end in _total")
        if typ == "histogram":
            check(name.endswith(UNIT_SUFFIXES), f"{component}: histogram {name} has a unit suffix")
        check(typ in ("counter", "gauge", "histogram"),
              f"{component}: {name} is a counter, gauge or histogram ({typ})")
    for name, f in fams.items():
        if name in LIBRARY_FAMILIES:
            continue
        if f.type == "counter":
            check(all(s.name.endswith("_total") for s in f.samples),
                  f"{component}: every sample of counter {name} ends in _total")
        if f.type == "histogram" and f.samples:
            names = {s.name for s in f.samples}
            check({name + "_bucket", name + "_sum", name + "_count"} <= names,
                  f"{component}: histogram {name} has _bucket, _sum and _count")
            for s in f.samples:
                if s.name != name + "_count":
                    continue
                key = {k: v for k, v in s.labels.items()}
                inf = [b.value for b in f.samples
                       if b.name == name + "_bucket" and b.labels.get("le") == "+Inf"
                       and {k: v for k, v in b.labels.items() if k != "le"} == key]
                check(inf == [s.value],
                      f"{component}: {name}{key} +Inf bucket equals its count {s.value}")
    for name, typ in REQUIRED[component].items():
        f = fams.get(name)
        check(f is not None and f.type == typ,
              f"{component}: family {name} present as {typ}"
              + ("" if f is None else f" (is {f.type})"))
    info = fams.get("goalkeeper_build_info")
    samples = info.samples if info else []
    check(len(samples) == 1 and samples[0].value == 1
          and samples[0].labels.get("version") == version
          and samples[0].labels.get("component") == component,
          f"{component}: goalkeeper_build_info{{version=\"{version}\",component=\"{component}\"}}"
          f" 1 (got {[(s.labels, s.value) for s in samples]})")
    rss = value(fams, "process_resident_memory_bytes", "process_resident_memory_bytes")
    check(rss is not None and rss > 1 << 20, f"{component}: resident memory {rss} > 1 MiB")
    fds = value(fams, "process_open_fds", "process_open_fds")
    max_fds = value(fams, "process_max_fds", "process_max_fds")
    check(fds is not None and max_fds is not None and 3 <= fds <= max_fds,
          f"{component}: 3 <= open fds {fds} <= max fds {max_fds}")
    start = value(fams, "process_start_time_seconds", "process_start_time_seconds")
    check(start is not None and abs(start - time.time()) < 600,
          f"{component}: process start time {start} is within 10 minutes of now")


def self_test():
    """The naming checks catch what they are for (run on a bad exposition)."""
    global passed, failed
    bad = ("# HELP a_total x\n# TYPE a_total gauge\na_total 1\n"
           "# HELP b x\n# TYPE b counter\nb 1\n"
           "# HELP c x\n# TYPE c histogram\nc_bucket{le=\"+Inf\"} 2\nc_sum 1\nc_count 1\n")
    saved = (passed, failed)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as out:
        check_conventions("worker", bad, families(bad), "0.0.0")
    passed, failed = saved
    text = out.getvalue()
    for needle in ("FAIL worker: gauge a_total does not end in _total",
                   "FAIL worker: counter b ends in _total",
                   "FAIL worker: histogram c has a unit suffix",
                   "FAIL worker: c{} +Inf bucket equals its count",
                   "FAIL worker: family goalkeeper_worker_probes present as counter",
                   "FAIL worker: goalkeeper_build_info"):
        check(needle in text, f"self-test: the checker reports '{needle}'")


def poll(address, predicate, seconds=30):
    """Scrapes until predicate(families) holds; returns the last scrape."""
    deadline = time.monotonic() + seconds
    while True:
        text = scrape(address)
        fams = families(text)
        if predicate(fams) or time.monotonic() > deadline:
            return text, fams
        time.sleep(0.25)


def run(args, workdir):
    certs = os.path.join(workdir, "certs")
    subprocess.run(["/bin/bash", args.dev_certs, certs, "coordinator", "notifier", "worker",
                    "admin"], check=True, timeout=120)

    def tls(name):
        return ["--tls-dir", os.path.join(certs, name)]

    lab = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lab.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lab.bind((LAB_OPEN, LAB_PORT))
    lab.listen(128)

    with open(os.path.join(workdir, "notifier.yaml"), "w") as f:
        f.write(f"listen: 127.0.0.1:0\ndb: {workdir}/notifier.db\n"
                "metrics_listen: 127.0.0.1:0\nmode: stage\n"
                f"tls: {{dir: {certs}/notifier}}\nhealth_listen: \"\"\n"
                "ops: {emails: [noc@ops.example]}\n"
                f"email: {{outbox_dir: {workdir}/outbox, from: goalkeeper@ops.example}}\n")
    daemons = []
    try:
        notifier = Daemon("notifier", [args.notifier, "--config", f"{workdir}/notifier.yaml"],
                          workdir)
        daemons.append(notifier)
        m = notifier.wait_for(r"notifier listening grpc=127\.0\.0\.1:(\d+) metrics=(\S+)")
        notifier_grpc, notifier_metrics = m.group(1), m.group(2)

        with open(os.path.join(workdir, "coordinator.yaml"), "w") as f:
            f.write(f"listen: 127.0.0.1:0\ndb: {workdir}/coordinator.db\n"
                    "metrics_listen: 127.0.0.1:0\n"
                    f"tls: {{dir: {certs}/coordinator}}\nhealth_listen: \"\"\n"
                    "allowed_ranges: [127.75.0.0/16]\n"
                    "inventories:\n  lab: {targets: [127.75.0.0/28]}\n"
                    f"profiles:\n  lab: {{ports: \"{LAB_PORT}\", timeout_ms: 300, retries: 1}}\n"
                    f"notifier: {{address: \"127.0.0.1:{notifier_grpc}\"}}\n")
        coordinator = Daemon("coordinator",
                             [args.coordinator, "--config", f"{workdir}/coordinator.yaml"],
                             workdir)
        daemons.append(coordinator)
        m = coordinator.wait_for(r"coordinator listening grpc=127\.0\.0\.1:(\d+) metrics=(\S+)")
        coordinator_grpc, coordinator_metrics = m.group(1), m.group(2)
        target = f"127.0.0.1:{coordinator_grpc}"

        worker = Daemon("worker", [args.worker, "run", "--coordinator", target, "--name", "m1",
                                   "--concurrency", "64", "--metrics-listen", "127.0.0.1:0"]
                        + tls("worker"),
                        workdir)
        daemons.append(worker)
        worker_metrics = worker.wait_for(r"worker metrics=(127\.0\.0\.1:\d+)").group(1)
        worker.wait_for(r"worker registered id=")

        # One RPC that fails: GetScan of an unknown id is NOT_FOUND.
        ctl = [args.ctl, "--coordinator", target] + tls("admin")
        r = subprocess.run(ctl + ["scan", "status", "no-such-scan"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "goalkeeperctl scan status of an unknown id fails")
        text, fams = poll(coordinator_metrics, lambda f: (value(
            f, "grpc_server_handled", "grpc_server_handled_total", grpc_method="GetScan",
            grpc_code="NotFound") or 0) >= 1)
        handled = value(fams, "grpc_server_handled", "grpc_server_handled_total",
                        grpc_service="goalkeeper.v1.Coordinator", grpc_method="GetScan",
                        grpc_code="NotFound")
        check(handled is not None and handled >= 1,
              f"coordinator: grpc_server_handled_total{{GetScan, NotFound}} = {handled} >= 1")
        lat = value(fams, "grpc_server_handling_seconds", "grpc_server_handling_seconds_count",
                    grpc_method="GetScan")
        check(lat is not None and lat >= 1,
              f"coordinator: grpc_server_handling_seconds_count{{GetScan}} = {lat} >= 1")

        r = subprocess.run(ctl + ["scan", "start", "--inventory", "lab", "--profile", "lab",
                                  "--wait"],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"the lab scan succeeded (goalkeeperctl exit {r.returncode})")

        # Coordinator: the scan, its leases and shards, the report delivered.
        text, fams = poll(coordinator_metrics, lambda f: (value(
            f, "goalkeeper_report_delivery_attempts", "goalkeeper_report_delivery_attempts_total",
            outcome="delivered") or 0) >= 1)
        check_conventions("coordinator", text, fams, args.version)
        for what, fam, sample, labels, least in [
            ("scans finished SUCCEEDED", "goalkeeper_scans_finished",
             "goalkeeper_scans_finished_total", {"outcome": "SUCCEEDED"}, 1),
            ("leases granted", "goalkeeper_leases", "goalkeeper_leases_total",
             {"event": "granted"}, 1),
            ("leases completed", "goalkeeper_leases", "goalkeeper_leases_total",
             {"event": "completed"}, 1),
            ("shard durations observed", "goalkeeper_shard_duration_seconds",
             "goalkeeper_shard_duration_seconds_count", {}, 1),
            ("scan durations observed", "goalkeeper_scan_duration_seconds",
             "goalkeeper_scan_duration_seconds_count", {"outcome": "SUCCEEDED"}, 1),
            ("probes done", "goalkeeper_probes_done", "goalkeeper_probes_done_total", {}, 16),
            ("findings", "goalkeeper_findings", "goalkeeper_findings_total", {}, 1),
            ("reports delivered", "goalkeeper_report_delivery_attempts",
             "goalkeeper_report_delivery_attempts_total", {"outcome": "delivered"}, 1),
            ("LeaseShard OK", "grpc_server_handled", "grpc_server_handled_total",
             {"grpc_service": "goalkeeper.v1.ShardService", "grpc_method": "LeaseShard",
              "grpc_code": "OK"}, 1),
            ("StartScan OK", "grpc_server_handled", "grpc_server_handled_total",
             {"grpc_method": "StartScan", "grpc_code": "OK"}, 1),
        ]:
            v = value(fams, fam, sample, **labels)
            check(v is not None and v >= least, f"coordinator: {what}: {sample}{labels} = {v}"
                  f" >= {least}")
        v = value(fams, "goalkeeper_workers_connected", "goalkeeper_workers_connected")
        check(v == 1, f"coordinator: goalkeeper_workers_connected = {v} == 1")
        v = value(fams, "goalkeeper_shards_pending", "goalkeeper_shards_pending")
        check(v == 0, f"coordinator: goalkeeper_shards_pending = {v} == 0 after the scan")
        v = value(fams, "goalkeeper_db_writes_refused", "goalkeeper_db_writes_refused")
        check(v == 0, f"coordinator: goalkeeper_db_writes_refused = {v} == 0")

        # Worker: probes by state, shards completed.
        text, fams = poll(worker_metrics, lambda f: (value(
            f, "goalkeeper_worker_shards_completed", "goalkeeper_worker_shards_completed_total")
            or 0) >= 1)
        check_conventions("worker", text, fams, args.version)
        opened = value(fams, "goalkeeper_worker_probes", "goalkeeper_worker_probes_total",
                       state="open")
        closed = value(fams, "goalkeeper_worker_probes", "goalkeeper_worker_probes_total",
                       state="closed")
        check(opened is not None and opened >= 1, f"worker: probes open = {opened} >= 1")
        check(closed is not None and closed > 0, f"worker: probes closed = {closed} > 0")
        total = sum(s.value for s in fams["goalkeeper_worker_probes"].samples)
        # The lab's /28 once, then each of its open pairs once more: a first
        # scan's open pairs are all new, and the confirmation probes every new
        # pair again (it finds them open again: `opened` counts both).
        check(total == 16 + opened / 2,
              f"worker: probes of every state = {total} == 16 (the lab's /28) + "
              f"{opened / 2} (confirmation of the new open pairs)")
        attempts = value(fams, "goalkeeper_worker_probe_attempts",
                         "goalkeeper_worker_probe_attempts_total")
        check(attempts is not None and attempts >= 16, f"worker: attempts = {attempts} >= 16")
        done = value(fams, "goalkeeper_worker_shards_completed",
                     "goalkeeper_worker_shards_completed_total")
        check(done is not None and done >= 1, f"worker: shards completed = {done} >= 1")
        in_flight = value(fams, "goalkeeper_worker_probes_in_flight",
                          "goalkeeper_worker_probes_in_flight")
        check(in_flight == 0, f"worker: probes in flight = {in_flight} == 0 once idle")
        rate = value(fams, "goalkeeper_worker_applied_rate_probes_per_second",
                     "goalkeeper_worker_applied_rate_probes_per_second")
        check(rate == 2000, f"worker: applied rate = {rate} == 2000 (the default --max-rate)")

        # Notifier: the report stream, the email (to ops: stage mode).
        text, fams = poll(notifier_metrics, lambda f: (value(
            f, "goalkeeper_notifications_sent", "goalkeeper_notifications_sent_total",
            channel="email") or 0) >= 1, seconds=60)
        check_conventions("notifier", text, fams, args.version)
        v = value(fams, "grpc_server_handled", "grpc_server_handled_total",
                  grpc_service="goalkeeper.v1.Notifier", grpc_method="DeliverReportStream",
                  grpc_code="OK")
        check(v is not None and v >= 1, f"notifier: DeliverReportStream OK = {v} >= 1")
        v = value(fams, "goalkeeper_notifications_sent", "goalkeeper_notifications_sent_total",
                  channel="email")
        check(v is not None and v >= 1, f"notifier: emails sent = {v} >= 1")
        for fam in ("goalkeeper_notifications_failed", "goalkeeper_notifications_dead_lettered",
                    "goalkeeper_notifications_rate_limited"):
            v = value(fams, fam, fam + "_total", channel="telegram")
            check(v == 0, f"notifier: {fam}_total{{telegram}} = {v} == 0")
        v = value(fams, "goalkeeper_outbox_depth", "goalkeeper_outbox_depth", channel="email")
        check(v == 0, f"notifier: outbox depth (email) = {v} == 0 once sent")
        v = value(fams, "goalkeeper_outbox_oldest_age_seconds",
                  "goalkeeper_outbox_oldest_age_seconds", channel="email")
        check(v == 0, f"notifier: oldest outbox age (email) = {v} == 0 with none waiting")
    finally:
        for d in reversed(daemons):
            d.stop()
        lab.close()

    # The flag: "" turns /metrics off; a malformed address is a usage error.
    off = Daemon("worker-off", [args.worker, "run", "--coordinator", "127.0.0.1:1",
                                "--metrics-listen", ""] + tls("worker"), workdir)
    try:
        off.wait_for(r"worker metrics=off")
        check(True, "worker: --metrics-listen \"\" serves no /metrics (metrics=off)")
    except RuntimeError as e:
        check(False, f"worker: --metrics-listen \"\": {e}")
    finally:
        off.stop()
    r = subprocess.run([args.worker, "run", "--coordinator", "127.0.0.1:1", "--metrics-listen",
                        "127.0.0.1:99999"] + tls("worker"), capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 2 and "--metrics-listen" in r.stderr,
          f"worker: --metrics-listen 127.0.0.1:99999 exits 2 naming the flag "
          f"(rc={r.returncode}: {r.stderr.strip()})")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("coordinator", "notifier", "worker", "ctl", "version", "dev-certs"):
        p.add_argument("--" + name, required=True)
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="metrics-test-")
    self_test()
    try:
        run(args, workdir)
    except Exception as e:  # a daemon that did not start: its log is in the message
        check(False, f"the fleet ran: {e}")
    print(f"metrics-tests: {passed} passed, {failed} failed")
    if failed == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
