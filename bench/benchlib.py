"""Helpers the benchmark scripts beside this file share."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    """Whether something accepts connections on the loopback port within `timeout` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def build_runtime():
    """$RUNTIME, else the static release binary, built (incrementally) into .build-static first."""
    if os.environ.get("RUNTIME"):
        return Path(os.environ["RUNTIME"])
    command = ["swift", "build", "-c", "release", "--product", "runtime", "--static-swift-stdlib",
               "--scratch-path", str(ROOT / ".build-static")]
    log("building the release binary: " + " ".join(command[:7]))
    if subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL).returncode != 0:
        raise SystemExit("the runtime build failed")
    return ROOT / ".build-static" / "release" / "runtime"
