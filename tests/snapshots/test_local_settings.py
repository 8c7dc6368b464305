"""``[tool.rollback.local]``: defaults, both config files, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollback.config import load_config
from rollback.data.snapshots.settings import parse_local
from rollback.errors import UsageError
from tests.snapshots.localstore import write_settings


def _parse(tmp_path: Path, **local: Any):  # type: ignore[no-untyped-def]
    write_settings(tmp_path, **local)
    return parse_local(load_config(tmp_path))


def test_defaults(tmp_path: Path) -> None:
    (tmp_path / "app" / "etc").mkdir(parents=True)
    settings = parse_local(load_config(tmp_path))
    assert settings.store == tmp_path.resolve() / ".rollback" / "snapshots"
    assert settings.paths == ("var", "pub/media", "app/etc") and not settings.paths_explicit
    assert settings.present_paths() == ("app/etc",)
    assert settings.retention_days == 7 and settings.services == ()


def test_dot_rollback_toml_uses_a_top_level_local_table(tmp_path: Path) -> None:
    (tmp_path / ".rollback.toml").write_text(
        '[local]\npath = "/tmp/elsewhere"\npaths = ["media"]\nretention_days = 2.5\n'
        'services = [{ url = "redis://127.0.0.1:6379/3" }, { url = "redis://h/4" }]\n'
    )
    settings = parse_local(load_config(tmp_path))
    assert settings.store == Path("/tmp/elsewhere")
    assert settings.present_paths() == ("media",)  # listed paths are taken even if missing
    assert settings.retention_days == 2.5
    assert [(s.name, s.url.database) for s in settings.services] == [
        ("redis", "3"),
        ("redis-2", "4"),
    ]


@pytest.mark.parametrize(
    ("local", "message"),
    [
        ({"pathz": ["var"]}, "unknown setting 'pathz'"),
        ({"paths": "var"}, "paths must be a list"),
        ({"paths": ["/etc"]}, "must be a folder inside the project"),
        ({"paths": ["var", "var/cache"]}, "overlap"),
        ({"paths": [".rollback"]}, "contains the snapshot store"),
        ({"retention_days": -1}, "retention_days must be a number"),
        ({"retention_days": "7"}, "retention_days must be a number"),
        ({"services": [{"kind": "redis"}]}, "each service needs a url"),
        ({"services": [{"url": "redis://h/0", "user": "x"}]}, "unknown key 'user'"),
        ({"services": [{"url": "redis://h/0", "kind": "mysql"}]}, "does not match"),
        ({"services": [{"url": "redis://h/0", "name": "Bad Name"}]}, "lowercase"),
        ({"services": [{"url": "redis://h/0", "name": "files"}]}, "two components"),
        ({"services": [{"url": "redis://h/0", "password_env": "NOPE_X"}]}, "NOPE_X is not set"),
        ({"services": [{"url": "mongodb://h/0"}]}, "unsupported URL scheme"),
    ],
)
def test_each_mistake_is_one_clear_usage_error(
    tmp_path: Path, local: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message) as info:
        _parse(tmp_path, **local)
    assert "tool.rollback.local" in str(info.value)
