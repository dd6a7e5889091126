#!/usr/bin/env python3
"""A fault-injecting Lambda Runtime API for the faults a real emulator cannot produce.

Usage: fake_runtime_api.py LOG_FILE EVENTS_FILE
EVENTS_FILE holds a JSON list of events, each {"body": <string>, "deadline_ms": <int, optional, relative to
now>, "on_response": <status, optional>, "reset_next": <bool, optional>, "headers": {name: value} added to
the next answer, optional, "delay_ms": <int, optional: how long next blocks before answering>}. `next` hands them out in
order (then blocks for 30 s and answers 500); every POST is appended to LOG_FILE as one JSON line
(path, headers, body). Prints "PORT <n>" once listening on 127.0.0.1.
"""
import json
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chunked import read_chunked

signal.signal(signal.SIGTERM, signal.SIG_DFL)
log_path = sys.argv[1]
events = json.load(open(sys.argv[2]))
lock = threading.Lock()
state = {"next": 0, "by_id": {}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.endswith("/invocation/next"):
            return self.reply(404)
        with lock:
            index = state["next"]
            state["next"] += 1
        if index >= len(events):
            time.sleep(30)
            return self.reply(500, b'{"errorMessage":"no more events"}')
        event = events[index]
        time.sleep(event.get("delay_ms", 0) / 1000)
        if event.get("reset_next"):
            # Close the connection without an answer: a reset in the middle of next.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        request_id = str(uuid.uuid4())
        with lock:
            state["by_id"][request_id] = event
        deadline = int(time.time() * 1000) + int(event.get("deadline_ms", 30000))
        self.reply(200, event["body"].encode(), [
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", str(deadline)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:test"),
            ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
        ] + list(event.get("headers", {}).items()))

    def do_POST(self):
        chunks, trailers = [], {}
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, trailers = read_chunked(self.rfile)
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        with open(log_path, "a") as log:
            log.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body": body.decode("utf-8", "replace"), "size": len(body),
                                  "chunks": [len(c) for c in chunks], "trailers": trailers}) + "\n")
        request_id = self.path.split("/invocation/")[-1].split("/")[0] if "/invocation/" in self.path else None
        event = state["by_id"].get(request_id, {})
        status = event.get("on_response", 202) if self.path.endswith("/response") else 202
        self.reply(status, b'{"status":"OK"}' if status == 202 else b'{"errorMessage":"injected"}')


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
