#!/usr/bin/env python3
"""TCP responders for the probe lab: services Debian does not package, written from the
protocol documents (MongoDB wire protocol OP_MSG + BSON spec, Elasticsearch and Docker REST
docs, Kubernetes API /version, MS-RDPBCGR 2.2.1.2, RFC 6143 (RFB 3.8), CQL native protocol v4,
RFC 854 (Telnet), RFC 4511 (LDAP)), plus misbehaving responders (garbage, truncated, oversized,
silent) that a probe must report as unverified without hanging.

Example:
  python3 tcp_responders.py --manifest /tmp/m.txt --certdir /tmp/certs
  # binds 127.0.0.30..127.0.0.53, writes one manifest line per listener once all are up:
  # NAME ADDRESS PORT tcp SERVICE VERSION AUTH

Every listener runs in its own thread (socketserver.ThreadingTCPServer); each connection in
its own daemon thread; nothing is shared between connections but constants.
"""
import argparse
import json
import os
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading

MONGO_VERSION = "6.0.13"
ES_VERSION = "8.11.3"
DOCKER_VERSION = "24.0.7"
K8S_VERSION = "v1.28.4"
CASSANDRA_CQL = "3.4.5"
READ_LIMIT = 65536
IDLE = 5.0


def recv_some(sock, n=READ_LIMIT):
    try:
        return sock.recv(n)
    except (socket.timeout, OSError):
        return b""


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = recv_some(sock, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


# --- BSON (bsonspec.org): just the types the responders use -------------------------------
def bson_encode(doc):
    out = b""
    for key, val in doc.items():
        k = key.encode() + b"\x00"
        if isinstance(val, bool):
            out += b"\x08" + k + (b"\x01" if val else b"\x00")
        elif isinstance(val, int):
            out += b"\x10" + k + struct.pack("<i", val)
        elif isinstance(val, float):
            out += b"\x01" + k + struct.pack("<d", val)
        elif isinstance(val, str):
            s = val.encode() + b"\x00"
            out += b"\x02" + k + struct.pack("<i", len(s)) + s
        elif isinstance(val, dict):
            out += b"\x03" + k + bson_encode(val)
        elif isinstance(val, list):
            out += b"\x04" + k + bson_encode({str(i): v for i, v in enumerate(val)})
        else:
            raise TypeError(key)
    return struct.pack("<i", len(out) + 5) + out + b"\x00"


def bson_first_key(doc):
    """The command name: the first element's key of a BSON document (b"" if malformed)."""
    if len(doc) < 6:
        return b""
    end = doc.find(b"\x00", 5)
    return doc[5:end] if end > 0 else b""


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(IDLE)
        try:
            self.server.behaviour(self.request)
        except (OSError, ssl.SSLError):
            pass


def mongodb(auth):
    def run(sock):
        while True:
            hdr = recv_exact(sock, 16)
            if hdr is None:
                return
            length, req_id, _, opcode = struct.unpack("<iiii", hdr)
            if length < 16 or length > 1 << 20:
                return
            body = recv_exact(sock, length - 16)
            if body is None:
                return
            if opcode == 2013 and len(body) > 5 and body[4] == 0:
                cmd = bson_first_key(body[5:]).lower()
            elif opcode == 2004:  # legacy OP_QUERY isMaster
                cmd = b"ismaster"
            else:
                return
            if cmd in (b"hello", b"ismaster"):
                reply = {"ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16777216,
                         "maxWireVersion": 17, "minWireVersion": 0, "ok": 1.0}
            elif cmd == b"buildinfo":
                reply = {"version": MONGO_VERSION, "gitVersion": "lab", "ok": 1.0}
            elif cmd == b"listdatabases":
                if auth:
                    reply = {"ok": 0.0, "errmsg": "command listDatabases requires authentication",
                             "code": 13, "codeName": "Unauthorized"}
                else:
                    reply = {"databases": [{"name": "admin", "sizeOnDisk": 40960, "empty": False}],
                             "totalSize": 40960, "ok": 1.0}
            else:
                reply = {"ok": 0.0, "errmsg": "no such command", "code": 59,
                         "codeName": "CommandNotFound"}
            doc = bson_encode(reply)
            if opcode == 2013:
                payload = struct.pack("<I", 0) + b"\x00" + doc
                sock.sendall(struct.pack("<iiii", 16 + len(payload), 1, req_id, 2013) + payload)
            else:
                payload = struct.pack("<iqii", 8, 0, 0, 1) + doc
                sock.sendall(struct.pack("<iiii", 16 + len(payload), 1, req_id, 1) + payload)
    return run


def http(routes):
    """routes: path -> (status line, headers dict, body bytes); anything else 404."""
    def run(sock):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = recv_some(sock)
            if not chunk:
                return
            data += chunk
            if len(data) > READ_LIMIT:
                return
        parts = data.split(b"\r\n", 1)[0].split()
        path = parts[1].decode(errors="replace") if len(parts) > 1 else "/"
        status, headers, body = routes.get(path, ("404 Not Found", {}, b"404 page not found\n"))
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        sock.sendall(head.encode() + b"\r\n" + body)
    return run


def jbody(obj):
    return ("200 OK", {"Content-Type": "application/json"}, json.dumps(obj).encode())


def rdp(sock):
    # X.224 Connection Request in TPKT; answer Connection Confirm + RDP_NEG_RSP (TLS selected).
    req = recv_some(sock)
    if len(req) < 11 or req[0] != 3:
        return
    neg = struct.pack("<BBHI", 0x02, 0x00, 8, 0x00000001)
    x224 = bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    sock.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
    recv_some(sock)


def vnc(sec_types):
    def run(sock):
        sock.sendall(b"RFB 003.008\n")
        if recv_exact(sock, 12) is None:
            return
        sock.sendall(bytes([len(sec_types)] + sec_types))
        recv_some(sock)
    return run


def cassandra(sock):
    hdr = recv_exact(sock, 9)
    if hdr is None:
        return
    version, _, stream, opcode, length = struct.unpack(">BBhBi", hdr)
    if length:
        recv_exact(sock, min(length, READ_LIMIT))
    if opcode != 0x05:  # OPTIONS
        return

    def s(x):
        b = x.encode()
        return struct.pack(">H", len(b)) + b

    mm = {"CQL_VERSION": [CASSANDRA_CQL], "COMPRESSION": ["snappy", "lz4"],
          "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"]}
    body = struct.pack(">H", len(mm))
    for k, vs in mm.items():
        body += s(k) + struct.pack(">H", len(vs)) + b"".join(s(v) for v in vs)
    resp_version = 0x80 | (version & 0x7F)
    sock.sendall(struct.pack(">BBhBi", resp_version, 0, stream, 0x06, len(body)) + body)
    recv_some(sock)


def telnet(sock):
    # IAC DO TERMINAL-TYPE, IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, then a login prompt.
    sock.sendall(b"\xff\xfd\x18\xff\xfb\x01\xff\xfb\x03\r\nDebian GNU/Linux 12\r\nlab login: ")
    recv_some(sock)


# --- LDAP (RFC 4511) BER: the rootDSE answer ---------------------------------------------
def ber(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + content


def ber_int(v):
    return ber(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def ber_len(data, i):
    """(length, index after the length octets) or (None, i)."""
    if i >= len(data):
        return None, i
    first = data[i]
    if first < 0x80:
        return first, i + 1
    k = first & 0x7F
    if k == 0 or k > 4 or i + 1 + k > len(data):
        return None, i
    return int.from_bytes(data[i + 1:i + 1 + k], "big"), i + 1 + k


def ldap(sock):
    req = recv_some(sock)
    # LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp ... }
    if len(req) < 5 or req[0] != 0x30:
        return
    _, i = ber_len(req, 1)
    if i >= len(req) or req[i] != 0x02:
        return
    n, j = ber_len(req, i + 1)
    if n is None or n == 0 or j + n > len(req):
        return
    msg_id = int.from_bytes(req[j:j + n], "big")
    if j + n >= len(req) or req[j + n] != 0x63:  # searchRequest [APPLICATION 3]
        return

    def attr(name, values):
        return ber(0x30, ber(0x04, name.encode()) +
                   ber(0x31, b"".join(ber(0x04, v.encode()) for v in values)))

    attrs = (attr("namingContexts", ["dc=lab,dc=test"]) + attr("supportedLDAPVersion", ["3"]) +
             attr("vendorName", ["Goalkeeper probe lab"]))
    entry = ber(0x64, ber(0x04, b"") + ber(0x30, attrs))
    done = ber(0x65, ber(0x0A, b"\x00") + ber(0x04, b"") + ber(0x04, b""))
    sock.sendall(ber(0x30, ber_int(msg_id) + entry) + ber(0x30, ber_int(msg_id) + done))
    recv_some(sock)


# --- misbehaving responders ----------------------------------------------------------------
def garbage(sock):
    recv_some(sock)
    sock.sendall(bytes((i * 131 + 7) & 0xFF for i in range(700)))


def truncated(sock):
    # The start of plausible answers of several protocols, then close mid-message.
    recv_some(sock)
    sock.sendall(b"$4096\r\n# Server\r\nredis_ver")


def oversized(sock):
    # Streams 8 MiB (far beyond any probe's read bound) or until the peer goes away.
    recv_some(sock)
    chunk = b"+" + b"A" * 65535
    for _ in range(128):
        sock.sendall(chunk)


def silent(sock):
    # Accepts and never answers; holds the connection until the peer closes or 30 s pass.
    sock.settimeout(30)
    while recv_some(sock):
        pass


def make_cert(certdir):
    os.makedirs(certdir, exist_ok=True)
    crt, key = os.path.join(certdir, "lab.crt"), os.path.join(certdir, "lab.key")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=probe-lab", "-keyout", key, "-out", crt],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, behaviour, tls=None):
        self.behaviour = behaviour
        self.tls = tls
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:
            sock.settimeout(IDLE)
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                raise OSError("TLS handshake failed")
        return sock, addr


def listeners(tls):
    es_open = jbody({"name": "lab-node", "cluster_name": "lab-cluster",
                     "cluster_uuid": "lab", "version": {"number": ES_VERSION,
                                                        "build_flavor": "default"},
                     "tagline": "You Know, for Search"})
    es_auth = ("401 Unauthorized", {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"',
                                    "Content-Type": "application/json"},
               json.dumps({"error": {"type": "security_exception",
                                     "reason": "missing authentication credentials"},
                           "status": 401}).encode())
    docker_v = jbody({"Version": DOCKER_VERSION, "ApiVersion": "1.43", "Os": "linux",
                      "Arch": "amd64", "KernelVersion": "6.1.0"})
    k8s_v = jbody({"major": "1", "minor": "28", "gitVersion": K8S_VERSION,
                   "platform": "linux/amd64"})
    pods = jbody({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
    # (name, address, port, service, version, auth, behaviour, tls)
    out = [
        ("mongodb-open", "127.0.0.30", 27017, "MongoDB", MONGO_VERSION, "not_required",
         mongodb(False), None),
        ("mongodb-auth", "127.0.0.31", 27017, "MongoDB", MONGO_VERSION, "required",
         mongodb(True), None),
        ("elasticsearch-open", "127.0.0.32", 9200, "Elasticsearch", ES_VERSION, "not_required",
         http({"/": es_open}), None),
        ("elasticsearch-secure", "127.0.0.33", 9200, "Elasticsearch", "-", "required",
         http({"/": es_auth}), None),
        ("docker", "127.0.0.34", 2375, "Docker API", DOCKER_VERSION, "not_required",
         http({"/version": docker_v, "/v1.24/version": docker_v}), None),
        ("kubernetes", "127.0.0.35", 6443, "Kubernetes API", K8S_VERSION.lstrip("v"),
         "not_required", http({"/version": k8s_v}), tls),
        ("kubelet", "127.0.0.36", 10250, "kubelet", "-", "not_required",
         http({"/pods": pods}), tls),
        ("rdp", "127.0.0.37", 3389, "RDP", "-", "-", rdp, None),
        ("vnc-none", "127.0.0.38", 5900, "VNC", "3.8", "not_required", vnc([1]), None),
        ("vnc-auth", "127.0.0.39", 5900, "VNC", "3.8", "required", vnc([2]), None),
        ("cassandra", "127.0.0.40", 9042, "Cassandra", CASSANDRA_CQL, "-", cassandra, None),
        ("telnet", "127.0.0.41", 23, "Telnet", "-", "-", telnet, None),
        ("ldap", "127.0.0.42", 389, "LDAP", "-", "not_required", ldap, None),
        ("mongodb-unusual", "127.0.0.43", 8081, "MongoDB", MONGO_VERSION, "not_required",
         mongodb(False), None),
    ]
    bad = [("garbage", "127.0.0.50", garbage), ("truncated", "127.0.0.51", truncated),
           ("oversized", "127.0.0.52", oversized), ("silent", "127.0.0.53", silent)]
    for mode, addr, fn in bad:
        for port in (6379, 27017, 9200, 11211, 5432):
            out.append((f"{mode}-{port}", addr, port, "unverified", "-", "-", fn, None))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", required=True, help="written once every listener is bound")
    ap.add_argument("--certdir", required=True, help="where the self-signed TLS cert goes")
    args = ap.parse_args()
    tls = make_cert(args.certdir)
    lines = []
    for name, addr, port, service, version, auth, fn, ctx in listeners(tls):
        srv = Server((addr, port), fn, ctx)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        lines.append(f"{name} {addr} {port} tcp {service.replace(' ', '_')} {version} {auth}")
    tmp = args.manifest + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, args.manifest)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
