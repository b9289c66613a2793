#!/usr/bin/env python3
"""Checks a `goalkeeper-worker scan --probes all --udp all` JSONL output
against the probe lab's manifest (scripts/probe-lab.sh): one verdict line per
listener, then "N checked, N failed"; exit 1 when any failed.

Manifest line: NAME ADDRESS PORT TRANSPORT SERVICE VERSION AUTH, where SERVICE
has "_" for spaces ("unverified" = a broken server that must come out
unverified), VERSION is the installed package's ("-" = none), AUTH is
not_required | required | unknown | a fact the evidence must hold
("recursion=available", "status=refused") | - .
"""
import json
import sys

# Real servers that a probe does not get a version from (the protocol never
# says it to a stranger): PostgreSQL's SSLRequest answer, unbound (version
# hidden), snmpd (sysDescr is the kernel's), rpcbind, the requirepass Redis.
AMPLIFIERS = {"Memcached", "SNMP", "SSDP", "NTP", "Ubiquiti discovery", "MSSQL browser",
              "NetBIOS", "mDNS", "Portmapper", "CLDAP"}
# A listener that answers but is no amplifier: an NTP server that refuses
# status queries answers a 48-byte time request with 48 bytes.
NOT_AMPLIFYING = {"status=refused"}


def main(manifest_path, scan_path):
    manifest = {}
    for line in open(manifest_path):
        f = line.split()
        if len(f) != 7:
            continue
        manifest[(f[1], int(f[2]), f[3])] = f
    seen = {}
    for line in open(scan_path):
        j = json.loads(line)
        seen[(j["ip"], j["port"], j.get("transport", "tcp"))] = j
    checked = failed = 0

    def verdict(name, ok, why):
        nonlocal checked, failed
        checked += 1
        if not ok:
            failed += 1
        print(f"{'ok' if ok else 'FAILED'}: {name}: {why}")

    for key, (name, ip, port, transport, service, version, auth) in sorted(manifest.items()):
        service = service.replace("_", " ")
        j = seen.get(key)
        if j is None:
            verdict(name, False, f"{ip}:{port}/{transport} not reported")
            continue
        ev = j.get("evidence") or {}
        if service == "unverified":
            verdict(name, j.get("verified") is False and j["state"] == "open",
                    f"open and unverified: state={j['state']} verified={j.get('verified')}")
            continue
        verdict(name, j.get("verified") is True and j.get("service") == service,
                f"service {j.get('service')!r} verified={j.get('verified')}, want {service!r}")
        got_version = ev.get("version", "")
        if version != "-" and got_version:
            verdict(name, version in got_version, f"version {got_version!r}, want {version!r}")
        if auth in ("required", "not_required"):
            verdict(name, ev.get("auth") == auth, f"auth {ev.get('auth')!r}, want {auth!r}")
        if "=" in auth:
            verdict(name, auth in ev.get("facts", []), f"facts {ev.get('facts')}, want {auth}")
        if transport == "udp" and service in AMPLIFIERS and auth not in NOT_AMPLIFYING:
            amp = ev.get("amplification", 0)
            verdict(name, amp > 1, f"amplification {amp}, want > 1")
    for key, j in sorted(seen.items()):
        if key in manifest:
            continue
        # rpcbind also binds 127.0.0.1 whatever -h says: a real portmapper.
        ok = key == ("127.0.0.1", 111, "udp") and j.get("service") == "Portmapper"
        verdict(f"{key[0]}:{key[1]}/{key[2]}", ok, f"not in the lab's manifest: {j.get('service')}")
    print(f"{checked} checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
