#!/usr/bin/env python3
"""Secrets at start-up: the wall time resolving 5 AWS Secrets Manager secrets adds to `runtime exec`,
read in parallel (the default) and one by one, beside the seeds' way (boto3 in Python, one call after
another) and the floor (one Secrets Manager round trip).

  bench/secrets_coldstart.py [--runs 20] [--secrets 5]
  RUNTIME=/path/to/runtime bench/secrets_coldstart.py

- The secrets live in moto's server on loopback (pip install 'moto[server]'), which answers each call
  in a few milliseconds of Python: the round trip stands in for the network's.
- runtime: `runtime exec echo` with nothing to resolve (the baseline), then with 5 variables set to
  `aws-sm://` references (TASKSHIM_SECRETS_CONCURRENCY unset: all at once; =1: one by one). Added =
  the run's median wall time minus the baseline's.
- boto3: `python -c` importing boto3, making a Secrets Manager client and calling GetSecretValue 5
  times (the seeds' handler did this at start); added = minus a bare `python -c pass`.
- floor: one GetSecretValue round trip from a kept-alive Python http.client connection (moto does
  not check signatures, so the request is sent unsigned): parallel reads cannot cost less.

Runs interleaved round-robin, wall time from spawn to reap. Never gates anything.
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time

from benchlib import build_runtime, free_port, log, wait_port



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

        aws = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true"}
        references = {f"BENCH_SECRET_{i}": f"aws-sm://{name}" for i, name in enumerate(names)}
        peer_code = ("import boto3,sys\n"
                     "c=boto3.client('secretsmanager',region_name='eu-west-1',endpoint_url=sys.argv[1])\n"
                     "for n in sys.argv[2:]: c.get_secret_value(SecretId=n)['SecretString']\n")
        programs = {
            "runtime, nothing to resolve": ([str(runtime), "exec", "echo"], aws),
            "runtime, parallel": ([str(runtime), "exec", "echo"], {**aws, **references}),
            "runtime, one by one": ([str(runtime), "exec", "echo"], {**aws, **references, "TASKSHIM_SECRETS_CONCURRENCY": "1"}),
            "python, bare": ([sys.executable, "-c", "pass"], aws),
            "python boto3, one by one": ([sys.executable, "-c", peer_code, url, *names], aws),
        }
        samples = {name: [] for name in programs}
        for round_ in range(args.runs + 2):
            for name, (command, env) in programs.items():
                elapsed = timed(command, env)
                if round_ >= 2:
                    samples[name].append(elapsed)

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

    median = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    added = {
        "runtime, parallel": median["runtime, parallel"] - median["runtime, nothing to resolve"],
        "runtime, one by one": median["runtime, one by one"] - median["runtime, nothing to resolve"],
        "python boto3, one by one": median["python boto3, one by one"] - median["python, bare"],
    }
    print(f"\n{args.secrets} secrets from moto, {args.runs} runs each, medians (ms)\n")
    print(f"| program | wall | added by the secrets |\n|---|---:|---:|")
    for name, value in median.items():
        print(f"| {name} | {value:.1f} | {added[name]:.1f} |" if name in added else f"| {name} | {value:.1f} | |")
    print(f"| floor: one GetSecretValue round trip | {floor * 1000:.1f} | {floor * 1000:.1f} |")
    parallel = added["runtime, parallel"]
    print(f"\nruntime parallel vs one by one: {added['runtime, one by one'] / parallel:.1f}x less added time")
    print(f"runtime parallel vs boto3: {added['python boto3, one by one'] / parallel:.1f}x less added time, "
          f"{median['python boto3, one by one'] / median['runtime, parallel']:.1f}x less wall time")
    print(f"runtime parallel vs the floor (one round trip): {parallel / (floor * 1000):.1f}x the floor")


if __name__ == "__main__":
    main()
