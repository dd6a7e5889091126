#!/usr/bin/env python3
"""Audit throughput: 100,000 events through the file sink and through Splunk HEC (spool on) to a
loopback receiver, beside the Python way and the floor.

  bench/audit.py [--events 100000] [--rounds 3]

What runs (each round, medians reported):
- runtime, file sink: a handler (Tests/EmbeddedRuntime's audit-burst) records N events through
  context.audit with AUDIT_LOG_TO_FILE; the handler times its own record() calls (the hot path a run
  pays), and the whole process is timed until exit (every event written).
- runtime, HEC sink: the same with SPLUNK_HEC_URL pointing at Tests/Support/audit_receiver.py; the
  process exits once the spool is delivered (TASKSHIM_AUDIT_FLUSH_TIMEOUT is raised), so N / wall time
  is delivered events per second.
- Python peer: logging.FileHandler with a JSON formatter (what the seeds do), and batched HEC posts
  of 100 events over one keep-alive connection without a spool (what splunk_handler does).
- floor: for the file, a C program writing the same lines with one write(2) each; for HEC, the
  receiver's own capacity (pre-encoded batches posted over one connection, nothing else done).
"""
import argparse
import http.client
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, log, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, ".build-static")
BINARY = os.path.join(SCRATCH, "release", "embedded-runtime")
RECEIVER = os.path.join(ROOT, "Tests", "Support", "audit_receiver.py")
TOKEN = "bench-token"
SECRET = "whsec_YmVuY2gtc2VjcmV0LWtleS0xMjM0NTY="

FLOOR_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = atoi(argv[2]);
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
    char line[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line,
            "{\"id\":\"00000000-0000-4000-8000-%012d\",\"time\":\"2026-12-02T10:00:00.000Z\",\"action\":\"bench.recorded\","
            "\"n\":%d,\"actor\":\"bench@example.com\",\"resource\":\"report/%d\"}\n", i, i, i % 97);
        if (write(fd, line, len) != len) return 1;
    }
    fsync(fd);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f\n", ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / n);
    return 0;
}
"""


def build():
    log("building embedded-runtime (release, static stdlib) into .build-static")
    subprocess.run(["swift", "build", "-c", "release", "--product", "embedded-runtime", "--static-swift-stdlib",
                    "--scratch-path", SCRATCH], cwd=ROOT, check=True, stdout=sys.stderr)


def run_runtime(events, environment):
    env = {"PATH": os.environ["PATH"], "LOG_LEVEL": "warning", **environment}
    start = time.perf_counter()
    done = subprocess.run([BINARY, "exec", "audit-burst", "--event", json.dumps({"count": events}), "--output", "-"],
                          env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["record_us_per_event"], wall


def python_file(events, path):
    logger = logging.getLogger("audit-bench")
    logger.handlers.clear()
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    start = time.perf_counter()
    for n in range(events):
        logger.info(json.dumps({"id": f"00000000-0000-4000-8000-{n:012d}", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "action": "bench.recorded", "n": n, "actor": "bench@example.com", "resource": f"report/{n % 97}"}))
    handler.close()
    return (time.perf_counter() - start) * 1e6 / events


def python_hec(events, port, encode=True):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.connect()
    # As urllib3 (requests) does: without it http.client's separate header and body writes wait for
    # the receiver's delayed ACK, 40 ms a request.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Authorization": "Splunk " + TOKEN, "Content-Type": "application/json"}
    template = [json.dumps({"time": time.time(), "host": "bench", "source": "python", "sourcetype": "_json",
                            "event": {"id": f"pre-{n}", "action": "bench.recorded", "n": n}}) for n in range(100)]
    start = time.perf_counter()
    for first in range(0, events, 100):
        if encode:
            body = "\n".join(json.dumps({"time": time.time(), "host": "bench", "source": "python", "sourcetype": "_json",
                                         "event": {"id": f"py-{n}", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                   "action": "bench.recorded", "n": n, "actor": "bench@example.com",
                                                   "resource": f"report/{n % 97}"}})
                             for n in range(first, min(first + 100, events)))
        else:
            body = "\n".join(template)
        connection.request("POST", "/services/collector/event", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    return events / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    n = options.events
    build()
    work = tempfile.mkdtemp(prefix="taskshim-audit-bench-")
    floor_binary = os.path.join(work, "floor")
    with open(floor_binary + ".c", "w") as source:
        source.write(FLOOR_C)
    subprocess.run(["cc", "-O2", "-o", floor_binary, floor_binary + ".c"], check=True)

    port = free_port()
    receiver_log = os.path.join(work, "events.jsonl")
    receiver = subprocess.Popen([sys.executable, RECEIVER, "--port", str(port), "--log", receiver_log, "--mode", os.path.join(work, "mode"),
                                 "--token", TOKEN, "--secret", SECRET], stdout=subprocess.DEVNULL)
    assert wait_port(port), "the receiver did not start"
    results = {key: [] for key in ["file_hot", "file_wall", "file_always_hot", "hec_hot", "hec_wall", "py_file", "py_hec", "floor_file", "receiver"]}
    try:
        for round_number in range(options.rounds):
            log(f"round {round_number + 1}/{options.rounds}")
            path = os.path.join(work, "audit.jsonl")
            for name in os.listdir(work):
                if name.startswith("audit.jsonl"):
                    os.remove(os.path.join(work, name))
            hot, wall = run_runtime(n, {"AUDIT_LOG_TO_FILE": path, "TASKSHIM_AUDIT_FILE_MAX_BYTES": str(1 << 30)})
            results["file_hot"].append(hot)
            results["file_wall"].append(wall)
            with open(path) as written:
                lines = sum(1 for _ in written)
            assert lines == n + 1, f"{lines} lines in the audit file"
            os.remove(path)
            hot, _ = run_runtime(n // 10, {"AUDIT_LOG_TO_FILE": path, "TASKSHIM_AUDIT_FSYNC": "always"})
            results["file_always_hot"].append(hot)
            os.remove(path)

            open(receiver_log, "w").close()
            spool = os.path.join(work, f"spool-{round_number}")
            hot, wall = run_runtime(n, {"SPLUNK_HEC_URL": f"http://127.0.0.1:{port}", "SPLUNK_HEC_TOKEN": TOKEN,
                                        "TASKSHIM_AUDIT_SPOOL_DIR": spool, "TASKSHIM_AUDIT_FLUSH_TIMEOUT": "600"})
            results["hec_hot"].append(hot)
            results["hec_wall"].append(wall)
            with open(receiver_log) as delivered:
                count = sum(1 for _ in delivered)
            assert count == n + 1, f"{count} events delivered"

            results["py_file"].append(python_file(n, os.path.join(work, "python.jsonl")))
            results["py_hec"].append(python_hec(n, port))
            results["receiver"].append(python_hec(n, port, encode=False))
            results["floor_file"].append(float(subprocess.run([floor_binary, os.path.join(work, "floor.jsonl"), str(n)],
                                                              capture_output=True, text=True, check=True).stdout))
    finally:
        receiver.kill()
        receiver.wait()

    m = {key: statistics.median(values) for key, values in results.items()}
    print(f"audit, {n} events, {options.rounds} rounds (medians), 2 cores, loopback")
    print(f"{'':38} {'us/event (record)':>18} {'events/s (end to end)':>22}")
    print(f"{'runtime file sink (fsync everysec)':38} {m['file_hot']:18.2f} {n / m['file_wall']:22,.0f}")
    print(f"{'runtime file sink (fsync always)':38} {m['file_always_hot']:18.2f} {'':>22}")
    print(f"{'Python logging.FileHandler + json':38} {m['py_file']:18.2f} {1e6 / m['py_file']:22,.0f}")
    print(f"{'floor: C, one write(2) per line':38} {m['floor_file']:18.2f} {1e6 / m['floor_file']:22,.0f}")
    print(f"{'runtime HEC sink (spool, batches 100)':38} {m['hec_hot']:18.2f} {n / m['hec_wall']:22,.0f}")
    print(f"{'Python batched HEC posts, no spool':38} {'':>18} {m['py_hec']:22,.0f}")
    print(f"{'receiver capacity (pre-encoded)':38} {'':>18} {m['receiver']:22,.0f}")
    print()
    print(f"record() vs floor write: {m['file_hot'] / m['floor_file']:.2f}x; vs Python FileHandler: {m['py_file'] / m['file_hot']:.1f}x faster")
    print(f"HEC delivered: {n / m['hec_wall'] / m['py_hec']:.2f}x Python's posts, {n / m['hec_wall'] / m['receiver']:.2f}x the receiver's capacity")
    print(f"hot path with the spool on: {m['hec_hot']:.2f} us/event (target < 50)")


if __name__ == "__main__":
    main()
