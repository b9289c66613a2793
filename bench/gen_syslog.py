#!/usr/bin/env python3
"""Writes a synthetic syslog for the node-check benchmark, and its answer.

  bench/gen_syslog.py OUT_LOG EXPECTED_TSV [--lines N] [--seed S]

OUT_LOG: mixed rsyslog traffic (sshd, CRON, systemd, kernel lines, a few LOG
lines of another firewall rule) over 24 hours of RFC 3164 timestamps, starting
2026-03-31 12:00:00 in UTC (so the space-padded "Apr  1" appears), with 5% of
the lines hits of the default rule: kernel LOG lines with the prefix
`IPTables-TFTP-Rejected: `, UDP to port 69, IPv4 and (10% of the sources)
IPv6, with or without the uptime stamp and MAC=.

Sources: 300 in all. 20 of them ("burst" sources) send only bursts of about
40 hits in about 2 minutes, 3 bursts each, more than 2 hours apart: with the
default rule (10 hits in 10 minutes, quiet 1 hour) each burst is one finding.
The other 280 never have more than 8 hits in any 11 minutes (the aggregator's
buckets let a hit leave the window up to window/256 late), so they are never
reported.

EXPECTED_TSV: `# key value` header lines (lines, bytes, hits, reference time
for the RFC 3164 year), then one line per source: `SOURCE<TAB>HITS<TAB>FINDINGS`,
sorted by source text. The same seed always gives the same bytes.
"""

import argparse
import collections
import datetime
import random
import sys

START = datetime.datetime(2026, 3, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)
SPAN_S = 24 * 3600
HOST = "node-1"
PREFIX = "IPTables-TFTP-Rejected: "
HIT_SHARE = 0.05
N_SOURCES = 300
N_BURST = 20
BURSTS_PER_SOURCE = 3
BURST_HITS = 40
BG_MAX_HITS = 8  # per BG_WINDOW_S, below the rule's threshold of 10
BG_WINDOW_S = 660

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
USERS = ["root", "admin", "deploy", "ubuntu", "git", "backup", "postgres", "test", "oracle"]
UNITS = ["apt-daily.service", "logrotate.service", "man-db.service", "fstrim.service",
         "systemd-tmpfiles-clean.service", "phpsessionclean.service", "certbot.service"]
KERNEL_MSGS = [
    "EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro. Quota mode: none.",
    "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "audit: type=1400 audit({a}.{b}:{c}): apparmor=\"DENIED\" operation=\"open\" "
    "profile=\"/usr/sbin/ntpd\" name=\"/proc/{c}/status\" pid={c} comm=\"ntpd\" "
    "requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0",
    "perf: interrupt took too long ({c} > {a}), lowering kernel.perf_event_max_sample_rate to {b}",
    "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "usb 1-1: new high-speed USB device number {c} using xhci_hcd",
]


def stamp(t):
    d = START + datetime.timedelta(seconds=t)
    return f"{MONTHS[d.month - 1]} {d.day:2d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def mac(rng):
    return ":".join(f"{rng.randrange(256):02x}" for _ in range(12)) + ":08:00"


def make_sources(rng):
    v4, v6 = set(), set()
    n6 = N_SOURCES // 10
    while len(v4) < N_SOURCES - n6:
        v4.add(f"{rng.choice([45, 61, 103, 185, 193, 203])}.{rng.randrange(256)}."
               f"{rng.randrange(256)}.{rng.randrange(1, 255)}")
    while len(v6) < n6:
        v6.add(f"2001:db8:{rng.randrange(1, 0xffff):x}:{rng.randrange(0xffff):x}::"
               f"{rng.randrange(1, 0xffff):x}")
    srcs = sorted(v4) + sorted(v6)
    rng.shuffle(srcs)
    return srcs


def hit_line(rng, t, uptime, src):
    v6 = ":" in src
    head = f"{stamp(t)} {HOST} kernel: "
    if rng.random() < 0.75:
        head += f"[{uptime:12.6f}] "
    m = rng.random()
    mac_f = f"MAC={mac(rng)} " if m < 0.9 else ("MAC= " if m < 0.95 else "")
    spt = rng.randrange(1024, 65536)
    ulen = rng.randrange(20, 60)
    if v6:
        fields = (f"IN=eth0 OUT= {mac_f}SRC={src} DST=2001:db8:ffff::1 LEN={ulen + 40} TC=0 "
                  f"HOPLIMIT={rng.choice([52, 57, 64])} FLOWLBL={rng.randrange(1 << 20)} "
                  f"PROTO=UDP SPT={spt} DPT=69 LEN={ulen}")
    else:
        df = "DF " if rng.random() < 0.3 else ""
        fields = (f"IN=eth0 OUT= {mac_f}SRC={src} DST=198.51.100.1 LEN={ulen + 20} TOS=0x00 "
                  f"PREC=0x00 TTL={rng.choice([44, 52, 57, 64, 113])} ID={rng.randrange(65536)} "
                  f"{df}PROTO=UDP SPT={spt} DPT=69 LEN={ulen}")
    return head + PREFIX + fields


def other_line(rng, t, uptime, pid):
    r = rng.random()
    s = stamp(t)
    ip = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    if r < 0.40:
        k = rng.random()
        p = rng.randrange(1000, 65000)
        if k < 0.35:
            return (f"{s} {HOST} sshd[{pid}]: Failed password for invalid user "
                    f"{rng.choice(USERS)} from {ip} port {p} ssh2")
        if k < 0.55:
            return f"{s} {HOST} sshd[{pid}]: Connection closed by {ip} port {p} [preauth]"
        if k < 0.70:
            return (f"{s} {HOST} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; "
                    f"logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}")
        if k < 0.85:
            return (f"{s} {HOST} sshd[{pid}]: Received disconnect from {ip} port {p}:11: "
                    f"Bye Bye [preauth]")
        return (f"{s} {HOST} sshd[{pid}]: Accepted publickey for {rng.choice(USERS)} from {ip} "
                f"port {p} ssh2: ED25519 SHA256:{rng.getrandbits(128):032x}")
    if r < 0.60:
        u = rng.choice(USERS[:3])
        k = rng.random()
        if k < 0.4:
            return (f"{s} {HOST} CRON[{pid}]: pam_unix(cron:session): session opened for user "
                    f"{u}(uid=0) by (uid=0)")
        if k < 0.8:
            return (f"{s} {HOST} CRON[{pid}]: ({u}) CMD (command -v debian-sa1 > /dev/null && "
                    f"debian-sa1 1 1)")
        return f"{s} {HOST} CRON[{pid}]: pam_unix(cron:session): session closed for user {u}"
    if r < 0.85:
        unit = rng.choice(UNITS)
        k = rng.random()
        if k < 0.3:
            return f"{s} {HOST} systemd[1]: Starting {unit} - Daily job..."
        if k < 0.55:
            return f"{s} {HOST} systemd[1]: {unit}: Deactivated successfully."
        if k < 0.75:
            return f"{s} {HOST} systemd[1]: Finished {unit} - Daily job."
        if k < 0.9:
            return (f"{s} {HOST} systemd[1]: {unit}: Consumed {rng.randrange(1, 900)}ms CPU "
                    f"time.")
        return f"{s} {HOST} systemd-logind[612]: New session {pid} of user root."
    if r < 0.98:
        msg = rng.choice(KERNEL_MSGS).format(a=rng.randrange(10**9), b=rng.randrange(1000),
                                             c=rng.randrange(100000))
        return f"{s} {HOST} kernel: [{uptime:12.6f}] {msg}"
    # Another rule's LOG lines: firewall lines, not hits of this rule.
    return (f"{s} {HOST} kernel: [{uptime:12.6f}] IPTables-SSH-Dropped: IN=eth0 OUT= "
            f"MAC={mac(rng)} SRC={ip} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 "
            f"ID={rng.randrange(65536)} DF PROTO=TCP SPT={rng.randrange(1024, 65536)} DPT=22 "
            f"WINDOW=64240 RES=0x00 SYN URGP=0")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_log")
    ap.add_argument("expected_tsv")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=10)
    a = ap.parse_args()
    if a.lines < 100_000:
        sys.exit("gen_syslog.py: --lines must be at least 100000 (bursts need room)")
    rng = random.Random(a.seed)
    srcs = make_sources(rng)
    burst_srcs, bg_srcs = srcs[:N_BURST], srcs[N_BURST:]
    # Bursts evenly spaced, the same source every N_BURST bursts (about 8 h).
    n_bursts = N_BURST * BURSTS_PER_SOURCE
    gap = (SPAN_S - 1200) / n_bursts
    bursts = collections.deque((600 + k * gap, burst_srcs[k % N_BURST]) for k in range(n_bursts))
    hits = collections.Counter()
    findings = collections.Counter()
    recent = {s: collections.deque() for s in bg_srcs}
    active = None  # [source, hits left]
    step = SPAN_S / a.lines
    nbytes = 0
    nhits = 0
    boot_uptime = 81234.0
    with open(a.out_log, "w", encoding="ascii", newline="\n") as out:
        buf = []
        for i in range(a.lines):
            t = int(i * step)
            uptime = boot_uptime + i * step + rng.random() * 0.001
            if rng.random() < HIT_SHARE:
                if active is None and bursts and t >= bursts[0][0]:
                    active = [bursts.popleft()[1], BURST_HITS]
                    findings[active[0]] += 1
                if active is not None and rng.random() < 0.5:
                    src = active[0]
                    active[1] -= 1
                    if active[1] == 0:
                        active = None
                else:
                    while True:
                        src = rng.choice(bg_srcs)
                        q = recent[src]
                        while q and q[0] <= t - BG_WINDOW_S:
                            q.popleft()
                        if len(q) < BG_MAX_HITS:
                            q.append(t)
                            break
                line = hit_line(rng, t, uptime, src)
                hits[src] += 1
                nhits += 1
            else:
                line = other_line(rng, t, uptime, 1000 + rng.randrange(60000))
            buf.append(line)
            nbytes += len(line) + 1
            if len(buf) >= 10000:
                out.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            out.write("\n".join(buf) + "\n")
    if bursts or active is not None:
        sys.exit("gen_syslog.py: not every burst fitted in the file")
    ref = START + datetime.timedelta(seconds=SPAN_S)
    with open(a.expected_tsv, "w", encoding="ascii") as f:
        f.write(f"# lines {a.lines}\n# bytes {nbytes}\n# hits {nhits}\n")
        f.write(f"# sources {len(hits)}\n# findings {sum(findings.values())}\n")
        f.write(f"# reference {ref.strftime('%Y-%m-%dT%H:%M:%SZ')}\n# seed {a.seed}\n")
        for s in sorted(hits):
            f.write(f"{s}\t{hits[s]}\t{findings[s]}\n")


if __name__ == "__main__":
    main()
