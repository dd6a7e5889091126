#!/usr/bin/env python3
"""Benchmark: `runtime serve` under wrk, beside the Python Functions Framework serving the same
function and nginx answering a fixed 200 (the floor), for two functions:

- http: each request a POST of "Hello, World!" that the function sends back (the echo handler);
- cloudevent: each request a binary-mode CloudEvent (ce-* headers, a small JSON body) that the
  function accepts (FUNCTION_SIGNATURE_TYPE=cloudevent; the Python one is a @cloudevent function).

wrk on loopback, 2 threads, 32 connections. Reports requests/s, p50/p99 latency and the server's RSS
before and after each run; then runs `runtime serve` under load for --memory-seconds (60) and prints
its RSS every 10 s (memory must stay flat). Never gates anything; exits non-zero only when a program
fails to start.

Usage: bench/http_serve.py [--duration 15] [--connections 32] [--threads 2] [--rounds 3] [--memory-seconds 60]
                           [--server-cpus LIST --load-cpus LIST]   (on 4 or more cores: wrk apart from the servers)
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


def pinned(cpus, command):
    """The command run on the given CPUs only (taskset's list: "0-1", "2,3"), or as it is."""
    return ["taskset", "-c", cpus] + command if cpus else command


def run_wrk(url, args, script):
    out = subprocess.run(pinned(args.load_cpus, ["wrk"]) + ["-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
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
    process = subprocess.Popen(pinned(args.server_cpus, command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
    parser.add_argument("--memory-seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is reported")
    parser.add_argument("--server-cpus", help="run the servers on these CPUs only (taskset list, e.g. 0-1); "
                        "runtime serve then starts one thread per CPU of the list")
    parser.add_argument("--load-cpus", help="run wrk on these CPUs only (e.g. 2-3), apart from the servers")
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
    post = scratch / "post.lua"
    post.write_text(f'wrk.method = "POST"\nwrk.body = "{BODY}"\nwrk.headers["Content-Type"] = "text/plain"\n')
    cloudevent = scratch / "cloudevent.lua"
    cloudevent.write_text('wrk.method = "POST"\nwrk.body = \'{"message":"hello"}\'\n'
                          'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["ce-specversion"] = "1.0"\n'
                          'wrk.headers["ce-id"] = "bench-1"\nwrk.headers["ce-source"] = "//bench/wrk"\n'
                          'wrk.headers["ce-type"] = "com.example.bench"\n')
    (scratch / "main.py").write_text("import functions_framework\n\n"
                                     "def echo(request):\n    return request.get_data()\n\n"
                                     "@functions_framework.cloud_event\ndef accept(event):\n    return None\n")
    nginx_conf = scratch / "nginx.conf"
    nginx_port = free_port()
    nginx_conf.write_text(f"""daemon off;
error_log stderr error;
pid {scratch}/nginx.pid;
events {{}}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{ return 200 "{BODY}"; }}
    }}
}}
""")

    def python_ff(target, signature):
        port = free_port()
        return port, [sys.executable, "-m", "functions_framework", "--target", target, "--signature-type", signature,
                      "--source", str(scratch / "main.py"), "--port", str(port)]

    tables = []
    for signature, script in [("http", post), ("cloudevent", cloudevent)]:
        def runtime_spec(name, extra):
            def start():
                port = free_port()
                env = {"PATH": os.environ["PATH"], "PORT": str(port), "FUNCTION_TARGET": "echo",
                       "FUNCTION_SIGNATURE_TYPE": signature, "TASKSHIM_LOG_FORMAT": "json", "LOG_LEVEL": "warning", **extra}
                return [runtime, "serve"], port, env, None
            return name, start

        def python_spec():
            def start():
                port, command = python_ff("echo" if signature == "http" else "accept", signature)
                return command, port, dict(os.environ), scratch
            return "python functions-framework", start

        def nginx_spec():
            return "nginx fixed 200 (floor)", lambda: (["nginx", "-c", str(nginx_conf), "-p", str(scratch)], nginx_port,
                                                        dict(os.environ), None)

        # One event-loop thread (a 1-vCPU instance) beside the default (one per core, here shared with wrk).
        specs = [runtime_spec("runtime serve", {}), runtime_spec("runtime serve, 1 thread", {"TASKSHIM_SERVE_THREADS": "1"}),
                 python_spec(), nginx_spec()]
        # Rounds interleave the servers, so a slow patch of the machine touches them all; each
        # server's figures are those of its median round by requests/s.
        rounds = {name: [] for name, _ in specs}
        for _ in range(args.rounds):
            for name, start in specs:
                command, port, env, cwd = start()
                _, figures = measure(name, command, port, env, args, str(script), cwd=cwd)
                if figures:
                    rounds[name].append(figures)
        results = []
        for name, _ in specs:
            runs = sorted(rounds[name], key=lambda figures: figures[0])
            results.append((name, runs[len(runs) // 2] if runs else None))
        tables.append((signature, results, rounds))

    print(f"http serve benchmark  {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  {os.cpu_count()} cores")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, median of {args.rounds} interleaved rounds"
          + (f", servers on CPUs {args.server_cpus}" if args.server_cpus else "")
          + (f", wrk on CPUs {args.load_cpus}" if args.load_cpus else ""))
    def verdict(ok):
        return "met" if ok else "NOT met"

    ours = None
    for signature, results, rounds in tables:
        print()
        print(f"{signature}: " + ("POST 'Hello, World!' echoed back" if signature == "http" else "binary-mode CloudEvent, 200 OK"))
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
        python = by_name.get("python functions-framework")
        nginx = by_name.get("nginx fixed 200 (floor)")
        for name in ["runtime serve", "runtime serve, 1 thread"]:
            ours = by_name.get(name)
            if not ours:
                continue
            ratios = []
            if python:
                ratios.append(f"{ours[0] / python[0]:.1f}x python (>= 10x: {verdict(ours[0] >= 10 * python[0])})")
            if nginx:
                ratios.append(f"{ours[0] / nginx[0]:.2f}x nginx (>= 0.6x: {verdict(ours[0] >= 0.6 * nginx[0])})")
            # The floor's own p99 under the same load says how much of ours is the shared machine.
            floor = f"; nginx's own {nginx[2]:.2f} ms" if nginx else ""
            ratios.append(f"p99 {ours[2]:.2f} ms (< 2 ms: {verdict(ours[2] < 2)}{floor})")
            print(f"{name}: " + ", ".join(ratios))
        # The table shows each program's median round by req/s; p99 moves more than req/s between rounds.
        print("p99 ms in each round: " + "; ".join(f"{name}: " + " ".join(f"{figures[2]:.2f}" for figures in runs)
                                                 for name, runs in rounds.items() if runs and "python" not in name))
        ours = by_name.get("runtime serve")

    if args.memory_seconds > 0:
        print()
        print(f"memory: runtime serve (http echo) under wrk for {args.memory_seconds} s, RSS every 10 s")
        port = free_port()
        env = {"PATH": os.environ["PATH"], "PORT": str(port), "FUNCTION_TARGET": "echo", "TASKSHIM_LOG_FORMAT": "json",
               "LOG_LEVEL": "warning"}
        process = subprocess.Popen(pinned(args.server_cpus, [runtime, "serve"]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if wait_port(port):
                load = subprocess.Popen(pinned(args.load_cpus, ["wrk"]) + ["-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.memory_seconds}s",
                                         "-s", str(post), f"http://127.0.0.1:{port}/"], stdout=subprocess.DEVNULL)
                samples = []
                for _ in range(args.memory_seconds // 10 + 1):
                    samples.append(rss_kib(process.pid) / 1024)
                    time.sleep(10)
                load.wait()
                samples.append(rss_kib(process.pid) / 1024)
                print("RSS MiB: " + " ".join(f"{value:.1f}" for value in samples)
                      + f"  (max - min after the first 10 s: {max(samples[1:]) - min(samples[1:]):.1f} MiB)")
        finally:
            process.terminate()
            process.wait(timeout=10)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ours else 1


if __name__ == "__main__":
    sys.exit(main())
