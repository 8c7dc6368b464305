"""What state the repository is in, as git itself reports it: NUL-separated output only.

``status`` reads ``git status --porcelain=v2 -z --branch`` (branch, HEAD, every tracked change
with its HEAD and index blob, unmerged entries) in one process; ``busy`` names an operation
in progress from the markers git's own ``wt_status_get_state`` reads (MERGE_HEAD, rebase-merge,
rebase-apply and its ``applying`` mark for ``git am``, CHERRY_PICK_HEAD, REVERT_HEAD, a leftover
``sequencer``, BISECT_LOG) and unmerged entries, with the command git accepts to finish it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollback.git.repo import GitError, GitRepo, object_sha


@dataclass(frozen=True)
class Busy:
    operation: str
    finish: str  # the command that finishes it (and the one that abandons it), as git accepts


@dataclass(frozen=True)
class Entry:
    """One tracked path that differs between HEAD, the index and the work tree."""

    path: str
    xy: str  # porcelain v2 XY: X index vs HEAD, Y work tree vs index ('.' unchanged)
    head_blob: str | None
    index_blob: str | None
    index_mode: str = ""
    worktree_mode: str = ""
    submodule: bool = False


@dataclass(frozen=True)
class Status:
    branch: str | None  # None: HEAD is detached
    head: str | None  # None: no commit yet
    entries: tuple[Entry, ...]
    unmerged: tuple[str, ...]

    @property
    def changed(self) -> list[str]:
        return [e.path for e in self.entries] + list(self.unmerged)


def _blob(sha: str) -> str | None:
    return None if set(sha) == {"0"} else sha


def status(repo: GitRepo) -> Status:
    """Branch, HEAD and the tracked changes (untracked files are not listed), in one process."""
    out = repo.git(
        "status",
        "--porcelain=v2",
        "-z",
        "--branch",
        "--untracked-files=no",
        "--no-renames",
        "--ignore-submodules=untracked",
    )
    branch: str | None = None
    head: str | None = None
    entries: list[Entry] = []
    unmerged: list[str] = []
    for record in out.split("\0"):
        if record.startswith("# branch.oid "):
            oid = record[len("# branch.oid ") :]
            head = None if oid == "(initial)" else oid
        elif record.startswith("# branch.head "):
            name = record[len("# branch.head ") :]
            branch = None if name == "(detached)" else name
        elif record.startswith("1 "):
            # 1 XY sub mH mI mW hH hI path
            fields = record.split(" ", 8)
            entries.append(
                Entry(
                    path=fields[8],
                    xy=fields[1],
                    head_blob=_blob(fields[6]),
                    index_blob=_blob(fields[7]),
                    index_mode=fields[4],
                    worktree_mode=fields[5],
                    submodule=fields[2][0] == "S",
                )
            )
        elif record.startswith("u "):
            unmerged.append(record.split(" ", 10)[10])
    return Status(branch, head, tuple(entries), tuple(unmerged))


_FINISH = {
    "merge": "git merge --continue  (or: git merge --abort)",
    "am": "git am --continue  (or: git am --abort)",
    "rebase": "git rebase --continue  (or: git rebase --abort)",
    "cherry-pick": "git cherry-pick --continue  (or: git cherry-pick --abort)",
    "revert": "git revert --continue  (or: git revert --abort)",
    "bisect": "git bisect reset",
}


def busy(repo: GitRepo, unmerged: Sequence[str] = ()) -> Busy | None:
    """The operation in progress, read from the same markers ``git status`` reads."""
    d = repo.git_dir
    if (d / "MERGE_HEAD").is_file():
        return Busy("merge", _FINISH["merge"])
    if (d / "rebase-apply").is_dir():
        kind = "am" if (d / "rebase-apply" / "applying").exists() else "rebase"
        return Busy(kind, _FINISH[kind])
    if (d / "rebase-merge").is_dir():
        return Busy("rebase", _FINISH["rebase"])
    if (d / "CHERRY_PICK_HEAD").is_file():
        return Busy("cherry-pick", _FINISH["cherry-pick"])
    if (d / "REVERT_HEAD").is_file():
        return Busy("revert", _FINISH["revert"])
    if (d / "BISECT_LOG").is_file():
        return Busy("bisect", _FINISH["bisect"])
    last = _sequencer_command(d / "sequencer")
    if last is not None:  # a pick resolved by a plain `git commit`: the sequence goes on
        kind = "revert" if last == "revert" else "cherry-pick"
        return Busy(
            kind, f"git {kind} --continue  (or: git {kind} --quit, which keeps what is committed)"
        )
    if unmerged:
        more = f" and {len(unmerged) - 3} more" if len(unmerged) > 3 else ""
        return Busy(
            f"conflict resolution ({', '.join(unmerged[:3])}{more} unmerged)",
            "resolve the files and git add them  (or: git reset --merge)",
        )
    return None


def _sequencer_command(folder: Path) -> str | None:
    """'pick' or 'revert': the command of the sequence git still has to finish, if any."""
    try:
        todo = (folder / "todo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "pick" if folder.is_dir() else None
    for line in todo.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word and not word.startswith("#"):
            return "revert" if word == "revert" else "pick"
    return "pick"


@dataclass(frozen=True)
class Change:
    """A path that differs between two trees (None: absent on that side)."""

    path: str
    old_mode: str
    old_blob: str | None
    new_mode: str
    new_blob: str | None

    @property
    def gitlink(self) -> bool:
        return "160000" in (self.old_mode, self.new_mode)


def diff_trees(repo: GitRepo, old: str, new: str) -> list[Change]:
    """Every path that differs between the trees of ``old`` and ``new``, renames not paired."""
    out = repo.git("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old, new)
    fields = out.split("\0")
    changes = []
    for i in range(0, len(fields) - 1, 2):
        meta, path = fields[i], fields[i + 1]
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _kind = meta[1:].split(" ", 4)
        changes.append(Change(path, old_mode, _blob(old_sha), new_mode, _blob(new_sha)))
    return changes


def hash_files(repo: GitRepo, paths: Iterable[str]) -> dict[str, str]:
    """The blob id git would give each work-tree file (clean filters applied; links as links)."""
    result: dict[str, str] = {}
    batch: list[str] = []
    for path in paths:
        full = repo.root / path
        if full.is_symlink():
            result[path] = object_sha(b"blob", os.fsencode(os.readlink(full)))
        elif "\n" in path:  # --stdin-paths reads lines: hash such a name on its own
            result[path] = repo.git("hash-object", "--", path).strip()
        else:
            batch.append(path)
    if batch:
        from rollback.proc import run

        done = run(
            ["git", "hash-object", "--stdin-paths"],
            cwd=repo.root,
            input="".join(f"{p}\n" for p in batch),
            check=False,
        )
        if done.returncode != 0:
            raise GitError(["hash-object"], done.returncode, done.stderr)
        result.update(zip(batch, done.stdout.split(), strict=True))
    return result


def lock_holders(path: Path) -> list[int]:
    """Pids of the processes that have ``path`` open (Linux /proc); [] when none or unknown."""
    target = str(path)
    pids = []
    try:
        procs = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in procs:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    pids.append(int(pid))
                    break
            except OSError:
                continue
    return pids
