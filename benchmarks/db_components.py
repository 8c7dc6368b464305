"""Time the mysql and postgres snapshot components (dump, verify, restore) on existing databases.

Usage: python benchmarks/db_components.py mysql://root@127.0.0.1:3306/rbbench \
           postgresql://postgres@127.0.0.1:5432/rbbench
Restores INTO the given databases: use throw-away benchmark databases only.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from rollback.data.snapshots.base import no_progress
from rollback.data.snapshots.components.build import component_for
from rollback.data.snapshots.urls import parse_service_url


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def main(urls: list[str]) -> None:
    for url in urls:
        component = component_for(url.split(":", 1)[0], parse_service_url(url, root=Path(".")))
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp)
            start = time.perf_counter()
            result = component.dump(dest, no_progress)
            dumped = time.perf_counter() - start
            size = sum(a.size for a in result.artifacts)
            start = time.perf_counter()
            problems = component.verify(dest)
            verified = time.perf_counter() - start
            start = time.perf_counter()
            component.restore(dest, no_progress)
            restored = time.perf_counter() - start
            raw_mb = result.raw_bytes / 1e6
            print(
                f"{component.describe()}: raw {raw_mb:.1f} MB -> {size / 1e6:.1f} MB"
                f" | dump {dumped:.2f} s | verify {verified:.2f} s {problems or 'ok'}"
                f" | restore {restored:.2f} s | peak RSS so far {peak_mb():.0f} MB"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
