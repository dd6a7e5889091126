#!/usr/bin/env python3
"""Lambda custom runtimes side by side against cargo-lambda's Runtime API emulator.

For each program: cold start (spawn to the first response done, median of 10 fresh processes),
then 100 warm-up and 2,000 timed sequential no-op invocations through the emulator's Invoke API
(invocations/s, p50, p99), and the peak RSS of the function process.

Programs: runtime lambda (TaskShim, handler `echo`, logging on as deployed), the C floor
(bench/lambda_floor/floor.c: libcurl next/response, nothing else), Python awslambdaric (if it runs
here), and swift-aws-lambda-runtime when PEER_SWIFT_LAMBDA=/path/to/its built example binary.

Usage: bench/lambda_runtime.py [--invocations N] [--cold N] [--peers python,swift|none]
Environment: RUNTIME=/path/to/runtime (default: .build-static/release/runtime, rebuilt first).
Timings never gate anything; the script exits 0 unless its setup fails.
"""
import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import build_runtime, free_port, log, wait_port

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(tempfile.mkdtemp(prefix="taskshim-bench-lambda-"))


class Emulator:
    """`cargo lambda watch --only-lambda-apis` in an empty Cargo project of its own."""

    def __init__(self):
        project = SCRATCH / "emulator"
        (project / "src").mkdir(parents=True, exist_ok=True)
        (project / "Cargo.toml").write_text('[package]\nname = "emulator"\nversion = "0.1.0"\nedition = "2021"\n')
        (project / "src" / "main.rs").write_text("fn main() {}\n")
        self.port = free_port()
        self.process = subprocess.Popen(["cargo", "lambda", "watch", "--only-lambda-apis", "-P", str(self.port)],
                                        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        if not wait_port(self.port):
            self.stop()
            raise SystemExit("cargo lambda watch did not start: pip install cargo-lambda")

    @property
    def api(self):
        return f"127.0.0.1:{self.port}/.rt"

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


class Driver:
    """A kept-alive HTTP connection to the emulator's Invoke API, with TCP_NODELAY."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def invoke(self, body=b"{}"):
        self.connection.request("POST", "/2015-03-31/functions/_/invocations", body=body)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"invoke answered {response.status}: {data[:200]!r}")
        return data


def spawn(command, api, cwd=None):
    if command.bare_api:
        api = api.split("/", 1)[0]
    env = {"PATH": os.environ["PATH"], "HOME": str(SCRATCH), "AWS_LAMBDA_RUNTIME_API": api, "_HANDLER": command.handler,
           "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "4096",
           "LAMBDA_TASK_ROOT": str(command.cwd or SCRATCH)}
    # stderr goes to a file, not a pipe: a program that logs there would block once a pipe filled up.
    errors = open(SCRATCH / "stderr.txt", "wb")
    process = subprocess.Popen(command.argv, env=env, cwd=command.cwd, stdout=subprocess.DEVNULL, stderr=errors)
    errors.close()
    return process


def reap(process):
    """Stops the function process and returns its peak RSS in MiB: VmHWM of the exec'd image (ru_maxrss
    would count the forking Python's pages too)."""
    peak = 0.0
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    process.send_signal(signal.SIGKILL)
    process.wait()
    return peak


class Program:
    """`bare_api`: the program takes AWS_LAMBDA_RUNTIME_API as host:port only and has the emulator's
    `/.rt` path prefix built into its requests (the patched swift-aws-lambda-runtime, see README)."""

    def __init__(self, name, argv, handler="echo", cwd=None, bare_api=False):
        self.name, self.argv, self.handler, self.cwd, self.bare_api = name, argv, handler, cwd, bare_api


def measure(program, invocations, cold_runs):
    emulator = Emulator()
    try:
        colds, rss = [], []
        for _ in range(cold_runs):
            driver = Driver(emulator.port)
            result = {}

            def first():
                try:
                    result["body"] = driver.invoke()
                except Exception as error:  # reported below
                    result["error"] = error
                result["done"] = time.perf_counter()

            thread = threading.Thread(target=first)
            thread.start()
            time.sleep(0.05)  # the invoke is queued in the emulator before the function starts
            start = time.perf_counter()
            process = spawn(program, emulator.api)
            thread.join(30)
            if "error" in result or "done" not in result:
                if process.poll() is None:
                    reap(process)
                    return {"error": f"{result.get('error', 'no answer in 30 s')}"}
                stderr = (SCRATCH / "stderr.txt").read_text(errors="replace").strip().replace("\n", " ")
                return {"error": f"the process ended with status {process.returncode} before answering: {stderr[-200:]}"}
            colds.append((result["done"] - start) * 1000)
            rss.append(reap(process))
        process = spawn(program, emulator.api)
        driver = Driver(emulator.port)
        for _ in range(100):
            driver.invoke()
        latencies = []
        begin = time.perf_counter()
        for _ in range(invocations):
            t = time.perf_counter()
            driver.invoke()
            latencies.append((time.perf_counter() - t) * 1000)
        elapsed = time.perf_counter() - begin
        rss.append(reap(process))
        latencies.sort()
        return {"rate": invocations / elapsed, "p50": latencies[len(latencies) // 2],
                "p99": latencies[int(len(latencies) * 0.99) - 1], "cold": statistics.median(colds), "rss": max(rss)}
    finally:
        emulator.stop()


def build_floor():
    out = SCRATCH / "floor"
    done = subprocess.run(["cc", "-O2", "-o", str(out), str(ROOT / "bench" / "lambda_floor" / "floor.c"), "-lcurl"])
    if done.returncode != 0:
        raise SystemExit("cc could not build the floor (needs libcurl4-openssl-dev)")
    return out


def python_peer():
    """awslambdaric in a scratch virtualenv, or the reason it cannot run."""
    venv = SCRATCH / "venv"
    if subprocess.run([sys.executable, "-m", "venv", str(venv)], stdout=subprocess.DEVNULL).returncode != 0:
        return None, "python3 -m venv failed"
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "awslambdaric"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, timeout=600)
    if pip.returncode != 0:
        return None, "pip install awslambdaric failed: " + pip.stderr.decode(errors="replace")[-200:]
    app = SCRATCH / "pyapp"
    app.mkdir(exist_ok=True)
    (app / "app.py").write_text("def handler(event, context):\n    return event\n")
    return Program("python awslambdaric", [str(venv / "bin" / "python"), "-m", "awslambdaric", "app.handler"],
                   handler="app.handler", cwd=str(app)), None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--peers", default="python,swift", help="peers to measure besides the floor: python,swift or none")
    args = parser.parse_args()
    if not shutil.which("cargo") or subprocess.run(["cargo", "lambda", "--version"], capture_output=True).returncode != 0:
        raise SystemExit("cargo lambda is missing: pip install cargo-lambda (scripts/install-deps --python)")

    wanted = set(args.peers.split(","))
    programs = [Program("runtime lambda", [str(build_runtime()), "lambda"]), Program("C floor (libcurl)", [str(build_floor())])]
    skipped = []
    if "python" in wanted:
        peer, reason = python_peer()
        if peer:
            programs.append(peer)
        else:
            skipped.append(("python awslambdaric", reason))
    swift_peer = os.environ.get("PEER_SWIFT_LAMBDA")
    if "swift" not in wanted:
        pass
    elif swift_peer and os.access(swift_peer, os.X_OK):
        programs.append(Program("swift-aws-lambda-runtime", [swift_peer], bare_api=True))
    else:
        skipped.append(("swift-aws-lambda-runtime", "PEER_SWIFT_LAMBDA is not set to its built example binary"))

    results = {}
    for program in programs:
        log(f"measuring {program.name}")
        results[program.name] = measure(program, args.invocations, args.cold)

    floor = results["C floor (libcurl)"]
    print(f"lambda runtime benchmark  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {os.cpu_count()} cores")
    print(f"emulator: cargo lambda watch --only-lambda-apis; {args.invocations} sequential no-op invocations after 100 warm-up;"
          f" cold start median of {args.cold}")
    print()
    print(f"{'program':<26}{'inv/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'cold ms':>9}{'RSS MiB':>9}{'x floor inv/s':>15}{'x floor cold':>14}")
    print("-" * 99)
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<26} did not run: {r['error']}")
            continue
        print(f"{name:<26}{r['rate']:>8.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['cold']:>9.1f}{r['rss']:>9.1f}"
              f"{r['rate'] / floor['rate']:>14.2f}x{r['cold'] / floor['cold']:>13.2f}x")
    for name, reason in skipped:
        print(f"{name:<26} not measured: {reason}")
    ours = results["runtime lambda"]
    if "error" not in ours:
        peers = [r for n, r in results.items() if n not in ("runtime lambda", "C floor (libcurl)") and "error" not in r]
        print()
        print(f"throughput vs floor: {ours['rate'] / floor['rate']:.2f}x (target >= 0.8x) "
              f"{'met' if ours['rate'] >= 0.8 * floor['rate'] else 'NOT met'}"
              + ("" if not peers else f"; above every measured peer: {'yes' if all(ours['rate'] > p['rate'] for p in peers) else 'no'}"))
        print(f"cold start vs floor: {ours['cold'] / floor['cold']:.2f}x (target <= 1.3x) {'met' if ours['cold'] <= 1.3 * floor['cold'] else 'NOT met'}")
        print(f"peak RSS: {ours['rss']:.1f} MiB (target <= 20 MiB) {'met' if ours['rss'] <= 20 else 'NOT met'}")
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
