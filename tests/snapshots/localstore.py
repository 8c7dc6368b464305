"""Helpers for local-store tests: a project folder with real settings, state comparison."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

from rollback.config import load_config
from rollback.data.snapshots.local import LocalStore


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_settings(root: Path, **local: Any) -> None:
    """Write ``[tool.rollback.local]`` into ``root/pyproject.toml``."""
    lines = ["[tool.rollback.local]"]
    for key, value in local.items():
        if isinstance(value, list):
            lines.append(f"{key} = [" + ", ".join(toml_value(v) for v in value) + "]")
        else:
            lines.append(f"{key} = {toml_value(value)}")
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")


def make_store(root: Path, **local: Any) -> LocalStore:
    root.mkdir(parents=True, exist_ok=True)
    write_settings(root, **local)
    return LocalStore.from_config(load_config(root))


def tree_state(path: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry below ``path``: type, mode, and content hash or link target."""
    state: dict[str, tuple[Any, ...]] = {}
    if not os.path.lexists(path):
        return state
    top = path.lstat()
    state["."] = ("dir" if stat.S_ISDIR(top.st_mode) else "other", stat.S_IMODE(top.st_mode))
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = full.lstat()
            rel = full.relative_to(path).as_posix()
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                state[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                digest = hashlib.sha256(full.read_bytes()).hexdigest()
                state[rel] = ("file", stat.S_IMODE(st.st_mode), digest, int(st.st_mtime))
    return state


def sqlite_state(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())
