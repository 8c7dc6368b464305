"""Gather the facts a plan needs from git, then hand them to the pure strategy builders.

This is the one planner every entry point uses: ``rollback plan``, ``apply``, the wizard and
the demo all call ``make_plan``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from rollback.code.strategies import Facts, Options, build_plan
from rollback.data.frameworks import MigrationRules
from rollback.data.project import Project, load_project
from rollback.errors import RefusedError, UsageError
from rollback.git.history import CommitInfo, History, read_history
from rollback.git.repo import EMPTY_TREE, GitRepo
from rollback.plan import Plan


@dataclass(frozen=True)
class Target:
    sha: str
    ref: str  # as the user gave it, e.g. "v1.2", "HEAD~3", "before 2026-11-20 14:00"


def new_plan_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"


def parse_when(text: str) -> datetime:
    """Parse ``--before``: ISO 8601 date or date and time; local time unless a zone is given."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"--before {text!r}: not a date; write it as 2026-11-20 or '2026-11-20 14:00'"
        ) from exc
    return when if when.tzinfo else when.astimezone()


def require_branch(repo: GitRepo, branch: str | None = None) -> str:
    """The checked-out branch (``branch`` when the caller has read it already)."""
    branch = branch or repo.branch()
    if branch is None:
        from rollback.git.state import busy

        doing = busy(repo)  # a rebase or a bisect detaches HEAD: name it, and how to finish
        if doing is not None:
            raise RefusedError(
                f"a {doing.operation} is in progress; finish or abandon it first",
                hint=doing.finish,
            )
        raise RefusedError(
            "HEAD is detached: rollback moves a branch, and none is checked out",
            hint="check out the branch to roll back first, e.g. git switch main",
        )
    return branch


def resolve_target(repo: GitRepo, *, to: str | None, before: str | None, head: str) -> Target:
    if (to is None) == (before is None):
        raise UsageError("name exactly one target: --to REF or --before DATE")
    if before is not None:
        when = parse_when(before)
        sha = repo.log(
            "--first-parent", "-1", "--format=%H", f"--before=@{int(when.timestamp())}", head
        ).strip()
        if not sha:
            oldest = repo.log("--first-parent", "--format=%ci", "--reverse", head).split("\n", 1)[0]
            raise UsageError(
                f"no commit on this branch is as old as {before} (the oldest is from {oldest})"
            )
        return Target(sha, f"before {before}")
    assert to is not None
    found = repo.rev_parse(to)
    if found is None:
        if repo.is_shallow():
            raise RefusedError(
                f"{to!r} is not in this shallow clone: history is cut off before it",
                hint="fetch more history first: git fetch --unshallow (or --deepen=N)",
            )
        raise UsageError(
            f"unknown revision {to!r}: not a commit, tag or branch of this repository",
            hint="list candidates with: rollback log",
        )
    return Target(found, to)


def make_plan(
    repo: GitRepo,
    *,
    strategy: str,
    to: str | None = None,
    before: str | None = None,
    commits: Sequence[str] = (),
    push: bool = False,
    stop_at_conflict: bool = False,
    project: Project | None = None,
    now: datetime | None = None,
    plan_id: str | None = None,
) -> Plan:
    """Plan a rollback of the checked-out branch. Reads git; changes nothing."""
    now = now or datetime.now(timezone.utc)
    plan_id = plan_id or new_plan_id(now)
    rules = (project or load_project(repo.root)).rules
    branch_found, found = repo.where()
    branch = require_branch(repo, branch_found)
    if found is None:
        raise UsageError("the repository has no commits yet: nothing to roll back")
    head: str = found
    selected: tuple[CommitInfo, ...] = ()
    conflicts: dict[str, tuple[str, ...]] = {}
    empty: tuple[str, ...] = ()
    if strategy == "revert-selected":
        if to is not None or before is not None:
            raise UsageError("revert-selected takes --commits A,B,... instead of --to/--before")
        history, selected = _selected(repo, rules, commits, head)
        conflicts, empty = predict(repo, selected, head)
        target = Target(head, "HEAD")
        undone: tuple[CommitInfo, ...] = ()
    else:
        if commits:
            raise UsageError("--commits goes with --strategy revert-selected")
        target = resolve_target(repo, to=to, before=before, head=head)
        history = undone_history(repo, rules, target, head, branch)
        undone = history.commits
    upstream = history.upstream
    remote = (
        upstream.split("/", 1)[0] if upstream else (None if not history.has_remote else "origin")
    )
    target_tree, _, target_subject = repo.log("-1", "--format=%T%x00%s", target.sha).partition("\0")
    if strategy == "revert":
        trees = [c.tree for c in undone] + [target_tree.strip()]
        pairs = zip(undone, trees[1:], strict=True)
        empty = tuple(c.sha for c, parent in pairs if c.tree == parent)
    facts = Facts(
        repo=str(repo.root),
        branch=branch,
        head=head,
        target=target.sha,
        target_ref=target.ref,
        target_subject=target_subject.strip(),
        undone=undone,
        remote=remote,
        upstream=upstream,
        selected=selected,
        conflicts=conflicts,
        empty=empty,
    )
    options = Options(
        strategy=strategy,
        push=push,
        stop_at_conflict=stop_at_conflict,
        park_branch=f"inactive/{branch}-{now.astimezone().strftime('%Y%m%d-%H%M%S')}",
    )
    return build_plan(facts, options, plan_id=plan_id, created_at=now.isoformat(timespec="seconds"))


def undone_history(
    repo: GitRepo, rules: MigrationRules, target: Target, head: str, branch: str
) -> History:
    """The first-parent commits after ``target`` up to ``head``; refuses a target off that line."""
    if target.sha == head:
        raise UsageError(f"nothing to roll back: {target.ref} is the current head of {branch}")
    if not repo.is_ancestor(target.sha, head):
        raise UsageError(
            f"{target.ref} ({target.sha[:10]}) is not in the history of {branch}",
            hint="roll back to a commit listed by: rollback log",
        )
    history = read_history(repo, rules, since=target.sha, head=head, branch=branch)
    oldest = history.commits[-1] if history.commits else None
    if oldest is None or not oldest.parents or oldest.parents[0] != target.sha:
        raise UsageError(
            f"{target.ref} ({target.sha[:10]}) came in through a merge and is not on the "
            f"first-parent line of {branch}",
            hint="roll back to the merge commit or its first parent (see rollback log)",
        )
    return history


def _selected(
    repo: GitRepo, rules: MigrationRules, refs: Sequence[str], head: str
) -> tuple[History, tuple[CommitInfo, ...]]:
    if not refs:
        raise UsageError("revert-selected needs the commits to revert: --commits A,B,...")
    shas = _resolve_all(repo, refs)
    line = repo.log("--first-parent", "--format=%H", head).split()
    position = {sha: i for i, sha in enumerate(line)}
    off = [r for r, s in zip(refs, shas, strict=True) if s not in position]
    if off:
        raise UsageError(f"{off[0]} is not on the first-parent history of the current branch")
    oldest = max(position[s] for s in shas)
    since = line[oldest + 1] if oldest + 1 < len(line) else None
    history = read_history(repo, rules, since=since, head=head)
    chosen = set(shas)
    return history, tuple(c for c in history.commits if c.sha in chosen)


def _resolve_all(repo: GitRepo, refs: Sequence[str]) -> list[str]:
    """Full shas of ``refs`` in one ``git rev-parse`` (one process per ref cost ~10 ms each)."""
    # --revs-only: anything that is not a revision is dropped, and the count check catches it
    status, out, _ = repo.git_status(
        "rev-parse", "--revs-only", "--end-of-options", *(f"{r}^{{commit}}" for r in refs)
    )
    shas = out.split()
    if status == 0 and len(shas) == len(refs):
        return shas
    for ref in refs:  # something is wrong: name the first ref that is not a commit
        if repo.rev_parse(ref) is None:
            raise UsageError(f"unknown revision {ref!r}", hint="list candidates with: rollback log")
    raise UsageError(f"cannot resolve the commits {', '.join(refs)}")


def predict_conflicts(
    repo: GitRepo, selected: Sequence[CommitInfo], head: str
) -> dict[str, tuple[str, ...]]:
    """Revert each selected commit (newest first) in memory; the files of the first conflict."""
    return predict(repo, selected, head)[0]


def predict(
    repo: GitRepo, selected: Sequence[CommitInfo], head: str
) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(the files of the first conflict, the commits whose revert is empty: already reverted).

    Nothing touches the work tree: ``git merge-tree --write-tree`` merges in the object database.
    """
    if not selected:
        return {}, ()
    parents = [f"{c.parents[0]}^{{tree}}" if c.parents else EMPTY_TREE for c in selected]
    parent_trees = repo.git("rev-parse", *parents).split()
    onto = repo.tree_of(head)
    empty: list[str] = []
    for commit, parent_tree in zip(selected, parent_trees, strict=True):
        tree, conflicts = repo.revert_tree(commit.sha, parent_tree, onto)
        if conflicts:
            return {commit.sha: tuple(conflicts)}, tuple(empty)
        if tree == onto:
            empty.append(commit.sha)
        onto = tree
    return {}, tuple(empty)
