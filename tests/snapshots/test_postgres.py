"""PostgreSQL component against the real server: exact, atomic restores; refusals; secrets."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollback.data.snapshots.components import postgres
from rollback.data.snapshots.compress import CompressedWriter, read_chunks, sha256_file
from rollback.data.snapshots.urls import parse_service_url
from rollback.errors import OperationError, RefusedError
from tests.snapshots.dbprobe import child_processes, unless_ended

pytestmark = pytest.mark.services

EMOJI = "Grüße 😀 ✓ 𝄞"
ALL_BYTES = bytes(range(256))


def sql(url: str, statement: str) -> list[str]:
    """Run ``statement`` as postgres in the URL's database; unaligned rows ('|' separated)."""
    parsed = parse_service_url(url, root=Path("."))
    args = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(parsed.host)]
    args += ["-p", str(parsed.port), "-U", "postgres", "-d", str(parsed.database), "-c", statement]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


USER_NS = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"


def state(url: str) -> dict[str, object]:
    """Every user object with its definition, and every row (bytea as hex) of every table."""
    result: dict[str, object] = {
        "schemas": sql(url, f"SELECT nspname FROM pg_namespace n WHERE {USER_NS} ORDER BY 1"),
        "relations": sql(
            url,
            "SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) FROM pg_class c "
            f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS} ORDER BY 1, 2",
        ),
        "columns": sql(
            url,
            "SELECT table_schema, table_name, column_name, data_type, column_default "
            "FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3",
        ),
        "functions": sql(
            url,
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
            f"ON n.oid = p.pronamespace WHERE {USER_NS} ORDER BY 1",
        ),
        "triggers": sql(
            url, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
        ),
        "views": sql(
            url,
            "SELECT viewname, definition FROM pg_views WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema') ORDER BY 1",
        ),
        "types": sql(
            url,
            "SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
            "ORDER BY 1, e.enumsortorder",
        ),
        "large objects": sql(
            url, "SELECT oid, md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY 1"
        ),
        "sequences": sql(url, "SELECT last_value FROM shop.order_no"),
    }
    for table in ("public.items", "public.audit", "shop.orders"):
        result[table] = sql(url, f"SELECT * FROM {table} ORDER BY 1")
    return result


SCHEMA = f"""
CREATE TYPE mood AS ENUM ('ok', 'bad');
CREATE TABLE items (id int PRIMARY KEY, name text, data bytea, price numeric(10,2), m mood);
CREATE TABLE audit (id serial PRIMARY KEY, item_id int, what text);
INSERT INTO items VALUES (1, '{EMOJI}', '\\x{ALL_BYTES.hex()}', 9.99, 'ok');
INSERT INTO items SELECT g, 'item ' || g, sha256(g::text::bytea), g * 1.5, 'bad'
  FROM generate_series(2, 60) g;
CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (item_id, what) VALUES (NEW.id, 'inserted'); RETURN NEW; END $$;
CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION log_insert();
CREATE FUNCTION double_it(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
CREATE VIEW expensive AS SELECT id, name FROM items WHERE price > 50;
CREATE SCHEMA shop;
CREATE SEQUENCE shop.order_no START 1000;
CREATE TABLE shop.orders (id int PRIMARY KEY DEFAULT nextval('shop.order_no'), item int);
INSERT INTO shop.orders (item) SELECT g FROM generate_series(1, 5) g;
SELECT lo_from_bytea(0, '\\x00ff00ff');
"""

CHANGES = """
UPDATE items SET name = 'changed', data = '\\x00' WHERE id = 1;
DELETE FROM items WHERE id IN (2, 3);
INSERT INTO items VALUES (999, 'new', NULL, 1, 'ok');
CREATE TABLE later (a int);
ALTER TABLE items ADD COLUMN extra int;
DROP FUNCTION log_insert() CASCADE;
CREATE FUNCTION later_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW later_view AS SELECT 1 AS one;
CREATE SCHEMA later_schema;
CREATE TABLE later_schema.t (a int);
ALTER TYPE mood ADD VALUE 'great';
INSERT INTO shop.orders (item) VALUES (77);
SELECT lo_from_bytea(0, 'later');
"""


def component(url: str, **kw: str) -> postgres.PostgresComponent:
    return postgres.from_url("pg", parse_service_url(url, root=Path("."), **kw))


def test_round_trip_is_exact_and_drops_later_objects(tmp_path: Path, postgres_url: str) -> None:
    sql(postgres_url, SCHEMA)
    before = state(postgres_url)
    comp = component(postgres_url)
    ticks: list[tuple[str, int, int | None]] = []

    result = comp.dump(tmp_path, lambda *a: ticks.append(a))

    assert [a.name for a in result.artifacts] == ["pg.pgdump.zst", "pg.meta.json"]
    for artifact in result.artifacts:
        assert artifact.size == (tmp_path / artifact.name).stat().st_size
        assert artifact.sha256 == sha256_file(tmp_path / artifact.name)
    assert result.server_version == sql(postgres_url, "SHOW server_version")[0]
    assert result.details == {"toc_entries": result.details["toc_entries"], "owners": "postgres"}
    assert ticks[-1] == ("pg", result.raw_bytes, None)
    assert comp.verify(tmp_path) == []

    sql(postgres_url, CHANGES)
    assert state(postgres_url) != before
    comp.check_restore(tmp_path)
    ticks.clear()
    comp.restore(tmp_path, lambda *a: ticks.append(a))

    assert state(postgres_url) == before
    assert ticks[-1] == ("pg", result.raw_bytes, result.raw_bytes)
    row = sql(postgres_url, "SELECT name, encode(data, 'hex') FROM items WHERE id = 1")
    assert row == [f"{EMOJI}|{ALL_BYTES.hex()}"]
    sql(postgres_url, "INSERT INTO items (id, name) VALUES (1000, 'after')")
    assert sql(postgres_url, "SELECT what FROM audit WHERE item_id = 1000") == ["inserted"]


def test_failed_restore_changes_nothing(tmp_path: Path, postgres_url: str) -> None:
    sql(postgres_url, SCHEMA)
    comp = component(postgres_url)
    comp.dump(tmp_path, lambda *a: None)
    # same archive, cut in the middle of its data: pg_restore fails half-way through
    archive = tmp_path / comp.dump_file
    data = b"".join(read_chunks(archive))
    with CompressedWriter(archive) as writer:
        writer.write(data[: len(data) * 2 // 3])
    sql(postgres_url, CHANGES)
    changed = state(postgres_url)

    with pytest.raises(OperationError, match="pg_restore"):
        comp.restore(tmp_path, lambda *a: None)

    assert state(postgres_url) == changed  # one transaction: the preamble rolled back too
    assert comp.verify(tmp_path)  # and verify reports the damage


def test_missing_database_fails_and_leaves_nothing(tmp_path: Path, postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/rbtest_does_not_exist"
    with pytest.raises(OperationError, match="does not exist"):
        component(url).dump(tmp_path, lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_killed_dump_raises_and_leaves_no_artifact(tmp_path: Path, postgres_url: str) -> None:
    sql(
        postgres_url,
        "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 40) AS pad "
        "FROM generate_series(1, 8000) g",
    )
    killed: list[int] = []

    def kill_dump(name: str, done: int, total: int | None) -> None:
        for pid, argv in child_processes():
            if not killed and Path(argv[0]).name == "pg_dump":  # Debian: a wrapper execs it
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with pytest.raises(OperationError, match="SIGKILL"):
        component(postgres_url).dump(tmp_path, kill_dump)
    assert killed
    assert list(tmp_path.iterdir()) == []


def test_password_travels_in_a_private_passfile_only(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "S3c:r\\et pa$s"
    monkeypatch.setenv("RB_TEST_PG_PASSWORD", password)
    sql(
        postgres_url,
        "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 40) AS pad "
        "FROM generate_series(1, 8000) g",
    )
    comp = component(postgres_url, password_env="RB_TEST_PG_PASSWORD")
    seen: dict[str, tuple[list[str], str]] = {}

    def watch(name: str, done: int, total: int | None) -> None:
        for pid, argv in child_processes():
            tool = Path(argv[0]).name  # Debian's wrappers exec /usr/lib/postgresql/*/bin/...
            if tool not in ("pg_dump", "pg_restore", "psql"):
                continue
            with unless_ended(pid):
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                passfiles = [e for e in environ if e.startswith(b"PGPASSFILE=")]
                assert len(passfiles) == 1, environ
                assert b"PGPASSWORD=" in environ  # empty: a stale one must not win
                path = Path(passfiles[0].decode().split("=", 1)[1])
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                assert path.read_text() == "*:*:*:*:S3c\\:r\\\\et pa$s\n"
                seen.setdefault(tool, (argv, str(path)))

    result = comp.dump(tmp_path, watch)
    comp.restore(tmp_path, watch)

    assert set(seen) == {"pg_dump", "pg_restore", "psql"}
    for argv, passfile in seen.values():
        assert not any(password in arg for arg in argv)
        assert not Path(passfile).exists()
    assert password not in comp.describe() + repr(result) + repr(comp.url)
    assert password not in (tmp_path / comp.meta_file).read_text()


@pytest.fixture
def plain_role(postgres_url: str) -> Iterator[str]:
    name = f"rbtest_{uuid.uuid4().hex[:10]}"
    sql(postgres_url, f"CREATE ROLE {name} LOGIN")
    try:
        yield name
    finally:
        sql(postgres_url, f"DROP ROLE IF EXISTS {name}")


def test_check_restore_refuses_a_role_that_cannot_own_or_drop(
    tmp_path: Path, postgres_url: str, plain_role: str
) -> None:
    sql(postgres_url, SCHEMA)
    component(postgres_url).dump(tmp_path, lambda *a: None)
    limited = component(postgres_url.replace("postgres@", f"{plain_role}@"))

    with pytest.raises(RefusedError) as refused:
        limited.check_restore(tmp_path)

    message = str(refused.value)
    assert "\n" not in message
    assert "cannot own objects of postgres" in message
    assert "does not own schema shop" in message


def test_verify_reports_an_unreadable_archive(tmp_path: Path, postgres_url: str) -> None:
    comp = component(postgres_url)
    comp.dump(tmp_path, lambda *a: None)
    with CompressedWriter(tmp_path / comp.dump_file) as writer:
        writer.write(b"not an archive")
    problems = comp.verify(tmp_path)
    assert len(problems) == 1
    assert "not a readable archive" in problems[0]
