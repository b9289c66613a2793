#!/usr/bin/python3
"""A fake Telegram Bot API (sendMessage only) for tests. Standard library only.

Listens on 127.0.0.1 only and prints "listening PORT" on stdout (flushed) once
it accepts connections; logs go to stderr (never the token).

  python3 tests/fakes/telegram_api.py --token 123:ABC --messages /tmp/tg.jsonl
  # then api_url = http://127.0.0.1:PORT

Options:
  --port N               port to bind (default 0: the kernel picks one)
  --token TOKEN          the only bot token accepted (required); any other
                         token gets 401 {"ok":false,"error_code":401,
                         "description":"Unauthorized"}
  --messages FILE        append every accepted sendMessage body to FILE, one
                         JSON object per line
  --rate-limit K:N       answer the next K sendMessage calls with 429,
                         parameters.retry_after = N and a Retry-After: N header
  --fail-500 K           answer the next K sendMessage calls with 500
  --unknown-chat ID      400 "Bad Request: chat not found" for that chat_id
                         (repeatable; compared as a string, so -100123 and
                         "@channel" both work)

Endpoints:
  POST /bot<token>/sendMessage   JSON {"chat_id", "text", "parse_mode", ...}.
      Checks like the real API: chat_id present, text non-empty and at most
      4096 characters after entity parsing (counted in UTF-16 code units, the
      unit of the Bot API's entity offsets: the stricter reading, so an emoji
      counts 2), and with parse_mode HTML, only supported tags, balanced, and
      no bare '<'. Errors: {"ok":false,"error_code":400,"description":...}.
      Success: {"ok":true,"result":{"message_id":N,"chat":{...},"text":...}}.
  GET  /_messages                JSON array of the accepted bodies, in order.
  GET  /_requests                JSON array of {"path_ok","status","body"} for
                                 every sendMessage call (accepted or not).
  POST /_control                 JSON to change behaviour at run time, any of
                                 {"rate_limit": K, "retry_after": N,
                                  "fail_500": K, "unknown_chats": ["..."]}.
  POST /_reset                   forget messages, requests and failures.
"""

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"

# Tags the Bot API accepts with parse_mode HTML.
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.token = args.token
        self.messages_file = args.messages
        self.messages = []
        self.requests = []
        self.rate_limit = 0
        self.retry_after = 1
        if args.rate_limit:
            k, n = args.rate_limit.split(":", 1)
            self.rate_limit, self.retry_after = int(k), int(n)
        self.fail_500 = args.fail_500
        self.unknown_chats = set(args.unknown_chat)
        self.next_id = 1


def parse_telegram_html(text):
    """The text Telegram would show, or raises ValueError like the Bot API."""
    out = []
    stack = []
    i = 0
    tag_re = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
    while i < len(text):
        c = text[i]
        if c == "<":
            m = tag_re.match(text, i)
            if not m:
                raise ValueError("Can't parse entities: unexpected '<' at byte offset %d" % i)
            closing, name = m.group(1), m.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise ValueError("Can't parse entities: unsupported start tag \"%s\" at byte "
                                 "offset %d" % (name, i))
            if closing:
                if not stack or stack[-1] != name:
                    raise ValueError("Can't parse entities: can't find start tag corresponding "
                                     "to end tag \"%s\"" % name)
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif c == "&":
            m = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);").match(text, i)
            if m and m.group(1).startswith("#"):
                v = m.group(1)
                out.append(chr(int(v[2:], 16) if v[1] in "xX" else int(v[1:])))
                i = m.end()
            elif m and m.group(1) in NAMED_ENTITIES:
                out.append(NAMED_ENTITIES[m.group(1)])
                i = m.end()
            else:
                out.append(c)  # Telegram leaves a bare '&' as is
                i += 1
        else:
            out.append(c)
            i += 1
    if stack:
        raise ValueError("Can't parse entities: can't find end tag corresponding to start tag "
                         "\"%s\"" % stack[-1])
    return "".join(out)


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeTelegram/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # never log the path: it holds the token
        pass

    def _reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status, description, **extra):
        obj = {"ok": False, "error_code": status, "description": description}
        headers = []
        if "retry_after" in extra:
            obj["parameters"] = {"retry_after": extra["retry_after"]}
            headers.append(("Retry-After", str(extra["retry_after"])))
        self._reply(status, obj, headers)
        return status

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/_messages":
                return self._reply(200, st.messages)
            if self.path == "/_requests":
                return self._reply(200, st.requests)
        self._error(404, "Not Found")

    def do_POST(self):
        st = self.server.state
        raw = self._body()
        if self.path == "/_control":
            ctl = json.loads(raw or b"{}")
            with st.lock:
                st.rate_limit = int(ctl.get("rate_limit", st.rate_limit))
                st.retry_after = int(ctl.get("retry_after", st.retry_after))
                st.fail_500 = int(ctl.get("fail_500", st.fail_500))
                if "unknown_chats" in ctl:
                    st.unknown_chats = {str(c) for c in ctl["unknown_chats"]}
            return self._reply(200, {"ok": True})
        if self.path == "/_reset":
            with st.lock:
                st.messages, st.requests = [], []
                st.rate_limit = st.fail_500 = 0
            return self._reply(200, {"ok": True})
        m = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", self.path)
        with st.lock:
            record = {"path_ok": bool(m and m.group(1) == st.token), "status": 0,
                      "body": raw.decode("utf-8", "replace")}
            st.requests.append(record)
            record["status"] = self._send_message(st, m, raw)

    def _send_message(self, st, m, raw):
        if not m:
            return self._error(404, "Not Found")
        if m.group(1) != st.token:
            return self._error(401, "Unauthorized")
        if m.group(2) != "sendMessage":
            return self._error(404, "Not Found: method not found")
        if st.rate_limit > 0:
            st.rate_limit -= 1
            return self._error(429, "Too Many Requests: retry after %d" % st.retry_after,
                               retry_after=st.retry_after)
        if st.fail_500 > 0:
            st.fail_500 -= 1
            return self._error(500, "Internal Server Error")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._error(400, "Bad Request: expected a JSON body")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._error(400, "Bad Request: can't parse JSON")
        if not isinstance(body, dict):
            return self._error(400, "Bad Request: can't parse JSON")
        chat = body.get("chat_id")
        if chat is None or chat == "":
            return self._error(400, "Bad Request: chat_id is empty")
        if not isinstance(chat, (int, str)) or isinstance(chat, bool):
            return self._error(400, "Bad Request: chat_id must be an integer or a string")
        if str(chat) in st.unknown_chats:
            return self._error(400, "Bad Request: chat not found")
        text = body.get("text")
        if not isinstance(text, str):
            return self._error(400, "Bad Request: message text is empty")
        shown = text
        if body.get("parse_mode") == "HTML":
            try:
                shown = parse_telegram_html(text)
            except ValueError as e:
                return self._error(400, "Bad Request: " + str(e))
        if not shown.strip():
            return self._error(400, "Bad Request: message text is empty")
        if utf16_len(shown) > 4096:
            return self._error(400, "Bad Request: message is too long")
        st.messages.append(body)
        if st.messages_file:
            with open(st.messages_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(body, ensure_ascii=False) + "\n")
        message_id = st.next_id
        st.next_id += 1
        chat_obj = ({"id": chat, "type": "supergroup"} if isinstance(chat, int)
                    else {"id": -1001, "type": "channel", "username": chat.lstrip("@")})
        self._reply(200, {"ok": True, "result": {"message_id": message_id, "chat": chat_obj,
                                                 "date": 0, "text": shown}})
        return 200


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", required=True)
    p.add_argument("--messages")
    p.add_argument("--rate-limit", metavar="K:N")
    p.add_argument("--fail-500", type=int, default=0)
    p.add_argument("--unknown-chat", action="append", default=[])
    args = p.parse_args()
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print("listening %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
