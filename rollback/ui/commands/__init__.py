"""Typer command modules. Each module's ``register`` attaches one group of commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from rollback.ui.commands import code, snapshot

    code.register(app)
    snapshot.register(app)
    from rollback.ui.commands import timeline, wizard

    timeline.register(app)
    wizard.register(app)
