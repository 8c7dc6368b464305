"""Project settings: ``[tool.rollback]`` in pyproject.toml, or the top level of .rollback.toml.

Read once per command (``data.project.load_project``) and validated against the keys each
section's owner declares (a ``Section``): an unknown key or table is refused with the file, its
line and the nearest valid name, never silently ignored. Messages name a table as the file
spells it: ``[local]`` in .rollback.toml, ``[tool.rollback.local]`` in pyproject.toml.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from rollback.errors import UsageError

TOOL = ("tool", "rollback")


@dataclass(frozen=True)
class Section:
    """The known keys of one settings table, declared by the module that owns it.

    ``name`` is "" for the top level. A provider declares its own table the same way
    (``data/snapshots/registry.py`` lists them), so a new provider adds one value here.
    """

    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    root: Path
    data: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    prefix: tuple[str, ...] = ()  # where the settings sit in the file: ("tool", "rollback")
    text: str = field(default="", repr=False, compare=False)  # the file, for line numbers

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise UsageError(f"{self.where_table(name)} must be a table")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def where(self, *keys: str) -> str:
        """``file:line`` of the key path ``keys`` below the settings (just ``file`` if unknown)."""
        if self.source is None:
            return "defaults"
        line = find_line(self.text, (*self.prefix, *keys)) if keys else None
        if line is None and keys:
            line = find_line(self.text, (*self.prefix, keys[0]))
        return f"{self.source}:{line}" if line else str(self.source)

    def table(self, name: str) -> str:
        """The table as this file spells it: ``[local]`` or ``[tool.rollback.local]``."""
        path = ".".join(_quote(p) for p in (*self.prefix, *([name] if name else [])))
        return f"[{path}]" if path else "the top level"

    def where_table(self, name: str, *keys: str) -> str:
        return f"{self.where(name, *keys)}: {self.table(name)}"

    def validate(self, sections: Iterable[Section]) -> None:
        """Refuse an unknown key or table, naming its file, line and the nearest valid name."""
        known = {s.name: s for s in sections}
        top = known.get("", Section("", ()))
        tables = sorted(n for n in known if n)
        for key, value in self.data.items():
            if key in top.keys or key in known:
                continue
            if isinstance(value, dict):
                raise UsageError(
                    f"{self.where(key)}: unknown table {self.table(key)}"
                    + _did_you_mean(key, tables, self.table),
                    hint=f"known tables: {', '.join(self.table(t) for t in tables)}",
                )
            raise UsageError(
                f"{self.where(key)}: unknown setting {key!r} in {self.table('')}"
                + _did_you_mean(key, [*top.keys, *tables], repr),
                hint=f"known settings: {', '.join(sorted(top.keys))}",
            )
        for name in tables:
            value = self.data.get(name)
            if not isinstance(value, dict):
                if value is not None:
                    self.section(name)  # raises: must be a table
                continue
            for key in value:
                if key not in known[name].keys:
                    raise UsageError(
                        f"{self.where(name, key)}: unknown setting {key!r} in {self.table(name)}"
                        + _did_you_mean(key, known[name].keys, repr),
                        hint=f"known settings: {', '.join(sorted(known[name].keys))}",
                    )


def _did_you_mean(word: str, choices: Iterable[str], show: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {show(close[0])}?" if close else ""


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'


def _read(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_bytes().decode("utf-8")
        data: dict[str, Any] = tomllib.loads(text)
        return data, text
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: not UTF-8 ({exc.reason})") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc


def load_config(root: Path) -> Config:
    """Read the settings of the project whose top folder is ``root`` (not validated here:
    ``data.project.load_project`` validates against the declared sections)."""
    dotfile = root / ".rollback.toml"
    pyproject = root / "pyproject.toml"
    tool: Any = None
    if pyproject.is_file():
        tool, text = _read(pyproject)
        tool = tool.get("tool", {}).get("rollback") if isinstance(tool.get("tool"), dict) else None
        if tool is not None and not isinstance(tool, dict):
            raise UsageError(f"{pyproject}: [tool.rollback] must be a table")
        if tool and not dotfile.is_file():
            return Config(root, tool, pyproject, TOOL, text)
    if not dotfile.is_file():
        return Config(root)
    data, text = _read(dotfile)
    if tool:
        line = find_line(Path(pyproject).read_text(encoding="utf-8"), TOOL)
        raise UsageError(
            f"{pyproject}:{line}: [tool.rollback] would be ignored: {dotfile.name} holds the "
            "settings of this project",
            hint=f"keep the settings in one file: move them into {dotfile.name}, or delete it",
        )
    nested = data.get("tool")
    if isinstance(nested, dict) and set(nested) == {"rollback"}:
        # the pyproject form copied into .rollback.toml: accepted, but not mixed with the other
        others = sorted(k for k in data if k != "tool")
        if others:
            line = find_line(text, (others[0],))
            raise UsageError(
                f"{dotfile}:{line}: [{others[0]}] sits beside [tool.rollback...] tables, and "
                "one of the two forms would be ignored",
                hint=f"write every table in one form; in {dotfile.name}: [local], [hooks], ...",
            )
        if not isinstance(nested["rollback"], dict):
            raise UsageError(f"{dotfile}: [tool.rollback] must be a table")
        return Config(root, nested["rollback"], dotfile, TOOL, text)
    return Config(root, data, dotfile, (), text)


# -- line numbers --------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_ONE = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""  # a bare or quoted key
_KEY = re.compile(rf"^\s*({_ONE}(?:\s*\.\s*{_ONE})*)\s*=")
_PART = re.compile(_ONE)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in _PART.findall(dotted))


def find_line(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line where the key or table ``path`` is defined in TOML ``text``.

    A line scanner, enough for error messages: table headers, dotted and quoted keys;
    multi-line strings and arrays are skipped.
    """
    current: tuple[str, ...] = ()
    depth = 0  # open brackets of a multi-line array or inline table
    quote: str | None = None  # inside a multi-line string
    for number, line in enumerate(text.splitlines(), 1):
        if quote is not None:
            if quote in line:
                quote = None
            continue
        if depth == 0:
            if line.lstrip().startswith("["):
                header = _HEADER.match(line)
                if header:
                    current = _parts(header.group(1))
                    if current[: len(path)] == path:
                        return number
                continue
            key = _KEY.match(line)
            if key:
                full = current + _parts(key.group(1))
                if full[: len(path)] == path:
                    return number
                if len(full) < len(path) and path[: len(full)] == full:
                    return number  # an inline table holding the key
        depth = max(0, depth + _bracket_balance(line if depth else line.split("=", 1)[-1]))
        for mark in ('"""', "'''"):
            if line.count(mark) % 2 == 1:
                quote = mark
    return None


def _bracket_balance(body: str) -> int:
    """Open minus closed brackets in ``body``, outside strings and comments."""
    balance = 0
    inside: str | None = None
    for ch in body:
        if inside:
            if ch == inside:
                inside = None
        elif ch in "\"'":
            inside = ch
        elif ch == "#":
            break
        elif ch in "[{":
            balance += 1
        elif ch in "]}":
            balance -= 1
    return balance
