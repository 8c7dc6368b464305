"""How snapshots look to users: rich tables, JSON forms, and the progress display.

JSON forms are stable for scripts: times are UTC ISO 8601, sizes are bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rollback.data.snapshots.base import (
    Progress,
    RestoreResult,
    Snapshot,
    VerifyResult,
    no_progress,
)

if TYPE_CHECKING:
    from rich.table import Table


def iso(when: datetime | None) -> str | None:
    """``2026-11-22T15:42:00Z`` (UTC), or None."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_json(s: Snapshot) -> dict[str, Any]:
    """The JSON form of one snapshot."""
    return {
        "id": s.id,
        "provider": s.provider,
        "created_at": iso(s.created_at),
        "label": s.label,
        "commit": s.commit,
        "branch": s.branch,
        "restorable": s.restorable,
        "expires_at": iso(s.expires_at),
        "size_bytes": s.size_bytes,
        "added_bytes": s.added_bytes,
        "components": list(s.components),
        "status": s.status,
        "extra": dict(s.extra),
    }


def restore_json(r: RestoreResult) -> dict[str, Any]:
    """The JSON form of a finished restore, with the command that undoes it."""
    safety = r.safety_snapshot
    return {
        "restored": snapshot_json(r.snapshot),
        "safety_snapshot": snapshot_json(safety) if safety else None,
        "skipped_safety": r.skipped_safety,
        "undo": f"rollback snapshot restore {safety.id}" if safety else None,
    }


def verify_json(v: VerifyResult) -> dict[str, Any]:
    return {"id": v.snapshot_id, "ok": v.ok, "problems": list(v.problems)}


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def snapshots_columns_table(snapshots: list[Snapshot], columns: tuple[str, ...]) -> Table:
    """The table with the chosen ``--columns``; ids never shortened."""
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for c in columns:
        table.add_column(c, no_wrap=c in ("id", "commit", "created_at"), overflow="fold")
    for s in snapshots:
        table.add_row(*(str(COLUMNS[c](s)) for c in columns))
    return table


def snapshots_table(snapshots: list[Snapshot]) -> Table:
    """Newest first: id (it starts with the UTC time), label, code, size, restorable until.

    Ids are never shortened (users copy them); the label column gives way on narrow terminals.
    """
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    width = max((len(s.id) for s in snapshots), default=2)
    table.add_column("ID (UTC time)", no_wrap=True, min_width=width)
    table.add_column("Label", ratio=1, overflow="fold")
    table.add_column("Code", no_wrap=True)
    table.add_column("Size", no_wrap=True, justify="right", min_width=8)
    table.add_column("Restorable", no_wrap=True, min_width=10)
    for s in snapshots:
        code = (s.commit or "")[:8]
        if s.branch:
            code = f"{code} ({s.branch})" if code else s.branch
        if s.restorable:
            until = f"{s.expires_at.astimezone(timezone.utc):%Y-%m-%d}" if s.expires_at else "yes"
        else:
            until = "expired"
        label = s.label or ""
        if s.extra.get("safety_for"):
            label = f"{label} (before restoring {s.extra['safety_for']})".strip()
        table.add_row(s.id, label, code or "-", human_size(s.size_bytes), until)
    return table


# -- listings for scripts: --format csv|tsv|json and --columns -------------------------------


def _until(s: Snapshot) -> str:
    if not s.restorable:
        return "expired"
    return f"{s.expires_at.astimezone(timezone.utc):%Y-%m-%d}" if s.expires_at else "yes"


COLUMNS: dict[str, Any] = {
    "id": lambda s: s.id,
    "created_at": lambda s: iso(s.created_at),
    "label": lambda s: s.label or "",
    "commit": lambda s: s.commit or "",
    "branch": lambda s: s.branch or "",
    "code": lambda s: f"{(s.commit or '')[:8]}" + (f" ({s.branch})" if s.branch else ""),
    "size_bytes": lambda s: "" if s.size_bytes is None else str(s.size_bytes),
    "size": lambda s: human_size(s.size_bytes),
    "restorable": _until,
    "expires_at": lambda s: iso(s.expires_at) or "",
    "status": lambda s: s.status,
    "provider": lambda s: s.provider,
    "components": lambda s: " ".join(s.components),
}
DEFAULT_COLUMNS = ("id", "label", "code", "size", "restorable")
MACHINE_COLUMNS = (
    "id",
    "created_at",
    "label",
    "commit",
    "branch",
    "size_bytes",
    "expires_at",
    "restorable",
    "status",
)


def parse_columns(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """``--columns a,b``: known names only (a typo gets the nearest name)."""
    if raw is None:
        return default
    import difflib

    from rollback.errors import UsageError

    names = tuple(c.strip() for c in raw.split(",") if c.strip())
    for name in names:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, list(COLUMNS), n=1)
            mean = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"--columns: unknown column {name!r}{mean}", hint=f"columns: {', '.join(COLUMNS)}"
            )
    if not names:
        raise UsageError("--columns: name at least one column", hint=", ".join(COLUMNS))
    return names


def snapshots_delimited(snapshots: list[Snapshot], columns: tuple[str, ...], sep: str) -> str:
    """CSV (``sep=","``, quoted as needed) or TSV, with a header row."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=sep,
        lineterminator="\n",
        quoting=csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE,
        escapechar=None if sep == "," else "\\",
    )
    writer.writerow(columns)
    for s in snapshots:
        writer.writerow([COLUMNS[c](s) for c in columns])
    return buffer.getvalue()


@contextmanager
def progress_display() -> Iterator[Progress]:
    """A progress callback: a rich display on stderr when it is a terminal, else silent."""
    from rollback.ui.render import error_console

    console = error_console()
    if not console.is_terminal:
        yield no_progress
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with RichProgress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def report(component: str, done: int, total: int | None) -> None:
            if component not in tasks:
                tasks[component] = bar.add_task(component, total=total)
            bar.update(tasks[component], completed=done, total=total)

        yield report
