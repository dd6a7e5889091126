#!/usr/bin/env python3
"""Benchmark peer: pgqueuer (PyPI "pgqueuer", tested with 1.6.0) processing N no-op jobs.

Requires: pip install pgqueuer==1.6.0 asyncpg

Usage:
  python3 bench/pgqueuer_peer.py --dsn postgres://postgres@127.0.0.1:55432/taskshim_test \
      --jobs 10000 --concurrency 4

Concurrency mapping: --concurrency C starts C pgqueuer QueueManager consumers in one
asyncio event loop, each with its own asyncpg connection and dequeue batch size
--batch-size (pgqueuer's default, 10). This mirrors pgqueuer's own tools/benchmark.py,
where "-dq" (number of dequeue workers) is the concurrency knob. The "noop"
entrypoint has no per-entrypoint concurrency_limit (0 = unlimited).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from importlib.metadata import version as pkg_version

import asyncpg
from pgqueuer import AsyncpgDriver, Job, QueueManager, Queries

ENTRYPOINT = "noop"


async def ensure_schema(q: Queries) -> str:
    """Idempotent install, same logic as `pgq install` (+ `pgq upgrade` if drifted)."""
    if not await q.schema_is_installed():
        await q.install()
        return "installed"
    plan = await q.plan_upgrade()
    if plan.statements:
        await q.apply_upgrade()
        return f"reused (upgraded, {len(plan.statements)} statements)"
    return "reused"


async def enqueue(q: Queries, n: int, chunk: int) -> float:
    payload = b'{"n":0}'
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        # List arguments = pgqueuer's batch enqueue (one INSERT ... unnest per call).
        await q.enqueue([ENTRYPOINT] * k, [payload] * k, [0] * k)
    return time.perf_counter() - t0


async def consume(dsn: str, n: int, concurrency: int, batch_size: int) -> float:
    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    qms = [QueueManager(Queries(AsyncpgDriver(c))) for c in conns]
    done = 0
    t_last: float | None = None

    def stop_all() -> None:
        for qm in qms:
            qm.shutdown.set()

    for qm in qms:

        @qm.entrypoint(ENTRYPOINT)
        async def noop(job: Job) -> None:
            nonlocal done, t_last
            done += 1
            if done == n:
                t_last = time.perf_counter()
                stop_all()  # pgqueuer's supported stop: set QueueManager.shutdown

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(qm.run(batch_size=batch_size) for qm in qms))
    finally:
        for c in conns:
            await c.close()
    if t_last is None:
        raise RuntimeError(f"consumers stopped after {done}/{n} jobs")
    if done != n:
        print(f"warning: {done} completions counted for {n} jobs", file=sys.stderr)
    return t_last - t0


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=4,
                    help="number of QueueManager consumers (one connection each)")
    ap.add_argument("--batch-size", type=int, default=10,
                    help="dequeue batch size per consumer (pgqueuer default 10)")
    ap.add_argument("--enqueue-chunk", type=int, default=1000,
                    help="jobs per batch-enqueue call")
    a = ap.parse_args()
    if a.jobs < 1 or a.concurrency < 1 or a.batch_size < 1:
        ap.error("--jobs, --concurrency and --batch-size must be >= 1")

    conn = await asyncpg.connect(a.dsn)
    try:
        q = Queries(AsyncpgDriver(conn))
        state = await ensure_schema(q)
        await q.clear_queue()  # TRUNCATE the queue table (old jobs from earlier runs)
        await q.clear_queue_log()  # keep the completion log from growing across runs
        print(f"schema: {state}; queue cleared", flush=True)
        enq_s = await enqueue(q, a.jobs, a.enqueue_chunk)
    finally:
        await conn.close()
    enq_rate = a.jobs / enq_s
    print(f"enqueue: {a.jobs} jobs in {enq_s:.3f}s = {enq_rate:.0f} jobs/s", flush=True)

    proc_s = await consume(a.dsn, a.jobs, a.concurrency, a.batch_size)
    proc_rate = a.jobs / proc_s
    print(f"process: {a.jobs} jobs in {proc_s:.3f}s = {proc_rate:.0f} jobs/s "
          f"(consumers={a.concurrency}, batch_size={a.batch_size})", flush=True)

    print(json.dumps({
        "peer": "pgqueuer",
        "version": pkg_version("pgqueuer"),
        "jobs": a.jobs,
        "enqueue_per_s": round(enq_rate, 1),
        "process_per_s": round(proc_rate, 1),
        "concurrency": a.concurrency,
    }), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
