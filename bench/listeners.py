#!/usr/bin/env python3
"""Open ports for the Goalkeeper benchmark lab.

  listeners.py gen --seed 20260101 --count 300 --net 127.77.0.0/16 \
      --exclude 127.77.16.0/20 --ports 22,80,443 > truth.txt
      Picks COUNT distinct (ip, port) pairs with a fixed seed from NET minus
      EXCLUDE (the filtered range) and prints them as "ip:port", sorted.

  listeners.py serve truth.txt
      Binds a listening TCP socket on every "ip:port" line of the file (large
      backlog), prints "ready N" on stdout once all are bound, then accepts and
      closes connections forever with one epoll loop, so every open port keeps
      answering SYN with SYN-ACK no matter how fast it is probed. Exits 0 on
      SIGTERM or SIGINT.

Standard library only.
"""
import argparse
import ipaddress
import random
import select
import signal
import socket
import sys


def gen(args):
    net = ipaddress.ip_network(args.net)
    exclude = [ipaddress.ip_network(e) for e in args.exclude]
    ports = [int(p) for p in args.ports.split(",")]
    rng = random.Random(args.seed)
    base = int(net.network_address)
    chosen = set()
    while len(chosen) < args.count:
        ip = ipaddress.ip_address(base + rng.randrange(net.num_addresses))
        if any(ip in e for e in exclude):
            continue
        chosen.add((int(ip), rng.choice(ports)))
    for ip, port in sorted(chosen):
        print(f"{ipaddress.ip_address(ip)}:{port}")


def serve(args):
    pairs = []
    with open(args.truth) as f:
        for line in f:
            line = line.strip()
            if line:
                ip, port = line.rsplit(":", 1)
                pairs.append((ip, int(port)))
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ep = select.epoll()
    socks = {}
    for ip, port in pairs:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        s.listen(args.backlog)  # the kernel caps it at net.core.somaxconn
        s.setblocking(False)
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    print(f"ready {len(socks)}", flush=True)

    accepted = 0
    while not stop:
        try:
            events = ep.poll(0.2)
        except InterruptedError:
            continue
        for fd, _ in events:
            s = socks[fd]
            # Drain the whole accept queue of this socket.
            while True:
                try:
                    c, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break  # e.g. ECONNABORTED: the prober already sent RST
                c.close()
                accepted += 1
    for s in socks.values():
        s.close()
    print(f"listeners: accepted {accepted} connections", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=20260101)
    g.add_argument("--count", type=int, default=300)
    g.add_argument("--net", default="127.77.0.0/16")
    g.add_argument("--exclude", action="append", default=[])
    g.add_argument("--ports", default="22,80,443,3306,5432,6379,8080,27017")
    g.set_defaults(func=gen)
    s = sub.add_parser("serve")
    s.add_argument("truth")
    s.add_argument("--backlog", type=int, default=65535)
    s.set_defaults(func=serve)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
