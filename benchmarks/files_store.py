"""The files component on a 1 GB folder: ``rollback snapshot create/restore`` next to
``tar czf`` / ``tar xzf`` on the same data, in the same run; wall time and peak memory.

Peak memory is the kernel's ``ru_maxrss`` from ``os.wait4`` (largest resident set of the child
or any descendant it waited for), so both sides are measured the same way.

    python3 benchmarks/files_store.py [--mb 1000] [--dir /tmp/rb-files-bench]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORDS = [
    "magento",
    "catalog",
    "product",
    "price",
    "order",
    "invoice",
    "customer",
    "address",
    "cart",
    "stock",
]


def generate(root: Path, mb: int) -> int:
    """A Magento-like ``pub/media`` + ``var``: images (incompressible), logs, JSON cache."""
    rng = random.Random(7)
    target = mb * 1_000_000
    size = n = 0
    line = " ".join(WORDS)
    while size < target:
        n += 1
        if n % 3 == 0:
            path = root / "pub" / "media" / "catalog" / f"{n % 50}" / f"{n}.jpg"
            data = os.urandom(rng.randint(50_000, 600_000))
        else:
            path = root / "var" / ("log" if n % 3 == 1 else "cache") / f"{n % 40}" / f"{n}.txt"
            data = "".join(f"{i} {rng.randint(0, 10**9)} {line}\n" for i in range(3000)).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        size += len(data)
    return size


def measure(label: str, args: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    print(f"{label:50} {secs:7.1f} s {usage.ru_maxrss / 1024:8.1f} MB peak", flush=True)
    return secs, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rb-files-bench"))
    args = parser.parse_args()
    root: Path = args.dir
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.rollback.local]\npaths = ["var", "pub/media"]\n')
    raw = generate(root, args.mb)
    subprocess.run(["sync"], check=True)
    print(
        f"data: {raw / 1e6:.0f} MB in {sum(1 for _ in root.rglob('*'))} entries, "
        f"{os.cpu_count()} cores"
    )
    rb = [sys.executable, "-m", "rollback"]
    measure("rollback snapshot create", [*rb, "snapshot", "create", "--label", "bench"], root)
    snap = next((root / ".rollback" / "snapshots").glob("*-bench"))
    size = sum(f.stat().st_size for f in snap.rglob("*") if f.is_file())
    measure("tar czf", ["tar", "czf", "/tmp/rb-bench.tgz", "var", "pub/media"], root)
    tgz = Path("/tmp/rb-bench.tgz").stat().st_size
    print(f"{'  sizes: rollback (zstd -1)':50} {size / 1e6:7.0f} MB; tar.gz {tgz / 1e6:.0f} MB")
    restore = [*rb, "snapshot", "restore", snap.name, "--yes"]
    measure(
        "rollback snapshot restore --no-safety-snapshot", [*restore, "--no-safety-snapshot"], root
    )
    measure("rollback snapshot restore (with safety snapshot)", restore, root)
    out = Path("/tmp/rb-bench-untar")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    measure("tar xzf (into an empty folder)", ["tar", "xzf", "/tmp/rb-bench.tgz"], out)
    shutil.rmtree(out, ignore_errors=True)
    Path("/tmp/rb-bench.tgz").unlink()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
