#!/usr/bin/env python3
"""Scheduler idle cost: `runtime schedule` with 1,000 tasks, none due during the measurement, against
APScheduler (PyPI; BlockingScheduler with the same 1,000 cron jobs), the floor being 0 CPU.

  bench/schedule_idle.py [--tasks 1000] [--seconds 30]
  RUNTIME=/path/to/runtime bench/schedule_idle.py

Each scheduler starts, is given 3 s to settle, then its CPU time (user + system, from /proc/PID/stat)
is read over --seconds of wall time, with its resident memory. The tasks run daily at 03:00 plus an
offset, so none is due (unless you run it at 03:xx). runtime sleeps in one timer until the next run;
a poller would show up here. Never gates anything.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from benchlib import build_runtime, log

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(name, command, env, seconds, cwd):
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        if process.poll() is not None:
            raise SystemExit(f"{name} exited early ({process.returncode})")
        before = cpu_seconds(process.pid)
        time.sleep(seconds)
        used = cpu_seconds(process.pid) - before
        return used, rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    runtime = build_runtime()
    scratch = tempfile.mkdtemp(prefix="taskshim-bench-schedule-")
    with open(os.path.join(scratch, "taskshim.toml"), "w") as manifest:
        for i in range(args.tasks):
            manifest.write(f'[tasks.t{i}]\nhandler = "echo"\nschedule = "{i % 60} 3 * * *"\n\n')
    peer = ("import sys\nfrom apscheduler.schedulers.blocking import BlockingScheduler\n"
            "s = BlockingScheduler(timezone='UTC')\n"
            f"for i in range({args.tasks}): s.add_job(print, 'cron', hour=3, minute=i % 60, id=f't{{i}}')\n"
            "s.start()\n")
    env = {"PATH": os.environ["PATH"], "HOME": scratch, "LOG_LEVEL": "warning"}
    results = [("runtime schedule", *measure("runtime", [str(runtime), "schedule"], env, args.seconds, scratch))]
    try:
        import apscheduler  # noqa: F401
        results.append(("APScheduler 3 (BlockingScheduler)", *measure("apscheduler", [sys.executable, "-c", peer], env, args.seconds, scratch)))
    except ImportError:
        log("APScheduler is not installed (pip install apscheduler): its row is skipped")
    print(f"\n{args.tasks} tasks, none due, {args.seconds} s measured\n")
    print("| scheduler | CPU seconds | CPU % of one core | RSS MiB |\n|---|---:|---:|---:|")
    for name, used, rss in results:
        print(f"| {name} | {used:.3f} | {100 * used / args.seconds:.3f} | {rss:.1f} |")
    print("| floor: sleeping until the next run | 0.000 | 0.000 | |")


if __name__ == "__main__":
    main()
