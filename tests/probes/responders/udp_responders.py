#!/usr/bin/env python3
"""Small UDP responders for the probe tests, built from the protocol documents.

  udp_responders.py --bind 127.0.0.1 --service ssdp --port 1900 [--garbage|--silent|--oversized]

Services: ssdp (UPnP DA 1.1 M-SEARCH answers), ntp-monlist (ntpd mode 7
MON_GETLIST_1 in two packets, mode 6 READVAR, and a mode 4 reply to a mode 3 client
request as any NTP server gives), ubiquiti (discovery TLVs),
mssql (MC-SQLR SVR_RESP), netbios (RFC 1002 NBSTAT), mdns (RFC 6762 legacy
unicast answer), cldap (RFC 4511 rootDSE entry + done over UDP).
--garbage answers random bytes, --silent never answers, --oversized answers a
valid answer padded past 16 KiB (probes treat it as unverified).
Prints "ready" once bound ("ready port=N" when --port 0 picked the port).
Loopback only: --bind must be in 127.0.0.0/8 or ::1.
"""
import argparse
import ipaddress
import os
import socket
import struct
import sys


def ber(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([tag, n])
    elif n < 0x100:
        head = bytes([tag, 0x81, n])
    else:
        head = bytes([tag, 0x82]) + struct.pack(">H", n)
    return head + body


def ber_read(data):
    """(tag, value, rest) of the first TLV; raises ValueError."""
    if len(data) < 2:
        raise ValueError("short")
    tag, n = data[0], data[1]
    pos = 2
    if n & 0x80:
        k = n & 0x7F
        # Up to 4 length octets: Active Directory's CLDAP pings (and nmap's payload) use
        # the 0x84 form even for short lengths.
        if k == 0 or k > 4 or len(data) < 2 + k:
            raise ValueError("length")
        n = int.from_bytes(data[2:2 + k], "big")
        pos = 2 + k
    if len(data) < pos + n:
        raise ValueError("short")
    return tag, data[pos:pos + n], data[pos + n:]


def ssdp(req):
    if not req.startswith(b"M-SEARCH"):
        return []
    out = []
    for st in (b"upnp:rootdevice", b"urn:schemas-upnp-org:device:InternetGatewayDevice:1"):
        out.append(b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
                   b"LOCATION: http://127.0.0.1:49152/rootDesc.xml\r\n"
                   b"SERVER: Linux/5.10 UPnP/1.1 MiniUPnPd/2.2.1\r\n"
                   b"ST: " + st + b"\r\nUSN: uuid:4d696e69-1dd2-11b2-a000-000000000001::" + st +
                   b"\r\n\r\n")
    return out


def ntp(req):
    if len(req) >= 12 and req[0] & 7 == 6 and req[1] & 0x9F == 2:  # mode 6 READVAR
        data = (b'version="ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)", '
                b'processor="x86_64", system="Linux/6.1.0", leap=00, stratum=2')
        pkt = bytes([0x16, 0x82]) + req[2:4] + struct.pack(">HHHH", 0x0615, 0, 0, len(data))
        pkt += data
        return [pkt + b"\0" * (-len(pkt) % 4)]
    if len(req) >= 8 and req[0] & 7 == 7 and req[0] & 0x80 == 0 and req[3] in (20, 42):
        out = []
        for more, items in ((True, 6), (False, 2)):
            entry = b"".join(struct.pack(">IIIIII", 10 + i, 1, 0, 1, 0x7F000001 + i, 0)
                             + b"\0" * 48 for i in range(items))
            b0 = 0x80 | (0x40 if more else 0) | (2 << 3) | 7
            out.append(bytes([b0, 0, req[2], req[3]]) + struct.pack(">HH", items, 72) + entry)
        return out
    if len(req) >= 48 and req[0] & 7 == 3:  # mode 3 client request: a server's mode 4 reply
        vn = (req[0] >> 3) & 7
        now = struct.pack(">II", 0xEB5E0000, 0)  # a fixed 2025 timestamp, fraction 0
        return [bytes([(vn << 3) | 4, 2, req[2], 0xE9]) + struct.pack(">II", 0x100, 0x200) +
                b"\x7f\x00\x00\x01" + now + req[40:48] + now + now]
    return []


def ubiquiti(req):
    if req[:4] != b"\x01\x00\x00\x00":
        return []

    def tlv(t, v):
        return bytes([t]) + struct.pack(">H", len(v)) + v

    body = (tlv(0x01, bytes.fromhex("24a43c010203")) +
            tlv(0x02, bytes.fromhex("24a43c010203") + bytes([127, 0, 0, 1])) +
            tlv(0x03, b"XM.ar7240.v5.6.3.28591.151130.1749") + tlv(0x0B, b"lab-ap") +
            tlv(0x0C, b"NSM5") + tlv(0x0D, b"labnet") + tlv(0x0A, struct.pack(">I", 3600)))
    return [b"\x01\x00" + struct.pack(">H", len(body)) + body]


def mssql(req):
    if not req or req[0] not in (2, 3):
        return []
    data = (b"ServerName;LABSQL;InstanceName;MSSQLSERVER;IsClustered;No;"
            b"Version;15.0.2000.5;tcp;1433;;")
    return [b"\x05" + struct.pack("<H", len(data)) + data]


def netbios(req):
    if len(req) < 50 or req[2] & 0x80 or req[-4:] != b"\x00\x21\x00\x01":
        return []

    def name(n, suffix, flags):
        return n.ljust(15, b" ") + bytes([suffix]) + struct.pack(">H", flags)

    names = [name(b"LABHOST", 0x00, 0x0400), name(b"WORKGROUP", 0x00, 0x8400),
             name(b"LABHOST", 0x20, 0x0400)]
    rdata = bytes([len(names)]) + b"".join(names) + bytes.fromhex("525400123456") + b"\0" * 40
    return [req[0:2] + struct.pack(">HHHHH", 0x8400, 0, 1, 0, 0) + req[12:46] +
            struct.pack(">HHIH", 0x21, 1, 0, len(rdata)) + rdata]


def dns_name(dotted):
    return b"".join(bytes([len(p)]) + p for p in dotted.split(b".") if p) + b"\0"


def mdns(req):
    if len(req) < 12 or req[2] & 0x80:
        return []
    qname = dns_name(b"_services._dns-sd._udp.local")
    if req[12:12 + len(qname)].lower() != qname:
        return []
    out = req[0:2] + struct.pack(">HHHHH", 0x8400, 1, 2, 0, 0) + qname + struct.pack(">HH", 12, 1)
    for t in (b"_ssh._tcp.local", b"_http._tcp.local"):
        target = dns_name(t)
        out += b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 10, len(target)) + target
    return [out]


def cldap(req):
    try:
        tag, msg, _ = ber_read(req)
        if tag != 0x30:
            return []
        tag, mid, rest = ber_read(msg)
        optag, _, _ = ber_read(rest)
        if tag != 0x02 or optag != 0x63:
            return []
    except ValueError:
        return []
    mid = ber(0x02, mid)

    def attr(t, v):
        return ber(0x30, ber(0x04, t) + ber(0x31, ber(0x04, v)))

    attrs = (attr(b"namingContexts", b"dc=lab,dc=test") + attr(b"vendorName", b"Lab Directory") +
             attr(b"vendorVersion", b"2.6.3") + attr(b"dnsHostName", b"dc1.lab.test"))
    entry = ber(0x30, mid + ber(0x64, ber(0x04, b"") + ber(0x30, attrs)))
    done = ber(0x30, mid + ber(0x65, ber(0x0A, b"\0") + ber(0x04, b"") + ber(0x04, b"")))
    return [entry + done]


SERVICES = {"ssdp": ssdp, "ntp-monlist": ntp, "ubiquiti": ubiquiti, "mssql": mssql,
            "netbios": netbios, "mdns": mdns, "cldap": cldap}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--service", required=True, choices=sorted(SERVICES))
    ap.add_argument("--port", type=int, required=True)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--garbage", action="store_true")
    mode.add_argument("--silent", action="store_true")
    mode.add_argument("--oversized", action="store_true")
    args = ap.parse_args()
    addr = ipaddress.ip_address(args.bind)
    if not addr.is_loopback:
        sys.exit(f"--bind: '{args.bind}' is not a loopback address")
    sock = socket.socket(socket.AF_INET6 if addr.version == 6 else socket.AF_INET,
                         socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    port = sock.getsockname()[1]
    print("ready" if args.port else f"ready port={port}", flush=True)
    answer = SERVICES[args.service]
    while True:
        req, peer = sock.recvfrom(65535)
        if args.silent:
            continue
        for pkt in answer(req):
            if args.garbage:
                pkt = os.urandom(len(pkt))
            elif args.oversized:
                pkt = pkt + b"A" * (16 * 1024 + 1)
            sock.sendto(pkt, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
