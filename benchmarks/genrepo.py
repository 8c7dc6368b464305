"""Generate a synthetic repository through one ``git fast-import`` stream.

Shape: a root commit with ``files`` files spread over a Magento-like tree, then ``commits``
first-parent commits on ``main``. Every ``merge_every``-th first-parent commit is a merge of a
one- or two-commit topic branch; the others change one to three files (an occasional one adds
a file). Files are touched round-robin, so within the newest ``files / 2`` or so commits no
file is changed twice: any subset of them can be reverted without a conflict, which keeps
the revert-selected scenario measuring prediction of all its commits (the planner stops at
the first predicted conflict).

10,000 commits over 3,000 files take about two seconds.

    python -m benchmarks.genrepo PATH --commits 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

EPOCH = 1_700_000_000  # fixed dates: the repository is the same on every run
AREAS = (
    "app/code/Vendor/Catalog/Model",
    "app/code/Vendor/Checkout/Controller",
    "app/code/Vendor/Sales/Setup/Patch/Data",
    "app/design/frontend/Vendor/theme/web/css",
    "lib/internal/Vendor/Framework",
    "dev/tests/unit",
    "docs",
    "bin",
)
LINES = 12


@dataclass(frozen=True)
class GeneratedRepo:
    path: Path
    head: str
    first_parent: int  # commits on the first-parent line, root included
    files: int
    seconds: float


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench Author",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench Author",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    return env


class _Stream:
    """Builds the fast-import byte stream and tracks each file's content."""

    def __init__(self, files: int) -> None:
        self.out: list[bytes] = []
        self.mark = 0
        self.when = EPOCH
        self.paths = [
            f"{AREAS[i % len(AREAS)]}/module{i // 97:03d}/File{i:05d}.php" for i in range(files)
        ]
        self.content = {p: [f"<?php // {p} line {n}" for n in range(LINES)] for p in self.paths}
        self.cursor = 0  # round-robin position over self.paths
        self.added = 0

    def _data(self, payload: bytes) -> None:
        self.out.append(b"data %d\n" % len(payload))
        self.out.append(payload)
        self.out.append(b"\n")

    def _modify(self, path: str) -> None:
        blob = ("\n".join(self.content[path]) + "\n").encode()
        self.out.append(f"M 100644 inline {path}\n".encode())
        self._data(blob)

    def touch(self, count: int, rev: int) -> list[str]:
        """Change one line in each of the next ``count`` files; return their paths."""
        changed = []
        for _ in range(count):
            path = self.paths[self.cursor % len(self.paths)]
            self.cursor += 1
            self.content[path][rev % LINES] = f"    $value = {rev}; // {path} revision {rev}"
            changed.append(path)
        return changed

    def add_file(self, rev: int) -> str:
        path = f"app/code/Vendor/Added/File{self.added:05d}.php"
        self.added += 1
        self.content[path] = [f"<?php // added in revision {rev}", f"return {rev};"]
        return path

    def commit(
        self, ref: str, message: str, paths: list[str], parent: int | None, merge: int | None
    ) -> int:
        self.mark += 1
        self.when += 600
        who = f"Bench Author <bench@example.com> {self.when} +0000"
        head = f"commit {ref}\nmark :{self.mark}\nauthor {who}\ncommitter {who}\n"
        self.out.append(head.encode())
        self._data(message.encode())
        if parent is not None:
            self.out.append(f"from :{parent}\n".encode())
        if merge is not None:
            self.out.append(f"merge :{merge}\n".encode())
        for path in paths:
            self._modify(path)
        return self.mark


def build_stream(commits: int, files: int, merge_every: int) -> bytes:
    """The fast-import stream for the repository described in the module docstring."""
    s = _Stream(files)
    tip = s.commit("refs/heads/main", "Initial import\n", list(s.paths), None, None)
    for i in range(1, commits + 1):
        if merge_every and i % merge_every == 0:
            side, changed = tip, []
            for j in range(1 + (i // merge_every) % 2):  # topics of one or two commits
                paths = s.touch(1 + (i + j) % 2, i * 3 + j)
                changed += paths
                side = s.commit(
                    "refs/heads/topic",
                    f"Topic {i}: part {j + 1}\n\nWork on {paths[0].rsplit('/', 1)[-1]}.\n",
                    paths,
                    side,
                    None,
                )
            tip = s.commit(
                "refs/heads/main",
                f"Merge branch 'topic/t{i}'\n",
                sorted(set(changed)),
                tip,
                side,
            )
            continue
        paths = s.touch(1 + i % 3, i * 3)
        if i % 11 == 0:
            paths.append(s.add_file(i))
        subject = f"Change {i}: update {paths[0].rsplit('/', 1)[-1]}"
        body = f"{subject}\n\nTouches {len(paths)} file(s). Ticket BENCH-{i}.\n"
        tip = s.commit("refs/heads/main", body, paths, tip, None)
    return b"".join(s.out)


def generate(path: Path, *, commits: int, files: int = 3000, merge_every: int = 5) -> GeneratedRepo:
    """Create ``path`` as a fresh repository on branch ``main`` and check it out."""
    start = time.perf_counter()
    env = _git_env()
    path.mkdir(parents=True, exist_ok=False)

    def git(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, env=env, input=data, capture_output=True, check=True
        ).stdout.decode()

    git("init", "-q", "-b", "main")
    # No automatic gc while measuring: it would land at random in either side's timings.
    git("config", "gc.auto", "0")
    git("config", "maintenance.auto", "false")
    # glibc returns freed memory to the kernel after every object (200k brk calls for 10,000
    # commits, 2.6 s of system time); a large trim threshold makes the import 2.5x faster.
    env["GLIBC_TUNABLES"] = "glibc.malloc.top_pad=268435456:glibc.malloc.trim_threshold=268435456"
    git("fast-import", "--quiet", data=build_stream(commits, files, merge_every))
    del env["GLIBC_TUNABLES"]
    git("update-ref", "-d", "refs/heads/topic")  # merged: its commits live on through main
    git("reset", "-q", "--hard", "main")
    head = git("rev-parse", "HEAD").strip()
    return GeneratedRepo(path, head, commits + 1, files, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--merge-every", type=int, default=5)
    args = parser.parse_args()
    made = generate(args.path, commits=args.commits, files=args.files, merge_every=args.merge_every)
    print(
        f"{made.path}: {made.first_parent} first-parent commits, head {made.head[:10]}, "
        f"{made.seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
