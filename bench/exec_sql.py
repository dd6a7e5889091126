#!/usr/bin/env python3
"""Benchmark: `runtime exec` of a small aggregate over a 100k-row Postgres table, side by side with
`psql -X -f` on the same file (the C client floor) and a Python psycopg script doing the same job.

Wall time of whole processes (start, connect, query, print every row, exit), median of N runs each,
interleaved round-robin. Targets (reported, never enforced): runtime at most 1.3x psql, at least 3x
faster than Python. Exits 0 whatever the figures; non-zero only when setup or a program fails.

Usage: bench/exec_sql.py [--runs 20] [--warmup 2] [--keep-postgres]
Environment: RUNTIME=/path/to/runtime (default .build-static/release/runtime, rebuilt first);
             DATABASE_URL=postgres://... (default: scripts/postgres, started if not running).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_FILE = ROOT / "bench" / "sql" / "hourly_aggregate.sql"
WINDOW_START = "2026-01-01T00:00:00Z"
WINDOW_END = "2026-01-02T00:00:00Z"
TABLE_ROWS = 100_000  # 50 elements x 4 filters x 500 timestamps

TARGET_VS_PSQL = 1.3      # runtime median / psql median must be at most this
TARGET_VS_PYTHON = 3.0    # python median / runtime median must be at least this

# The Python peer: what the seeds' `handler.py <sql_file> --dry-run` does for one window, kept lean
# (no argparse, logging or secrets provider, which would only make Python slower): read the file, bind
# the window as %s parameters, run it with psycopg 3, print one JSON telemetry record per row.
# Run as `python -c` so that the benchmark driver's own code is not compiled in each run.
PYTHON_PEER = r'''
import datetime, json, os, re, sys
import psycopg

sql_file, window_start, window_end = sys.argv[1:4]
stream = os.path.splitext(os.path.basename(sql_file))[0]
with open(sql_file, encoding="utf-8") as f:
    sql = f.read()
window = {"window_start": window_start, "window_end": window_end}
params = []
def placeholder(match):
    params.append(window[match.group(1)])
    return "%s"
sql = re.sub(r"(?<!:):(window_start|window_end)\b", placeholder, sql.replace("%", "%%"))

utc = datetime.timezone.utc
write = sys.stdout.write
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    cur = conn.execute(sql, params)
    columns = [c.name.lower() for c in cur.description]
    ie, it, iff, iv = (columns.index(n) for n in ("element_name", "timestamp", "filter", "value"))
    for row in cur:
        write(json.dumps({
            "granularity": "hourly",
            "element-name": row[ie],
            "filter": row[iff],
            "telemetry-stream": stream,
            "value": float(row[iv]),
            "timestamp": row[it].astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }) + "\n")
'''

SETUP_SQL = f"""
\\set ON_ERROR_STOP 1
BEGIN;
DROP TABLE IF EXISTS bench_measurements;
CREATE TABLE bench_measurements(element_name text, ts timestamptz, filter text, value double precision);
INSERT INTO bench_measurements
SELECT 'element-' || lpad(e::text, 2, '0'),
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 172.8),
       (ARRAY['cpu', 'memory', 'latency', 'throughput'])[f],
       round((50 + 40 * sin(e + f * 0.7 + i / 20.0))::numeric, 3)::double precision
FROM generate_series(1, 50) AS e, generate_series(1, 4) AS f, generate_series(0, 499) AS i;
COMMIT;
ANALYZE bench_measurements;
"""


class SetupError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def psql_base(url: str) -> list[str]:
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]


def psql_value(url: str, sql: str) -> str | None:
    """The single value a query returns, or None when psql fails (server down, missing table)."""
    done = subprocess.run(psql_base(url) + ["-A", "-t", "-c", sql], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


# --- setup -----------------------------------------------------------------------------------------

def ensure_postgres() -> tuple[str, bool]:
    """The database URL, and whether this run started the server (and so should stop it)."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        if psql_value(url, "SELECT 1") != "1":
            raise SetupError(f"DATABASE_URL is set but psql cannot query it ({redact(url)}).")
        return url, False
    script = ROOT / "scripts" / "postgres"
    if not script.exists():
        raise SetupError(f"{script} does not exist; set DATABASE_URL or add the script.")

    def url_of() -> str | None:
        done = subprocess.run([str(script), "url"], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    url = url_of()
    if url and psql_value(url, "SELECT 1") == "1":
        log(f"Postgres already running at {redact(url)}; it will be left running")
        return url, False
    log("starting Postgres with scripts/postgres start")
    done = subprocess.run([str(script), "start"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"scripts/postgres start failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    url = url_of()
    if not url or psql_value(url, "SELECT 1") != "1":
        raise SetupError(f"scripts/postgres start succeeded but psql cannot query {url!r}.")
    return url, True


def stop_postgres() -> None:
    log("stopping the Postgres this run started (scripts/postgres stop)")
    subprocess.run([str(ROOT / "scripts" / "postgres"), "stop"], capture_output=True)


def redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def ensure_table(url: str) -> None:
    exists = psql_value(url, "SELECT to_regclass('bench_measurements') IS NOT NULL")
    if exists == "t" and psql_value(url, "SELECT count(*) FROM bench_measurements") == str(TABLE_ROWS):
        log(f"bench_measurements already holds {TABLE_ROWS:,} rows")
        return
    log(f"creating bench_measurements with {TABLE_ROWS:,} rows")
    done = subprocess.run(psql_base(url), input=SETUP_SQL, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"creating bench_measurements failed:\n{done.stdout}{done.stderr}")
    count = psql_value(url, "SELECT count(*) FROM bench_measurements")
    if count != str(TABLE_ROWS):
        raise SetupError(f"bench_measurements holds {count} rows after setup, expected {TABLE_ROWS}.")


def ensure_psycopg() -> str:
    probe = [sys.executable, "-c", "import psycopg; print(psycopg.__version__, psycopg.pq.__impl__)"]
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode != 0:
        log("psycopg is missing: pip install 'psycopg[binary]'")
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "psycopg[binary]"])
        if pip.returncode != 0:
            raise SetupError("pip install 'psycopg[binary]' failed.")
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupError(f"psycopg still cannot be imported:\n{done.stderr}")
    return done.stdout.strip()


def ensure_runtime() -> Path:
    if os.environ.get("RUNTIME"):
        path = Path(os.environ["RUNTIME"])
        if not os.access(path, os.X_OK):
            raise SetupError(f"RUNTIME={path} is not an executable file.")
        return path
    # The static-stdlib build is what deployment bundles ship: the Swift runtime and Foundation are
    # linked in, so start-up does not pay for resolving their symbols. Always rebuilt (incremental),
    # so the figures are for the code in the tree.
    path = ROOT / ".build-static" / "release" / "runtime"
    command = ["swift", "build", "-c", "release", "--product", "runtime", "--static-swift-stdlib",
               "--scratch-path", str(ROOT / ".build-static")]
    log("building the release binary: " + " ".join(command[:7]) + " (minutes the first time)")
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    if done.returncode != 0 or not path.exists():
        raise SetupError(" ".join(command) + " failed.")
    return path


# --- the three programs ----------------------------------------------------------------------------

class Program:
    def __init__(self, name: str, command: list[str], env: dict[str, str]):
        self.name = name
        self.command = command
        self.env = env
        self.times_ms: list[float] = []
        self.peak_rss_kib = 0
        self.stderr = tempfile.TemporaryFile()

    def run(self, stdout) -> tuple[int, float, int]:
        """Exit status, wall milliseconds and peak RSS (KiB) of one run of the whole process."""
        self.stderr.seek(0)
        self.stderr.truncate()
        start = time.perf_counter()
        process = subprocess.Popen(self.command, stdout=stdout, stderr=self.stderr, env=self.env)
        # wait4 reaps this one child and returns its own rusage, so ru_maxrss is this process's peak.
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, elapsed, usage.ru_maxrss

    def failure(self, status: int) -> str:
        self.stderr.seek(0)
        err = self.stderr.read().decode(errors="replace")
        return f"{self.name} exited {status}\ncommand: {' '.join(self.command)}\nstderr:\n{err}"


def make_programs(runtime: Path, url: str) -> list[Program]:
    env = dict(os.environ, DATABASE_URL=url)
    sql = str(SQL_FILE)
    return [
        Program("runtime exec",
                [str(runtime), "exec", sql, "--dry-run", "--start", WINDOW_START, "--end", WINDOW_END], env),
        # -A -t: unaligned rows, no header or footer: psql's cheapest output, one line per row.
        Program("psql -X -f",
                ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                 "-v", f"window_start='{WINDOW_START}'", "-v", f"window_end='{WINDOW_END}'",
                 "-d", url, "-f", sql], env),
        # sys.executable, not a `python3` shim (pyenv's is a shell script that would add its own start-up).
        Program("python psycopg", [sys.executable, "-c", PYTHON_PEER, sql, WINDOW_START, WINDOW_END], env),
    ]


def capture(program: Program) -> list[str]:
    with tempfile.TemporaryFile() as out:
        status, _, _ = program.run(out)
        if status != 0:
            raise SetupError(program.failure(status))
        out.seek(0)
        return [line for line in out.read().decode().splitlines() if line.strip()]


def record_key(line: str) -> tuple:
    r = json.loads(line)
    return (r["granularity"], r["element-name"], r["filter"], r["telemetry-stream"], r["timestamp"])


def verify(programs: list[Program]) -> int:
    """Runs each program once with its output kept; checks they agree. Returns the row count."""
    outputs = {p.name: capture(p) for p in programs}
    counts = {name: len(lines) for name, lines in outputs.items()}
    log("rows per program: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise SetupError(f"the programs return different row counts: {counts}")
    ours = {record_key(l): json.loads(l)["value"] for l in outputs["runtime exec"]}
    peer = {record_key(l): json.loads(l)["value"] for l in outputs["python psycopg"]}
    if ours.keys() != peer.keys():
        diff = sorted(ours.keys() ^ peer.keys())[:3]
        raise SetupError(f"runtime and Python print different records, for example {diff}")
    bad = [k for k in ours if not math.isclose(ours[k], peer[k], rel_tol=1e-12, abs_tol=1e-12)]
    if bad:
        raise SetupError(f"runtime and Python print different values for {len(bad)} records, e.g. "
                         f"{bad[0]}: {ours[bad[0]]} vs {peer[bad[0]]}")
    log("runtime and Python print the same records (keys and values)")
    return next(iter(counts.values()))


# --- timing and report -----------------------------------------------------------------------------

def measure(programs: list[Program], runs: int, warmup: int) -> None:
    with open(os.devnull, "wb") as devnull:
        for round_number in range(warmup + runs):
            for program in programs:  # round-robin, so drift hits all three alike
                status, ms, rss = program.run(devnull)
                if status != 0:
                    raise SetupError(program.failure(status))
                if round_number >= warmup:
                    program.times_ms.append(ms)
                    program.peak_rss_kib = max(program.peak_rss_kib, rss)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def report(programs: list[Program], rows: int, runs: int, warmup: int, url: str, runtime: Path,
           psycopg_version: str) -> None:
    medians = {p.name: statistics.median(p.times_ms) for p in programs}
    psql_median = medians["psql -X -f"]
    print(f"exec-sql benchmark  {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  "
          f"{os.cpu_count()} cores  {platform.machine()}")
    print(f"query: {SQL_FILE.relative_to(ROOT)}, window {WINDOW_START} .. {WINDOW_END}, "
          f"{TABLE_ROWS:,}-row table -> {rows:,} result rows")
    print(f"server: {psql_value(url, 'SHOW server_version')}  psql: {version_of(['psql', '--version'])}  "
          f"python: {platform.python_version()} psycopg {psycopg_version}")
    print(f"runtime: {runtime}")
    print(f"{runs} timed runs each after {warmup} warm-up rounds, interleaved; wall time per process; "
          f"stdout to /dev/null")
    print()
    header = f"{'program':<16}{'median ms':>11}{'p90 ms':>10}{'min ms':>10}{'x psql':>9}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    for p in programs:
        print(f"{p.name:<16}{medians[p.name]:>11.1f}{p90(p.times_ms):>10.1f}{min(p.times_ms):>10.1f}"
              f"{medians[p.name] / psql_median:>8.2f}x{p.peak_rss_kib / 1024:>14.1f}")
    print()
    vs_psql = medians["runtime exec"] / psql_median
    vs_python = medians["python psycopg"] / medians["runtime exec"]
    print(f"runtime / psql median:      {vs_psql:.3f}x  (target <= {TARGET_VS_PSQL}x)  "
          f"target {'met' if vs_psql <= TARGET_VS_PSQL else 'NOT met'}")
    print(f"runtime speed-up vs Python: {vs_python:.3f}x  (python median / runtime median; "
          f"target >= {TARGET_VS_PYTHON:g}x)  target {'met' if vs_python >= TARGET_VS_PYTHON else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per program (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up rounds (default 2)")
    parser.add_argument("--keep-postgres", action="store_true",
                        help="leave Postgres running even when this run started it")
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    if shutil.which("psql") is None:
        print("bench: psql is not installed (apt-get install postgresql-client)", file=sys.stderr)
        return 1

    started = False
    try:
        runtime = ensure_runtime()
        psycopg_version = ensure_psycopg()
        url, started = ensure_postgres()
        ensure_table(url)
        programs = make_programs(runtime, url)
        rows = verify(programs)
        log(f"timing: {args.warmup} warm-up + {args.runs} timed rounds of 3 programs")
        measure(programs, args.runs, args.warmup)
        report(programs, rows, args.runs, args.warmup, url, runtime, psycopg_version)
        return 0
    except SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        if started and not args.keep_postgres:
            stop_postgres()


if __name__ == "__main__":
    sys.exit(main())
