"""Code strategies: (history, target, options) -> Plan. Pure functions, no I/O.

The planner (``planner.py``) gathers the facts from git; these functions only decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rollback.errors import RefusedError, UsageError
from rollback.git.history import CommitInfo
from rollback.plan import CommitRef, Plan, Step

MAX_LISTED = 1000  # a restore commit's message lists at most this many undone commits


@dataclass(frozen=True)
class Facts:
    """What the planner read from the repository."""

    repo: str
    branch: str
    head: str
    target: str
    target_ref: str
    target_subject: str
    undone: tuple[CommitInfo, ...]  # first-parent commits after the target, newest first
    remote: str | None = None  # the upstream's remote, for push steps
    upstream: str | None = None  # e.g. "origin/main"
    selected: tuple[CommitInfo, ...] = ()  # revert-selected: chosen commits, newest first
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    empty: tuple[str, ...] = ()  # commits whose revert changes nothing (already reverted)


@dataclass(frozen=True)
class Options:
    strategy: str
    push: bool = False
    stop_at_conflict: bool = False
    park_branch: str | None = None  # park: name of the inactive branch


@dataclass(frozen=True)
class Choice:
    """A strategy as the wizard offers it: allowed or not, and why, in one line."""

    strategy: str
    allowed: bool
    reason: str


def _ref(c: CommitInfo) -> CommitRef:
    return CommitRef(c.sha, c.subject, c.is_merge, c.touches_data, c.pushed, c.data_files)


def revert_message(sha: str, first_line: str, parents: Sequence[str]) -> str:
    """The message ``git revert --no-edit -m 1`` writes for a commit."""
    text = f'Revert "{first_line}"\n\nThis reverts commit {sha}'
    if len(parents) > 1:
        text += f", reversing\nchanges made to {parents[0]}"
    return text + ".\n"


def restore_message(facts: Facts, plan_id: str) -> str:
    lines = [
        f'Roll back to {facts.target[:10]} "{facts.target_subject}"',
        "",
        f"Restores the tree of {facts.target} ({facts.target_ref}),",
        f"undoing {len(facts.undone)} commit(s):",
        "",
    ]
    lines += [f"  {c.short} {c.subject}" for c in facts.undone[:MAX_LISTED]]
    if len(facts.undone) > MAX_LISTED:
        rest = len(facts.undone) - MAX_LISTED
        lines.append(f"  ... and {rest} more: git log --first-parent {facts.target}..{facts.head}")
    lines += ["", f"Made by rollback plan {plan_id}."]
    return "\n".join(lines) + "\n"


def choices(undone: Sequence[CommitInfo], *, has_remote: bool) -> list[Choice]:
    """Which strategies apply to rolling back ``undone``, the recommended one first."""
    pushed = [c for c in undone if c.pushed]
    merges = [c for c in undone if c.is_merge]
    out: list[Choice] = []
    if not pushed:
        why = "nothing is pushed yet" if has_remote else "the branch has no remote"
        out.append(Choice("reset", True, f"{why}: move the branch back, history stays clean"))
    if len(undone) > 20:
        out.append(Choice("restore", True, f"{len(undone)} commits: one commit, cannot conflict"))
        out.append(Choice("revert", True, "one revert commit per undone commit"))
    else:
        note = f", merges with -m 1 ({len(merges)})" if merges else ""
        out.append(Choice("revert", True, f"one revert commit per undone commit{note}"))
        out.append(Choice("restore", True, "one commit that restores the target's tree"))
    out.append(Choice("revert-selected", True, "revert only chosen commits, keep the rest"))
    park_why = "rewrites published history: needs a force push" if pushed else "keeps the head"
    out.append(Choice("park", True, f"park the head on an inactive branch; {park_why}"))
    if pushed:
        out.append(Choice("reset", False, f"{len(pushed)} undone commit(s) are already pushed"))
    return out


def build_plan(facts: Facts, options: Options, *, plan_id: str, created_at: str) -> Plan:
    """Turn facts and options into a Plan, or refuse with a one-line reason."""
    strategy = options.strategy
    commits = facts.selected if strategy == "revert-selected" else facts.undone
    if not commits:
        raise UsageError(
            f"nothing to roll back: {facts.target_ref} is the current head of {facts.branch}"
        )
    if strategy in ("revert", "revert-selected") and set(facts.empty) >= {c.sha for c in commits}:
        shas = ", ".join(c.short for c in commits[:5])
        raise UsageError(
            f"nothing to roll back: reverting {shas} changes nothing (already reverted)",
            hint="see rollback log; git log --grep 'This reverts commit' shows the reverts",
        )
    safety = f"refs/rollback/{plan_id}/before"
    steps: list[Step] = [
        Step(
            "safety-ref",
            f"Keep the current head {facts.head[:10]} reachable as {safety}",
            (f"git update-ref -m 'rollback {plan_id}: before' {safety} {facts.head} ''",),
            f"git update-ref -d {safety}",
            {"ref": safety, "sha": facts.head},
        )
    ]
    risks = _risks(facts, commits, strategy)
    builder = _BUILDERS.get(strategy)
    if builder is None:
        raise UsageError(f"unknown strategy {strategy!r}; choose one of {', '.join(_BUILDERS)}")
    more_steps, undo = builder(facts, options, plan_id)
    steps += more_steps
    if options.push and strategy in ("revert", "restore", "revert-selected"):
        steps.append(_push_step(facts, plan_id, force=False))
    return Plan(
        id=plan_id,
        created_at=created_at,
        repo=facts.repo,
        branch=facts.branch,
        head=facts.head,
        target=facts.target,
        target_ref=facts.target_ref,
        strategy=strategy,
        commits=tuple(_ref(c) for c in commits),
        steps=tuple(steps),
        risks=tuple(risks),
        undo=tuple(undo),
        options={
            "push": options.push,
            "stop_at_conflict": options.stop_at_conflict,
            "park_branch": options.park_branch,
        },
        conflicts={k: tuple(v) for k, v in facts.conflicts.items() if v},
    )


def _risks(facts: Facts, commits: Sequence[CommitInfo], strategy: str) -> list[str]:
    risks = []
    merges = [c for c in commits if c.is_merge]
    if merges and strategy in ("revert", "revert-selected"):
        risks.append(
            f"{len(merges)} merge commit(s) are reverted against their first parent (-m 1); "
            "merging that branch again later needs a revert of the revert"
        )
    data = [c for c in commits if c.touches_data]
    if data:
        names = ", ".join(c.short for c in data[:5]) + (" ..." if len(data) > 5 else "")
        risks.append(
            f"{len(data)} undone commit(s) change the data schema ({names}): the data may "
            "already use the newer schema; pair the rollback with a snapshot or a downgrade"
        )
    pushed = [c for c in commits if c.pushed]
    if pushed and strategy == "park":
        risks.append(
            f"rewrites published history: {len(pushed)} undone commit(s) are already pushed; "
            "others must reset their clones and a force push is needed"
        )
    if facts.conflicts and any(facts.conflicts.values()):
        files = sorted({f for v in facts.conflicts.values() for f in v})
        risks.append(f"reverting conflicts in {len(files)} file(s): {', '.join(files[:8])}")
    return risks


def _move_step(facts: Facts, to: str, what: str, *, by_revert: bool = False) -> Step:
    new = "$NEW" if to == "@written" else to
    commands = (
        ("# git revert above already moved the branch",)
        if by_revert
        else (
            f"git read-tree -m -u {facts.head} {new}",
            f"git update-ref -m 'rollback' refs/heads/{facts.branch} {new} {facts.head}",
        )
    )
    return Step(
        "move-branch",
        f"Move {facts.branch} from {facts.head[:10]} to {what} and update the work tree",
        commands,
        f"git reset --keep {facts.head}",
        {"branch": facts.branch, "from": facts.head, "to": to},
    )


def _push_step(facts: Facts, plan_id: str, *, force: bool) -> Step:
    remote = facts.remote or "origin"
    if force:
        cmd = f"git push --force-with-lease={facts.branch}:{facts.head} {remote} {facts.branch}"
    else:
        cmd = f"git push {remote} {facts.branch}"
    return Step(
        "push",
        f"Push {facts.branch} to {remote}" + (" (force, with lease)" if force else ""),
        (cmd,),
        f"rollback undo --apply {plan_id} && git push {remote} {facts.branch}",
        {"remote": remote, "branch": facts.branch, "force": force, "lease": facts.head},
    )


# Undo texts name each command a person may type as a leading code span ("`cmd`: what it
# does"): the terminal shows it whole on its own line, the runbook as code (ui/lines.py).
def _undo_lines(facts: Facts, plan_id: str) -> list[str]:
    return [
        f"`rollback undo {plan_id}`: before anything is pushed, moves {facts.branch} back to "
        f"{facts.head[:10]}; after pushing, plans a revert of the rollback commits",
        f"`git reset --keep {facts.head}`: the same by hand, before anything is pushed",
    ]


def _skipping(facts: Facts, shas: Sequence[str]) -> str:
    """'; skip 1 whose revert is empty: 1234567890' (already reverted, or an empty commit)."""
    empty = [s for s in shas if s in facts.empty]
    if not empty:
        return ""
    return f"; skip {len(empty)} whose revert is empty: " + ", ".join(s[:10] for s in empty)


def _revert(facts: Facts, options: Options, plan_id: str) -> tuple[list[Step], list[str]]:
    shas = [c.sha for c in facts.undone]
    n = len(shas) - len([s for s in shas if s in facts.empty])
    step = Step(
        "write-commits",
        f"Write {n} revert commit(s), newest first, as git revert --no-edit -m 1 would"
        + _skipping(facts, shas),
        (f"git revert --no-edit -m 1 $(git rev-list --first-parent {facts.target}..{facts.head})",),
        "",
        {"mode": "revert", "commits": [c.sha for c in facts.undone], "tree": "target"},
    )
    move = _move_step(facts, "@written", "the last revert commit", by_revert=True)
    return [step, move], _undo_lines(facts, plan_id)


def _restore(facts: Facts, options: Options, plan_id: str) -> tuple[list[Step], list[str]]:
    message = restore_message(facts, plan_id)
    step = Step(
        "write-commits",
        f"Write one commit on top of {facts.head[:10]} whose tree is the tree of "
        f"{facts.target[:10]} ({len(facts.undone)} commits undone)",
        (
            f"NEW=$(git commit-tree {facts.target}^{{tree}} -p {facts.head} "
            f"-m 'Roll back to {facts.target[:10]}')",
        ),
        "",
        {"mode": "restore", "tree_of": facts.target, "message": message},
    )
    return [step, _move_step(facts, "@written", "the restore commit")], _undo_lines(facts, plan_id)


def _revert_selected(facts: Facts, options: Options, plan_id: str) -> tuple[list[Step], list[str]]:
    shas = [c.sha for c in facts.selected]
    conflicted = [c for c in facts.selected if facts.conflicts.get(c.sha)]
    if conflicted and not options.stop_at_conflict:
        first = conflicted[0]
        files = ", ".join(facts.conflicts[first.sha][:5])
        raise RefusedError(
            f"reverting {first.short} would conflict in {files}; nothing was changed",
            hint="choose other commits, use --strategy restore, or pass --stop-at-conflict "
            "to revert up to the conflict and resolve it by hand",
        )
    steps: list[Step] = []
    clean = shas
    if conflicted:
        cut = shas.index(conflicted[0].sha)
        clean, rest = shas[:cut], shas[cut:]
    if clean:
        n = len([s for s in clean if s not in facts.empty])
        steps.append(
            Step(
                "write-commits",
                f"Write {n} revert commit(s), newest first (conflicts predicted: none)"
                + _skipping(facts, clean),
                (f"git revert --no-edit -m 1 {' '.join(s[:10] for s in clean)}",),
                "",
                {"mode": "revert-selected", "commits": clean},
            )
        )
        steps.append(_move_step(facts, "@written", "the last revert commit", by_revert=True))
    if conflicted:
        steps.append(
            Step(
                "stop-at-conflict",
                f"Start git revert of {len(rest)} commit(s) and stop at the conflict in "
                f"{conflicted[0].short} for you to resolve",
                (f"git revert --no-edit -m 1 {' '.join(s[:10] for s in rest)}",),
                "git revert --abort",
                {"commits": rest},
            )
        )
    return steps, _undo_lines(facts, plan_id)


def _park(facts: Facts, options: Options, plan_id: str) -> tuple[list[Step], list[str]]:
    name = options.park_branch or f"inactive/{facts.branch}"
    steps = [
        Step(
            "create-branch",
            f"Park the current head {facts.head[:10]} on the inactive branch {name}",
            (f"git branch {name} {facts.head}",),
            f"git branch -D {name}",
            {"branch": name, "sha": facts.head},
        ),
        _move_step(facts, facts.target, f"{facts.target[:10]} ({facts.target_ref})"),
    ]
    if options.push:
        remote = facts.remote or "origin"
        steps.append(
            Step(
                "push",
                f"Push the inactive branch {name} to {remote}",
                (f"git push {remote} {name}",),
                f"git push {remote} --delete {name}",
                {"remote": remote, "branch": name, "force": False, "lease": None},
            )
        )
        steps.append(_push_step(facts, plan_id, force=True))
    undo = [
        f"`rollback undo {plan_id}`: moves {facts.branch} back to {facts.head[:10]}",
        f"`git reset --keep {name}`: the same by hand",
    ]
    if any(c.pushed for c in facts.undone):
        remote = facts.remote or "origin"
        undo.append(
            f"`git push --force-with-lease={facts.branch}:{facts.head} {remote} {facts.branch}`: "
            "publishes the moved branch (published history is rewritten)"
        )
    return steps, undo


def _reset(facts: Facts, options: Options, plan_id: str) -> tuple[list[Step], list[str]]:
    pushed = [c for c in facts.undone if c.pushed]
    if pushed:
        raise RefusedError(
            f"reset refused: {len(pushed)} of the undone commits are already pushed "
            f"(newest: {pushed[0].short})",
            hint="use --strategy revert or restore (history stays), or park (rewrites it)",
        )
    steps = [_move_step(facts, facts.target, f"{facts.target[:10]} ({facts.target_ref})")]
    undo = [
        f"`rollback undo {plan_id}`: moves {facts.branch} back to {facts.head[:10]}; the old "
        f"head stays reachable as refs/rollback/{plan_id}/before"
    ]
    return steps, undo


_BUILDERS = {
    "revert": _revert,
    "restore": _restore,
    "revert-selected": _revert_selected,
    "park": _park,
    "reset": _reset,
}
