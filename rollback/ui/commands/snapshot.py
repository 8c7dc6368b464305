"""Snapshot commands: ``snapshot list|create|restore|verify|prune`` and ``checkpoint``.

Exit codes: 0 ok, 1 the operation failed, 2 bad input (unknown id, bad settings),
3 refused (expired, corrupted, lock held, failed verification).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rollback.errors import ExitCode, OperationError, RefusedError, UsageError
from rollback.ui.commands import examples
from rollback.ui.render import is_quiet

if TYPE_CHECKING:
    from rollback.config import Config
    from rollback.data.snapshots.base import Provider

EXAMPLES = {
    "list": examples(
        "rollback snapshot list",
        "rollback snapshot list --limit 5 --columns id,code,restorable",
        "rollback snapshot list --format csv > snapshots.csv",
        "rollback snapshot list --json",
    ),
    "create": examples(
        "rollback snapshot create --label before-migration",
        "ID=$(rollback snapshot create -q)",
    ),
    "restore": examples(
        "rollback snapshot restore 20261202-163113-release-v1-2",
        "rollback snapshot restore --yes ID",
        "rollback snapshot restore ID --to-mark MARK --keep-writes",
    ),
    "verify": examples(
        "rollback snapshot verify 20261202-163113-release-v1-2",
    ),
    "prune": examples(
        "rollback snapshot prune",
    ),
    "delete": examples(
        "rollback snapshot delete 20261128-193113-release-v1-0",
        "rollback snapshot delete --force ID",
    ),
    "checkpoint": examples(
        "rollback checkpoint",
        "rollback checkpoint --label release-v1.4",
        "ID=$(rollback checkpoint -q)",
        "rollback checkpoint --mark-only",
    ),
    "marks": examples(
        "rollback snapshot marks",
        "rollback snapshot marks --json",
    ),
}

snapshot_app = typer.Typer(
    name="snapshot",
    help="List, create, restore, verify, prune and delete data snapshots.",
    epilog=examples(
        "rollback snapshot list",
        "rollback snapshot create --label before-upgrade",
    ),
    rich_markup_mode=None,
)


@snapshot_app.callback(invoke_without_command=True)
def _group(ctx: typer.Context) -> None:
    """List, create, restore, verify and prune data snapshots."""
    if ctx.invoked_subcommand is None:  # like `rollback` alone: help, exit 0
        typer.echo(ctx.get_help())


ProviderOpt = typer.Option(
    None,
    "--provider",
    help="local | restic | magento-cloud (default: [tool.rollback] provider or local).",
)
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")
RepoOpt = typer.Option(None, "--repo", "-C", help="The project folder (default: current folder).")


# --- plumbing ------------------------------------------------------------------------------


def project_root(where: Path | None) -> Path:
    """The top of the git work tree containing ``where`` (or it, outside git)."""
    from rollback import proc

    folder = (where or Path.cwd()).resolve()
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    try:
        found = proc.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, check=False)
    except OperationError:  # git not installed: the folder itself is the project
        return folder
    return Path(found.stdout.strip()) if found.returncode == 0 else folder


def git_head(root: Path) -> tuple[str | None, str | None]:
    """(commit, branch) of the work tree at ``root``; None where there is none."""
    from rollback import proc

    try:
        head = proc.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, check=False)
        ref = proc.run(["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=root, check=False)
    except OperationError:
        return None, None
    commit = head.stdout.strip() if head.returncode == 0 else None
    branch = ref.stdout.strip() if ref.returncode == 0 else None
    return commit or None, branch or None


def _open(repo: Path | None, provider: str | None) -> tuple[Config, Provider]:
    from rollback.data.project import load_project

    project = load_project(project_root(repo))  # refuses unknown settings
    return project.config, project.provider(provider, notify=_notice)


def _notice(line: str) -> None:
    from rollback.ui.render import notice_console

    notice_console().print(line, markup=False, highlight=False)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- commands ------------------------------------------------------------------------------


@snapshot_app.command("list", epilog=EXAMPLES["list"])
def list_(
    limit: int | None = typer.Option(
        None, "--limit", "-n", help="Show the N newest snapshots only (default: all)."
    ),
    fmt: str = typer.Option(
        "table", "--format", "-f", show_default=False, help="table (default) | csv | tsv | json"
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help="Comma-separated: id, created_at, label, commit, branch, code, size, size_bytes, "
        "restorable, expires_at, status, provider, components.",
    ),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Show the snapshots, newest first, with the code each was taken at."""
    from rollback.ui.render import console
    from rollback.ui.render_snapshots import (
        DEFAULT_COLUMNS,
        MACHINE_COLUMNS,
        parse_columns,
        snapshot_json,
        snapshots_columns_table,
        snapshots_delimited,
        snapshots_table,
    )

    fmt = "json" if as_json else fmt
    if fmt not in ("table", "csv", "tsv", "json"):
        raise UsageError(f"--format {fmt!r}: choose table, csv, tsv or json")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    chosen = parse_columns(columns, DEFAULT_COLUMNS if fmt == "table" else MACHINE_COLUMNS)
    _, store = _open(repo, provider)
    snapshots = store.list()[:limit]
    if fmt == "json":
        rows = [snapshot_json(s) for s in snapshots]
        if columns is not None:
            from rollback.ui.render_snapshots import COLUMNS

            rows = [{c: COLUMNS[c](s) for c in chosen} for s in snapshots]
        _print_json(rows)
    elif fmt in ("csv", "tsv"):
        sys.stdout.write(snapshots_delimited(snapshots, chosen, "," if fmt == "csv" else "\t"))
    elif not snapshots:
        console().print("No snapshots yet. Take one with: rollback snapshot create", markup=False)
    elif columns is None:
        console().print(snapshots_table(snapshots))
    else:
        console().print(snapshots_columns_table(snapshots, chosen))


@snapshot_app.command("delete", epilog=EXAMPLES["delete"])
def delete(
    snapshot_id: str = typer.Argument(..., metavar="ID", help="The snapshot to delete."),
    force: bool = typer.Option(
        False, "--force", help="Delete it even if a rollback run still needs it."
    ),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Delete snapshot ID; refused when a rollback run still needs it (unless --force)."""
    from rollback.ui.render import console

    config, store = _open(repo, provider)
    ids = [s.id for s in store.list()]
    if snapshot_id not in ids:
        raise UsageError(
            f"no snapshot {snapshot_id}", hint="see `rollback snapshot list` for the snapshots"
        )
    reason = _needed_by_runs(config.root, ids).get(snapshot_id)
    if reason and not force:
        raise RefusedError(
            f"snapshot {snapshot_id} is still needed: {reason}; nothing was deleted",
            hint=f"rollback snapshot delete --force {snapshot_id} deletes it anyway",
        )
    store.delete(snapshot_id)
    if as_json:
        _print_json({"deleted": snapshot_id, "forced": bool(reason)})
    elif not is_quiet():
        console().print(f"Deleted snapshot {snapshot_id}.", markup=False)


def _needed_by_runs(root: Path, ids: list[str]) -> dict[str, str]:
    """What the rollback runs of the git repository at ``root`` still need (none outside git)."""
    from rollback import proc

    found = proc.run(["git", "rev-parse", "--absolute-git-dir"], cwd=root, check=False)
    if found.returncode != 0:
        return {}
    from rollback.run.pending import needed

    return needed(Path(found.stdout.strip()), ids)


def _create(
    repo: Path | None, provider: str | None, label: str | None, *, require_git: bool
) -> Any:
    from rollback.data.snapshots.lock import sigterm_as_interrupt
    from rollback.ui.render_snapshots import progress_display

    config, store = _open(repo, provider)
    commit, branch = git_head(config.root)
    if require_git and commit is None:
        raise UsageError(
            f"checkpoint records the current commit, but {config.root} has no git commit",
            hint="run it in your project's git work tree, or use `rollback snapshot create`",
        )
    if require_git and not label:
        label = f"checkpoint {commit[:10]}" if commit else "checkpoint"
    with sigterm_as_interrupt(), progress_display() as progress:
        return store.create(label, commit=commit, branch=branch, progress=progress)


def _report_created(snap: Any, as_json: bool, what: str) -> None:
    from rollback.ui.render import console
    from rollback.ui.render_snapshots import human_size, snapshot_json

    if as_json:
        _print_json(snapshot_json(snap))
        return
    if is_quiet():  # the id alone, for scripts: ID=$(rollback checkpoint -q)
        print(snap.id)
        return
    from rollback.ui.lines import command, prose, show

    code = f"; code at {snap.commit[:10]}" if snap.commit else ""
    code += f" ({snap.branch})" if snap.commit and snap.branch else ""
    parts = ", ".join(snap.components) or snap.provider
    size = human_size(snap.size_bytes)
    if snap.added_bytes is not None:  # restic: what this snapshot really cost
        size += f" ({human_size(snap.added_bytes)} added to the repository)"
    show(
        console(),
        [
            prose(f"{what} {snap.id}: {parts}, {size}{code}"),
            prose("restore it with:", 2),
            command(f"rollback snapshot restore {snap.id}", 4),
        ],
    )


@snapshot_app.command("create", epilog=EXAMPLES["create"])
def create(
    label: str | None = typer.Option(None, "--label", "-l", help="A short name, part of the id."),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Take a snapshot of the data now (records the current commit when in git)."""
    _report_created(_create(repo, provider, label, require_git=False), as_json, "Created snapshot")


def checkpoint(
    label: str | None = typer.Option(None, "--label", "-l", help="A short name, part of the id."),
    mark_only: bool = typer.Option(
        False, "--mark-only", help="Record the databases' log positions only, no dump (fast)."
    ),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Snapshot the data now and record the current commit: run it before every deploy."""
    if mark_only:  # issue 14: a deploy mark (rollback/ui/commands/marks.py)
        from rollback.ui.commands.marks import mark_checkpoint

        store = _local_store(repo, provider)
        mark_checkpoint(store, *git_head(store.settings.root), label, as_json=as_json)
        return
    _report_created(_create(repo, provider, label, require_git=True), as_json, "Checkpoint")


@snapshot_app.command("restore", epilog=EXAMPLES["restore"])
def restore(
    snapshot_id: str = typer.Argument(..., metavar="ID", help="The snapshot to restore."),
    no_safety: bool = typer.Option(
        False, "--no-safety-snapshot", help="Do not snapshot the current data first (unsafe)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    to_mark: str | None = typer.Option(
        None, "--to-mark", help="Then replay the database logs up to this deploy mark."
    ),
    keep_writes: bool = typer.Option(
        False, "--keep-writes", help="With --to-mark: keep later writes to untouched tables."
    ),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Put the data back as it was in snapshot ID (after a safety snapshot of the current data)."""
    if to_mark is not None or keep_writes:  # issue 14 (rollback/ui/commands/marks.py)
        from rollback.ui.commands.marks import restore_to_mark

        store = _local_store(repo, provider)
        restore_to_mark(
            store,
            *git_head(store.settings.root),
            snapshot_id,
            to_mark,
            keep_writes=keep_writes,
            no_safety=no_safety,
            yes=yes,
            as_json=as_json,
        )
        return
    import inspect

    from rollback.data.snapshots.lock import sigterm_as_interrupt
    from rollback.ui.render import console, error_console
    from rollback.ui.render_snapshots import progress_display, restore_json

    config, store = _open(repo, provider)
    get = getattr(store, "get", None)
    if get is not None:
        get(snapshot_id)  # an unknown id is bad input, before any question
    # providers that record the code in their safety snapshots take the current head
    records_head = "commit" in inspect.signature(store.restore).parameters
    if not yes:
        if as_json or not sys.stdin.isatty():
            raise UsageError(
                "restore replaces the current data: confirm with --yes",
                hint="without a terminal (or with --json) there is no one to ask",
            )
        safety = "without a safety snapshot" if no_safety else "after a safety snapshot"
        typer.confirm(
            f"Replace the current data with snapshot {snapshot_id} ({safety})?", abort=True
        )
    with sigterm_as_interrupt(), progress_display() as progress:
        if records_head:
            commit, branch = git_head(config.root)
            result = store.restore(  # type: ignore[call-arg]
                snapshot_id, safety=not no_safety, progress=progress, commit=commit, branch=branch
            )
        else:
            result = store.restore(snapshot_id, safety=not no_safety, progress=progress)
    if as_json:
        _print_json(restore_json(result))
        return
    if is_quiet():  # the safety snapshot's id alone: what undoes the restore
        if result.safety_snapshot is not None:
            print(result.safety_snapshot.id)
        return
    from rollback.ui.lines import command, prose, show

    out = console()
    out.print(f"Restored snapshot {result.snapshot.id}.", markup=False)
    if result.safety_snapshot is not None:
        sid = result.safety_snapshot.id
        show(
            out,
            [
                prose(f"safety snapshot of the data before: {sid}", 2),
                prose("to undo this restore, run:", 2),
                command(f"rollback snapshot restore {sid}", 4),
            ],
        )
    else:
        error_console().print(
            "  no safety snapshot was taken (--no-safety-snapshot): "
            "the data from before this restore is not kept",
            markup=False,
        )


@snapshot_app.command("verify", epilog=EXAMPLES["verify"])
def verify(
    snapshot_id: str = typer.Argument(..., metavar="ID", help="The snapshot to check."),
    provider: str | None = ProviderOpt,
    as_json: bool = JsonOpt,
    repo: Path | None = RepoOpt,
) -> None:
    """Re-check every artifact's sha256 and each component's own checks."""
    from rollback.ui.render import console
    from rollback.ui.render_snapshots import verify_json

    _, store = _open(repo, provider)
    result = store.verify(snapshot_id)
    if as_json:
        _print_json(verify_json(result))
        if not result.ok:
            raise typer.Exit(int(ExitCode.REFUSED))
        return
    if result.ok:
        console().print(f"Snapshot {snapshot_id} is intact.", markup=False)
        return
    for problem in result.problems:
        console().print(f"  {problem}", markup=False)
    raise RefusedError(
        f"snapshot {snapshot_id} failed verification ({len(result.problems)} problem(s))",
        hint="restore refuses it; take a new snapshot (rollback snapshot create)",
    )


@snapshot_app.command("prune", epilog=EXAMPLES["prune"])
def prune(
    provider: str | None = ProviderOpt, as_json: bool = JsonOpt, repo: Path | None = RepoOpt
) -> None:
    """Remove expired snapshots and leftovers of interrupted runs."""
    from rollback.ui.render import console

    _, store = _open(repo, provider)
    pruner = getattr(store, "prune", None)
    if pruner is None:
        raise UsageError(
            f"prune is not available for the {store.name} provider",
            hint="it expires snapshots on its own",
        )
    from rollback.data.snapshots.lock import sigterm_as_interrupt

    with sigterm_as_interrupt():
        removed: list[str] = pruner()
    if as_json:
        _print_json({"removed": removed})
    elif not removed:
        console().print("Nothing to prune.", markup=False)
    else:
        for name in removed:
            console().print(f"removed {name}", markup=False)


def _local_store(repo: Path | None, provider: str | None) -> Any:
    """The local store: deploy marks and replays need its database services."""
    from rollback.data.snapshots.local import LocalStore

    _, store = _open(repo, provider)
    if not isinstance(store, LocalStore):
        raise UsageError(
            f"deploy marks need the local store's database services, not {store.name}",
            hint="configure services in [tool.rollback.local] and use --provider local",
        )
    return store


@snapshot_app.command("marks", epilog=EXAMPLES["marks"])
def marks(as_json: bool = JsonOpt, repo: Path | None = RepoOpt) -> None:
    """List the deploy marks (checkpoint --mark-only), newest first."""
    from rollback.ui.commands.marks import show_marks

    show_marks(_local_store(repo, "local"), as_json=as_json)


def register(app: typer.Typer) -> None:
    """Attach ``snapshot`` (with its subcommands) and ``checkpoint``."""
    app.add_typer(snapshot_app, name="snapshot")
    app.command("checkpoint", epilog=EXAMPLES["checkpoint"])(checkpoint)
