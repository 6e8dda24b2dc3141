#!/usr/bin/env python3
"""A real SMTP server for VigilNotifyTests (EmailChannelTests): aiosmtpd with STARTTLS (or
implicit TLS) and AUTH against one fixed user, writing each message it accepts to a directory.

Usage: smtp_server.py --dir DIR --cert CERT --key KEY --user U --password P [--implicit-tls | --no-tls]
                      [--exclude-mechanism PLAIN] --ready-file FILE

Recipients whose local part starts with "greylisted" get 450, with "nobody" 550.

It binds 127.0.0.1 on a free port and writes that port to --ready-file once it accepts
connections. Each message becomes DIR/<n>.eml (the content as received) and DIR/<n>.json (the
envelope: mail_from, rcpt_tos), both renamed into place complete.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Recipients that exercise the client's policy: a temporary and a permanent refusal.
        local = address.split("@")[0]
        if local.startswith("greylisted"):
            return "450 4.2.0 Greylisted, try again later"
        if local.startswith("nobody"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.directory, str(n))
        envelope_info = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None}
        for suffix, data in ((".eml", envelope.original_content), (".json", json.dumps(envelope_info).encode())):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + suffix + ".tmp", base + suffix)
        return "250 2.0.0 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--no-tls", action="store_true", help="offer no STARTTLS, and AUTH without TLS")
    parser.add_argument("--exclude-mechanism", action="append", default=[])
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        # The tests read this line to tell whether credentials were sent at all.
        print("AUTH attempt", mechanism, flush=True)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == args.user.encode() and auth_data.password == args.password.encode()
        return AuthResult(success=ok, handled=False)

    options = dict(
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=True,
        auth_exclude_mechanism=args.exclude_mechanism,
        server_hostname="localhost",
    )
    if args.no_tls:
        options["auth_require_tls"] = False
    elif args.implicit_tls:
        options["ssl_context"] = context
        # aiosmtpd only counts STARTTLS as TLS for AUTH; this whole connection is TLS.
        options["auth_require_tls"] = False
    else:
        options["tls_context"] = context
        options["require_starttls"] = True
    controller = Controller(Recorder(args.dir), **options)
    controller.start()
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(controller.port))
    os.rename(tmp, args.ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
