#!/usr/bin/env python3
"""A minimal envelope-only chat client for Vigil, written from docs/PROTOCOL.md alone.

It speaks only the JSON envelope: CLIENT_REGISTER (kind "user"), HEARTBEAT, CLIENT_MESSAGE,
MESSAGE_ACK, LIST_CLIENTS and CLIENT_UNREGISTER. Python 3 standard library only.

Usage:
    interop_chat_client.py --server HOST:PORT --name NAME [--key KEY] [--timeout SECONDS] [--legacy]

With --legacy it is the envelope-only client of the original messaging design (PROTOCOL.md §13):
it registers with an empty payload, named only by "sender_id" (no protocol version, no hostname, no
key), puts its name in "sender_id" on every frame, and sends no heartbeats.

The key may also come from the environment variable VIGIL_KEY; without one the client registers
under open enrollment (no "key" field at all).

Commands, one per line on standard input (processed in order; each one finishes before the next starts):
    send TEXT             broadcast TEXT (recipient null) and wait for its MESSAGE_ACK
    send @NAME TEXT       send TEXT to NAME only and wait for its MESSAGE_ACK
    expect N              wait until N distinct messages have been received in total
    quiet SECONDS         keep reading (and acknowledging) for SECONDS, doing nothing else
    who                   LIST_CLIENTS, and wait for the CLIENT_LIST
    quit                  CLIENT_UNREGISTER, wait for the goodbye, exit 0
End of input is the same as "quit". Lines that are empty or start with "#" are skipped.

Standard output: one JSON object per line, per event, with an "event" field:
    registered, sent, acked, message, ack_sent, heartbeat_ack, clients, goodbye, closed, error.
A "message" event has "repeat": true when the same (sender_id, message_id) was seen before.

Exit status: 0 clean goodbye; 1 usage or connection failure; 2 protocol error (a frame that breaks
PROTOCOL.md, a fatal or unexpected SERVER_RESPONSE, an unexpected close); 3 a command failed (a
refused message, a timeout); 77 the registration was refused.
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import time
import uuid

PROTOCOL_VERSION = 1
MAX_INCOMING_FRAME = 16 * 1024 * 1024  # our own sanity limit on N (PROTOCOL.md §11)


class Failure(Exception):
    def __init__(self, status, reason, **details):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.details = details


def emit(event, **fields):
    record = {"event": event}
    record.update(fields)
    sys.stdout.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    sys.stdout.flush()


def log(text):
    sys.stderr.write("interop-client: %s\n" % text)
    sys.stderr.flush()


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


class Client:
    def __init__(self, host, port, name, key, timeout, legacy=False):
        self.legacy = legacy
        self.host = host
        self.port = port
        self.name = name
        self.key = key
        self.timeout = timeout
        self.sock = None
        self.inbuf = bytearray()
        self.client_id = None
        self.interval = None
        self.max_frame = None
        self.heartbeat_seq = 0
        self.next_heartbeat = None
        self.unacked_heartbeats = []  # seqs sent and not yet acknowledged, oldest first
        self.message_seq = 0
        self.pending = {}  # message_id -> status once acked (None while waiting)
        self.refused = {}  # message_id -> SERVER_RESPONSE payload
        self.seen = set()  # (sender_id, message_id)
        self.received = 0  # distinct messages
        self.client_list = None
        self.goodbye = None
        self.unregister_id = None
        self.eof = False
        self.stdin_open = False
        self.stdin_buffer = b""

    # ---- framing (PROTOCOL.md §2) ----

    def send_envelope(self, type_, payload, message_id=None):
        envelope = {"type": type_, "payload": payload, "timestamp": time.time()}
        if self.legacy:
            envelope = {"type": type_, "sender_id": self.name, "payload": payload, "timestamp": time.time()}
        if message_id is not None:
            envelope["message_id"] = message_id
        data = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if self.max_frame is not None and len(data) > self.max_frame:
            raise Failure(3, "frame of %d bytes exceeds the server's max_frame_size %d" % (len(data), self.max_frame))
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def read_available(self):
        """Reads what the socket has; returns False at EOF."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.inbuf.extend(chunk)
        return True

    def frames(self):
        """Yields every complete envelope in the buffer (binary frames are skipped)."""
        while len(self.inbuf) >= 4:
            (length,) = struct.unpack(">I", bytes(self.inbuf[:4]))
            if length > MAX_INCOMING_FRAME:
                raise Failure(2, "server sent a frame of %d bytes" % length)
            if len(self.inbuf) < 4 + length:
                return
            payload = bytes(self.inbuf[4:4 + length])
            del self.inbuf[:4 + length]
            if length == 0:
                raise Failure(2, "server sent an empty frame")
            if payload[0] != 0x7B:
                log("skipping a binary frame of kind 0x%02X (%d bytes)" % (payload[0], length))
                continue
            try:
                envelope = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                raise Failure(2, "server sent a frame that is not UTF-8 JSON: %s" % error)
            if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str) \
                    or not isinstance(envelope.get("payload"), dict):
                raise Failure(2, "server sent an envelope without a string type and an object payload",
                              frame=payload.decode("utf-8", "replace"))
            yield envelope

    # ---- the event loop ----

    def pump(self, until, deadline, what, stdin=None, lines=None, wake_at=None):
        """Reads frames, sends heartbeats, and collects stdin lines until until() is true.

        Raises Failure(3) at the deadline (None: no deadline). wake_at: a time to look at until()
        again even if nothing arrives (without heartbeats nothing else wakes the loop)."""
        while not until():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise Failure(3, "timed out waiting for %s" % what)
            if self.next_heartbeat is not None and now >= self.next_heartbeat:
                self.heartbeat()
                continue
            waits = [x for x in (deadline, self.next_heartbeat, wake_at) if x is not None]
            wait = max(0.0, min(waits) - now) if waits else None
            use_stdin = stdin is not None and lines is not None and self.stdin_open
            readers = [self.sock] + ([stdin] if use_stdin else [])
            ready, _, _ = select.select(readers, [], [], wait)
            if use_stdin and stdin in ready:
                self.read_stdin(stdin, lines)
            if self.sock in ready:
                alive = self.read_available()
                for envelope in self.frames():
                    self.handle(envelope)
                if not alive:
                    if until():
                        return
                    raise Failure(2, "the server closed the connection while waiting for %s" % what)

    def read_stdin(self, stdin, lines):
        data = os.read(stdin.fileno(), 65536)
        if not data:
            lines.append(None)  # end of input
            self.stdin_open = False
            return
        self.stdin_buffer += data
        while b"\n" in self.stdin_buffer:
            line, _, self.stdin_buffer = self.stdin_buffer.partition(b"\n")
            lines.append(line.decode("utf-8").rstrip("\r"))

    def heartbeat(self):
        # §11: if 3 heartbeats in a row are unacknowledged when the next is due, the server is dead.
        if len(self.unacked_heartbeats) >= 3:
            raise Failure(2, "heartbeats %s went unacknowledged" % self.unacked_heartbeats)
        self.heartbeat_seq += 1
        self.send_envelope("HEARTBEAT", {"seq": self.heartbeat_seq}, str(uuid.uuid4()))
        self.unacked_heartbeats.append(self.heartbeat_seq)
        self.next_heartbeat = time.monotonic() + self.interval

    # ---- what the server sends ----

    def handle(self, envelope):
        type_ = envelope["type"]
        payload = envelope["payload"]
        if type_ == "HEARTBEAT_ACK":
            seq = payload.get("seq")
            if not is_int(seq) or not is_number(payload.get("server_time")):
                raise Failure(2, "HEARTBEAT_ACK without an integer seq and a number server_time", payload=payload)
            if seq not in self.unacked_heartbeats:
                log("ignoring a HEARTBEAT_ACK for seq %s that is not outstanding" % seq)
                return
            if seq != self.unacked_heartbeats[0]:
                raise Failure(2, "HEARTBEAT_ACK out of order: got %s, expected %s" % (seq, self.unacked_heartbeats[0]))
            self.unacked_heartbeats.pop(0)
            emit("heartbeat_ack", seq=seq)
        elif type_ == "MESSAGE_ACK":
            acked = payload.get("acked_message_id")
            status = payload.get("status")
            if not isinstance(acked, str) or status not in ("stored", "duplicate"):
                raise Failure(2, "MESSAGE_ACK without acked_message_id or with a bad status", payload=payload)
            if acked not in self.pending:
                raise Failure(2, "MESSAGE_ACK for a message this client never sent", payload=payload)
            if self.pending[acked] is not None:
                raise Failure(2, "a second MESSAGE_ACK for one message", payload=payload)
            self.pending[acked] = status
            emit("acked", message_id=acked, status=status)
        elif type_ == "CLIENT_MESSAGE":
            self.receive(envelope)
        elif type_ == "CLIENT_LIST":
            clients = payload.get("clients")
            if not isinstance(clients, list) or not all(
                    isinstance(c, dict) and isinstance(c.get("client_id"), str)
                    and c.get("kind") in ("agent", "user") and is_number(c.get("since")) for c in clients):
                raise Failure(2, "CLIENT_LIST with a malformed clients array", payload=payload)
            self.client_list = [{"client_id": c["client_id"], "kind": c["kind"]} for c in clients]
            emit("clients", clients=self.client_list)
        elif type_ == "SERVER_RESPONSE":
            self.response(payload)
        else:
            log("ignoring a frame of unknown type %s" % type_)  # §11: ignore unknown types

    def response(self, payload):
        success = payload.get("success")
        if not isinstance(success, bool) or not isinstance(payload.get("message"), str):
            raise Failure(2, "SERVER_RESPONSE without a boolean success and a string message", payload=payload)
        fatal = payload.get("fatal") is True
        reply_to = payload.get("in_reply_to")
        if self.unregister_id is not None and reply_to == self.unregister_id:
            self.goodbye = payload
            emit("goodbye", success=success, fatal=fatal, message=payload["message"], code=payload.get("code"))
            return
        if not success and reply_to in self.pending and not fatal:
            self.refused[reply_to] = payload
            emit("refused", message_id=reply_to, code=payload.get("code"), message=payload["message"])
            return
        raise Failure(2, "unexpected SERVER_RESPONSE%s: %s (%s)" % (
            " (fatal)" if fatal else "", payload.get("message"), payload.get("code")), response=payload)

    def receive(self, envelope):
        payload = envelope["payload"]
        sender = envelope.get("sender_id")
        message_id = envelope.get("message_id")
        content = payload.get("content")
        recipient = payload.get("recipient")
        seq = payload.get("seq")
        kind = payload.get("kind")
        # §4.7 "Server → recipient": these are always present.
        if not isinstance(sender, str) or not isinstance(message_id, str) or not isinstance(content, str) \
                or not is_number(envelope.get("timestamp")) or not is_number(payload.get("stored_at")):
            raise Failure(2, "delivered CLIENT_MESSAGE lacks sender_id, message_id, timestamp, content or stored_at",
                          envelope=envelope)
        if recipient is not None and recipient != self.client_id:
            raise Failure(2, "delivered CLIENT_MESSAGE is addressed to %r, not to us (%r)" % (recipient, self.client_id),
                          envelope=envelope)
        if seq is not None and not is_int(seq):
            raise Failure(2, "delivered CLIENT_MESSAGE has a non-integer seq", envelope=envelope)
        key = (sender, message_id)
        repeat = key in self.seen
        if not repeat:
            self.seen.add(key)
            self.received += 1
        emit("message", sender_id=sender, message_id=message_id, content=content, recipient=recipient,
             seq=seq, kind=kind, repeat=repeat)
        if self.unregister_id is None:
            # Acknowledge every delivery, a repeat too (§6 Messaging, "receive").
            self.send_envelope("MESSAGE_ACK", {"acked_message_id": message_id}, str(uuid.uuid4()))
            emit("ack_sent", sender_id=sender, message_id=message_id)

    # ---- the session ----

    def connect_and_register(self):
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as error:
            raise Failure(1, "cannot connect to %s:%d: %s" % (self.host, self.port, error))
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        payload = {"protocol_version": PROTOCOL_VERSION, "kind": "user", "name": self.name,
                   "capabilities": ["heartbeat"], "agent_version": "interop-chat-client.py/1.0"}
        if self.legacy:
            payload = {}  # the original design's register: the name is the envelope's sender_id
        if self.key:
            payload["key"] = self.key
        register_id = str(uuid.uuid4())
        self.send_envelope("CLIENT_REGISTER", payload, register_id)
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() >= deadline:
                raise Failure(1, "no register reply within %s s" % self.timeout)
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            alive = self.read_available()
            for envelope in self.frames():
                if envelope["type"] != "SERVER_RESPONSE":
                    raise Failure(2, "the first frame from the server is %s, not SERVER_RESPONSE" % envelope["type"])
                reply = envelope["payload"]
                if reply.get("in_reply_to") not in (None, register_id):
                    raise Failure(2, "register reply answers %r" % reply.get("in_reply_to"))
                if reply.get("success") is not True:
                    raise Failure(77, "registration refused: %s (%s)" % (reply.get("message"), reply.get("code")),
                                  response=reply)
                session = reply.get("session")
                if not isinstance(session, dict) or not isinstance(session.get("client_id"), str) \
                        or not is_number(session.get("heartbeat_interval")) or not is_int(session.get("max_frame_size")):
                    raise Failure(2, "successful register reply without a proper session", payload=reply)
                if reply.get("in_reply_to") != register_id:
                    raise Failure(2, "successful register reply without in_reply_to = our message_id", payload=reply)
                self.client_id = session["client_id"]
                self.max_frame = session["max_frame_size"]
                self.interval = min(3600.0, max(0.1, float(session["heartbeat_interval"])))  # §11: clamp
                emit("registered", client_id=self.client_id, heartbeat_interval=session["heartbeat_interval"],
                     max_frame_size=self.max_frame, server_id=session.get("server_id"),
                     protocol_version=session.get("protocol_version"))
                if not self.legacy:  # version 0 has no heartbeats (§13)
                    self.heartbeat()  # seq 1 at once (§6)
                # Anything behind the reply in the same read (stored mail) is handled now.
                for more in self.frames():
                    self.handle(more)
                return
            if not alive:
                raise Failure(1, "the server closed the connection before the register reply")

    def send_message(self, text, recipient, stdin, lines):
        self.message_seq += 1
        message_id = str(uuid.uuid4())
        self.pending[message_id] = None
        # Broadcast: recipient null (PROTOCOL.md §4.7: "Absent or null").
        self.send_envelope("CLIENT_MESSAGE", {"content": text, "recipient": recipient, "seq": self.message_seq},
                           message_id)
        emit("sent", message_id=message_id, recipient=recipient, seq=self.message_seq, content=text)
        self.pump(lambda: self.pending[message_id] is not None or message_id in self.refused,
                  time.monotonic() + self.timeout, "the MESSAGE_ACK of %s" % message_id, stdin, lines)
        if message_id in self.refused:
            reply = self.refused[message_id]
            raise Failure(3, "message refused: %s (%s)" % (reply.get("message"), reply.get("code")))

    def unregister(self):
        self.unregister_id = str(uuid.uuid4())
        self.send_envelope("CLIENT_UNREGISTER", {"reason": "interop client done"}, self.unregister_id)
        self.next_heartbeat = None
        deadline = time.monotonic() + self.timeout
        self.pump(lambda: self.goodbye is not None or self.eof, deadline, "the goodbye")
        if self.goodbye is None:
            raise Failure(2, "the server closed the connection without a goodbye")
        if self.goodbye.get("success") is not True or self.goodbye.get("fatal") is not True:
            raise Failure(2, "goodbye is not success:true, fatal:true", payload=self.goodbye)
        # Read until EOF (the server closes after the goodbye), bounded.
        try:
            self.pump(lambda: self.eof, time.monotonic() + self.timeout, "the close after the goodbye")
        except Failure:
            raise Failure(2, "the server did not close the connection after the goodbye")
        emit("closed")
        self.sock.close()

    def run(self, stdin):
        self.connect_and_register()
        self.stdin_open = True
        lines = []
        while True:
            if not lines:
                self.pump(lambda: bool(lines), None, "a command", stdin, lines)
            line = lines.pop(0)
            if line is None or line.strip() in ("quit", "bye"):
                self.unregister()
                return 0
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            command, _, rest = line.partition(" ")
            rest = rest.strip()
            if command == "send":
                recipient = None
                if rest.startswith("@"):
                    recipient, _, rest = rest[1:].partition(" ")
                    rest = rest.strip()
                if not rest:
                    raise Failure(3, "send: no text")
                self.send_message(rest, recipient, stdin, lines)
            elif command == "expect":
                count = int(rest)
                self.pump(lambda: self.received >= count, time.monotonic() + self.timeout,
                          "%d messages (have %d)" % (count, self.received), stdin, lines)
            elif command == "quiet":
                seconds = float(rest)
                end = time.monotonic() + seconds
                self.pump(lambda: time.monotonic() >= end, None, "quiet", stdin, lines, wake_at=end)
            elif command == "who":
                self.client_list = None
                self.send_envelope("LIST_CLIENTS", {}, str(uuid.uuid4()))
                self.pump(lambda: self.client_list is not None, time.monotonic() + self.timeout,
                          "the CLIENT_LIST", stdin, lines)
            else:
                raise Failure(3, "unknown command %r" % command)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True, help="HOST:PORT of the server's agent port")
    parser.add_argument("--name", required=True, help="the user name to register")
    parser.add_argument("--key", default=os.environ.get("VIGIL_KEY"),
                        help="agent key bound to NAME (default: $VIGIL_KEY; none: open enrollment)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for any one answer")
    parser.add_argument("--legacy", action="store_true",
                        help="register as the original envelope-only client (protocol version 0, empty payload)")
    args = parser.parse_args()
    host, _, port = args.server.rpartition(":")
    if not host or not port.isdigit():
        parser.error("--server must be HOST:PORT")
    client = Client(host, int(port), args.name, args.key or None, args.timeout, args.legacy)
    try:
        return client.run(sys.stdin)
    except Failure as failure:
        emit("error", status=failure.status, reason=failure.reason, **failure.details)
        log(failure.reason)
        return failure.status
    except OSError as error:
        emit("error", status=2, reason="socket error: %s" % error)
        log("socket error: %s" % error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
