"""Generate the data sets of the snapshot scenarios, fast, mostly server-side.

Row content is a mix for a shop database: some text and numbers (compresses well) and random
hex tokens (compress about 2:1), about 1 KB per row on disk with indexes; the dumps compress
about 3:1, less than many real dumps, so compression is not flattered. The folder gets 10,000
files of which a third are random bytes (like uploaded images) and the rest text.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
from pathlib import Path

ROW_BYTES = 1000  # approximate size of one generated row
MYSQL = ["mariadb", "-h", "127.0.0.1", "-P", "3306", "-uroot"]
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
TEXT = (
    "Blue cotton shirt, regular fit, long sleeves; ships within 2 days from Berlin. "
    "Customer review: great quality, would buy again. Price includes VAT. "
)


def _md5s(call: str, count: int, sep: str = ",") -> str:
    """``count`` random hex digests joined: SQL for 32 * count incompressible-ish bytes."""
    joined = f" {sep} ".join([call] * count)
    return f"CONCAT({joined})" if sep == "," else f"({joined})"


def rows_for(mb: int) -> int:
    return max(100, mb * 1024 * 1024 // ROW_BYTES)


def sqlite_db(path: Path, mb: int) -> None:
    """A SQLite database of about ``mb`` MB: one recursive INSERT ... SELECT."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, note TEXT, token TEXT, "
            "total REAL)"
        )
        db.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
            "INSERT INTO orders SELECT x, printf('customer%d@example.com', x % 50000), "
            "substr(?, 1 + x % 40) || hex(randomblob(96)), hex(randomblob(128)), "
            "(x % 9973) / 7.0 FROM n",
            (rows_for(mb), TEXT * 2),
        )
        db.execute("CREATE INDEX orders_email ON orders(email)")


def mysql(*sql: str, database: str | None = None) -> None:
    args = [*MYSQL, *([database] if database else []), "-e", ";\n".join(sql)]
    subprocess.run(args, check=True, capture_output=True)


def mysql_db(name: str, mb: int) -> None:
    """A MariaDB database ``name`` of about ``mb`` MB (rows), filled from the sequence engine."""
    mysql(f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}`")
    text = TEXT.replace("'", "")
    mysql(
        "CREATE TABLE orders (id INT PRIMARY KEY, email VARCHAR(80), note TEXT, "
        "token VARCHAR(300), total DECIMAL(10,2), KEY (email)) ENGINE=InnoDB",
        "SET SESSION unique_checks=0",
        "INSERT INTO orders SELECT seq, CONCAT('customer', seq % 50000, '@example.com'), "
        f"CONCAT(SUBSTRING(REPEAT('{text}', 2), 1 + seq % 40), {_md5s('MD5(RAND())', 6)}), "
        f"{_md5s('MD5(RAND())', 8)}, (seq % 9973) / 7 "
        f"FROM seq_1_to_{rows_for(mb)}",
        database=name,
    )


def psql(*sql: str, database: str = "postgres") -> None:
    subprocess.run([*PSQL, "-d", database, "-c", ";\n".join(sql)], check=True, capture_output=True)


def postgres_db(name: str, mb: int) -> None:
    """A PostgreSQL database ``name`` of about ``mb`` MB, filled by generate_series."""
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    text = TEXT.replace("'", "")
    psql(
        "CREATE TABLE orders (id INT PRIMARY KEY, email TEXT, note TEXT, token TEXT, "
        "total NUMERIC(10,2))",
        "INSERT INTO orders SELECT x, 'customer' || (x % 50000) || '@example.com', "
        f"substr(repeat('{text}', 2), 1 + x % 40) || {_md5s('md5(random()::text)', 6, '||')}, "
        f"{_md5s('md5(random()::text)', 8, '||')}, "
        f"(x % 9973) / 7.0 FROM generate_series(1, {rows_for(mb)}) x",
        "CREATE INDEX orders_email ON orders(email)",
        database=name,
    )


def free_redis_db() -> int:
    """The first empty Redis database from 15 down (tests take theirs from the bottom)."""
    for db in range(15, 0, -1):
        out = subprocess.run(
            ["redis-cli", "-n", str(db), "DBSIZE"], capture_output=True, text=True, check=True
        )
        if out.stdout.strip() == "0":
            return db
    raise RuntimeError("no empty Redis database (1-15) to benchmark in")


def redis_db(db: int, keys: int) -> None:
    """``keys`` keys (strings, some hashes, some with a TTL) through ``redis-cli --pipe``."""

    def resp(*parts: str) -> bytes:
        out = [b"*%d\r\n" % len(parts)]
        for p in parts:
            raw = p.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        return b"".join(out)

    rng = random.Random(1)
    chunks = []
    for i in range(keys):
        if i % 10 == 0:
            chunks.append(resp("HSET", f"cart:{i}", "sku", f"SKU-{i % 977}", "qty", str(i % 7)))
        elif i % 4 == 0:
            chunks.append(
                resp("SET", f"session:{i}", f"{rng.getrandbits(128):032x}" * 2, "EX", "86400")
            )
        else:
            chunks.append(resp("SET", f"cache:page:{i}", TEXT[: 40 + i % 60]))
    subprocess.run(
        ["redis-cli", "-n", str(db), "--pipe"],
        input=b"".join(chunks),
        check=True,
        capture_output=True,
    )


def folder(path: Path, mb: int, files: int = 10_000) -> None:
    """``files`` files of ``mb`` MB in all; a third random bytes (images), the rest text."""
    size = max(64, mb * 1024 * 1024 // files)
    text = (TEXT * (size // len(TEXT) + 1)).encode()
    for i in range(files):
        sub = path / f"catalog/product/{i // 100:03d}"
        if i % 100 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size) if i % 3 == 0 else text[i % 50 : i % 50 + size]
        (sub / f"image{i:05d}.{'jpg' if i % 3 == 0 else 'txt'}").write_bytes(data)


def redis_flush(db: int) -> None:
    subprocess.run(["redis-cli", "-n", str(db), "FLUSHDB"], check=True, capture_output=True)


def drop_databases(name: str) -> None:
    """Drop ``name`` on MariaDB and PostgreSQL where it exists; quiet when a server is down."""
    for args in (
        [*MYSQL, "-e", f"DROP DATABASE IF EXISTS `{name}`"],
        [*PSQL, "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"'],
    ):
        subprocess.run(args, capture_output=True, check=False)


def _query(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def mysql_mb(name: str) -> float:
    """Data + index size of database ``name`` as InnoDB reports it (after fresh statistics)."""
    sql = (
        f"ANALYZE TABLE `{name}`.orders; SELECT SUM(data_length + index_length) / 1e6 "
        f"FROM information_schema.tables WHERE table_schema = '{name}'"
    )
    return float(_query([*MYSQL, "-N", "-B", "-e", sql]).split()[-1])


def postgres_mb(name: str) -> float:
    return int(_query([*PSQL, "-At", "-c", f"SELECT pg_database_size('{name}')"])) / 1e6


def redis_mb(db: int) -> float:
    """The whole server's used memory (Redis reports no per-database figure)."""
    keys = int(_query(["redis-cli", "-n", str(db), "DBSIZE"]))
    info = _query(["redis-cli", "-n", str(db), "INFO", "memory"])
    used = next(
        (int(line.split(":")[1]) for line in info.splitlines() if line.startswith("used_memory:")),
        0,
    )
    return used / 1e6 if keys else 0.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
