#!/usr/bin/env python3
"""RQ, the Python Redis queue, as the peer of `runtime worker` on Redis: enqueue N no-op jobs
(pipelined with enqueue_many), then run C `rq worker --burst` processes until the queue is empty.

  bench/rq_peer.py --url redis://127.0.0.1:56379/0 --jobs 10000 --workers 4 [--simple]

--simple uses rq's SimpleWorker (runs jobs in the worker process); by default each job runs in a
forked work horse, as `rq worker` does out of the box. Prints one JSON line at the end.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import redis
import rq
from rq import Queue

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--simple", action="store_true")
    options = parser.parse_args()
    connection = redis.Redis.from_url(options.url)
    name = f"rq-bench-{os.getpid()}"
    queue = Queue(name, connection=connection)
    start = time.perf_counter()
    queue.enqueue_many([Queue.prepare_data("rq_tasks.noop", args=(n,)) for n in range(options.jobs)])
    enqueue_s = time.perf_counter() - start
    command = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", options.url, "--quiet", name]
    if options.simple:
        command[5:5] = ["--worker-class", "rq.worker.SimpleWorker"]
    env = dict(os.environ, PYTHONPATH=HERE)
    start = time.perf_counter()
    workers = [subprocess.Popen(command, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(options.workers)]
    for worker in workers:
        _, err = worker.communicate()
        if worker.returncode != 0:
            sys.exit(f"rq worker failed: {err.decode()[-2000:]}")
    process_s = time.perf_counter() - start
    finished = queue.finished_job_registry.count
    if finished != options.jobs:
        sys.exit(f"rq finished {finished} of {options.jobs} jobs")
    queue.delete(delete_jobs=True)
    for key in connection.scan_iter(f"rq:*{name}*"):
        connection.delete(key)
    print(json.dumps({"version": rq.__version__, "enqueue_per_s": options.jobs / enqueue_s,
                      "process_per_s": options.jobs / process_s, "simple": options.simple}))


if __name__ == "__main__":
    main()
