"""Deploy marks on the command line: ``checkpoint --mark-only``, ``snapshot marks`` and
``snapshot restore ID --to-mark M [--keep-writes]``.

Parses, delegates to ``rollback/data/marks.py`` and ``rollback/data/snapshots/pitr.py``, and
shows what they return; decides nothing.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.data.marks import Mark
    from rollback.data.snapshots.local import LocalStore
    from rollback.data.snapshots.logreplay import ComponentReplay


def mark_json(mark: Mark) -> dict[str, Any]:
    return mark.to_dict()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def mark_checkpoint(
    store: LocalStore, commit: str | None, branch: str | None, label: str | None, *, as_json: bool
) -> None:
    """Record the current commit and the databases' log positions, with no dump."""
    from rollback.data.marks import create_mark
    from rollback.ui.render import console, error_console

    if commit is None:
        raise UsageError(
            f"a deploy mark records the current commit, but {store.settings.root} has none",
            hint="run it in your project's git work tree",
        )
    mark = create_mark(store, commit=commit, branch=branch, label=label)
    if as_json:
        _print_json(mark_json(mark))
        return
    where = ", ".join(f"{name} {_where(p)}" for name, p in mark.positions.items())
    console().print(f"Deploy mark {mark.id}: code at {commit[:10]}; {where}", markup=False)
    for name, p in mark.positions.items():
        if name not in mark.logged():
            error_console().print(f"  {name}: {_where(p)}", markup=False)


def _where(p: dict[str, str]) -> str:
    if "binlog_file" in p:
        gtid = f", GTID {p['binlog_gtid']}" if p.get("binlog_gtid") else ""
        return f"binlog {p['binlog_file']}:{p['binlog_pos']}{gtid}"
    if "wal_lsn" in p:
        return f"WAL {p['wal_lsn']} (wal_level={p.get('wal_level', '?')})"
    return next(iter(p.values()), "no position")


def show_marks(store: LocalStore, *, as_json: bool) -> None:
    """List the deploy marks (checkpoint --mark-only), newest first."""
    from rollback.data.marks import list_marks
    from rollback.ui.render import console

    found = list_marks(store.store)
    if as_json:
        _print_json([mark_json(m) for m in found])
        return
    if not found:
        console().print(
            "No deploy marks yet. Mark a deploy with: rollback checkpoint --mark-only",
            markup=False,
        )
        return
    for m in found:
        code = m.commit[:10] if m.commit else "no commit"
        where = "; ".join(f"{n} {_where(p)}" for n, p in m.positions.items())
        console().print(f"{m.id}  {m.created_at:%Y-%m-%d %H:%M} UTC  {code}  {where}", markup=False)


def restore_to_mark(
    store: LocalStore,
    commit: str | None,
    branch: str | None,
    snapshot_id: str,
    mark_id: str | None,
    *,
    keep_writes: bool,
    no_safety: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """``snapshot restore ID --to-mark M [--keep-writes]``."""
    from rollback.data.marks import get_mark
    from rollback.data.snapshots import pitr
    from rollback.data.snapshots.lock import sigterm_as_interrupt
    from rollback.ui.render import console
    from rollback.ui.render_snapshots import progress_display, restore_json

    if mark_id is None:
        raise UsageError("--keep-writes needs --to-mark MARK: the writes kept are those after it")
    store.get(snapshot_id)
    mark = get_mark(store.store, mark_id)
    preview = pitr.preview(store, snapshot_id, mark.positions, keep_writes=keep_writes)
    if not yes:
        if as_json or not sys.stdin.isatty():
            raise UsageError(
                "restore replaces the current data: confirm with --yes",
                hint="without a terminal (or with --json) there is no one to ask",
            )
        for line in replay_lines(preview, mark):
            console().print(line, markup=False)
        typer.confirm(f"Restore snapshot {snapshot_id}, then replay to mark {mark.id}?", abort=True)
    with sigterm_as_interrupt(), progress_display() as progress:
        result, done = pitr.restore_to_mark(
            store,
            snapshot_id,
            mark.positions,
            keep_writes=keep_writes,
            safety=not no_safety,
            progress=progress,
            commit=commit,
            branch=branch,
        )
    if as_json:
        _print_json(
            {**restore_json(result), "mark": mark.id, "replay": [d.to_dict() for d in done]}
        )
        return
    out = console()
    out.print(
        f"Restored snapshot {snapshot_id}, then replayed to deploy mark {mark.id}.", markup=False
    )
    for line in replay_lines(done, mark):
        out.print(line, markup=False)
    if result.safety_snapshot is not None:
        sid = result.safety_snapshot.id
        out.print(f"  to undo this restore, run: rollback snapshot restore {sid}", markup=False)


def replay_lines(replays: tuple[ComponentReplay, ...], mark: Mark) -> list[str]:
    """Per component and table: what was (or will be) kept and skipped, and why."""
    from rollback.data.snapshots.logreplay import describe

    return describe(replays, mark.id)
