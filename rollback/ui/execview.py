"""The execution view: one live line per running step, a tick with its undo hint when done,
and a summary at the end (what changed, safety ref and snapshot ids, next steps).

``ExecView`` is an ``execute.Reporter``. Git steps show a spinner; snapshot steps show bytes
when a provider reports progress through ``ExecView.progress`` (the ``snapshots.base.Progress``
signature) or when the step result carries a byte count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback.ui.render import is_quiet

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.progress import Progress, TaskID

    from rollback.plan import Plan, Step
    from rollback.run.journal import Journal
    from rollback.ui.lines import Line

DATA_KINDS = ("safety-snapshot", "restore-snapshot", "downgrade", "hook")
_BYTE_KEYS = ("bytes", "size_bytes", "raw_bytes")
_ID_KEYS = ("snapshot", "snapshot_id", "safety_snapshot", "id")


def _tick(out: Console) -> str:
    return "✓" if (out.encoding or "").lower().startswith("utf") else "ok"


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KB' (decimal units, as the snapshot listings use)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _live_progress(out: Console) -> Progress:
    """A transient rich progress display: a spinner per step, bytes once a size is known.

    rich.progress costs about 40 ms to import: it is loaded only when a terminal shows it.
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
    )
    from rich.text import Text

    class WhenSized(ProgressColumn):
        """Show ``inner`` only for a task with a known size: git steps keep just a spinner."""

        def __init__(self, inner: ProgressColumn) -> None:
            super().__init__()
            self.inner = inner

        def render(self, task: Task) -> RenderableType:
            return self.inner.render(task) if task.total is not None else Text("")

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        WhenSized(BarColumn(bar_width=20)),
        WhenSized(DownloadColumn()),
        console=out,
        transient=True,
    )


class ExecView:
    """Reporter drawing rich progress on ``out``; call ``close`` when the run ends."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self._progress: Progress | None = None  # made on the first step, on a terminal only
        self._task: TaskID | None = None
        self._title = ""  # "3. Take a safety snapshot": the running task's description
        self._started = False
        self._safety_id: str | None = None  # fills "<safety snapshot id>" in later undo hints

    def step_started(self, index: int, step: Step) -> None:
        if not self.out.is_terminal or is_quiet():
            return  # a log or a pipe: only the finished steps, no live redraws
        if self._progress is None:
            self._progress = _live_progress(self.out)
        if not self._started:
            self._progress.start()
            self._started = True
        # total=None: an indeterminate task; the bar and byte columns stay blank for git steps
        self._title = f"{index + 1}. {step.title}"
        self._task = self._progress.add_task(self._title, total=None)

    def progress(self, component: str, done: int, total: int | None) -> None:
        """Bytes of the running snapshot step (``snapshots.base.Progress`` signature)."""
        if self._task is not None and self._progress is not None:
            self._progress.update(
                self._task, description=f"{self._title}: {component}", completed=done, total=total
            )

    def step_done(self, index: int, step: Step, result: dict[str, Any]) -> None:
        if self._task is not None and self._progress is not None:
            self._progress.remove_task(self._task)
            self._task = None
        if is_quiet():
            return
        size = next((result[k] for k in _BYTE_KEYS if isinstance(result.get(k), int)), None)
        extra = f" ({human_bytes(size)})" if size is not None else ""
        from rollback.ui.lines import prose, show

        show(self.out, [prose(f"{_tick(self.out)} {index + 1}. {step.title}{extra}", hang=5)])
        for line in result.get("report") or []:  # e.g. what a replay kept, per table
            show(self.out, [prose(line, indent=3)])
        if step.kind == "safety-snapshot" and isinstance(result.get("snapshot"), str):
            self._safety_id = result["snapshot"]
            self.out.print(f"     safety snapshot: {self._safety_id}", markup=False, soft_wrap=True)
        undo = step.undo
        if self._safety_id:
            undo = undo.replace("<safety snapshot id>", self._safety_id)
        if undo and not is_quiet():
            from rollback.ui.lines import command, show

            show(self.out, [command(undo, 5, note="undo")])

    def close(self) -> None:
        """Stop the live display (also after a failure, so the error prints cleanly)."""
        if self._started and self._progress is not None:
            self._progress.stop()
            self._started = False


def snapshot_ids(journal: Journal) -> dict[str, str]:
    """Snapshot ids the run produced or used, by step kind (safety-snapshot, restore-snapshot)."""
    found: dict[str, str] = {}
    for i, step in enumerate(journal.plan.steps):
        if step.kind not in ("safety-snapshot", "restore-snapshot"):
            continue
        result = journal.result(i)
        for key in _ID_KEYS:
            value = result.get(key) or step.params.get(key)
            if isinstance(value, str) and value:
                found[step.kind] = value
                break
    return found


def next_steps(plan: Plan, provider: str | None) -> list[Line]:
    """What a person does after the rollback: push, deploy, verify (commands on their own)."""
    from rollback.ui.lines import command, prose

    pushed = any(s.kind == "push" for s in plan.steps)
    remote = next((str(s.params.get("remote")) for s in plan.steps if s.kind == "push"), "origin")
    lines = []
    if not pushed:
        if plan.strategy == "park":
            lines.append(prose("- push (history is rewritten: force, with lease):", 2))
            lines.append(
                command(
                    f"git push --force-with-lease={plan.branch}:{plan.head} {remote} {plan.branch}",
                    4,
                )
            )
        else:
            lines += [prose("- push:", 2), command(f"git push {remote} {plan.branch}", 4)]
    if provider == "magento-cloud":
        lines.append(
            prose(
                "- deploy: on Magento Cloud the next deploy ships what is in git: pushing "
                f"{plan.branch} deploys the rolled-back code",
                2,
            )
        )
    else:
        lines.append(prose("- deploy: run your usual deploy of this branch", 2))
    lines.append(
        prose("- verify: open the site or app, run the smoke tests, watch the error logs", 2)
    )
    return lines


def summary(plan: Plan, journal: Journal, out: Console, *, provider: str | None = None) -> None:
    """The end of a run: what changed, the ids that undo it, and what to do next."""
    from rollback.ui.lines import command, prose, show

    if journal.status == "stopped":
        show(
            out,
            [
                prose(
                    "Stopped at the conflict: resolve it, then continue the revert and the "
                    "rollback (or abort it to put everything back):",
                    style="yellow",
                ),
                command("git revert --continue", 2),
                command("rollback resume", 2),
                command("rollback abort", 2),
            ],
        )
        return
    after = str(journal.after or "")[:10]
    count = len(plan.commits)
    lines = [
        prose(
            f"Done: {plan.branch} moved from {plan.head[:10]} to {after} "
            f"({plan.strategy}, {count} commit(s) undone).",
            style="bold green",
        ),
        prose(f"safety ref: {plan.safety_ref} -> {plan.head[:10]}", 2),
    ]
    ids = snapshot_ids(journal)
    if "restore-snapshot" in ids:
        lines.append(prose(f"data restored from snapshot {ids['restore-snapshot']}", 2))
    if "safety-snapshot" in ids:
        sid = ids["safety-snapshot"]
        lines.append(prose(f"safety snapshot {sid}: the data before the rollback", 2))
        lines.append(command(f"rollback snapshot restore --yes {sid}", 4, note="the data only"))
    lines += [prose("undo it all (code and data):", 2), command(f"rollback undo {plan.id}", 4)]
    lines.append(prose("Next:", style="bold"))
    lines += next_steps(plan, provider)
    show(out, lines)
