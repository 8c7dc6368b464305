"""``rollback timeline``: releases, migrations, snapshots and past rollbacks on one time axis."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rollback.errors import UsageError

EXAMPLES = """\b
Examples:
  rollback timeline                  the last 30 commits and what happened around them
  rollback timeline --to v1.2        which snapshots fit if the code goes back to v1.2
  rollback timeline -f markdown      the same picture as a Mermaid diagram
  rollback timeline --json | jq '.events[] | select(.kind == "checkpoint")'"""


def timeline(
    limit: int = typer.Option(
        30, "--limit", "-n", show_default=False, help="Commits to read (default: 30)."
    ),
    to: str | None = typer.Option(
        None, "--to", help="Say which snapshots fit this code target (default: the head)."
    ),
    fmt: str = typer.Option(
        "text", "--format", "-f", show_default=False, help="text (default) | markdown | json"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (= -f json)."),
    repo_path: Path | None = typer.Option(
        None, "--repo", "-C", help="The repository (default: the current folder)."
    ),
) -> None:
    """Show releases, migrations, checkpoints, snapshots and past rollbacks on one time axis."""
    from rollback.data.project import load_project
    from rollback.git.repo import GitRepo
    from rollback.run.timeline import gather

    fmt = "json" if as_json else fmt
    if fmt not in ("text", "markdown", "json"):
        raise UsageError(f"--format {fmt!r}: choose text, markdown or json")
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    repo = GitRepo.open(repo_path)
    found = gather(repo, load_project(repo.root), limit=limit, target=to)
    if fmt == "json":
        from rollback.ui.render_timeline import timeline_json

        print(json.dumps(timeline_json(found), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        from rollback.ui.render_timeline import timeline_markdown

        print("\n".join(timeline_markdown(found)).lstrip("\n"))
    else:
        from rollback.ui.render import console
        from rollback.ui.render_timeline import show_timeline

        show_timeline(console(), found)


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES)(timeline)
