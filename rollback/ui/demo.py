"""``rollback demo``: a sandbox shop with a bad release on top, to try the wizard on.

The sandbox is a small Magento-style project: releases v1.0, v1.1 (a feature merge adding a
reviews table) and v1.2, then v1.3, which splits the product price into two columns (a
schema migration in ``db_schema.xml`` and the matching SQLite change) and breaks checkout.
Each good release has a local checkpoint (files under ``pub/media`` and the SQLite database,
recording its commit), taken with the real ``LocalStore``. Everything is pushed to a bare
``origin`` next to it, as a deployed shop would be. No server is needed.

The sandbox is built with the git command line (through ``proc.run``) rather than the
``repo.py`` gateway: it writes a fixture, it does not operate on the user's repository.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rollback.errors import UsageError
from rollback.proc import run

if TYPE_CHECKING:
    from rollback.ui.lines import Line

CONFIG = """\
# rollback settings of the demo shop (see docs/config.md)
[local]
paths = ["pub/media"]
services = [{ name = "shop", kind = "sqlite", url = "sqlite:///var/shop.sqlite" }]
"""
GITIGNORE = "/var/\n/pub/media/\n/.rollback/\n"
SCHEMA = "app/code/Acme/Catalog/etc/db_schema.xml"


@dataclass(frozen=True)
class Demo:
    """The built sandbox: its work tree, the bare remote, and the checkpoint per release."""

    path: Path
    origin: Path
    checkpoints: dict[str, str]  # release tag -> snapshot id
    bad_release: str  # the tag of the release to roll back


def _schema(columns: list[str], reviews: bool) -> str:
    cols = "\n".join(f'        <column name="{c}"/>' for c in columns)
    table = (
        '    <table name="review">\n        <column name="id"/>\n'
        '        <column name="product_id"/>\n        <column name="stars"/>\n    </table>\n'
        if reviews
        else ""
    )
    return (
        '<?xml version="1.0"?>\n<schema>\n    <table name="catalog_product">\n'
        f"{cols}\n    </table>\n{table}</schema>\n"
    )


class _Builder:
    def __init__(self, root: Path, now: datetime) -> None:
        self.root = root
        self.work = root / "shop"
        self.origin = root / "origin.git"
        self.now = now
        self.env = dict(os.environ)
        self.env.update(
            GIT_AUTHOR_NAME="Dana Release",
            GIT_AUTHOR_EMAIL="dana@shop.example",
            GIT_COMMITTER_NAME="Dana Release",
            GIT_COMMITTER_EMAIL="dana@shop.example",
            GIT_CONFIG_NOSYSTEM="1",
        )
        self.db = self.work / "var" / "shop.sqlite"

    def git(self, *args: str, when: datetime | None = None) -> str:
        env = dict(self.env)
        if when is not None:
            stamp = f"@{int(when.timestamp())} +0000"
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        return run(["git", *args], cwd=self.work, env=env).stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str], when: datetime) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, when=when)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, when: datetime) -> None:
        self.git("merge", "-q", "--no-ff", "-m", f"Merge branch '{branch}'", branch, when=when)

    def sql(self, *statements: str) -> None:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.db) as db:
            for statement in statements:
                db.execute(statement)

    def media(self, name: str, content: bytes) -> None:
        target = self.work / "pub" / "media" / "catalog" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def build_demo(root: Path, *, now: datetime | None = None) -> Demo:
    """Build the sandbox in ``root`` (an empty or missing folder); return what was built."""
    if root.exists() and any(root.iterdir()):
        raise UsageError(
            f"{root} is not empty: the demo builds its sandbox in a new folder",
            hint="pass --path with a new folder, or leave it out to use a temporary one",
        )
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    b = _Builder(root, now)
    b.work.mkdir(parents=True)
    run(["git", "init", "-q", "--bare", "-b", "main", str(b.origin)], env=b.env)
    b.git("init", "-q", "-b", "main")
    b.git("config", "user.name", "Dana Release")
    b.git("config", "user.email", "dana@shop.example")
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    checkpoints: dict[str, str] = {}

    # v1.0: the catalog
    t = now - 4 * day
    b.commit(
        "Catalog module: products with sku, name and price",
        {
            ".gitignore": GITIGNORE,
            ".rollback.toml": CONFIG,
            "bin/magento": "#!/bin/sh\necho 'demo shop: bin/magento is a stub'\n",
            "app/etc/config.php": "<?php\nreturn ['modules' => ['Acme_Catalog' => 1]];\n",
            SCHEMA: _schema(["id", "sku", "name", "price"], reviews=False),
            "app/code/Acme/Catalog/Model/Price.php": "<?php // price = price\n",
            "README.md": "# Demo shop\n\nA sandbox made by `rollback demo`.\n",
        },
        t,
    )
    b.git("tag", "-a", "v1.0", "-m", "release v1.0", when=t)
    b.sql(
        "CREATE TABLE catalog_product (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, price REAL)",
        "INSERT INTO catalog_product VALUES (1, 'MUG-1', 'Blue mug', 9.5), "
        "(2, 'TEE-1', 'Grey tee', 19.0)",
    )
    b.media("mug.jpg", b"\xff\xd8 blue mug \xff\xd9")
    b.media("tee.jpg", b"\xff\xd8 grey tee \xff\xd9")
    checkpoints["v1.0"] = _checkpoint(b, "v1.0", t + hour)

    # v1.1: a price fix, then the reviews feature merged from its branch
    b.commit(
        "Fix price rounding in the cart",
        {"app/code/Acme/Catalog/Model/Price.php": "<?php // price = round(price, 2)\n"},
        now - 3 * day,
    )
    b.git("switch", "-q", "-c", "feature/reviews")
    b.commit(
        "Reviews: add the review table",
        {SCHEMA: _schema(["id", "sku", "name", "price"], reviews=True)},
        now - 3 * day + 2 * hour,
    )
    b.commit(
        "Reviews: show stars on the product page",
        {"app/code/Acme/Catalog/view/stars.phtml": "<div class='stars'></div>\n"},
        now - 3 * day + 3 * hour,
    )
    b.git("switch", "-q", "main")
    t = now - 2 * day
    b.git(
        "merge", "-q", "--no-ff", "-m", "Merge branch 'feature/reviews'", "feature/reviews", when=t
    )
    b.git("tag", "-a", "v1.1", "-m", "release v1.1", when=t)
    b.sql(
        "CREATE TABLE review (id INTEGER PRIMARY KEY, product_id INTEGER, stars INTEGER)",
        "INSERT INTO review VALUES (1, 1, 5)",
    )
    checkpoints["v1.1"] = _checkpoint(b, "v1.1", t + hour)

    # v1.2: a small change, no schema change
    t = now - 1 * day
    b.commit(
        "Checkout: translate the button labels",
        {"app/code/Acme/Checkout/i18n/de_DE.csv": '"Place order","Bestellen"\n'},
        t,
    )
    b.git("tag", "-a", "v1.2", "-m", "release v1.2", when=t)
    b.sql("INSERT INTO review VALUES (2, 2, 4)")
    b.media("cap.jpg", b"\xff\xd8 red cap \xff\xd9")
    checkpoints["v1.2"] = _checkpoint(b, "v1.2", now - 2 * hour)

    # v1.3, the bad release: a price split with a schema migration, merged and deployed
    b.git("switch", "-q", "-c", "feature/price-split")
    b.commit(
        "Catalog: split price into price_incl_tax and price_excl_tax (schema migration)",
        {SCHEMA: _schema(["id", "sku", "name", "price_incl_tax", "price_excl_tax"], True)},
        now - 90 * timedelta(minutes=1),
    )
    b.commit(
        "Catalog: read the new price columns everywhere",
        {"app/code/Acme/Catalog/Model/Price.php": "<?php // price = price_incl_tax (oops)\n"},
        now - 80 * timedelta(minutes=1),
    )
    b.git("switch", "-q", "main")
    t = now - 60 * timedelta(minutes=1)
    b.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'feature/price-split'",
        "feature/price-split",
        when=t,
    )
    b.commit("Release v1.3", {"CHANGELOG.md": "v1.3: tax-aware prices\n"}, t + timedelta(minutes=5))
    b.git("tag", "-a", "v1.3", "-m", "release v1.3", when=t + timedelta(minutes=5))
    b.sql(
        "ALTER TABLE catalog_product RENAME COLUMN price TO price_incl_tax",
        "ALTER TABLE catalog_product ADD COLUMN price_excl_tax REAL",
        "UPDATE catalog_product SET price_excl_tax = round(price_incl_tax / 1.19, 2)",
        "INSERT INTO review VALUES (3, 1, 1)",
    )
    b.media("mug.jpg", b"\xff\xd8 blue mug, re-encoded by the new pipeline \xff\xd9")
    b.git("branch", "-q", "-D", "feature/reviews", "feature/price-split")
    b.git("remote", "add", "origin", str(b.origin))
    b.git("push", "-q", "--follow-tags", "-u", "origin", "main")
    return Demo(b.work, b.origin, checkpoints, "v1.3")


def _checkpoint(b: _Builder, tag: str, when: datetime) -> str:
    """A local snapshot of the media folder and the database, recording the release commit."""
    from rollback.config import load_config
    from rollback.data.snapshots.local import LocalStore
    from rollback.data.snapshots.settings import parse_local

    store = LocalStore(parse_local(load_config(b.work)), clock=lambda: when)
    commit = b.git("rev-parse", "HEAD")
    return store.create(f"release-{tag}", commit=commit, branch="main").id


def launcher() -> str:
    """How a shell runs this rollback again: ``rollback`` when PATH finds this very program,
    else its absolute path (a venv that is not activated: ``.venv/bin/rollback demo``)."""
    import shlex
    import shutil
    import sys

    me = Path(sys.argv[0])
    found = shutil.which("rollback")
    if me.name not in ("rollback", "git-rollback") or not me.exists():
        return "rollback" if found else f"{shlex.quote(sys.executable)} -m rollback"
    if found and Path(found).resolve() == me.resolve():
        return "rollback"
    return shlex.quote(str(me.resolve().with_name("rollback")))


def what_to_look_at(path: Path) -> list[Line]:
    """The closing words of the demo: where to look (the run's summary said how to undo it)."""
    from rollback.ui.lines import command, prose

    me = launcher()
    lines = [
        prose(f"What to look at (cd {path}):"),
        command("git log --oneline --graph -8", 2, note="the revert commits on top of v1.3"),
        command(f"{me} timeline", 2, note="releases, checkpoints and this rollback"),
        command(f"{me} status", 2, note="what ran, step by step"),
        command(f"{me} snapshot list", 2, note="the checkpoints and the safety snapshot"),
    ]
    return lines
