"""What a MariaDB/MySQL dump needs to be restored, and what ``SHOW GRANTS`` says we have.

``DefinerScanner`` finds the definers and object kinds in the dump while it streams past;
``missing_privileges`` compares what they require with the restoring user's grants.

Only global (``*.*``) and database-level grants count: a restore drops and recreates the whole
database, so table-level grants cannot carry it. ``SHOW GRANTS`` lines may carry a password
hash; only the privilege list and the target are read from them and nothing else is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What loading any dump takes: recreate the database, create and fill tables under LOCK TABLES.
BASE = ("CREATE", "DROP", "INSERT", "ALTER", "LOCK TABLES")
BY_KIND = {
    "trigger": ("TRIGGER",),
    "function": ("CREATE ROUTINE",),
    "procedure": ("CREATE ROUTINE",),
    "routine": ("CREATE ROUTINE",),
    "event": ("EVENT",),
    "view": ("CREATE VIEW", "SELECT"),
}
# Creating an object with someone else's DEFINER: MariaDB >= 10.5.2 SET USER, MySQL 8
# SET_USER_ID / SET_ANY_DEFINER, everywhere SUPER.
DEFINER_PRIVS = ("SUPER", "SET USER", "SET_USER_ID", "SET_ANY_DEFINER")
# A definer line as the dump tools write it: trigger, view, event, or routine.
_DEFINER = re.compile(
    rb"^(?P<pre>/\*!50003 CREATE\*/ /\*!50017 |/\*!50013 |/\*!50106 CREATE\*/ /\*!50117 |CREATE )"
    rb"DEFINER=`(?P<user>(?:[^`]|``)*)`(?:@`(?P<host>(?:[^`]|``)*)`)?(?P<post>\*/)? ?(?P<what>\w*)"
)
_KIND_BY_PREFIX = {b"50017": "trigger", b"50013": "view", b"50117": "event"}
_GRANT = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<target>\*\.\*|`(?:[^`]|``)+`\.\*) TO ")


def _pattern_matches(pattern: str, database: str) -> bool:
    """MySQL grant patterns: ``%`` and ``_`` are wildcards, ``\\_`` and ``\\%`` literals."""
    regex = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.fullmatch(regex, database) is not None


def held_privileges(grants: Iterable[str], database: str) -> tuple[set[str], set[str]]:
    """(global privileges, privileges on ``database``) from ``SHOW GRANTS`` lines."""
    global_: set[str] = set()
    on_db: set[str] = set()
    for line in grants:
        match = _GRANT.match(line.strip())
        if match is None:
            continue
        privs = {p.strip().upper() for p in match.group("privs").split(",")}
        if "ALL" in privs or "ALL PRIVILEGES" in privs:
            privs.add("ALL")
        target = match.group("target")
        if target == "*.*":
            global_ |= privs
        elif _pattern_matches(target[1:-3].replace("``", "`"), database):
            on_db |= privs
    return global_, on_db


def missing_privileges(
    grants: Iterable[str],
    *,
    database: str,
    kinds: Iterable[str],
    foreign_definers: Iterable[str],
    binlog_functions: bool = False,
) -> list[str]:
    """Privileges the restoring user lacks, sorted; empty when the restore can go ahead.

    ``kinds``: object kinds found in the dump (trigger, view, event, function, procedure).
    ``foreign_definers``: definers other than the restoring user.
    ``binlog_functions``: stored functions while binary logging is on without
    ``log_bin_trust_function_creators`` (the server then demands SUPER).
    """
    global_, on_db = held_privileges(grants, database)
    has_all_global = "ALL" in global_
    needed = set(BASE)
    for kind in kinds:
        needed.update(BY_KIND.get(kind, ()))
    missing = {
        p for p in needed if not (has_all_global or "ALL" in on_db or p in global_ or p in on_db)
    }
    if list(foreign_definers) and not (has_all_global or global_ & set(DEFINER_PRIVS)):
        missing.add("SUPER or SET USER (objects with another DEFINER)")
    if binlog_functions and not (has_all_global or "SUPER" in global_):
        missing.add("SUPER (stored functions while binary logging is on)")
    return sorted(missing)


class DefinerScanner:
    """Collects ``(kind, user@host)`` of every definer line while the dump streams past.

    Definers sit at the start of their line, so only the first ``LIMIT`` bytes of each line are
    kept: a long INSERT line costs nothing, and data cannot fake a definer because the dump
    escapes newlines inside values.
    """

    LIMIT = 2048

    def __init__(self) -> None:
        self.found: set[tuple[str, str]] = set()
        self._head = b""

    def feed(self, chunk: bytes) -> None:
        """Scan one chunk of the stream (lines may span chunks)."""
        if b"DEFINER=" not in self._head + chunk:
            # fast path for data: keep only the start of the last, unfinished line
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                self._head = chunk[nl + 1 : nl + 1 + self.LIMIT]
            else:
                self._head += chunk[: max(0, self.LIMIT - len(self._head))]
            return
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            end = len(chunk) if nl < 0 else nl
            room = self.LIMIT - len(self._head)
            if room > 0:
                self._head += chunk[start : min(end, start + room)]
            if nl < 0:
                return
            self._line(self._head)
            self._head = b""
            start = nl + 1

    def finish(self) -> None:
        self._line(self._head)
        self._head = b""

    def _line(self, line: bytes) -> None:
        if b"DEFINER=" not in line:
            return
        match = _DEFINER.match(line)
        if match is None:
            return
        marker = match.group("pre")[-6:-1]
        kind = _KIND_BY_PREFIX.get(marker) or match.group("what").decode().lower() or "routine"
        user = match.group("user").decode("utf-8", "replace").replace("``", "`")
        host = (match.group("host") or b"").decode("utf-8", "replace").replace("``", "`")
        self.found.add((kind, f"{user}@{host}" if match.group("host") is not None else user))
