#!/usr/bin/env python3
"""Queue workers: 10,000 no-op jobs through `runtime worker` on PostgreSQL beside pgqueuer (a Python
PostgreSQL queue) and a pgbench floor, and on Redis beside RQ and a redis-benchmark floor, at the
same concurrency.

  bench/queue_workers.py [--jobs 10000] [--concurrency 4] [--rounds 3] [--backend postgres|redis|sqlite|all]

- runtime: `runtime enqueue echo --payload-lines -` adds the jobs (enqueue jobs/s = N / its wall
  time), then `runtime worker --burst --concurrency C` runs them all; jobs/s = N / the worker's wall
  time (process start and exit included).
- RQ (pip install rq): bench/rq_peer.py enqueues with enqueue_many (pipelined) and runs C
  `rq worker --burst` processes, SimpleWorker and the default forking Worker.
- Redis floor: redis-benchmark PING from C clients, no pipelining: one round trip per job.
- pgqueuer: bench/pgqueuer_peer.py enqueues N jobs in a batch and consumes them with a no-op
  entrypoint (pip install pgqueuer asyncpg); skipped with a note when it is not installed.
- floor: pgbench, C clients, each transaction claiming and completing one row of a plain table with
  `FOR UPDATE SKIP LOCKED` in one statement: one round trip per job, nothing else.

Starts the local PostgreSQL and Redis with scripts/postgres and scripts/redis. Never gates anything.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, ".build-static")
RUNTIME = os.environ.get("RUNTIME") or os.path.join(SCRATCH, "release", "runtime")


def sh(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout.strip()


def psql(url, sql):
    return sh(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql])


def pgbench_binary():
    for version in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        candidate = f"/usr/lib/postgresql/{version}/bin/pgbench"
        if os.path.exists(candidate):
            return candidate
    sys.exit("bench: pgbench is missing (it comes with the postgresql server package)")


def run_runtime(url, jobs, concurrency, round_number):
    """(enqueue jobs/s, process jobs/s): `runtime enqueue --payload-lines` then `runtime worker --burst`."""
    queue = f"bench-{os.getpid()}-{round_number}"
    lines = "".join(f'{{"n":{n}}}\n' for n in range(jobs))
    sh([RUNTIME, "jobs", "stats", "--queue", url])  # creates the table / loads the scripts: not timed
    start = time.perf_counter()
    added = subprocess.run([RUNTIME, "enqueue", "echo", "--queue", url, "--queue-name", queue, "--payload-lines", "-"],
                           input=lines, check=True, capture_output=True, text=True).stdout.split()
    enqueue_s = time.perf_counter() - start
    assert len(added) == jobs, f"{len(added)} of {jobs} jobs added"
    start = time.perf_counter()
    sh([RUNTIME, "worker", "--queue", url, "--queues", queue, "--burst", "--concurrency", str(concurrency)],
       env={"PATH": os.environ["PATH"], "LOG_LEVEL": "warning"})
    wall = time.perf_counter() - start
    stats = json.loads(sh([RUNTIME, "jobs", "stats", "--queue", url, "--queue-name", queue, "--json"]))
    assert stats["completed"] == jobs, f"{stats['completed']} of {jobs} jobs completed"
    sh([RUNTIME, "jobs", "purge", "--queue", url, "--queue-name", queue, "--older-than", "0s"])
    return jobs / enqueue_s, jobs / wall


def run_floor(url, jobs, concurrency):
    psql(url, "DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (id bigserial PRIMARY KEY, status text NOT NULL, payload jsonb)")
    psql(url, f"INSERT INTO bench_floor (status, payload) SELECT 'queued', jsonb_build_object('n', n) FROM generate_series(1, {jobs}) AS n")
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write("UPDATE bench_floor SET status = 'completed' WHERE id = (SELECT id FROM bench_floor WHERE status = 'queued' "
                 "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);\n")
    script.close()
    out = sh([pgbench_binary(), "-n", "-f", script.name, "-c", str(concurrency), "-j", str(min(concurrency, 2)),
              "-t", str(jobs // concurrency), url])
    os.unlink(script.name)
    tps = float(next(line for line in out.splitlines() if line.startswith("tps")).split("=")[1].split()[0])
    left = int(psql(url, "SELECT count(*) FROM bench_floor WHERE status = 'queued'"))
    psql(url, "DROP TABLE bench_floor")
    assert left == jobs - (jobs // concurrency) * concurrency, f"{left} rows left"
    return tps


def run_pgqueuer(url, jobs, concurrency):
    peer = os.path.join(ROOT, "bench", "pgqueuer_peer.py")
    try:
        import pgqueuer  # noqa: F401
    except ImportError:
        return None
    out = sh([sys.executable, peer, "--dsn", url, "--jobs", str(jobs), "--concurrency", str(concurrency)])
    return json.loads(out.splitlines()[-1])


def run_redis_floor(port, concurrency):
    """redis-benchmark: PING round trips from `concurrency` clients, no pipelining: one round trip per job."""
    out = sh(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(concurrency), "-n", "200000", "-t", "ping",
              "-P", "1", "--csv"])
    rows = [line.split(",") for line in out.splitlines() if line.startswith('"PING_MBULK"')]
    return float(rows[0][1].strip('"'))


def run_rq(url, jobs, concurrency, simple):
    try:
        import rq  # noqa: F401
    except ImportError:
        return None
    command = [sys.executable, os.path.join(ROOT, "bench", "rq_peer.py"), "--url", url, "--jobs", str(jobs),
               "--workers", str(concurrency)] + (["--simple"] if simple else [])
    return json.loads(sh(command).splitlines()[-1])


def start_server(name):
    subprocess.run([os.path.join(ROOT, "scripts", name), "start"], check=True)
    return sh([os.path.join(ROOT, "scripts", name), "url"])


def print_table(title, rows, ratios):
    """rows: (label, process jobs/s or None, enqueue jobs/s or None, note); ratios: lines under the table."""
    print(title)
    print(f"{'':48} {'process jobs/s':>15} {'enqueue jobs/s':>15}")
    for label, process, enqueue, note in rows:
        cells = "".join(f" {value:15,.0f}" if value else f" {'':15}" for value in (process, enqueue))
        print(f"{label:48}{cells if process else ' ' + note}")
    for line in ratios:
        print(line)
    print()


def postgres(options):
    url = start_server("postgres")
    results = {"runtime": [], "enqueue": [], "floor": [], "pgqueuer": [], "pgqueuer_enqueue": []}
    version = ""
    for round_number in range(options.rounds):
        log(f"PostgreSQL round {round_number + 1}/{options.rounds}")
        enqueue, process = run_runtime(url, options.jobs, options.concurrency, round_number)
        results["enqueue"].append(enqueue)
        results["runtime"].append(process)
        results["floor"].append(run_floor(url, options.jobs, options.concurrency))
        peer = run_pgqueuer(url, options.jobs, options.concurrency)
        if peer:
            version = peer.get("version", "")
            results["pgqueuer"].append(peer["process_per_s"])
            results["pgqueuer_enqueue"].append(peer["enqueue_per_s"])
    m = {name: statistics.median(values) if values else None for name, values in results.items()}
    ratios = [f"runtime vs floor: {m['runtime'] / m['floor']:.2f}x (target >= 0.5x)"]
    if m["pgqueuer"]:
        ratios.append(f"runtime vs pgqueuer: {m['runtime'] / m['pgqueuer']:.2f}x (target >= 5x); "
                      f"enqueue {m['enqueue'] / m['pgqueuer_enqueue']:.2f}x")
    print_table(f"queue workers on PostgreSQL: {options.jobs} no-op jobs, concurrency {options.concurrency}, "
                f"{options.rounds} rounds (medians), 2 cores, loopback", [
                    ("runtime worker --burst (process included)", m["runtime"], m["enqueue"], ""),
                    (f"pgqueuer {version}", m["pgqueuer"], m["pgqueuer_enqueue"], "not installed (pip install pgqueuer asyncpg)"),
                    ("floor: pgbench, one SKIP LOCKED UPDATE per job", m["floor"], None, ""),
                ], ratios)


def redis(options):
    url = start_server("redis")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    results = {"runtime": [], "enqueue": [], "floor": [], "rq": [], "rq_simple": [], "rq_enqueue": []}
    version = ""
    for round_number in range(options.rounds):
        log(f"Redis round {round_number + 1}/{options.rounds}")
        enqueue, process = run_runtime(url, options.jobs, options.concurrency, round_number)
        results["enqueue"].append(enqueue)
        results["runtime"].append(process)
        results["floor"].append(run_redis_floor(port, options.concurrency))
        simple = run_rq(url, options.jobs, options.concurrency, simple=True)
        if simple:
            version = simple["version"]
            results["rq_simple"].append(simple["process_per_s"])
            results["rq_enqueue"].append(simple["enqueue_per_s"])
            # The forking worker is slow: a tenth of the jobs is enough for its rate.
            results["rq"].append(run_rq(url, max(options.jobs // 10, 100), options.concurrency, simple=False)["process_per_s"])
    m = {name: statistics.median(values) if values else None for name, values in results.items()}
    ratios = [f"runtime vs floor: {m['runtime'] / m['floor']:.2f}x (target >= 0.5x)"]
    if m["rq_simple"]:
        ratios.append(f"runtime vs rq: {m['runtime'] / m['rq']:.1f}x the default worker, {m['runtime'] / m['rq_simple']:.1f}x "
                      f"SimpleWorker (target >= 20x); enqueue {m['enqueue'] / m['rq_enqueue']:.2f}x")
    print_table(f"queue workers on Redis: {options.jobs} no-op jobs, concurrency {options.concurrency} "
                f"(RQ: {options.concurrency} worker processes), {options.rounds} rounds (medians), 2 cores, loopback", [
                    ("runtime worker --burst (process included)", m["runtime"], m["enqueue"], ""),
                    (f"rq {version} SimpleWorker", m["rq_simple"], m["rq_enqueue"], "not installed (pip install rq)"),
                    (f"rq {version} Worker (fork per job, the default)", m["rq"], None, "not installed (pip install rq)"),
                    ("floor: redis-benchmark PING, one round trip per job", m["floor"], None, ""),
                ], ratios)


def sqlite(options):
    scratch = tempfile.mkdtemp()
    url = f"sqlite:{scratch}/queue.db"
    results = {"runtime": [], "enqueue": []}
    for round_number in range(options.rounds):
        log(f"SQLite round {round_number + 1}/{options.rounds}")
        enqueue, process = run_runtime(url, options.jobs, options.concurrency, round_number)
        results["enqueue"].append(enqueue)
        results["runtime"].append(process)
    m = {name: statistics.median(values) for name, values in results.items()}
    print_table(f"queue workers on SQLite (WAL, synchronous=FULL): {options.jobs} no-op jobs, concurrency {options.concurrency}, "
                f"{options.rounds} rounds (medians), 2 cores", [
                    ("runtime worker --burst (process included)", m["runtime"], m["enqueue"], ""),
                ], ["(no peer: the embedded single-host queue; compare with the server backends above)"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "redis", "sqlite", "all"], default="all")
    options = parser.parse_args()
    if "RUNTIME" not in os.environ:
        log("building the release binary")
        subprocess.run(["swift", "build", "-c", "release", "--product", "runtime", "--static-swift-stdlib", "--scratch-path", SCRATCH],
                       cwd=ROOT, check=True, stdout=sys.stderr)
    if options.backend in ("postgres", "all"):
        postgres(options)
    if options.backend in ("redis", "all"):
        redis(options)
    if options.backend in ("sqlite", "all"):
        sqlite(options)


if __name__ == "__main__":
    main()
