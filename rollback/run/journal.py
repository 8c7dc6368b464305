"""The run journal under ``.git/rollback/<plan-id>/``: what ran, what remains.

Each step is journaled as started before it runs and as done (with its result) before the
next starts; every write is atomic (temporary file, fsync, rename), so a killed run leaves a
journal that ``status``, ``resume`` and ``abort`` can trust.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rollback.errors import UsageError
from rollback.plan import Plan, plan_from_json

ACTIVE = ("running", "stopped")  # a run that must be resumed, continued or aborted


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

    @property
    def path(self) -> Path:
        return self.folder / "journal.json"

    def done(self, index: int) -> bool:
        return any(s["index"] == index and s["status"] == "done" for s in self.steps)

    def result(self, index: int) -> dict[str, Any]:
        for s in self.steps:
            if s["index"] == index and s["status"] == "done":
                return dict(s.get("result", {}))
        return {}

    def mark(self, index: int, status: str, result: dict[str, Any] | None = None) -> None:
        self.steps = [s for s in self.steps if s["index"] != index]
        entry: dict[str, Any] = {"index": index, "kind": self.plan.steps[index].kind}
        entry.update(status=status, at=now_iso(), result=result or {})
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
        }
        tmp = self.folder / "journal.json.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=1, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        current = self.folder.parent / "current"
        if self.status in ACTIVE:
            _write_atomic(current, self.plan.id)
        elif current.exists() and current.read_text().strip() == self.plan.id:
            current.unlink()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
        )
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: the journal is damaged ({exc})") from exc


def current(git_dir: Path) -> Journal | None:
    """The run that is in progress or stopped, if any."""
    pointer = journal_root(git_dir) / "current"
    if not pointer.is_file():
        return None
    return load(git_dir, pointer.read_text().strip())


def all_runs(git_dir: Path) -> list[Journal]:
    root = journal_root(git_dir)
    if not root.is_dir():
        return []
    runs = [load(git_dir, p.name) for p in root.iterdir() if (p / "journal.json").is_file()]
    return sorted(runs, key=lambda j: j.plan.id)


def latest_completed(git_dir: Path) -> Journal | None:
    done = [j for j in all_runs(git_dir) if j.status == "completed"]
    return done[-1] if done else None
