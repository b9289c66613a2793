#!/usr/bin/python3
"""A real SMTP server for tests, built on aiosmtpd (Debian: python3-aiosmtpd).

Listens on 127.0.0.1 only. Once it accepts connections it prints one line,
"listening PORT", on stdout (flushed), then logs to stderr. Run it with
/usr/bin/python3 (Debian's interpreter, which has aiosmtpd).

  /usr/bin/python3 tests/fakes/smtp_server.py --maildir /tmp/mail
  /usr/bin/python3 tests/fakes/smtp_server.py --maildir /tmp/mail \
      --starttls --cert server.pem --key server.key --require-starttls \
      --auth alice:s3cret --reject-rcpt nobody@example.com

Options:
  --port N                 port to bind (default 0: the kernel picks one)
  --maildir DIR            store each accepted message (created if missing):
                             DIR/NNNN.eml   the DATA bytes exactly as received
                                            (CRLF line ends, dot-unstuffed)
                             DIR/NNNN.json  written after the .eml, so a test
                                            that sees it sees a complete message:
      {"mail_from": "a@b", "rcpt_tos": ["c@d"], "auth_user": "alice" | null,
       "tls": true | false, "subject": "<decoded>", "message_id": "<...>",
       "date": "...", "from": "...", "to": "...", "cc": "...",
       "content_type": "text/plain", "text": "<decoded text/plain, \\n line ends>",
       "html": "<decoded text/html>" | null, "defects": ["..."]}
  --starttls               offer STARTTLS (needs --cert and --key)
  --implicit-tls           TLS from the first byte, as smtps:// (needs --cert, --key)
  --cert FILE, --key FILE  PEM server certificate (chain) and its private key
  --require-starttls       refuse every command but EHLO/HELO/NOOP/QUIT/STARTTLS
                           until STARTTLS is done (530)
  --auth USER:PASSWORD     require AUTH (PLAIN or LOGIN); offered only after
                           STARTTLS (or on an implicit-TLS connection); a wrong
                           password gets 535
  --reject-rcpt ADDRESS    answer RCPT TO:<ADDRESS> with 550 (repeatable)
  --tempfail-rcpt ADDRESS  answer RCPT TO:<ADDRESS> with 450 (repeatable)
  --fail-first N           greet the first N connections with 421 and close them
  --hang                   accept connections but never answer (client timeouts)
  --down                   reserve a free port, release it, print
                           "listening PORT" and exit: nothing listens there

Traffic stays on 127.0.0.1. Stop it with SIGTERM/SIGINT (or SIGKILL).
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        if args.maildir:
            os.makedirs(args.maildir, exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.reject_rcpt:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower() in self.args.tempfail_rcpt:
            return "450 4.2.1 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        self.count += 1
        if self.args.maildir:
            self._store(raw, session, envelope)
        logging.info("stored message %d from=%s rcpts=%s bytes=%d", self.count,
                     envelope.mail_from, envelope.rcpt_tos, len(raw))
        return "250 2.0.0 Message accepted for delivery"

    def _store(self, raw, session, envelope):
        base = os.path.join(self.args.maildir, "%04d" % self.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        os.rename(base + ".eml.tmp", base + ".eml")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": None,
            "tls": bool(session.ssl is not None or self.args.implicit_tls),
        }
        if isinstance(session.auth_data, LoginPassword):
            meta["auth_user"] = session.auth_data.login.decode("utf-8", "replace")
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            for name in ("subject", "message-id", "date", "from", "to", "cc"):
                value = msg.get(name)
                meta[name.replace("-", "_")] = None if value is None else str(value)
            meta["content_type"] = msg.get_content_type()
            meta["defects"] = [repr(d) for d in msg.defects]
            plain = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
            meta["text"] = None if plain is None else _lf(plain.get_content())
            meta["html"] = None if html is None else _lf(html.get_content())
        except Exception as e:  # a test asserts on what it expected to find
            meta["parse_error"] = repr(e)
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1)
        os.rename(base + ".json.tmp", base + ".json")


def _lf(text):
    return text.replace("\r\n", "\n")


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
                and auth_data.password == self.password):
            return AuthResult(success=True, auth_data=auth_data)
        logging.info("AUTH %s refused", mechanism)  # never log the password
        return AuthResult(success=False, handled=False)


class Greet421(asyncio.Protocol):
    def connection_made(self, transport):
        transport.write(b"421 4.3.2 Service not available, closing channel\r\n")
        transport.close()


class Silent(asyncio.Protocol):
    """Accepts and never answers."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth", metavar="USER:PASSWORD")
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--tempfail-rcpt", action="append", default=[])
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--hang", action="store_true")
    p.add_argument("--down", action="store_true")
    args = p.parse_args()
    args.reject_rcpt = {a.lower() for a in args.reject_rcpt}
    args.tempfail_rcpt = {a.lower() for a in args.tempfail_rcpt}
    if (args.starttls or args.implicit_tls) and not (args.cert and args.key):
        p.error("--starttls/--implicit-tls need --cert and --key")
    if args.require_starttls and not args.starttls:
        p.error("--require-starttls needs --starttls")
    if args.auth and ":" not in args.auth:
        p.error("--auth takes USER:PASSWORD")
    return args


async def serve(args):
    loop = asyncio.get_running_loop()
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    handler = Handler(args)
    kwargs = {"hostname": "goalkeeper-test-smtp", "loop": loop}
    if args.starttls:
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = args.require_starttls
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs["authenticator"] = Authenticator(user, password)
        kwargs["auth_required"] = True
        # On an implicit-TLS connection the channel is already encrypted.
        kwargs["auth_require_tls"] = not args.implicit_tls
    connections = 0

    def factory():
        nonlocal connections
        connections += 1
        if args.hang:
            return Silent()
        if connections <= args.fail_first:
            logging.info("connection %d: 421", connections)
            return Greet421()
        return SMTP(handler, **kwargs)

    server = await loop.create_server(factory, HOST, args.port,
                                      ssl=tls if args.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]
    print("listening %d" % port, flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop


def main():
    args = parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="smtp_server %(levelname)s %(message)s")
    # aiosmtpd's own per-command log is noisy; keep warnings only, minus the
    # deprecation notice its own AUTH code triggers.
    mail_log = logging.getLogger("mail.log")
    mail_log.setLevel(logging.WARNING)
    mail_log.addFilter(lambda r: "login_data is deprecated" not in r.getMessage())
    if args.down:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((HOST, args.port))
        port = s.getsockname()[1]
        s.close()
        print("listening %d" % port, flush=True)
        return 0
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
