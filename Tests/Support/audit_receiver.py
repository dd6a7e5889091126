#!/usr/bin/env python3
"""Plays Splunk's HTTP Event Collector and a Standard Webhooks receiver for TaskShim's audit tests.

No real HEC can run here, so this stands in for it, following Splunk's documented protocol:
POST /services/collector/event with `Authorization: Splunk <token>` and concatenated JSON envelopes,
answers `{"text":"Success","code":0}`, 403 code 4 for a wrong token, 400 code 6 for an event it
cannot take (here: one whose event has "poison": true), and with an `X-Splunk-Request-Channel` an
`ackId` that POST /services/collector/ack reports indexed. Every other path is a webhook receiver that
checks the Standard Webhooks signature with Python's own hmac (an implementation independent of the
runtime's OpenSSL one) and answers 401 when it does not match.

Usage: audit_receiver.py --port N --log FILE --mode FILE --token TOKEN --secret whsec_...
The mode file, read on every request, makes the receiver misbehave: `503` (busy, Retry-After 0),
`slow=SECONDS`, anything else is normal. Each accepted event is appended to the log as one JSON line
({"sink", "id", "event", "verified"...}). Prints "PORT <n>" once it listens on 127.0.0.1.
"""
import argparse
import base64
import hashlib
import hmac
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

signal.signal(signal.SIGTERM, signal.SIG_DFL)
parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--log", required=True)
parser.add_argument("--mode", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--secret", required=True)
options = parser.parse_args()
key = base64.b64decode(options.secret[len("whsec_"):])
lock = threading.Lock()
ack_ids = [0]


def record(entries):
    with lock, open(options.log, "a") as log:
        for entry in entries:
            log.write(json.dumps(entry) + "\n")


def envelopes(text):
    decoder = json.JSONDecoder()
    position, found = 0, []
    while position < len(text):
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            break
        value, position = decoder.raw_decode(text, position)
        found.append(value)
    return found


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered, so each answer leaves in one write: headers and body in two writes make a client
    # without TCP_QUICKACK wait 40 ms for its own delayed ACK on every request.
    wbufsize = 1 << 16

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            mode = open(options.mode).read().strip()
        except FileNotFoundError:
            mode = ""
        if mode.startswith("slow="):
            time.sleep(float(mode[5:]))
        elif mode == "503":
            return self.answer(503, {"text": "Server is busy", "code": 9}, [("Retry-After", "0")])
        if self.path.startswith("/services/collector/ack"):
            return self.answer(200, {"acks": {str(i): True for i in json.loads(body)["acks"]}})
        if self.path.startswith("/services/collector"):
            return self.hec(body)
        return self.webhook(body)

    def hec(self, body):
        if self.headers.get("Authorization") != "Splunk " + options.token:
            return self.answer(403, {"text": "Invalid token", "code": 4})
        try:
            found = envelopes(body.decode())
        except ValueError:
            return self.answer(400, {"text": "Invalid data format", "code": 6})
        for number, envelope in enumerate(found):
            if "event" not in envelope:
                return self.answer(400, {"text": "Event field is required", "code": 12, "invalid-event-number": number})
            if envelope["event"].get("poison"):
                return self.answer(400, {"text": "Invalid data format", "code": 6, "invalid-event-number": number})
        record([{"sink": "splunk", "id": e["event"].get("id"), "envelope": {k: v for k, v in e.items() if k != "event"},
                 "event": e["event"], "batch": len(found)} for e in found])
        answer = {"text": "Success", "code": 0}
        if self.headers.get("X-Splunk-Request-Channel"):
            with lock:
                answer["ackId"] = ack_ids[0]
                ack_ids[0] += 1
        self.answer(200, answer)

    def webhook(self, body):
        message_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        signed = f"{message_id}.{timestamp}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        offered = (self.headers.get("webhook-signature") or "").split(" ")
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        if not (fresh and any(hmac.compare_digest(expected, s) for s in offered)):
            return self.answer(401, {"error": "bad signature"})
        message = json.loads(body)
        record([{"sink": "webhook", "id": message_id, "type": message.get("type"), "timestamp": message.get("timestamp"),
                 "event": message.get("data"), "verified": True}])
        self.answer(200, {"ok": True})


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", options.port), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
