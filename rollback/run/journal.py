"""The run journal under ``.git/rollback/<plan-id>/``: what ran, what remains.

Each step is journaled as started before it runs and as done (with its result) before the
next starts; a branch move records its intent (``moving``: branch, from, to) before the branch
moves and clears it once index and work tree follow. Every write is atomic (a temporary file of
its own, fsync, rename), so a killed run leaves a journal that ``status``, ``resume`` and
``abort`` can trust.

One run at a time per repository: ``run_lock`` holds ``.git/rollback/lock`` (owner's host, pid,
command, time) for the whole of apply, resume, abort and undo. A run that is active in its
journal but whose lock owner is gone was interrupted (``interrupted``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rollback import lockfile
from rollback.errors import RefusedError, UsageError
from rollback.plan import Plan, plan_from_json

# a run that must be resumed, continued or aborted: running (apply), stopped (at a conflict),
# aborting and undoing (an abort or an undo in progress)
ACTIVE = ("running", "stopped", "aborting", "undoing")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Journal:
    plan: Plan
    folder: Path
    status: str = "running"  # running | stopped | completed | failed | aborted | undone
    steps: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    error: str | None = None
    after: str | None = None  # the branch head when the run completed
    moving: dict[str, Any] | None = None  # a branch move in flight: branch, from, to, why
    unfinished: list[str] = field(default_factory=list)  # what a failed run could not put back
    undo_code_only: bool = False  # an undo in progress leaves the data (--code-only)

    @property
    def active(self) -> bool:
        """Must be finished (resume) or put back (abort) before another run may start."""
        return self.status in ACTIVE or (self.status == "failed" and bool(self.unfinished))

    @property
    def path(self) -> Path:
        return self.folder / "journal.json"

    def done(self, index: int) -> bool:
        return any(s["index"] == index and s["status"] == "done" for s in self.steps)

    def started(self, index: int) -> bool:
        return any(s["index"] == index for s in self.steps)

    def intent(self, index: int) -> dict[str, Any]:
        """What a step recorded when it started (a push: the remote ref and its value before)."""
        for s in self.steps:
            if s["index"] == index:
                return dict(s.get("intent") or s.get("result") or {})
        return {}

    def result(self, index: int) -> dict[str, Any]:
        for s in self.steps:
            if s["index"] == index and s["status"] == "done":
                return dict(s.get("result", {}))
        return {}

    def mark(
        self,
        index: int,
        status: str,
        result: dict[str, Any] | None = None,
        *,
        intent: dict[str, Any] | None = None,
    ) -> None:
        old = next((s for s in self.steps if s["index"] == index), {})
        self.steps = [s for s in self.steps if s["index"] != index]
        entry: dict[str, Any] = {"index": index, "kind": self.plan.steps[index].kind}
        entry.update(status=status, at=now_iso(), result=result or {})
        if intent or old.get("intent"):
            entry["intent"] = intent or old.get("intent")
        self.steps.append(entry)
        self.steps.sort(key=lambda s: int(s["index"]))
        self.save()

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        plan_file = self.folder / "plan.json"
        if not plan_file.exists():  # the plan never changes during a run: write it once
            _write_atomic(plan_file, self.plan.to_json())
        body = {
            "status": self.status,
            "steps": self.steps,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "after": self.after,
            "moving": self.moving,
            "unfinished": self.unfinished,
            "undo_code_only": self.undo_code_only,
        }
        _write_atomic(self.path, json.dumps(body, indent=1, ensure_ascii=False))
        current = self.folder.parent / "current"
        if self.active:
            if not current.exists() or current.read_text().strip() != self.plan.id:
                _write_atomic(current, self.plan.id)
        elif current.exists() and current.read_text().strip() == self.plan.id:
            current.unlink()


_write_atomic = lockfile.write_atomic  # a temporary name of its own per writer


def journal_root(git_dir: Path) -> Path:
    return git_dir / "rollback"


def load(git_dir: Path, plan_id: str) -> Journal:
    folder = journal_root(git_dir) / plan_id
    path = folder / "journal.json"
    if not path.is_file():
        raise UsageError(
            f"no rollback run with id {plan_id!r} in this repository",
            hint="list runs with: rollback status --all",
        )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        plan_path = folder / "plan.json"
        plan = plan_from_json(plan_path.read_text(encoding="utf-8"), source=str(plan_path))
        return Journal(
            plan=plan,
            folder=folder,
            status=body["status"],
            steps=list(body["steps"]),
            started_at=body["started_at"],
            finished_at=body.get("finished_at"),
            error=body.get("error"),
            after=body.get("after"),
            moving=body.get("moving"),
            unfinished=list(body.get("unfinished") or []),
            undo_code_only=bool(body.get("undo_code_only")),
        )
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: the journal is damaged ({exc})") from exc


def current(git_dir: Path) -> Journal | None:
    """The run that is in progress or stopped, if any."""
    pointer = journal_root(git_dir) / "current"
    try:
        plan_id = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return load(git_dir, plan_id)


def lock_path(git_dir: Path) -> Path:
    return journal_root(git_dir) / "lock"


def run_owner(git_dir: Path) -> lockfile.Owner | None:
    """Who holds the repository's rollback lock now (None: nobody)."""
    return lockfile.read_owner(lock_path(git_dir))


def interrupted(journal: Journal, git_dir: Path) -> lockfile.Owner | None:
    """The dead owner of an active run whose process is gone (None: not interrupted).

    A run is interrupted when its journal says running (or aborting, undoing) and no live
    process holds the lock: its owner was killed, or the machine restarted.
    """
    if journal.status not in ("running", "aborting", "undoing"):
        return None
    owner = run_owner(git_dir)
    if owner is None:
        return lockfile.Owner(None, None, "?", journal.started_at)
    return owner if owner.alive() is False else None


@contextmanager
def run_lock(git_dir: Path, *, take_dead: bool = False) -> Iterator[lockfile.Owner | None]:
    """One rollback at a time in this repository (apply, resume, abort, undo).

    ``take_dead``: take over the lock of a run whose process is gone (resume and abort do;
    a new apply is told to resume or abort that run instead). Yields the dead owner taken over.
    """
    try:
        with lockfile.hold(lock_path(git_dir), take_dead=take_dead) as previous:
            yield previous
    except lockfile.LockTaken as taken:
        if taken.path != lock_path(git_dir):
            raise
        raise _busy(git_dir, taken) from None


def _busy(git_dir: Path, taken: lockfile.LockTaken) -> RefusedError:
    who = taken.owner.describe() if taken.owner else "an unknown owner"
    if taken.dead:
        active = current(git_dir)
        name = f"rollback {active.plan.id}" if active else "a rollback"
        return RefusedError(
            f"{name} was interrupted: its process is gone ({who})",
            hint="see rollback status; then rollback resume or rollback abort",
        )
    return RefusedError(
        f"another rollback is running in this repository ({who})",
        hint="wait for it to finish; rollback status shows its progress",
    )


def all_runs(git_dir: Path) -> list[Journal]:
    root = journal_root(git_dir)
    if not root.is_dir():
        return []
    runs = [load(git_dir, p.name) for p in root.iterdir() if (p / "journal.json").is_file()]
    return sorted(runs, key=lambda j: j.plan.id)


def latest_completed(git_dir: Path) -> Journal | None:
    done = [j for j in all_runs(git_dir) if j.status == "completed"]
    return done[-1] if done else None
