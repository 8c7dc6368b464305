"""Put a run back to where it started, then say exactly what is back and what is not.

Used by ``execute`` when a step fails and by ``recovery`` for ``abort`` (and for an undo that
fails or is aborted, whose start is the completed rollback). Nothing is said from memory:
``check`` reads the real state (branch, HEAD, index, work tree, our refs, the remote refs this
run pushed) and compares it with the recorded "before"; what differs is listed with the
commands that finish it by hand.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from rollback.errors import OperationError, RefusedError, RollbackError
from rollback.git import state
from rollback.git.repo import GitRepo
from rollback.run import remote
from rollback.run.journal import Journal
from rollback.run.worktree import move, settle


@dataclass
class Report:
    back: list[str] = field(default_factory=list)
    not_back: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.not_back

    def text(self) -> str:
        parts = []
        if self.back:
            parts.append("put back: " + "; ".join(self.back))
        if self.not_back:
            parts.append("NOT put back: " + "; ".join(self.not_back))
        return ". ".join(parts)

    def hint(self) -> str | None:
        return "finish by hand: " + "  then  ".join(self.by_hand) if self.by_hand else None


def known_heads(journal: Journal) -> set[str]:
    heads = {journal.plan.head}
    for i, step in enumerate(journal.plan.steps):
        result = journal.result(i)
        for key in ("to", "written"):
            if key in result:
                heads.add(str(result[key]))
        if step.kind == "move-branch" and not str(step.params["to"]).startswith("@"):
            heads.add(str(step.params["to"]))
    if journal.after:
        heads.add(journal.after)
    if journal.moving:
        heads |= {str(journal.moving["from"]), str(journal.moving["to"])}
    return heads


def start_of(journal: Journal) -> str:
    """The branch head this run started from: the plan's head, or for an undo, its result."""
    if journal.status == "undoing" and journal.after:
        return journal.after
    return journal.plan.head


def put_back(repo: GitRepo, journal: Journal) -> Report:
    """Return branch, index, work tree, refs, pushed refs and data to the run's start.

    Refuses (RefusedError, nothing changed) when the branch was moved by someone else or git
    is busy with something that is not this run's. Otherwise does what it can and returns
    the checked report; the caller decides the status.
    """
    plan = journal.plan
    goal = start_of(journal)
    ref = f"refs/heads/{plan.branch}"
    now = repo.ref(ref)
    st = state.status(repo)
    busy = state.busy(repo, st.unmerged)
    ours_stopped = busy is not None and busy.operation == "revert" and journal.status == "stopped"
    safe = _abort_safety(repo) if ours_stopped else None
    if now is None:
        raise RefusedError(f"branch {plan.branch} no longer exists; nothing was changed")
    if now not in known_heads(journal) | ({safe} if safe else set()):
        raise RefusedError(
            f"{plan.branch} was moved by someone else since the rollback "
            f"(now at {now[:10]}); nothing was changed",
            hint=f"the state before the plan is kept at {plan.safety_ref}",
        )
    if busy is not None and not ours_stopped:
        raise RefusedError(
            f"a {busy.operation} is in progress; nothing was changed", hint=busy.finish
        )
    report = Report()
    if ours_stopped:
        repo.git("revert", "--abort")
        report.back.append("the stopped git revert is abandoned (git revert --abort)")
        journal.status = "aborting"
        journal.save()
    tree_error: OperationError | None = None
    try:
        if journal.moving:
            settle(repo, journal, forward=str(journal.moving["to"]) == goal)
            journal.save()
        now = repo.ref(ref)
        if now is not None and now != goal:
            on_branch = state.status(repo).branch == plan.branch
            move(
                repo, journal, branch=plan.branch, old=now, new=goal, why="put back", tree=on_branch
            )
            journal.save()
    except OperationError as exc:  # git failed half-way: say so, and what the state is
        journal.save()
        tree_error = exc
        if repo.ref(ref) == goal:
            _salvage(repo, goal)
    data_back, data_error = _data(repo, journal)
    pushed = remote.put_back(repo, journal)
    if goal == plan.head:
        _remove_created_refs(repo, journal)
    report = check(repo, journal, goal, pushed, report)
    if tree_error is not None:
        report.not_back.insert(0, f"updating the work tree failed ({tree_error})")
    if data_back:
        report.back.append(data_back)
    if data_error:
        report.not_back.append(f"the data: {data_error}")
        if data_error.hint:
            report.by_hand.append(data_error.hint)
    return report


def _salvage(repo: GitRepo, goal: str, limit: int = 200) -> None:
    """After a work-tree update died half-way: put back file by file what can be put back.

    One ``git restore`` per file, so that the file a filter fails on stays behind alone
    (check() then names it); past ``limit`` files, only the report.
    """
    st = state.status(repo)
    if st.branch is None or len(st.changed) > limit:
        return
    for path in st.changed:
        repo.git_status("restore", f"--source={goal}", "--staged", "--worktree", "--", path)


def _abort_safety(repo: GitRepo) -> str | None:
    """The HEAD git's sequencer last wrote: ``git revert --abort`` is safe only there."""
    try:
        return (repo.git_dir / "sequencer" / "abort-safety").read_text().strip() or None
    except OSError:
        return None


def _data(repo: GitRepo, journal: Journal) -> tuple[str | None, RollbackError | None]:
    """(what is back, what failed) for the data steps that ran."""
    data_kinds = {"restore-snapshot", "downgrade", "hook", "safety-snapshot"}
    if journal.status == "undoing" or not any(s.kind in data_kinds for s in journal.plan.steps):
        return None, None
    from rollback.run import data_steps

    if not data_steps.changed_data(journal):
        return None, None
    try:
        data_steps.undo_data(repo, journal)
    except (OperationError, RefusedError) as exc:
        return None, exc
    safety = data_steps.safety_of(journal)
    sid = safety[1] if safety else "?"
    return f"the data is back from the run's safety snapshot {sid}", None


def created_refs(journal: Journal) -> list[tuple[str, str]]:
    """(ref, sha) this run created: the safety ref, parked branches, the after ref."""
    plan = journal.plan
    refs = [(plan.safety_ref, plan.head)]
    for i, step in enumerate(plan.steps):
        if step.kind == "create-branch" and journal.started(i):
            refs.append((f"refs/heads/{step.params['branch']}", str(step.params["sha"])))
    return refs


def _remove_created_refs(repo: GitRepo, journal: Journal) -> None:
    """Delete what the run created, once the branch is back where it started (checked)."""
    plan = journal.plan
    if repo.ref(f"refs/heads/{plan.branch}") != plan.head:
        return  # the safety ref is the anchor until the branch is back
    for ref, sha in reversed(created_refs(journal)):
        if repo.ref(ref) == sha:
            with suppress(RollbackError):  # check() reports a ref still there
                repo.delete_ref(ref, sha)


def check(
    repo: GitRepo,
    journal: Journal,
    goal: str,
    pushed: list[remote.Pushed],
    report: Report | None = None,
) -> Report:
    """Compare the real state with the run's start; list what is back and what is not."""
    report = report or Report()
    plan = journal.plan
    branch = plan.branch
    now = repo.ref(f"refs/heads/{branch}")
    st = state.status(repo)
    if now == goal:
        report.back.append(f"{branch} is at {goal[:10]}")
    else:
        report.not_back.append(f"{branch} is at {str(now)[:10]}, not {goal[:10]}")
        report.by_hand.append(f"git update-ref refs/heads/{branch} {goal} {now or ''}".strip())
    if st.branch != branch:
        report.not_back.append(f"HEAD is not on {branch}")
        report.by_hand.append(f"git switch {branch}")
    elif st.entries or st.unmerged:
        files = st.changed
        more = f" and {len(files) - 8} more" if len(files) > 8 else ""
        report.not_back.append(
            "the index and work tree differ from it in "
            + ", ".join(_describe(e) for e in st.entries[:8])
            + (", " if st.entries[:8] and st.unmerged else "")
            + ", ".join(f"{p} (unmerged)" for p in st.unmerged[: max(0, 8 - len(st.entries))])
            + more
        )
        report.by_hand.append(
            f"git restore --source={branch} --staged --worktree -- {_args(files)}"
        )
    else:
        report.back.append("index and work tree match it")
    if goal == plan.head:
        for ref, sha in created_refs(journal):
            if repo.ref(ref) is None:
                report.back.append(f"{ref} removed")
            else:
                report.not_back.append(f"{ref} is still there")
                report.by_hand.append(f"git update-ref -d {ref} {sha}")
    for p in pushed:
        if p.now == p.before:
            report.back.append(p.describe_back())
        else:
            report.not_back.append(p.describe_not_back())
            report.by_hand.append(p.command())
    return report


def _describe(e: state.Entry) -> str:
    what = {"D": "deleted", "M": "modified", "T": "type changed", "A": "added"}
    code = e.xy[1] if e.xy[1] != "." else e.xy[0]
    return f"{e.path} ({what.get(code, 'changed')})"


def _args(paths: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(p) for p in paths)
