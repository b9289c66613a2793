#!/usr/bin/env python3
"""A local fake of Keystone v3, Neutron and the Fleio staff API, for tests.

One threaded HTTP server on 127.0.0.1 serves all three from the JSON fixtures
in tests/fixtures/owner_apis/ (see the README there for who owns what), with
real paging, auth checks, fault injection and request counting. Python
standard library only.

    python3 tests/fakes/owner_apis.py [--port 0] [--fixtures DIR]
        [--max-page-size N] [--token-ttl SECONDS]
    -> prints "listening PORT" on stdout once it accepts connections.

APIs (the Keystone catalog points back at this server):
  POST /v3/auth/tokens            password auth; 201 + X-Subject-Token
  GET  /v3/projects[/{id}]        X-Auth-Token
  GET  /v2.0/{floatingips,networks,ports,routers}[/{id}]   X-Auth-Token,
       filters (?key=value, repeated = OR), limit/marker paging, next links
  GET  /backend/staffapi/openstack/{floatingips,projects}  Authorization:
       Token <key>, ?page=&page_size= paging (404 past the end), ?search=
  GET  /backend/staffapi/clients/{id}
Catalog: RegionOne "public" endpoints are this server; "internal" ones are
this server under the prefix /internal, RegionTwo "public" ones under
/region-two (both served like the plain paths; /_stats shows which was used).

Test helpers:
  GET  /_stats     {"total": N, "paths": {path: count}, "tokens": [issued]}
                   (every request except /_stats and /_control is counted)
  POST /_control   JSON, keys merge into the current settings:
    "fail_next": [500, 500]   answer the next requests with these statuses
    "fail_path": "/v2.0/"     ... only requests whose path starts with this
    "retry_after": 2          Retry-After seconds on 429/503 answers
    "rate_limit": 2           answer the next 2 requests 429 + Retry-After
    "slow_ms": 2000           delay answers (to paths starting "slow_path")
    "slow_path": "/v2.0/"
    "malformed": "/v2.0/routers"   truncated JSON from paths starting so
    "expire_tokens": true     forget every issued token now (-> 401)
    "reject_auth": true       Keystone answers 401 to every password
    "fleio_next_always": true Fleio pages always carry a next link
    "max_page_size": 2        cap on Neutron limit / Fleio page_size (0 = none)
    "token_ttl": 3600         lifetime of tokens issued from now on
    "reset": true             clear the settings above and the counters
  GET  /_echo      {"method", "path", "headers", "body"} of the request
  POST /_echo      (the same)
  GET  /_redirect  302 to /_echo
  GET  /_big?bytes=N[&length=0]  N bytes of "x" (length=0: no Content-Length)
"""

import argparse
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEUTRON_RESOURCES = {
    "floatingips": "neutron_floatingips.json",
    "networks": "neutron_networks.json",
    "ports": "neutron_ports.json",
    "routers": "neutron_routers.json",
}
SINGULAR = {"floatingips": "floatingip", "networks": "network", "ports": "port",
            "routers": "router"}
PREFIXES = ("/internal", "/region-two")


class State:
    def __init__(self, fixtures, max_page_size, token_ttl):
        self.lock = threading.Lock()
        self.fixtures = fixtures
        self.default_page_size = max_page_size
        self.default_ttl = token_ttl
        with open(os.path.join(fixtures, "credentials.json")) as f:
            creds = json.load(f)
        self.keystone = creds["keystone"]
        self.fleio_token = creds["fleio_token"]
        self.data = {}
        for name in NEUTRON_RESOURCES.values():
            self.data[name] = self._load(name)
        for name in ("keystone_projects.json", "fleio_floatingips.json",
                     "fleio_projects.json", "fleio_clients.json"):
            self.data[name] = self._load(name)
        self.tokens = {}  # token -> expiry (time.time())
        self.issued = []
        self.reset()

    def _load(self, name):
        with open(os.path.join(self.fixtures, name)) as f:
            return json.load(f)

    def reset(self):
        self.counts = {}
        self.total = 0
        self.fail_next = []
        self.fail_path = ""
        self.retry_after = 1
        self.rate_limit = 0
        self.slow_ms = 0
        self.slow_path = ""
        self.malformed = ""
        self.reject_auth = False
        self.fleio_next_always = False
        self.max_page_size = self.default_page_size
        self.token_ttl = self.default_ttl

    def control(self, c):
        if c.get("reset"):
            self.reset()
        if "fail_next" in c:
            self.fail_next = [int(s) for s in c["fail_next"]]
        for key in ("fail_path", "slow_path", "malformed"):
            if key in c:
                setattr(self, key, str(c[key] or ""))
        for key in ("retry_after", "rate_limit", "slow_ms", "max_page_size", "token_ttl"):
            if key in c:
                setattr(self, key, int(c[key]))
        for key in ("reject_auth", "fleio_next_always"):
            if key in c:
                setattr(self, key, bool(c[key]))
        if c.get("expire_tokens"):
            self.tokens.clear()


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


class Handler(BaseHTTPRequestHandler):
    server_version = "owner-apis-fake/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: stdout/stderr are the test's pipes
        pass

    @property
    def state(self):
        return self.server.state

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=b"", headers=None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        with self.state.lock:
            malformed = self.state.malformed
        if status < 300 and malformed and self.api_path.startswith(malformed):
            body = body[: max(1, len(body) // 2)]  # cut mid-document
        self.send(status, body, headers)

    def error(self, status, message, headers=None):
        self.send_json(status, {"error": {"code": status, "message": message}}, headers)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        path = url.path
        self.raw_path = path
        self.body = self.read_body()
        if path == "/_stats":
            with self.state.lock:
                stats = {"total": self.state.total, "paths": dict(self.state.counts),
                         "tokens": list(self.state.issued)}
            self.api_path = path
            return self.send_json(200, stats)
        if path == "/_control":
            self.api_path = path
            try:
                c = json.loads(self.body or b"{}")
                with self.state.lock:
                    self.state.control(c)
            except (ValueError, TypeError, AttributeError) as e:
                return self.error(400, "bad control: %s" % e)
            return self.send_json(200, {"ok": True})

        for prefix in PREFIXES:
            if path.startswith(prefix + "/"):
                path = path[len(prefix):]
                break
        self.api_path = path

        with self.state.lock:
            st = self.state
            st.total += 1
            st.counts[self.raw_path] = st.counts.get(self.raw_path, 0) + 1
            slow = st.slow_ms if path.startswith(st.slow_path) else 0
            fault = None
            retry_after = st.retry_after
            if st.rate_limit > 0:
                st.rate_limit -= 1
                fault = 429
            elif st.fail_next and path.startswith(st.fail_path):
                fault = st.fail_next.pop(0)
        if slow:
            time.sleep(slow / 1000.0)
        if fault is not None:
            headers = {"Retry-After": str(retry_after)} if fault in (429, 503) else None
            return self.error(fault, "injected fault", headers)
        try:
            self.route(path)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route(self, path):
        parts = [p for p in path.split("/") if p]
        if path == "/v3/auth/tokens" and self.command == "POST":
            return self.auth()
        if parts[:2] == ["v3", "projects"] and self.command == "GET":
            return self.projects(parts[2:])
        if len(parts) >= 2 and parts[0] == "v2.0" and parts[1] in NEUTRON_RESOURCES:
            if self.command != "GET":
                return self.error(405, "method not allowed")
            return self.neutron(parts[1], parts[2:])
        if parts[:2] == ["backend", "staffapi"] and self.command == "GET":
            return self.fleio(parts[2:])
        if path == "/_echo":
            return self.send_json(200, {
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self.body.decode("utf-8", "replace")})
        if path == "/_redirect":
            return self.send(302, b"", {"Location": self.base() + "/_echo"})
        if path == "/_big":
            return self.big()
        return self.error(404, "no route for %s" % path)

    # ---- Keystone -------------------------------------------------------

    def auth(self):
        try:
            req = json.loads(self.body)
            ident = req["auth"]["identity"]
            user = ident["password"]["user"]
            scope = req["auth"]["scope"]["project"]
            given = {
                "methods": ident["methods"],
                "username": user["name"],
                "user_domain_name": user["domain"]["name"],
                "password": user["password"],
                "project_name": scope["name"],
                "project_domain_name": scope["domain"]["name"],
            }
        except (ValueError, KeyError, TypeError):
            return self.error(400, "malformed auth request")
        k = self.state.keystone
        want = dict(k, methods=["password"])
        with self.state.lock:
            rejected = self.state.reject_auth
            ttl = self.state.token_ttl
        if rejected or given != want:
            return self.error(401, "The request you have made requires authentication.")
        token = "gAAAAA" + secrets.token_hex(24)
        expires = time.time() + ttl
        with self.state.lock:
            self.state.tokens[token] = expires
            self.state.issued.append(token)
        base = self.base()
        project_id = next(p["id"] for p in self.state.data["keystone_projects.json"]["projects"]
                          if p["name"] == k["project_name"])

        def endpoints(path):
            return [
                {"id": secrets.token_hex(8), "interface": "public", "region_id": "RegionOne",
                 "region": "RegionOne", "url": base + path},
                {"id": secrets.token_hex(8), "interface": "internal", "region_id": "RegionOne",
                 "region": "RegionOne", "url": base + "/internal" + path},
                {"id": secrets.token_hex(8), "interface": "public", "region_id": "RegionTwo",
                 "region": "RegionTwo", "url": base + "/region-two" + path},
            ]

        body = {"token": {
            "methods": ["password"],
            "expires_at": rfc3339(expires),
            "issued_at": rfc3339(time.time()),
            "user": {"name": k["username"], "domain": {"name": k["user_domain_name"]}},
            "project": {"id": project_id, "name": k["project_name"]},
            "catalog": [
                {"type": "compute", "name": "nova", "endpoints": endpoints("/v2.1/" + project_id)},
                {"type": "identity", "name": "keystone", "endpoints": endpoints("/v3")},
                {"type": "network", "name": "neutron", "endpoints": endpoints("/")},
            ],
        }}
        self.send_json(201, body, {"X-Subject-Token": token})

    def openstack_authorized(self):
        token = self.headers.get("X-Auth-Token", "")
        with self.state.lock:
            expiry = self.state.tokens.get(token)
        if expiry is None or expiry <= time.time():
            self.error(401, "The request you have made requires authentication.")
            return False
        return True

    def projects(self, rest):
        if not self.openstack_authorized():
            return
        projects = self.state.data["keystone_projects.json"]["projects"]
        if rest:
            for p in projects:
                if p["id"] == rest[0]:
                    return self.send_json(200, {"project": p})
            return self.error(404, "Could not find project: %s." % rest[0])
        self.send_json(200, {"projects": projects, "links": {
            "self": self.base() + self.raw_path, "previous": None, "next": None}})

    # ---- Neutron --------------------------------------------------------

    def neutron(self, resource, rest):
        if not self.openstack_authorized():
            return
        items = self.state.data[NEUTRON_RESOURCES[resource]][resource]
        if rest:
            for o in items:
                if o["id"] == rest[0]:
                    return self.send_json(200, {SINGULAR[resource]: o})
            return self.error(404, "%s %s could not be found." % (SINGULAR[resource], rest[0]))
        control = {"limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse"}
        filters = {k: v for k, v in self.query.items() if k not in control}

        def text(v):
            return json.dumps(v) if isinstance(v, bool) or v is None else str(v)

        def match(o):
            for key, values in filters.items():
                if text(o.get(key)).lower() not in [v.lower() for v in values]:
                    return False
            return True

        selected = [o for o in items if match(o)]
        try:
            limit = int(self.query.get("limit", ["0"])[0] or 0)
        except ValueError:
            return self.error(400, "limit must be an integer")
        with self.state.lock:
            cap = self.state.max_page_size
        if cap > 0:
            limit = min(limit, cap) if limit > 0 else cap
        start = 0
        marker = self.query.get("marker", [""])[0]
        if marker:
            ids = [o["id"] for o in selected]
            if marker not in ids:
                return self.error(404, "marker %s not found" % marker)
            start = ids.index(marker) + 1
        page = selected[start:start + limit] if limit > 0 else selected[start:]
        body = {resource: page}
        links = []
        # As Neutron does: a full page has a next link (the last may be empty).
        if limit > 0 and len(page) >= limit:
            links.append({"rel": "next", "href": self.link(marker=page[-1]["id"], limit=limit)})
        if marker:
            links.append({"rel": "previous", "href": self.link(
                marker=page[0]["id"] if page else marker, limit=limit, page_reverse="True")})
        if links:
            body[resource + "_links"] = links
        self.send_json(200, body)

    def link(self, **params):
        q = {k: v for k, v in self.query.items() if k not in ("marker", "limit", "page_reverse")}
        pairs = [(k, v) for k, vs in q.items() for v in vs]
        pairs += [(k, str(v)) for k, v in params.items()]
        return self.base() + self.raw_path + "?" + urllib.parse.urlencode(pairs)

    # ---- Fleio ----------------------------------------------------------

    def fleio(self, rest):
        if self.headers.get("Authorization", "") != "Token " + self.state.fleio_token:
            return self.send_json(401, {"detail": "Invalid token."})
        if rest == ["openstack", "floatingips"]:
            return self.fleio_list(self.state.data["fleio_floatingips.json"]["objects"],
                                   ("floating_ip_address", "project"))
        if rest == ["openstack", "projects"]:
            return self.fleio_list(self.state.data["fleio_projects.json"]["objects"],
                                   ("project_id", "name"))
        if len(rest) == 2 and rest[0] == "clients":
            for c in self.state.data["fleio_clients.json"]["objects"]:
                if str(c["id"]) == rest[1]:
                    return self.send_json(200, c)
            return self.send_json(404, {"detail": "Not found."})
        return self.send_json(404, {"detail": "Not found."})

    def fleio_list(self, items, search_fields):
        search = self.query.get("search", [""])[0].lower()
        if search:
            items = [o for o in items
                     if any(search in str(o.get(f, "")).lower() for f in search_fields)]
        try:
            page = int(self.query.get("page", ["1"])[0])
            size = int(self.query.get("page_size", ["50"])[0])
        except ValueError:
            return self.send_json(404, {"detail": "Invalid page."})
        size = max(1, min(size, 10000))
        with self.state.lock:
            cap = self.state.max_page_size
            next_always = self.state.fleio_next_always
        if cap > 0:
            size = min(size, cap)
        pages = max(1, (len(items) + size - 1) // size)
        if page < 1 or page > pages:
            return self.send_json(404, {"detail": "Invalid page."})

        def page_link(n):
            q = [(k, v) for k, vs in self.query.items() if k != "page" for v in vs]
            return self.base() + self.raw_path + "?" + urllib.parse.urlencode(q + [("page", n)])

        self.send_json(200, {
            "count": len(items),
            "next": page_link(page + 1) if page < pages or next_always else None,
            "previous": page_link(page - 1) if page > 1 else None,
            "objects": items[(page - 1) * size: page * size],
            "totalCount": len(items),
            "pageNo": page,
        })

    # ---- HTTP client tests ----------------------------------------------

    def big(self):
        n = int(self.query.get("bytes", ["0"])[0])
        with_length = self.query.get("length", ["1"])[0] != "0"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if with_length:
            self.send_header("Content-Length", str(n))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"x" * 65536
        try:
            while n > 0:
                self.wfile.write(chunk[:min(n, len(chunk))])
                n -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that time out and hang up are expected


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixtures", default=os.path.join(here, "..", "fixtures", "owner_apis"))
    ap.add_argument("--max-page-size", type=int, default=0,
                    help="cap on Neutron limit and Fleio page_size (0 = none)")
    ap.add_argument("--token-ttl", type=int, default=3600, help="token lifetime, seconds")
    args = ap.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.fixtures, args.max_page_size, args.token_ttl)
    print("listening %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
