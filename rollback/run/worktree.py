"""Move a branch with its index and work tree so that every point of the move can be recovered.

The order: the journal records the intent (``moving``: branch, from, to) ► the branch moves,
compare-and-swap ► index and work tree follow (a two-tree ``read-tree -m -u``, which refuses
to overwrite untracked files; ignored files in the way are refused before anything moves).
A process killed anywhere in between leaves a journal that says what was under way, and
``settle`` finishes the move or puts it back. A work tree equal to the old tree, to the new
tree, or in between file by file (each file as one of the two trees has it, or missing where
the update had removed it to write it again) is ours to finish; anything else is the user's:
settle refuses, naming the files, and changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rollback.errors import RefusedError
from rollback.git import state
from rollback.git.repo import GitRepo
from rollback.run import faults
from rollback.run.journal import Journal


def move(
    repo: GitRepo, journal: Journal, *, branch: str, old: str, new: str, why: str, tree: bool
) -> None:
    """Move ``branch`` from ``old`` to ``new``; with ``tree``, index and work tree follow.

    Leaves ``journal.moving`` cleared but not saved: the caller's next save records the end.
    """
    if tree:
        refuse_files_in_the_way(repo, old, new)
    journal.moving = {"branch": branch, "from": old, "to": new, "why": why, "tree": tree}
    journal.save()
    faults.point(f"{journal.status}:move-intent")
    repo.update_ref(f"refs/heads/{branch}", new, old, f"rollback {journal.plan.id}: {why}")
    faults.point(f"{journal.status}:move-ref")
    if tree:
        repo.checkout_tree(old, new)
    faults.point(f"{journal.status}:move-tree")
    journal.moving = None


def refuse_files_in_the_way(repo: GitRepo, old: str, new: str) -> None:
    """Refuse, before anything moves, when files git does not track (ignored ones included:
    ``read-tree`` would overwrite those) stand where ``new`` adds a tracked file."""
    changes = state.diff_trees(repo, old, new)
    removed = {c.path for c in changes if c.new_blob is None}
    in_the_way = []
    for c in changes:
        if c.old_blob is not None or c.new_blob is None:
            continue
        full = repo.root / c.path
        if os.path.lexists(full) and not (
            full.is_dir() and any(p.startswith(c.path + "/") for p in removed)
        ):
            in_the_way.append(c.path)
            continue
        parts = c.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            path = repo.root / parent
            if (path.is_symlink() or path.is_file()) and parent not in removed:
                in_the_way.append(parent)
                break
    if in_the_way:
        more = f" and {len(in_the_way) - 5} more" if len(in_the_way) > 5 else ""
        raise RefusedError(
            f"files that git does not track (untracked or ignored) are where the rollback "
            f"puts tracked files: {', '.join(in_the_way[:5])}{more}; rollback never "
            "overwrites them",
            hint="move them somewhere else (or delete them), then apply a new plan",
        )


@dataclass
class Where:
    """Where index and work tree stand between the two ends of a move."""

    at_old: bool = True
    at_new: bool = True
    ours_untracked: list[str] = field(default_factory=list)  # files we wrote, not yet indexed
    theirs: list[str] = field(default_factory=list)  # changes that are not ours


def classify(repo: GitRepo, status: state.Status, head: str, old: str, new: str) -> Where:
    """Compare every tracked change with the two trees of the move, file by file."""
    changes = {c.path: c for c in state.diff_trees(repo, old, new)}
    entries = {e.path: e for e in status.entries}
    where = Where()
    where.theirs = [p for p in entries if p not in changes] + list(status.unmerged)
    blobs: dict[str, tuple[str | None, str]] = {}  # path: (index blob, index mode)
    to_hash: list[str] = []
    for path, c in changes.items():
        head_side = (c.old_blob, c.old_mode) if head == old else (c.new_blob, c.new_mode)
        e = entries.get(path)
        index = (e.index_blob, e.index_mode) if e else head_side
        if index[0] not in (c.old_blob, c.new_blob):
            where.theirs.append(path)
            continue
        blobs[path] = index
        full = repo.root / path
        if c.gitlink:
            continue  # the submodule's checkout follows the index (read-tree --recurse)
        if index[0] is None or (e is not None and e.xy[1] in "MT"):
            if full.is_dir() and not full.is_symlink():
                where.theirs.append(path)
            elif os.path.lexists(full):
                to_hash.append(path)
    hashed = state.hash_files(repo, to_hash)
    for path, (blob, mode) in blobs.items():
        c, e = changes[path], entries.get(path)
        if path in hashed:
            work: str | None = hashed[path]
            work_mode = e.worktree_mode if e is not None else "?"
        elif (e is not None and e.xy[1] == "D") or blob is None:
            work, work_mode = None, "000000"
        else:
            work, work_mode = blob, (e.worktree_mode if e is not None else mode)
        if work is not None and work not in (c.old_blob, c.new_blob):
            where.theirs.append(path)
            continue
        if blob is None and work is not None:
            where.ours_untracked.append(path)
        if c.gitlink:
            work, work_mode = blob, mode
        old_mode = c.old_mode if c.old_blob else "000000"
        new_mode = c.new_mode if c.new_blob else "000000"
        where.at_old &= (blob, mode, work) == (c.old_blob, old_mode, c.old_blob) and (
            work_mode in (old_mode, "?")
        )
        where.at_new &= (blob, mode, work) == (c.new_blob, new_mode, c.new_blob) and (
            work_mode in (new_mode, "?")
        )
    return where


def settle(repo: GitRepo, journal: Journal, *, forward: bool) -> str:
    """Finish the move in ``journal.moving`` (forward) or put it back; return where it ended.

    Refuses, changing nothing, when the branch was moved by someone else or the work tree
    holds changes that are not the move's. Leaves ``journal.moving`` cleared, not saved.
    """
    moving = journal.moving
    assert moving is not None
    branch, old, new = str(moving["branch"]), str(moving["from"]), str(moving["to"])
    goal, other = (new, old) if forward else (old, new)
    ref = f"refs/heads/{branch}"
    now = repo.ref(ref)
    if now not in (old, new):
        raise RefusedError(
            f"{branch} was moved by someone else while the rollback was moving it "
            f"(now at {str(now)[:10]}); nothing was changed",
            hint=f"the state before the plan is kept at {journal.plan.safety_ref}",
        )
    assert now is not None
    status = state.status(repo)
    on_branch = status.branch == branch and bool(moving.get("tree", True))
    where = Where()
    if on_branch:
        release_stale_index_lock(repo)
        status = state.status(repo)
        where = classify(repo, status, now, old, new)
        if where.theirs:
            more = f" and {len(where.theirs) - 8} more" if len(where.theirs) > 8 else ""
            raise RefusedError(
                "the work tree has changes that are not this rollback's: "
                f"{', '.join(where.theirs[:8])}{more}; nothing was changed",
                hint="commit or stash them first (git stash), then run this command again",
            )
    if now != goal:
        repo.update_ref(ref, goal, now, f"rollback {journal.plan.id}: {moving.get('why')}")
    if on_branch and not (where.at_new if forward else where.at_old):
        if where.at_old if forward else where.at_new:
            refuse_files_in_the_way(repo, other, goal)
            repo.checkout_tree(other, goal)  # untouched so far: the ordinary two-tree update
        else:
            for path in where.ours_untracked:  # files the killed update wrote, not in the index
                (repo.root / path).unlink()
            repo.reset_tree(goal)
    journal.moving = None
    return goal


def release_stale_index_lock(repo: GitRepo) -> None:
    """Remove ``index.lock`` left by our killed git process; refuse while a process holds it."""
    lock = repo.git_dir / "index.lock"
    if not lock.exists():
        return
    holders = state.lock_holders(lock)
    if holders:
        raise RefusedError(
            f"a git process (pid {holders[0]}) is still writing the index ({lock})",
            hint="wait for it to finish, then run this command again",
        )
    lock.unlink(missing_ok=True)
