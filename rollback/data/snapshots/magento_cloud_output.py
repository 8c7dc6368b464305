"""Reading what the ``magento-cloud`` CLI prints, and the documented restore-time figures.

Pure functions only (no process runs), so every layout is tested on the exact text of the seed
documents. The layouts we know, from the two seeds:

- 2018: ``Created | Snapshot name | Progress | State | Result``, preamble
  ``Finding snapshots for the environment <name>``.
- 2023: ``Created | Snapshot ID | Restorable``, preamble
  ``Snapshots on the project (id), environment <name> (type: development):``.

Columns are found by name, never by position, so a CLI that adds or reorders columns still reads.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from rollback.data.snapshots.base import Snapshot
from rollback.errors import OperationError, RollbackError, UsageError
from rollback.proc import ProcessError

PROVIDER = "magento-cloud"
GB = 1_000_000_000  # the documentation says "GB"; we read it as decimal gigabytes
HOUR = 3600.0
# (size in GB, hours) as documented in the 2023 seed ("Restore a snapshot").
DOCUMENTED_RESTORE_TIMES: tuple[tuple[float, float], ...] = ((60, 1.0), (150, 2.5), (200, 5.0))
DOCUMENTED_TEXT = "documented: about 1 h for 60 GB, 2.5 h for 150 GB, 5 h for 200 GB and more"

# Header names (lower case) -> our field. Both seed layouts, plus the CSV column names we ask for.
_COLUMNS = {
    "created": "created_at",
    "created_at": "created_at",
    "snapshot name": "id",
    "snapshot id": "id",
    "backup id": "id",
    "id": "id",
    "restorable": "restorable",
    "progress": "progress",
    "state": "state",
    "result": "result",
    "commit id": "commit_id",
    "commit_id": "commit_id",
}
_PREAMBLE_RE = re.compile(r"^\s*(Snapshots on the project|Finding snapshots)", re.IGNORECASE)
_TYPE_RE = re.compile(r"\(type:\s*([A-Za-z_-]+)\)")
_CREATED_ID_RES = (
    re.compile(r"^\s*Snapshot name:\s*(\S+)\s*$", re.MULTILINE),
    re.compile(r"^\s*Created backup\s+(\S+)\s*$", re.MULTILINE),
)
# Symfony Console says 'The "--format" option does not exist.'; other wordings matched generously.
_UNKNOWN_OPTION_RE = re.compile(
    r"option does not exist|unknown option|unrecognized option|invalid option"
    r"|column(s)? not found|invalid column|unknown column",
    re.IGNORECASE,
)
# The seeds never show these failures: the patterns are deliberately generous guesses at the
# CLI's wording (Platform.sh-based CLIs say "Authentication is required" / "not logged in").
_NOT_LOGGED_IN_RE = re.compile(
    r"not logged in|authentication is required|please log in|log in using|login required"
    r"|invalid[_ ]grant|unauthori[sz]ed",
    re.IGNORECASE,
)
_NO_PROJECT_RE = re.compile(
    r"specified project not found|project not found|could not determine the current project"
    r"|project (id )?not specified",
    re.IGNORECASE,
)
_NO_ENV_RE = re.compile(
    r"specified environment not found|environment not found"
    r"|could not determine the current environment|environment (id )?not specified",
    re.IGNORECASE,
)
_NO_SNAPSHOT_RE = re.compile(r"(snapshot|backup) not found|no such (snapshot|backup)", re.I)


@dataclass(frozen=True)
class Listing:
    """Rows of a ``snapshot:list`` answer, each a dict keyed by our field names."""

    rows: tuple[dict[str, str], ...]
    environment_type: str | None = None  # from the 2023 preamble "(type: ...)", when shown


def estimate_restore_seconds(size_bytes: int | None) -> float | None:
    """Estimate a Magento Cloud restore's duration from the snapshot's size (None if unknown).

    Piecewise linear through the documented points: 1 h for 60 GB, 2.5 h for 150 GB, 5 h for
    200 GB. Below 60 GB the first segment continues to zero (1 min per GB); above 200 GB the
    time grows in proportion to the 200 GB figure (1.5 min per GB), never below 5 h. It is an
    estimate: the platform gives no guarantee.
    """
    if size_bytes is None:
        return None
    if size_bytes < 0:
        raise ValueError("size_bytes must not be negative")
    gb = size_bytes / GB
    points = ((0.0, 0.0), *DOCUMENTED_RESTORE_TIMES)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if gb <= x1:
            return (y0 + (y1 - y0) * (gb - x0) / (x1 - x0)) * HOUR
    last_gb, last_h = DOCUMENTED_RESTORE_TIMES[-1]
    return last_h * gb / last_gb * HOUR


def format_duration(seconds: float) -> str:
    """'2 h 30 min', '45 min', 'under a minute'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def restore_estimate_text(size_bytes: int | None) -> str:
    """One line for users: the estimate and where its figures come from, or why there is none."""
    seconds = estimate_restore_seconds(size_bytes)
    if seconds is None or size_bytes is None:
        return f"restore time: unknown, the snapshot's size is not known ({DOCUMENTED_TEXT})"
    return (
        f"restore time estimate: about {format_duration(seconds)} for {size_bytes / GB:.0f} GB "
        f"({DOCUMENTED_TEXT})"
    )


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_table(text: str) -> Listing:
    """Parse the human table of ``snapshot:list`` (either seed layout) and its preamble."""
    found = _TYPE_RE.search(text)
    env_type = found.group(1).lower() if found else None
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines():
        if not line.strip().startswith("|"):
            continue  # preamble ("Finding snapshots...", "Snapshots on the project...") and rules
        cells = _cells(line)
        if header is None:
            header = [_COLUMNS.get(c.lower(), c.lower()) for c in cells]
            missing = {"created_at", "id"} - set(header)
            if missing:
                raise OperationError(
                    f"magento-cloud snapshot:list printed a table without {', '.join(missing)}",
                    hint=f"columns seen: {', '.join(cells)}; please report this CLI version",
                )
            continue
        if len(cells) != len(header):
            raise OperationError(
                f"magento-cloud snapshot:list printed a row with {len(cells)} cells, "
                f"expected {len(header)}",
                hint=f"row: {line.strip()}",
            )
        rows.append(dict(zip(header, cells, strict=True)))
    return Listing(tuple(rows), env_type)


def parse_csv(text: str, columns: tuple[str, ...]) -> Listing:
    """Parse ``--format csv --no-header -c <columns>`` output: one row per snapshot."""
    rows: list[dict[str, str]] = []
    found = _TYPE_RE.search(text)
    # The preamble normally goes to stderr with --format csv; skip it should it reach stdout.
    data = "\n".join(line for line in text.splitlines() if not _PREAMBLE_RE.match(line))
    for record in csv.reader(io.StringIO(data)):
        if not record or not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            raise OperationError(
                f"magento-cloud snapshot:list printed {len(record)} CSV fields, "
                f"expected {len(columns)}",
                hint=f"line: {','.join(record)}",
            )
        rows.append({c: v.strip() for c, v in zip(columns, record, strict=True)})
    return Listing(tuple(rows), found.group(1).lower() if found else None)


def _parse_time(value: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise OperationError(f"magento-cloud printed an unreadable date: {value!r}") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"true", "yes", "1", "y"}


def snapshot_from_row(
    row: dict[str, str], *, retention_days: int, now: datetime, extra: dict[str, str]
) -> Snapshot:
    """Turn one listed row into a Snapshot.

    Restorable comes from the ``Restorable`` column when the CLI prints one; otherwise (2018
    layout) a snapshot is restorable while it is complete/success and younger than the
    documented window (7 days unless configured).
    """
    raw_id = row["id"]
    # The 2018 seed prints "<snapshot_ID>." - the period ends the docs' sentence, not the id
    # (platform ids never end with one), so one trailing period is dropped.
    snap_id = raw_id[:-1] if raw_id.endswith(".") else raw_id
    created = _parse_time(row["created_at"])
    expires = created + timedelta(days=retention_days)
    state, result = row.get("state", "").lower(), row.get("result", "").lower()
    if "state" in row:
        done = state == "complete" and result in {"success", ""}
        status = "complete" if done else ("failed" if state == "complete" else state or "unknown")
    else:
        status = "complete"
    if "restorable" in row:
        restorable = _truthy(row["restorable"])
    else:
        restorable = status == "complete" and now < expires
    info = dict(extra)
    for key in ("progress", "state", "result"):
        if row.get(key):
            info[key] = row[key]
    if raw_id != snap_id:
        info["listed_id"] = raw_id
    return Snapshot(
        id=snap_id,
        provider=PROVIDER,
        created_at=created,
        commit=row.get("commit_id") or None,
        branch=extra.get("environment"),
        restorable=restorable,
        expires_at=expires,
        status=status,
        extra=info,
    )


def created_id(text: str) -> str | None:
    """The new snapshot's id from ``snapshot:create`` output ("Snapshot name: x" wins)."""
    for pattern in _CREATED_ID_RES:
        matches = pattern.findall(text)
        if matches:
            return str(matches[-1])
    return None


def rejects_option(error: ProcessError) -> bool:
    """True when the CLI failed because it does not know an option or column we passed."""
    return bool(_UNKNOWN_OPTION_RE.search(error.stdout + "\n" + error.stderr))


def last_line(error: ProcessError) -> str:
    lines = (error.stderr.strip() or error.stdout.strip()).splitlines()
    return lines[-1].strip() if lines else f"exit code {error.returncode}"


def classify(error: ProcessError, *, project: str | None, environment: str | None) -> RollbackError:
    """Map a failed CLI run to one clear error with a hint."""
    text = error.stdout + "\n" + error.stderr
    where = "[tool.rollback.magento-cloud]"
    if _NOT_LOGGED_IN_RE.search(text):
        return OperationError(
            "magento-cloud CLI is not logged in",
            hint="run `magento-cloud login` (or set MAGENTO_CLOUD_CLI_TOKEN in a pipeline)",
        )
    if _NO_PROJECT_RE.search(text):
        name = f" {project!r}" if project else ""
        return UsageError(
            f"Magento Cloud project{name} not found",
            hint=f"set `project` in {where} to an id from `magento-cloud projects`",
        )
    if _NO_ENV_RE.search(text):
        name = f" {environment!r}" if environment else ""
        return UsageError(
            f"Magento Cloud environment{name} not found",
            hint=f"set `environment` in {where} to an id from `magento-cloud environments`",
        )
    if _NO_SNAPSHOT_RE.search(text):
        return UsageError(
            f"magento-cloud: {last_line(error)}",
            hint="list the snapshots with `rollback snapshot list --provider magento-cloud`",
        )
    return OperationError(
        f"magento-cloud failed (exit {error.returncode}): {last_line(error)}",
        hint="run the command by hand with -v for details: " + " ".join(error.args_),
    )
