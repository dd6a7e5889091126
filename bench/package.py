#!/usr/bin/env python3
"""`runtime package lambda` and `runtime package image` on the release binary, beside their peers.

Lambda zip: the same files (unpacked from our zip, so byte for byte the same tree) zipped by Info-ZIP
`zip -r -X` (what AWS's guides use) at its default level 6 and at our level 4, and the floor: reading
the tree and deflating it once with zlib at level 4, in this process (no archive format, no CRC). Image: the same root
tarred and gzipped by GNU tar | gzip -6, no digests. Sizes against the binary plus its libraries.
Median of 5 runs each. Usage: bench/package.py (RUNTIME=path to skip the build).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, build_runtime, log  # noqa: E402

RUNS = 5


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(function):
    return statistics.median(function() for _ in range(RUNS))


def tree_size(root):
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def main():
    runtime = build_runtime()
    subprocess.run(["swift", "build", "-c", "release", "--product", "bootstrap", "--scratch-path", str(ROOT / ".build-static")],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        (project / "q").mkdir(parents=True)
        (project / "taskshim.toml").write_text('[tasks.one]\nhandler = "q/one.sql"\nschedule = "0 9 * * *"\n')
        (project / "q" / "one.sql").write_text("SELECT 1 AS one\n")
        log("runtime package lambda")
        ours = median_of(lambda: timed([str(runtime), "package", "lambda", "--out", "dist"], project))
        zip_path = project / "dist" / "taskshim-lambda-x86_64.zip"
        zip_size = zip_path.stat().st_size
        tree = Path(scratch) / "tree"
        subprocess.run(["unzip", "-q", str(zip_path), "-d", str(tree)], check=True)
        unzipped = tree_size(tree)
        peers = {}
        for level in ("6", "4"):
            log(f"zip -r -{level} -X on the same tree")
            peer_zip = Path(scratch, f"peer{level}.zip")
            elapsed = median_of(lambda: (peer_zip.unlink(missing_ok=True), timed(["zip", "-q", "-r", f"-{level}", "-X", str(peer_zip), "."], tree))[1])
            peers[level] = (elapsed, peer_zip.stat().st_size)

        def floor():
            start = time.perf_counter()
            for path in sorted(p for p in tree.rglob("*") if p.is_file()):
                zlib.compress(path.read_bytes(), 4)
            return time.perf_counter() - start
        log("floor: read and deflate once")
        floor_time = median_of(floor)

        log("runtime package image")
        image = median_of(lambda: timed([str(runtime), "package", "image", "--out", "dist/image.tar"], project))
        image_size = (project / "dist" / "image.tar").stat().st_size
        layout = Path(scratch, "layout")
        layout.mkdir()
        subprocess.run(["tar", "-xf", str(project / "dist" / "image.tar"), "-C", str(layout)], check=True)
        subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", str(Path(scratch, "bundle"))], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rootfs = Path(scratch, "bundle", "rootfs")
        rootfs_size = tree_size(rootfs)
        log("tar | gzip -4 on the same root")
        tar_peer = median_of(lambda: timed(["sh", "-c", f"tar -C {rootfs} -cf - . | gzip -4 > {scratch}/peer.tar.gz"], scratch))

    binary = runtime.stat().st_size
    libraries = unzipped - binary - (ROOT / ".build-static" / "release" / "bootstrap").stat().st_size - 2 * 1024
    mb = lambda n: f"{n / 1048576:.1f} MB"
    print(f"binary {mb(binary)}, its libraries (glibc and the loader included) {mb(libraries)}")
    print(f"{'':38} {'seconds':>8} {'size':>10} {'vs ours':>8}")
    print(f"{'runtime package lambda':38} {ours:8.2f} {mb(zip_size):>10}")
    for level, (elapsed, size) in peers.items():
        print(f"{f'zip -r -{level} -X (same tree)':38} {elapsed:8.2f} {mb(size):>10} {elapsed / ours:7.2f}x")
    print(f"{'floor: read + zlib level 4, one pass':38} {floor_time:8.2f} {'':>10} {floor_time / ours:7.2f}x")
    print(f"{'runtime package image':38} {image:8.2f} {mb(image_size):>10}")
    print(f"{'tar | gzip -4 (same root, no digests)':38} {tar_peer:8.2f} {'':>10} {tar_peer / image:7.2f}x")
    print(f"unzipped bundle {mb(unzipped)}; image root {mb(rootfs_size)}")


if __name__ == "__main__":
    main()
