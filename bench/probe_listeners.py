#!/usr/bin/env python3
"""Protocol speakers for the probe benchmark (bench/probe_bench.sh).

  probe_listeners.py split truth.txt --real 6379:redis-open:8 --real 6379:redis-auth:8 ...
      Reads the open pairs ("ip:port" lines, from listeners.py gen) and gives
      the first COUNT pairs of each PORT (in file order) to the real server
      NAME: prints "NAME ip port" lines for them, and writes the others, the
      ones this script serves, to truth.txt.python.

  probe_listeners.py serve pairs.txt
      Binds every "ip:port" of the file and answers on each the way the
      service of its port does, so that a protocol probe gets a real-shaped
      conversation (a plain connect scan only sees the accept):
        22     SSH: sends "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" at once
        80     HTTP: answers a request with "HTTP/1.1 200 OK" (nginx headers)
        443    TLS: never speaks first; answers any bytes with a TLS alert
        3306   MariaDB: sends a protocol-10 greeting at once
        5432   PostgreSQL: answers the SSLRequest with 'N'
        6379   Redis: PING -> +PONG, INFO -> a server section (every 4th
               address: -NOAUTH to every command, as with requirepass)
        8080   HTTP, as 80
        27017  MongoDB: OP_MSG hello/buildInfo/listDatabases (the BSON of
               tests/probes/responders/tcp_responders.py)
      One thread, one epoll loop, non-blocking sockets; a connection idle for
      10 s is closed. Prints "ready N" once every socket is bound; exits 0 on
      SIGTERM/SIGINT and then prints its counters on stderr.

Standard library only. Loopback only: every address must be in 127.0.0.0/8.
"""
import argparse
import ipaddress
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "probes", "responders"))
from tcp_responders import bson_encode, bson_first_key  # noqa: E402

SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
HTTP_BODY = b"<html><head><title>Welcome to nginx!</title></head><body>lab</body></html>\n"
HTTP_REPLY = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
              b"Content-Length: " + str(len(HTTP_BODY)).encode() + b"\r\nConnection: close\r\n\r\n"
              + HTTP_BODY)
TLS_ALERT = bytes([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])  # fatal protocol_version
REDIS_INFO = (b"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
              b"os:Linux 6.1.0-18-amd64 x86_64\r\narch_bits:64\r\ntcp_port:6379\r\n")
SSL_REQUEST = struct.pack(">ii", 8, 80877103)
IDLE_S = 10.0
READ_CAP = 65536


def mysql_greeting(conn_id):
    version = b"5.5.5-10.11.19-MariaDB-0+deb12u1\x00"
    caps = 0xF7FE  # lower capability bits without CLIENT_SSL (0x0800)
    body = (b"\x0a" + version + struct.pack("<I", conn_id) + b"abcdefgh" + b"\x00" +
            struct.pack("<H", caps) + b"\x2d" + struct.pack("<H", 2) + struct.pack("<H", 0x81ff) +
            b"\x15" + b"\x00" * 6 + struct.pack("<I", 0x1d) + b"ijklmnopqrst\x00" +
            b"mysql_native_password\x00")
    return struct.pack("<I", len(body))[:3] + b"\x00" + body


def redis_commands(buf):
    """(list of commands as lists of bytes, bytes consumed) of the complete RESP arrays."""
    cmds, pos = [], 0
    while pos < len(buf):
        if buf[pos:pos + 1] != b"*":
            return cmds, -1  # inline commands are not what the probe sends
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        try:
            n = int(buf[pos + 1:eol])
        except ValueError:
            return cmds, -1
        p, args = eol + 2, []
        for _ in range(n):
            eol = buf.find(b"\r\n", p)
            if eol < 0 or buf[p:p + 1] != b"$":
                args = None
                break
            k = int(buf[p + 1:eol])
            if len(buf) < eol + 2 + k + 2:
                args = None
                break
            args.append(buf[eol + 2:eol + 2 + k])
            p = eol + 2 + k + 2
        if args is None:
            break
        cmds.append(args)
        pos = p
    return cmds, pos


def mongo_replies(buf):
    """(reply bytes, bytes consumed, ok) for the complete messages at the start of buf."""
    out, pos = b"", 0
    while len(buf) - pos >= 16:
        length, req_id, _, opcode = struct.unpack_from("<iiii", buf, pos)
        if length < 16 or length > 1 << 20:
            return out, pos, False
        if len(buf) - pos < length:
            break
        body = buf[pos + 16:pos + length]
        pos += length
        if opcode != 2013 or len(body) < 6 or body[4] != 0:
            return out, pos, False
        cmd = bson_first_key(body[5:]).lower()
        if cmd in (b"hello", b"ismaster"):
            reply = {"ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16777216,
                     "maxWireVersion": 17, "minWireVersion": 0, "ok": 1.0}
        elif cmd == b"buildinfo":
            reply = {"version": "6.0.13", "gitVersion": "lab", "ok": 1.0}
        elif cmd == b"listdatabases":
            reply = {"databases": [{"name": "admin", "sizeOnDisk": 40960, "empty": False}],
                     "totalSize": 40960, "ok": 1.0}
        else:
            reply = {"ok": 0.0, "errmsg": "no such command", "code": 59,
                     "codeName": "CommandNotFound"}
        doc = bson_encode(reply)
        payload = struct.pack("<I", 0) + b"\x00" + doc
        out += struct.pack("<iiii", 16 + len(payload), 1, req_id, 2013) + payload
    return out, pos, True


class Conn:
    __slots__ = ("sock", "port", "auth", "buf", "born")

    def __init__(self, sock, port, auth):
        self.sock, self.port, self.auth, self.buf = sock, port, auth, b""
        self.born = time.monotonic()


def split(args):
    wanted = []  # (port, name, count)
    for spec in args.real:
        port, name, count = spec.split(":")
        wanted.append((int(port), name, int(count)))
    pairs = [line.strip() for line in open(args.truth) if line.strip()]
    taken = set()
    for port, name, count in wanted:
        got = 0
        for p in pairs:
            if got == count:
                break
            ip, pt = p.rsplit(":", 1)
            if int(pt) == port and p not in taken:
                taken.add(p)
                got += 1
                print(f"{name} {ip} {pt}")
    with open(args.truth + ".python", "w") as f:
        for p in pairs:
            if p not in taken:
                f.write(p + "\n")


def serve(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ep = select.epoll()
    listeners, conns = {}, {}
    counts = {"accepted": 0, "answered": 0, "reset": 0, "idle_closed": 0}
    for line in open(args.pairs):
        line = line.strip()
        if not line:
            continue
        ip, port = line.rsplit(":", 1)
        if ipaddress.ip_address(ip) not in ipaddress.ip_network("127.0.0.0/8"):
            sys.exit(f"probe_listeners: {ip} is not a loopback address")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, int(port)))
        s.listen(65535)
        s.setblocking(False)
        # Every 4th Redis address asks for a password, as requirepass does.
        auth = int(port) == 6379 and int(ipaddress.ip_address(ip)) % 4 == 0
        listeners[s.fileno()] = (s, int(port), auth)
        ep.register(s.fileno(), select.EPOLLIN)
    print(f"ready {len(listeners)}", flush=True)

    def close(fd):
        c = conns.pop(fd, None)
        if c is not None:
            try:
                ep.unregister(fd)
            except OSError:
                pass
            c.sock.close()

    def send(c, data):
        try:
            c.sock.send(data)  # small answers: they fit the socket buffer
            counts["answered"] += 1
            return True
        except OSError:
            counts["reset"] += 1
            return False

    next_sweep = time.monotonic() + 1
    conn_id = 0
    while not stop:
        try:
            events = ep.poll(0.5)
        except InterruptedError:
            continue
        for fd, _ in events:
            if fd in listeners:
                s, port, auth = listeners[fd]
                while True:
                    try:
                        cs, _ = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break  # ECONNABORTED: the scanner already reset it
                    counts["accepted"] += 1
                    cs.setblocking(False)
                    c = Conn(cs, port, auth)
                    conns[cs.fileno()] = c
                    ep.register(cs.fileno(), select.EPOLLIN)
                    ok = True
                    if port == 22:
                        ok = send(c, SSH_BANNER)
                    elif port == 3306:
                        conn_id += 1
                        ok = send(c, mysql_greeting(conn_id))
                    if not ok:
                        close(cs.fileno())
                continue
            c = conns.get(fd)
            if c is None:
                continue
            try:
                data = c.sock.recv(READ_CAP)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                counts["reset"] += 1
                close(fd)
                continue
            if not data:
                close(fd)
                continue
            c.buf = (c.buf + data)[-READ_CAP:]
            port, done = c.port, False
            if port in (80, 8080):
                if b"\r\n\r\n" in c.buf:
                    send(c, HTTP_REPLY)
                    done = True
            elif port == 443:
                send(c, TLS_ALERT)
                done = True
            elif port == 5432:
                if len(c.buf) >= 8:
                    if c.buf[:8] == SSL_REQUEST:
                        send(c, b"N")
                        c.buf = c.buf[8:]
                    else:
                        done = True
            elif port == 6379:
                try:
                    cmds, used = redis_commands(c.buf)
                except ValueError:
                    cmds, used = [], -1
                out = b""
                for cmd in cmds:
                    name = cmd[0].upper() if cmd else b""
                    if c.auth:
                        out += b"-NOAUTH Authentication required.\r\n"
                    elif name == b"PING":
                        out += b"+PONG\r\n"
                    elif name == b"INFO":
                        out += b"$" + str(len(REDIS_INFO)).encode() + b"\r\n" + REDIS_INFO + b"\r\n"
                    else:
                        out += b"-ERR unknown command\r\n"
                if out:
                    send(c, out)
                if used < 0:
                    done = True
                else:
                    c.buf = c.buf[used:]
            elif port == 27017:
                out, used, ok = mongo_replies(c.buf)
                if out:
                    send(c, out)
                c.buf = c.buf[used:]
                done = not ok
            # 22 and 3306 spoke first; they read on until the client goes.
            if done:
                close(fd)
        now = time.monotonic()
        if now >= next_sweep:
            next_sweep = now + 1
            for fd in [fd for fd, c in conns.items() if now - c.born > IDLE_S]:
                counts["idle_closed"] += 1
                close(fd)
    for fd in list(conns):
        close(fd)
    for s, _, _ in listeners.values():
        s.close()
    print("probe_listeners: " + " ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split")
    sp.add_argument("truth")
    sp.add_argument("--real", action="append", default=[], help="PORT:NAME:COUNT")
    sp.set_defaults(func=split)
    sv = sub.add_parser("serve")
    sv.add_argument("pairs")
    sv.set_defaults(func=serve)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
