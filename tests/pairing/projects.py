"""Real project trees for pairing tests: one small project per migration framework.

Each builder writes files into a ``tests.gitrepo.Repo`` and commits; the returned dict names
the commits a test needs (``base``, ``target``, ``migration``, ``head``).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.gitrepo import Repo
from tests.snapshots.localstore import toml_value

IGNORE = "*.db\n*.sqlite3\n__pycache__/\n.rollback/\nmaint.flag\nvar/\npub/media/\n"

# -- Alembic -----------------------------------------------------------------------------------

ALEMBIC_INI = """\
[alembic]
script_location = migrations
sqlalchemy.url = sqlite:///app.db
"""
ALEMBIC_ENV = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(
    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""


def alembic_version(rev: str, down: str | None, table: str) -> str:
    down_text = "None" if down is None else repr(down)
    return f"""\
import sqlalchemy as sa
from alembic import op

revision: str = {rev!r}
down_revision: str | None = {down_text}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table({table!r}, sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table({table!r})
"""


def alembic_project(repo: Repo) -> dict[str, str]:
    """base: a1 (items); target: code only; migration: a2 (prices); head: code only."""
    v = "migrations/versions"
    base = repo.commit(
        "alembic project with items",
        {
            ".gitignore": IGNORE,
            "alembic.ini": ALEMBIC_INI,
            "migrations/env.py": ALEMBIC_ENV,
            f"{v}/a1_items.py": alembic_version("a1", None, "items"),
        },
    )
    target = repo.commit("show items on the home page", {"app.py": "print('items')\n"})
    migration = repo.commit(
        "add prices table", {f"{v}/a2_prices.py": alembic_version("a2", "a1", "prices")}
    )
    head = repo.commit("show prices", {"app.py": "print('items and prices')\n"})
    return {"base": base, "target": target, "migration": migration, "head": head}


# -- Django ------------------------------------------------------------------------------------

MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
SETTINGS = """\
SECRET_KEY = "test-only"
INSTALLED_APPS = ["shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""


def django_migration(name: str, model: str, depends: str | None) -> str:
    deps = f"[('shop', {depends!r})]" if depends else "[]"
    return f"""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = {depends is None}
    dependencies = {deps}
    operations = [
        migrations.CreateModel(
            name={model!r}, fields=[("id", models.AutoField(primary_key=True))]
        ),
    ]
"""


def django_project(repo: Repo) -> dict[str, str]:
    """base: 0001 (Item); target: code only; migration: 0002 (Price); head: code only."""
    base = repo.commit(
        "django project with items",
        {
            ".gitignore": IGNORE,
            "manage.py": MANAGE_PY,
            "proj/__init__.py": "",
            "proj/settings.py": SETTINGS,
            "shop/__init__.py": "",
            "shop/migrations/__init__.py": "",
            "shop/migrations/0001_initial.py": django_migration("0001_initial", "Item", None),
        },
    )
    target = repo.commit("items view", {"shop/views.py": "ITEMS = True\n"})
    migration = repo.commit(
        "add prices",
        {"shop/migrations/0002_price.py": django_migration("0002_price", "Price", "0001_initial")},
    )
    head = repo.commit("prices view", {"shop/views.py": "ITEMS = PRICES = True\n"})
    return {"base": base, "target": target, "migration": migration, "head": head}


# -- Rails, Laravel, Magento: trees only (their tools are not installed here) -----------------


def rails_project(repo: Repo) -> dict[str, str]:
    base = repo.commit(
        "rails app",
        {
            "bin/rails": "#!/usr/bin/env ruby\n",
            "config/application.rb": "module Shop; end\n",
            "db/migrate/20250101000000_create_items.rb": "class CreateItems; end\n",
            "db/migrate/20250201000000_create_users.rb": "class CreateUsers; end\n",
        },
    )
    target = repo.commit("code", {"app/models/item.rb": "class Item; end\n"})
    migration = repo.commit(
        "prices", {"db/migrate/20250301000000_create_prices.rb": "class CreatePrices; end\n"}
    )
    head = repo.commit("more code", {"app/models/price.rb": "class Price; end\n"})
    return {"base": base, "target": target, "migration": migration, "head": head}


def laravel_project(repo: Repo) -> dict[str, str]:
    m = "database/migrations"
    base = repo.commit(
        "laravel app",
        {"artisan": "<?php\n", f"{m}/2025_01_01_000000_create_items_table.php": "<?php\n"},
    )
    target = repo.commit("code", {"app/Item.php": "<?php\n"})
    migration = repo.commit(
        "two migrations",
        {
            f"{m}/2025_02_01_000000_create_prices_table.php": "<?php\n",
            f"{m}/2025_02_02_000000_add_sku_to_items.php": "<?php\n",
        },
    )
    head = repo.commit("more code", {"app/Price.php": "<?php\n"})
    return {"base": base, "target": target, "migration": migration, "head": head}


def db_schema(tables: list[str]) -> str:
    body = "".join(f'    <table name="{t}" resource="default"/>\n' for t in tables)
    return f'<?xml version="1.0"?>\n<schema>\n{body}</schema>\n'


MAGENTO_SCHEMA = "app/code/Acme/Shop/etc/db_schema.xml"
BIN_MAGENTO = """\
#!/bin/sh
# a stand-in for bin/magento: records the maintenance commands it is given
echo "$@" >> maint.flag
"""


def magento_project(repo: Repo, at: Callable[[str, str], None] | None = None) -> dict[str, str]:
    """schema v1 (items) -> v2 (+ prices) -> target (code) -> v3 (+ rules, patch) -> head.

    ``at(name, sha)`` is called after each commit, e.g. to deploy it and take a snapshot.
    """
    at = at or (lambda name, sha: None)
    repo.write({".gitignore": IGNORE, "bin/magento": BIN_MAGENTO})
    (repo.path / "bin/magento").chmod(0o755)
    commits: dict[str, str] = {}
    steps: list[tuple[str, str, dict[str, str | None]]] = [
        ("base", "magento shop", {MAGENTO_SCHEMA: db_schema(["items"])}),
        ("schema2", "prices table", {MAGENTO_SCHEMA: db_schema(["items", "prices"])}),
        ("target", "price block", {"app/code/Acme/Shop/Block/Price.php": "<?php\n"}),
        (
            "migration",
            "catalog rules",
            {
                MAGENTO_SCHEMA: db_schema(["items", "prices", "rules"]),
                "app/code/Acme/Shop/Setup/Patch/Data/AddRules.php": "<?php\n",
            },
        ),
        ("head", "rules block", {"app/code/Acme/Shop/Block/Rules.php": "<?php\n"}),
    ]
    for name, message, files in steps:
        commits[name] = repo.commit(message, files)
        at(name, commits[name])
    return commits


def schema_tables(root: Path) -> set[str]:
    """The tables the Magento-like code in ``root`` expects (from its db_schema.xml)."""
    import re

    return set(re.findall(r'<table name="([^"]+)"', (root / MAGENTO_SCHEMA).read_text()))


def sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("select name from sqlite_master where type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def deploy_schema(root: Path, db_path: Path) -> None:
    """A tiny ``setup:upgrade``: create the tables the current tree's db_schema.xml declares."""
    with sqlite3.connect(db_path) as db:
        for table in sorted(schema_tables(root)):
            db.execute(f"create table if not exists {table} (id integer primary key, v text)")
            db.execute(f"insert into {table} (v) values ('written at deploy')")


def run(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool of the project (alembic, manage.py) with this interpreter's environment."""
    proc = subprocess.run(
        list(args), cwd=root, capture_output=True, text=True, check=False, timeout=60
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed: {proc.stdout}{proc.stderr}")
    return proc


def python() -> str:
    return sys.executable


def settings(root: Path, **sections: Any) -> None:
    """Write ``.rollback.toml`` with the given sections (``{"local": {...}, "hooks": {...}}``)."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, list):
                lines.append(f"{key} = [" + ", ".join(toml_value(v) for v in value) + "]")
            else:
                lines.append(f"{key} = {toml_value(value)}")
    (root / ".rollback.toml").write_text("\n".join(lines) + "\n")
