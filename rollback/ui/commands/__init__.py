"""Typer command modules. Each module's ``register`` attaches one group of commands."""

from __future__ import annotations

import typer


def examples(*lines: str) -> str:
    """A command's help epilog: its examples, kept as written (click's \\b: no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def register(app: typer.Typer) -> None:
    from rollback.ui.commands import code, snapshot

    code.register(app)
    snapshot.register(app)
    from rollback.ui.commands import shell, timeline, wizard

    timeline.register(app)
    shell.register(app)
    wizard.register(app)
