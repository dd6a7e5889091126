#!/usr/bin/env python3
"""Benchmark: `runtime serve` (http signature, the echo handler) under wrk, beside the Python
Functions Framework serving the same function and nginx answering a fixed 200 (the floor).

wrk on loopback, 2 threads, 32 connections, each request a POST of "Hello, World!" that the function
sends back. Reports requests/s, p50/p99 latency, and the server's RSS before and after the run
(memory must stay flat). Never gates anything; exits non-zero only when a program fails to start.

Usage: bench/http_serve.py [--duration 15] [--connections 32] [--threads 2]
Environment: RUNTIME=/path/to/runtime (default .build-static/release/runtime, rebuilt first).
Needs: wrk and nginx (apt-get install wrk nginx-light), functions-framework (pip). See bench/README.md.
"""
import argparse
import datetime
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import free_port, log, wait_port

ROOT = Path(__file__).resolve().parent.parent
BODY = "Hello, World!"


def rss_kib(pid):
    """Resident set of a process and its children (gunicorn and nginx fork workers)."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run_wrk(url, args, script):
    out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
                          "--latency", "-s", script, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rps, latency(50), latency(99), (int(errors.group(1)) if errors else 0), (socket_errors.group(1) if socket_errors else "")


def measure(name, command, port, env, args, script, cwd=None):
    log(f"measuring {name}")
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        if not wait_port(port):
            return name, None
        url = f"http://127.0.0.1:{port}/"
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-d", BODY, url], check=False)
        before = rss_kib(process.pid)
        rps, p50, p99, bad, socket_errors = run_wrk(url, args, script)
        after = rss_kib(process.pid)
        return name, (rps, p50, p99, before / 1024, after / 1024, bad, socket_errors)
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for tool in ["wrk", "nginx"]:
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"bench: {tool} is missing: apt-get install wrk nginx-light")

    runtime = os.environ.get("RUNTIME")
    if not runtime:
        log("building the release binary: swift build -c release --product runtime --static-swift-stdlib")
        subprocess.run(["swift", "build", "-c", "release", "--product", "runtime", "--static-swift-stdlib",
                        "--scratch-path", ".build-static"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        runtime = str(ROOT / ".build-static/release/runtime")

    scratch = Path(tempfile.mkdtemp(prefix="taskshim-bench-http-"))
    script = scratch / "post.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{BODY}"\nwrk.headers["Content-Type"] = "text/plain"\n')
    (scratch / "main.py").write_text("def echo(request):\n    return request.get_data()\n")
    nginx_conf = scratch / "nginx.conf"
    results = []

    port = free_port()
    env = {"PATH": os.environ["PATH"], "PORT": str(port), "FUNCTION_TARGET": "echo", "TASKSHIM_LOG_FORMAT": "json",
           "LOG_LEVEL": "warning"}
    results.append(measure("runtime serve", [runtime, "serve"], port, env, args, str(script)))

    port = free_port()
    env = dict(os.environ, PORT=str(port))
    results.append(measure("python functions-framework", [sys.executable, "-m", "functions_framework", "--target", "echo",
                                                          "--source", str(scratch / "main.py"), "--port", str(port)],
                           port, env, args, str(script), cwd=scratch))

    port = free_port()
    nginx_conf.write_text(f"""daemon off;
error_log stderr error;
pid {scratch}/nginx.pid;
events {{}}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "{BODY}"; }}
    }}
}}
""")
    results.append(measure("nginx fixed 200 (floor)", ["nginx", "-c", str(nginx_conf), "-p", str(scratch)], port,
                           dict(os.environ), args, str(script)))

    print(f"http serve benchmark  {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  {os.cpu_count()} cores")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, POST '{BODY}' echoed back")
    print()
    print(f"{'program':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'RSS MiB before/after':>22}{'non-2xx':>9}")
    print("-" * 87)
    by_name = {}
    for name, figures in results:
        if figures is None:
            print(f"{name:<28}did not start")
            continue
        rps, p50, p99, before, after, bad, socket_errors = figures
        by_name[name] = figures
        print(f"{name:<28}{rps:>10.0f}{p50:>9.2f}{p99:>9.2f}{before:>11.1f} / {after:<8.1f}{bad:>9}"
              + (f"  socket errors: {socket_errors}" if socket_errors else ""))
    ours = by_name.get("runtime serve")
    if ours:
        print()
        python = by_name.get("python functions-framework")
        nginx = by_name.get("nginx fixed 200 (floor)")
        if python:
            print(f"runtime / python functions-framework: {ours[0] / python[0]:.1f}x requests/s (target >= 10x)")
        if nginx:
            print(f"runtime / nginx: {ours[0] / nginx[0]:.2f}x requests/s (target >= 0.6x)")
        print(f"runtime p99: {ours[2]:.2f} ms (target < 2 ms)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ours else 1


if __name__ == "__main__":
    sys.exit(main())
