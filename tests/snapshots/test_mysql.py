"""MariaDB/MySQL component against the real server: exact round trips, refusals, secrets."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollback.data.snapshots.components import mysql
from rollback.data.snapshots.components.mysql_grants import DefinerScanner, missing_privileges
from rollback.data.snapshots.compress import read_chunks, sha256_file
from rollback.data.snapshots.urls import ServiceURL, parse_service_url
from rollback.errors import OperationError, RefusedError
from tests.snapshots.dbprobe import child_processes, unless_ended

pytestmark = pytest.mark.services

EMOJI = "Grüße 😀 ✓ 𝄞"
ALL_BYTES = bytes(range(256))


def sql(url: str, statement: str, *, user: str = "root") -> list[list[str]]:
    """Run ``statement`` in the URL's database as ``user`` (no password); rows as text."""
    parsed = parse_service_url(url, root=Path("."))
    args = ["mariadb", "-h", str(parsed.host), "-P", str(parsed.port), f"-u{user}", "-N", "-B"]
    args += ["--default-character-set=utf8mb4", "-e", statement, str(parsed.database)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines()]


def state(url: str) -> dict[str, object]:
    """Schema objects, definitions and every row (hex for exact bytes) of the database."""
    db = parse_service_url(url, root=Path(".")).database
    where = f"WHERE {{}} = '{db}' ORDER BY 1"
    result: dict[str, object] = {
        "tables": sql(url, "SHOW FULL TABLES"),
        "routines": sql(
            url,
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, DEFINER "
            "FROM information_schema.ROUTINES " + where.format("ROUTINE_SCHEMA"),
        ),
        "triggers": sql(
            url,
            "SELECT TRIGGER_NAME, ACTION_STATEMENT, DEFINER FROM information_schema.TRIGGERS "
            + where.format("TRIGGER_SCHEMA"),
        ),
        "events": sql(
            url,
            "SELECT EVENT_NAME, EVENT_DEFINITION, STATUS FROM information_schema.EVENTS "
            + where.format("EVENT_SCHEMA"),
        ),
        "views": sql(
            url,
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
            + where.format("TABLE_SCHEMA"),
        ),
    }
    for name, kind in sql(url, "SHOW FULL TABLES"):
        if kind != "BASE TABLE":
            continue
        result[f"create {name}"] = sql(url, f"SHOW CREATE TABLE `{name}`")
        cols = [row[0] for row in sql(url, f"SHOW COLUMNS FROM `{name}`")]
        hexed = ", ".join(f"HEX(`{c}`)" for c in cols)
        result[f"rows {name}"] = sql(url, f"SELECT {hexed} FROM `{name}` ORDER BY 1")
    return result


SCHEMA = f"""
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4,
  data LONGBLOB, price DECIMAL(10,2), note TEXT) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT, what VARCHAR(20));
INSERT INTO items VALUES (1, '{EMOJI}', UNHEX('{ALL_BYTES.hex()}'), 9.99, 'tab\\tnew\\nline');
INSERT INTO items SELECT seq, CONCAT('item ', seq), UNHEX(SHA2(seq, 256)), seq * 1.5, NULL
  FROM seq_2_to_60;
CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW
  INSERT INTO audit (item_id, what) VALUES (NEW.id, 'inserted');
CREATE PROCEDURE item_count(OUT n INT) SELECT COUNT(*) INTO n FROM items;
CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE
  DO DELETE FROM audit WHERE id < 0;
CREATE VIEW expensive AS SELECT id, name FROM items WHERE price > 50;
"""

CHANGES = """
UPDATE items SET name = 'changed', data = 'x' WHERE id = 1;
DELETE FROM items WHERE id IN (2, 3);
INSERT INTO items VALUES (999, 'new', NULL, 1, NULL);
CREATE TABLE later (a INT);
ALTER TABLE items ADD COLUMN extra INT;
DROP PROCEDURE item_count;
DROP TRIGGER items_ai;
CREATE PROCEDURE later_proc() SELECT 1;
CREATE VIEW later_view AS SELECT 1 AS one;
CREATE EVENT later_event ON SCHEDULE EVERY 1 HOUR DISABLE DO SELECT 1;
"""


def component(url: str, **kw: str) -> mysql.MySQLComponent:
    return mysql.from_url("mysql", parse_service_url(url, root=Path("."), **kw))


def test_round_trip_is_exact_and_drops_later_objects(tmp_path: Path, mysql_url: str) -> None:
    sql(mysql_url, SCHEMA)
    before = state(mysql_url)
    comp = component(mysql_url)
    ticks: list[tuple[str, int, int | None]] = []

    result = comp.dump(tmp_path, lambda *a: ticks.append(a))

    assert [a.name for a in result.artifacts] == ["mysql.sql.zst", "mysql.meta.json"]
    for artifact in result.artifacts:
        assert artifact.size == (tmp_path / artifact.name).stat().st_size
        assert artifact.sha256 == sha256_file(tmp_path / artifact.name)
    assert result.server_version == sql(mysql_url, "SELECT VERSION()")[0][0]
    assert ticks[-1] == ("mysql", result.raw_bytes, None)
    current = sql(mysql_url, "SELECT CURRENT_USER()")[0][0]
    assert result.details is not None
    assert result.details["definers"] == current
    assert result.details["object_kinds"] == "event, function, procedure, trigger, view"
    assert comp.verify(tmp_path) == []

    sql(mysql_url, CHANGES)
    assert state(mysql_url) != before
    comp.check_restore(tmp_path)
    ticks.clear()
    comp.restore(tmp_path, lambda *a: ticks.append(a))

    after = state(mysql_url)
    assert after == before
    assert ticks[-1] == ("mysql", result.raw_bytes, result.raw_bytes)
    rows = sql(mysql_url, "SELECT HEX(name), HEX(data) FROM items WHERE id = 1")
    assert rows == [[EMOJI.encode().hex().upper(), ALL_BYTES.hex().upper()]]
    # the trigger is back and works
    sql(mysql_url, "INSERT INTO items (id, name) VALUES (1000, 'after')")
    assert sql(mysql_url, "SELECT what FROM audit WHERE item_id = 1000") == [["inserted"]]


def test_missing_database_fails_and_leaves_nothing(tmp_path: Path, mysql_url: str) -> None:
    url = mysql_url.rsplit("/", 1)[0] + "/rbtest_does_not_exist"
    with pytest.raises(OperationError, match="does not exist"):
        component(url).dump(tmp_path, lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_killed_dump_raises_and_leaves_no_artifact(tmp_path: Path, mysql_url: str) -> None:
    sql(mysql_url, "CREATE TABLE big (id INT PRIMARY KEY, pad TEXT)")
    sql(mysql_url, "INSERT INTO big SELECT seq, REPEAT(MD5(seq), 40) FROM seq_1_to_8000")
    killed: list[int] = []

    def kill_dump(name: str, done: int, total: int | None) -> None:
        for pid, argv in child_processes():
            if not killed and argv and argv[0] in mysql.DUMP_TOOLS:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    with pytest.raises(OperationError, match="SIGKILL"):
        component(mysql_url).dump(tmp_path, kill_dump)
    assert killed
    assert list(tmp_path.iterdir()) == []


def test_stream_without_footer_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cut.sql.zst"
    with pytest.raises(OperationError, match="Dump completed"):
        mysql.stream_dump(
            ["printf", "CREATE TABLE t (a INT);\\nINSERT INTO t VALUES\\n(1),"],
            path,
            progress=lambda *a: None,
            name="mysql",
        )
    assert not path.exists()
    raw, artifact = mysql.stream_dump(
        ["printf", "SELECT 1;\\n-- Dump completed\\n"], path, progress=lambda *a: None, name="m"
    )
    assert raw == len(b"SELECT 1;\n-- Dump completed\n")
    assert b"".join(read_chunks(path)).endswith(b"-- Dump completed\n")
    assert artifact.sha256 == sha256_file(path)


@pytest.fixture
def mysql_user(mysql_url: str) -> Iterator[tuple[str, str]]:
    """A throw-away account ('name', 'password'), dropped afterwards."""
    name = f"rbtest_{uuid.uuid4().hex[:10]}"
    password = 'S3c:r"et\\ #pa$s'
    literal = password.replace("\\", "\\\\").replace("'", "\\'")
    sql(mysql_url, f"CREATE USER '{name}'@'%' IDENTIFIED BY '{literal}'")
    try:
        yield name, password
    finally:
        sql(mysql_url, f"DROP USER IF EXISTS '{name}'@'%'")


def test_password_never_on_command_lines_or_in_results(
    tmp_path: Path, mysql_url: str, mysql_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = mysql_user
    db = parse_service_url(mysql_url, root=Path(".")).database
    sql(mysql_url, f"GRANT ALL ON `{db}`.* TO '{user}'@'%'")
    sql(mysql_url, "CREATE TABLE big (id INT PRIMARY KEY, pad TEXT)")
    sql(mysql_url, "INSERT INTO big SELECT seq, REPEAT(MD5(seq), 40) FROM seq_1_to_8000")
    monkeypatch.setenv("RB_TEST_MYSQL_PASSWORD", password)
    url = mysql_url.replace("root@", f"{user}@")
    comp = component(url, password_env="RB_TEST_MYSQL_PASSWORD")
    seen: dict[str, list[str]] = {}

    def watch(name: str, done: int, total: int | None) -> None:
        for pid, argv in child_processes():
            if argv and argv[0] in mysql.DUMP_TOOLS + mysql.CLIENT_TOOLS:
                with unless_ended(pid):
                    option_file = Path(argv[1].split("=", 1)[1])
                    assert stat.S_IMODE(option_file.stat().st_mode) == 0o600
                    seen.setdefault(argv[0], argv)

    result = comp.dump(tmp_path, watch)
    before = state(mysql_url)
    sql(mysql_url, "DELETE FROM big WHERE id > 10")
    comp.check_restore(tmp_path)
    comp.restore(tmp_path, watch)
    assert state(mysql_url) == before

    assert set(seen) == {"mariadb-dump", "mariadb"}  # both children seen while running
    for argv in seen.values():
        assert argv[1].startswith("--defaults-extra-file=")
        assert not any(password in arg for arg in argv)
        assert not Path(argv[1].split("=", 1)[1]).exists()  # removed afterwards
    assert password not in comp.describe()
    assert comp.describe() == f"mysql {user}@127.0.0.1:3306/{db}"
    assert password not in repr(result) + repr(comp.url)
    assert password not in (tmp_path / "mysql.meta.json").read_text()

    monkeypatch.setenv("RB_TEST_MYSQL_PASSWORD", password + "-wrong")
    (tmp_path / "x").mkdir()
    with pytest.raises(OperationError) as failed:
        component(url, password_env="RB_TEST_MYSQL_PASSWORD").dump(tmp_path / "x", print)
    assert "Access denied" in str(failed.value)
    assert password not in str(failed.value) + getattr(failed.value, "details", lambda: "")()


def test_dump_that_cannot_see_a_routine_fails_clearly(
    tmp_path: Path, mysql_url: str, mysql_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = mysql_user
    db = parse_service_url(mysql_url, root=Path(".")).database
    sql(mysql_url, "CREATE FUNCTION secret() RETURNS INT DETERMINISTIC RETURN 42")
    sql(mysql_url, f"GRANT ALL ON `{db}`.* TO '{user}'@'%'")
    monkeypatch.setenv("RB_TEST_MYSQL_PASSWORD", password)
    comp = component(mysql_url.replace("root@", f"{user}@"), password_env="RB_TEST_MYSQL_PASSWORD")

    # mariadb-dump cannot read root's routine body: a silently incomplete dump would be worse
    with pytest.raises(OperationError, match="insufficient privileges to SHOW CREATE FUNCTION"):
        comp.dump(tmp_path, lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_check_restore_refuses_missing_privileges(
    tmp_path: Path, mysql_url: str, mysql_user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = mysql_user
    db = parse_service_url(mysql_url, root=Path(".")).database
    sql(mysql_url, SCHEMA)
    component(mysql_url).dump(tmp_path, lambda *a: None)
    sql(
        mysql_url, f"GRANT SELECT, INSERT, CREATE, DROP, ALTER, LOCK TABLES ON `{db}`.* TO '{user}'"
    )
    monkeypatch.setenv("RB_TEST_MYSQL_PASSWORD", password)
    limited = component(
        mysql_url.replace("root@", f"{user}@"), password_env="RB_TEST_MYSQL_PASSWORD"
    )

    with pytest.raises(RefusedError) as refused:
        limited.check_restore(tmp_path)
    message = str(refused.value)
    assert "\n" not in message
    for privilege in ("TRIGGER", "CREATE ROUTINE", "EVENT", "CREATE VIEW", "SUPER or SET USER"):
        assert privilege in message
    assert password not in message

    sql(mysql_url, f"GRANT ALL ON `{db}`.* TO '{user}'")
    with pytest.raises(RefusedError, match=r"lacks SUPER or SET USER \(objects with another"):
        limited.check_restore(tmp_path)  # only the root definers are left


def test_grant_parsing_understands_patterns_and_all() -> None:
    grants = [
        "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*ABC'",
        "GRANT SELECT, INSERT, CREATE, DROP, ALTER, LOCK TABLES ON `shop\\_%`.* TO `u`@`%`",
        "GRANT TRIGGER ON `shop_live`.`orders` TO `u`@`%`",  # table level: does not count
    ]
    assert missing_privileges(grants, database="shop_live", kinds=[], foreign_definers=[]) == []
    assert missing_privileges(
        grants, database="shopXlive", kinds=[], foreign_definers=[]
    ) == sorted(["ALTER", "CREATE", "DROP", "INSERT", "LOCK TABLES"])
    assert missing_privileges(
        grants, database="shop_live", kinds=["trigger"], foreign_definers=["root@localhost"]
    ) == ["SUPER or SET USER (objects with another DEFINER)", "TRIGGER"]
    admin = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]
    assert (
        missing_privileges(
            admin,
            database="x",
            kinds=["event", "function"],
            foreign_definers=["a@b"],
            binlog_functions=True,
        )
        == []
    )


def test_definer_scanner_reads_across_chunks_and_ignores_data() -> None:
    dump = (
        b"INSERT INTO `t` VALUES\n(1,'CREATE DEFINER=`evil`@`x` PROCEDURE'),\n"
        b"/*!50003 CREATE*/ /*!50017 DEFINER=`app`@`%`*/ /*!50003 TRIGGER t1 BEFORE INSERT\n"
        b"/*!50013 DEFINER=`we``ird`@`localhost` SQL SECURITY DEFINER */\n"
        b"/*!50106 CREATE*/ /*!50117 DEFINER=`ev`@`h`*/ /*!50106 EVENT `e` ON SCHEDULE\n"
        b"CREATE DEFINER=`root`@`localhost` FUNCTION `f`() RETURNS int(11)\n"
        b"CREATE DEFINER=`role_only` PROCEDURE `p`()\n"
    )
    expected = {
        ("trigger", "app@%"),
        ("view", "we`ird@localhost"),
        ("event", "ev@h"),
        ("function", "root@localhost"),
        ("procedure", "role_only"),
    }
    for size in (1, 7, 64, len(dump)):
        scanner = DefinerScanner()
        for i in range(0, len(dump), size):
            scanner.feed(dump[i : i + size])
        scanner.finish()
        assert scanner.found == expected, size


def test_option_file_quotes_and_disappears() -> None:
    url = ServiceURL("mysql", host="127.0.0.1", port=3306, user="u", password='a"b\\c#d')
    with mysql.option_file(url) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        text = path.read_text()
        assert 'password="a\\"b\\\\c#d"' in text
        folder = path.parent
    assert not folder.exists()
