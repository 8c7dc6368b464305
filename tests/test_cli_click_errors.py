"""Usage errors raised by the CLI framework itself (not by our code) exit 2 with one line.

typer >= 0.20 vendors click and raises its own exception classes; catching ``click``'s let
every unknown option through as "unexpected error ... this is a bug" (exit 4).
"""

from __future__ import annotations

import pytest

from tests.cli import rollback


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = rollback(capsys, "plan", "--no-such-option")
    assert result.code == 2
    assert result.err.startswith("rollback: ")
    assert "--no-such-option" in result.err
    assert "unexpected error" not in result.err and "bug" not in result.err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = rollback(capsys, "no-such-command")
    assert result.code == 2
    assert "no-such-command" in result.err
    assert "unexpected error" not in result.err
