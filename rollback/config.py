"""Project settings: ``[tool.rollback]`` in pyproject.toml, or the top level of .rollback.toml.

``.rollback.toml`` wins when both exist. Sections are handed out as plain dicts; each module
that owns a section (``local``, ``magento-cloud``, ``hooks``) validates its own keys.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from rollback.errors import UsageError


@dataclass(frozen=True)
class Config:
    root: Path
    data: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise UsageError(f"{self.where()}: [{name}] must be a table")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def where(self) -> str:
        return str(self.source) if self.source else "defaults"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc


def load_config(root: Path) -> Config:
    """Read the settings of the project whose top folder is ``root``."""
    dotfile = root / ".rollback.toml"
    if dotfile.is_file():
        data = _read(dotfile)
        data = data.get("tool", {}).get("rollback", data) if "tool" in data else data
        return Config(root, data, dotfile)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        tool = _read(pyproject).get("tool", {})
        if isinstance(tool, dict) and isinstance(tool.get("rollback"), dict):
            return Config(root, tool["rollback"], pyproject)
    return Config(root)
