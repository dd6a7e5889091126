"""The no-op job RQ workers run in bench/queue_workers.py (importable by `rq worker`)."""


def noop(n):
    return n
