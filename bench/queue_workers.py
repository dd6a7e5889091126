#!/usr/bin/env python3
"""Queue workers on PostgreSQL: 10,000 no-op jobs through `runtime worker`, beside pgqueuer (a Python
PostgreSQL queue) and a pgbench floor, at the same concurrency.

  bench/queue_workers.py [--jobs 10000] [--concurrency 4] [--rounds 3]

- runtime: the jobs are inserted with one SQL statement (echo jobs, a small payload), then
  `runtime worker --burst --concurrency C` runs them all; jobs/s = N / the worker's wall time
  (process start and exit included).
- pgqueuer: bench/pgqueuer_peer.py enqueues N jobs in a batch and consumes them with a no-op
  entrypoint (pip install pgqueuer asyncpg); skipped with a note when it is not installed.
- floor: pgbench, C clients, each transaction claiming and completing one row of a plain table with
  `FOR UPDATE SKIP LOCKED` in one statement: one round trip per job, nothing else.

Starts the local PostgreSQL with scripts/postgres. Never gates anything.
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
    queue = f"bench-{os.getpid()}-{round_number}"
    # The worker creates the table on its first start; make sure it exists before inserting.
    sh([RUNTIME, "enqueue", "echo", "--queue", url, "--queue-name", queue + "-warmup"])
    psql(url, f"INSERT INTO taskshim_jobs (queue_name, job_type, payload_json) "
              f"SELECT '{queue}', 'echo', jsonb_build_object('n', n) FROM generate_series(1, {jobs}) AS n")
    start = time.perf_counter()
    sh([RUNTIME, "worker", "--queue", url, "--queues", queue, "--burst", "--concurrency", str(concurrency)],
       env={"PATH": os.environ["PATH"], "LOG_LEVEL": "warning"})
    wall = time.perf_counter() - start
    done = int(psql(url, f"SELECT count(*) FROM taskshim_jobs WHERE queue_name = '{queue}' AND status = 'completed'"))
    assert done == jobs, f"{done} of {jobs} jobs completed"
    psql(url, f"DELETE FROM taskshim_jobs WHERE queue_name LIKE '{queue}%'")
    return jobs / wall


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if "RUNTIME" not in os.environ:
        log("building the release binary")
        subprocess.run(["swift", "build", "-c", "release", "--product", "runtime", "--static-swift-stdlib", "--scratch-path", SCRATCH],
                       cwd=ROOT, check=True, stdout=sys.stderr)
    subprocess.run([os.path.join(ROOT, "scripts", "postgres"), "start"], check=True)
    url = sh([os.path.join(ROOT, "scripts", "postgres"), "url"])
    results = {"runtime": [], "floor": [], "pgqueuer": []}
    peer_details = None
    for round_number in range(options.rounds):
        log(f"round {round_number + 1}/{options.rounds}")
        results["runtime"].append(run_runtime(url, options.jobs, options.concurrency, round_number))
        results["floor"].append(run_floor(url, options.jobs, options.concurrency))
        peer = run_pgqueuer(url, options.jobs, options.concurrency)
        if peer:
            peer_details = peer
            results["pgqueuer"].append(peer["process_per_s"])
    m = {name: statistics.median(values) if values else None for name, values in results.items()}
    print(f"queue workers on PostgreSQL: {options.jobs} no-op jobs, concurrency {options.concurrency}, "
          f"{options.rounds} rounds (medians), 2 cores, loopback")
    print(f"{'':44} {'jobs/s':>10}")
    print(f"{'runtime worker --burst (process included)':44} {m['runtime']:10,.0f}")
    if m["pgqueuer"]:
        print(f"{'pgqueuer ' + peer_details.get('version', ''):44} {m['pgqueuer']:10,.0f}")
    else:
        print(f"{'pgqueuer':44} {'not installed (pip install pgqueuer asyncpg)':>10}")
    print(f"{'floor: pgbench, one SKIP LOCKED UPDATE per job':44} {m['floor']:10,.0f}")
    print()
    print(f"runtime vs floor: {m['runtime'] / m['floor']:.2f}x (target >= 0.5x)")
    if m["pgqueuer"]:
        print(f"runtime vs pgqueuer: {m['runtime'] / m['pgqueuer']:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
