#!/usr/bin/env python3
"""A recording HTTP receiver for TaskShim's tests: it plays a telemetry endpoint.

Usage: http_receiver.py [--tls CERT KEY] LOG_FILE [STATUS ...]
Answers requests with the given statuses in turn (the last one repeats; default 200), appends one
JSON line per request to LOG_FILE (method, path, headers, body, client port), and prints
"PORT <n>" on stdout once it listens on 127.0.0.1. A status written as 200:slow=2.5 waits 2.5 s
before answering; 200:big=N sends an N-byte body; 200:split=0.005 writes the headers, waits 5 ms, then
writes the body, with Nagle's algorithm on (as cargo-lambda's Runtime API emulator does);
200:file=PATH sends that file as the body; 200:chunked sends the body in chunks with a trailer; 200:hugechunk announces a 2^63-byte chunk; 200:interim=N sends N 102 answers first; 200:close answers as if keeping the connection
alive, then closes it; 200:cut=N sends only N bytes of the body and closes; 200:garbage answers
something that is not HTTP. A chunked request body is decoded and its trailers logged.
"""
import json
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chunked import read_chunked

# The parent may have started us with SIGTERM ignored (ignored signals survive exec): restore it.
signal.signal(signal.SIGTERM, signal.SIG_DFL)

args = sys.argv[1:]
tls = None
if args[:1] == ["--tls"]:
    tls, args = (args[1], args[2]), args[3:]
log_path = args[0]
script = args[1:] or ["200"]
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        trailers = {}
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, trailers = read_chunked(self.rfile)
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        with lock:
            step = script[min(count[0], len(script) - 1)]
            count[0] += 1
            with open(log_path, "a") as log:
                log.write(json.dumps({
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "client_port": self.client_address[1],
                    "trailers": trailers,
                }) + "\n")
        status, _, option = step.partition(":")
        payload = b'{"ok":true}'
        if option.startswith("slow="):
            time.sleep(float(option[5:]))
        if option.startswith("big="):
            payload = b"x" * int(option[4:])
        if option.startswith("file="):
            with open(option[5:], "rb") as body_file:
                payload = body_file.read()
        if option == "garbage":
            self.wfile.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            self.close_connection = True
            return
        if option.startswith("interim="):
            for _ in range(int(option[8:])):
                self.wfile.write(b"HTTP/1.1 102 Processing\r\n\r\n")
        if option == "hugechunk":
            # A chunk size near 2^63: the client must refuse it, not overflow.
            self.send_response(int(status))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"2\r\nxx\r\n7fffffffffffffff\r\nxx")
            self.close_connection = True
            return
        if option == "chunked":
            self.send_response(int(status))
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            half = len(payload) // 2
            for part in (payload[:half], payload[half:]):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Checksum: 42\r\n\r\n")
            return
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if option.startswith("split="):
            time.sleep(float(option[6:]))
        if option.startswith("cut="):
            self.wfile.write(payload[:int(option[4:])])
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(payload)
        if option == "close":
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
