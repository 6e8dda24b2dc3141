#!/usr/bin/env python3
"""A webhook receiver for the alerting end-to-end tests: records every POST as one JSON line.

    webhook_receiver.py DIRECTORY

Binds 127.0.0.1 on a free port and writes it to DIRECTORY/port. Each request is appended to
DIRECTORY/requests.jsonl as {"received_at": unix seconds, "path", "delivery", "attempt",
"signature", "body": <the JSON body>}. DIRECTORY/mode decides the answer, read per request:
"ok" (or absent) answers 200, "fail" answers 503 (and records nothing: the test counts what a
working receiver accepted), "hang" holds the request for 60 s.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

directory = sys.argv[1]
lock = threading.Lock()


def mode():
    try:
        with open(os.path.join(directory, "mode"), encoding="utf-8") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return "ok"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        current = mode()
        if current == "hang":
            time.sleep(60)
        if current in ("fail", "hang"):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = {
            "received_at": time.time(), "path": self.path, "delivery": self.headers.get("X-Vigil-Delivery"),
            "attempt": self.headers.get("X-Vigil-Attempt"), "signature": self.headers.get("X-Vigil-Signature-256"), "body": body,
        }
        with lock, open(os.path.join(directory, "requests.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(directory, "port.tmp"), "w", encoding="utf-8") as handle:
    handle.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
server.serve_forever()
