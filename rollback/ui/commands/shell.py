"""``rollback completion SHELL``: print the completion script for bash, zsh or fish.

``rollback --install-completion`` installs it for the shell it runs in; this command prints it
for a shell you name (for dotfiles, or another shell). The script calls ``rollback`` with
``_ROLLBACK_COMPLETE`` set at each Tab; ``rollback --version`` never pays for it.
"""

from __future__ import annotations

import typer

from rollback.errors import UsageError

SHELLS = ("bash", "zsh", "fish")
EXAMPLES = """\b
Examples:
  rollback completion bash >> ~/.bashrc
  rollback completion zsh > ~/.zfunc/_rollback
  rollback completion fish > ~/.config/fish/completions/rollback.fish"""


def completion(
    shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish."),
) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish)."""
    if shell not in SHELLS:
        raise UsageError(f"no completion for {shell!r}", hint=f"choose one of {', '.join(SHELLS)}")
    from typer._completion_shared import get_completion_script

    print(
        get_completion_script(
            prog_name="rollback", complete_var="_ROLLBACK_COMPLETE", shell=shell
        ).rstrip("\n")
    )


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES)(completion)
