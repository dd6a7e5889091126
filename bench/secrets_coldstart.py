#!/usr/bin/env python3
"""Secrets at start-up: the wall time resolving 5 AWS Secrets Manager secrets adds to `runtime exec`,
read in parallel (the default) and one by one, beside the seeds' way (boto3 in Python, one call after
another) and the floor (one Secrets Manager round trip).

  bench/secrets_coldstart.py [--runs 20] [--secrets 5] [--latency-ms 0,20]
  RUNTIME=/path/to/runtime bench/secrets_coldstart.py

- The secrets live in moto's server on loopback (pip install 'moto[server]'), which answers each call
  in a few milliseconds of Python: the round trip stands in for the network's.
- runtime: `runtime exec echo` with nothing to resolve (the baseline), then with 5 variables set to
  `aws-sm://` references (TASKSHIM_SECRETS_CONCURRENCY unset: all at once; =1: one by one). Added =
  the run's median wall time minus the baseline's.
- boto3: `python -c` importing boto3, making a Secrets Manager client and calling GetSecretValue 5
  times (the seeds' handler did this at start); added = minus a bare `python -c pass`.
- curl: the curl command (C, libcurl, the same SigV4 signing) making the same 5 signed calls, one by
  one and with --parallel; added = minus `curl --version` (process start and loading libcurl).
- --latency-ms: each run is repeated behind a proxy that holds every connection's opening and every
  answer for that long (a network round trip; 0 = moto straight on loopback). moto answers one call
  at a time on 2 cores, so parallel reads only pay off once there is latency to overlap.
- floor: one GetSecretValue round trip from a kept-alive Python http.client connection (moto does
  not check signatures, so the request is sent unsigned): parallel reads cannot cost less.

Runs interleaved round-robin, wall time from spawn to reap. Never gates anything.
"""
import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from benchlib import build_runtime, free_port, log, wait_port



class LatencyProxy:
    """Forwards loopback connections to `port`, holding each connection's opening and each chunk of the
    server's answers for `delay` seconds: a network round trip in front of a local server."""

    def __init__(self, port, delay):
        self.upstream, self.delay = port, delay
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        time.sleep(self.delay)
        server = socket.create_connection(("127.0.0.1", self.upstream))
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self.pump, args=(client, server, 0), daemon=True).start()
        self.pump(server, client, self.delay)

    @staticmethod
    def pump(source, target, delay):
        try:
            while data := source.recv(65536):
                if delay:
                    time.sleep(delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def timed(command, env):
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[:400]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--secrets", type=int, default=5)
    parser.add_argument("--latency-ms", default="0,20", help="network round trips to emulate, comma-separated")
    args = parser.parse_args()
    runtime = build_runtime()
    try:
        import boto3  # noqa: F401  (moto brings it)
    except ImportError:
        raise SystemExit("pip install 'moto[server]' (scripts/install-deps --python)")

    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port):
            raise SystemExit("moto's server did not start")
        url = f"http://127.0.0.1:{port}"
        import boto3
        client = boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=url,
                              aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench")
        names = [f"bench/secret-{i}" for i in range(args.secrets)]
        for name in names:
            client.create_secret(Name=name, SecretString=f"value-of-{name}")

        results = []
        for latency in [float(x) for x in args.latency_ms.split(",")]:
            proxy = LatencyProxy(port, latency / 1000) if latency else None
            results.append((latency, measure(runtime, names, f"http://127.0.0.1:{proxy.port if proxy else port}", args.runs)))
        connection = http.client.HTTPConnection("127.0.0.1", port)
        trips = []
        for _ in range(args.runs + 5):
            start = time.perf_counter()
            connection.request("POST", "/", body=f'{{"SecretId":"{names[0]}"}}',
                               headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue",
                                        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"})
            response = connection.getresponse()
            response.read()
            trips.append(time.perf_counter() - start)
            if response.status != 200:
                raise SystemExit(f"the floor's request failed: {response.status}")
        floor = statistics.median(trips[5:])
    finally:
        moto.kill()

    print(f"\n{args.secrets} secrets from moto's server, {args.runs} runs each, medians (ms)")
    for latency, median in results:
        added = {
            "runtime, parallel": median["runtime, parallel"] - median["runtime, nothing to resolve"],
            "runtime, one by one": median["runtime, one by one"] - median["runtime, nothing to resolve"],
            "curl, one by one": median["curl, one by one"] - median["curl --version"],
            "curl --parallel": median["curl --parallel"] - median["curl --version"],
            "python boto3, one by one": median["python boto3, one by one"] - median["python, bare"],
        }
        print(f"\n### round trip added by the network: {latency:g} ms\n")
        print("| program | wall | added by the secrets |\n|---|---:|---:|")
        for name, value in median.items():
            print(f"| {name} | {value:.1f} | {added[name]:.1f} |" if name in added else f"| {name} | {value:.1f} | |")
        parallel = added["runtime, parallel"]
        print(f"\nruntime parallel: {added['runtime, one by one'] / parallel:.1f}x less added time than one by one, "
              f"{added['python boto3, one by one'] / parallel:.1f}x less than boto3 "
              f"({median['python boto3, one by one'] / median['runtime, parallel']:.1f}x less wall time), "
              f"{median['curl --parallel'] / median['runtime, parallel']:.2f}x curl --parallel's wall time")
    print(f"\nfloor: one GetSecretValue round trip to moto on loopback, kept alive: {floor * 1000:.1f} ms")


def measure(runtime, names, url, runs):
    """Median wall time (ms) of each program reading `names` from the Secrets Manager at `url`."""
    aws = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true"}
    references = {f"BENCH_SECRET_{i}": f"aws-sm://{name}" for i, name in enumerate(names)}
    peer_code = ("import boto3,sys\n"
                 "c=boto3.client('secretsmanager',region_name='eu-west-1',endpoint_url=sys.argv[1])\n"
                 "for n in sys.argv[2:]: c.get_secret_value(SecretId=n)['SecretString']\n")
    curl_calls = []
    for name in names:
        curl_calls += ["--next"] if curl_calls else []
        curl_calls += ["--aws-sigv4", "aws:amz:eu-west-1:secretsmanager", "--user", "AKIDBENCH:bench", "-o", "/dev/null",
                       "-H", "Content-Type: application/x-amz-json-1.1", "-H", "X-Amz-Target: secretsmanager.GetSecretValue",
                       "-d", f'{{"SecretId":"{name}"}}', url + "/"]
    programs = {
        "runtime, nothing to resolve": ([str(runtime), "exec", "echo"], aws),
        "runtime, parallel": ([str(runtime), "exec", "echo"], {**aws, **references}),
        "runtime, one by one": ([str(runtime), "exec", "echo"], {**aws, **references, "TASKSHIM_SECRETS_CONCURRENCY": "1"}),
        "python, bare": ([sys.executable, "-c", "pass"], aws),
        "python boto3, one by one": ([sys.executable, "-c", peer_code, url, *names], aws),
        "curl --version": (["curl", "--version"], aws),
        "curl, one by one": (["curl", "-sf", *curl_calls], aws),
        "curl --parallel": (["curl", "-sf", "--parallel", "--parallel-immediate", *curl_calls], aws),
    }
    samples = {name: [] for name in programs}
    for round_ in range(runs + 2):
        for name, (command, env) in programs.items():
            elapsed = timed(command, env)
            if round_ >= 2:
                samples[name].append(elapsed)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


if __name__ == "__main__":
    main()
