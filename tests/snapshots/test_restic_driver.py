"""restic's answers mapped to ours, and the restic settings, without running a repository.

Debian 12's restic 0.14 answers every failure with exit code 1 and a text; 0.17 added the
codes 10, 11, 12 and a final ``exit_error`` JSON message on stderr. The installed restic
shows the 0.14 side in tests/snapshots/test_restic.py; the newer side is the documented
format (doc/075_scripting.rst), fed here as restic would print it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollback.config import Config
from rollback.data.snapshots.restic.driver import Outcome, Restic, _collect_stderr
from rollback.data.snapshots.restic.sets import parse_sets, part_tags, restic_time
from rollback.data.snapshots.restic.settings import parse_restic, safe_repository
from rollback.errors import ExitCode, UsageError


def driver(tmp_path: Path) -> Restic:
    return Restic("restic", "rest:http://u:pw@h/r/", "rest:http://u@h/r/", {}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("code", "stderr", "exit_code", "words"),
    [
        (10, "", ExitCode.USAGE, "no restic repository at rest:http://u@h/r/"),
        (11, "", ExitCode.REFUSED, "is locked by another restic"),
        (12, "", ExitCode.USAGE, "wrong password for restic repository"),
        (130, "", ExitCode.INTERRUPTED, "was interrupted"),
        (1, "Fatal: wrong password or no key found\n", ExitCode.USAGE, "wrong password"),
        (
            1,
            "unable to create lock in backend: repository is already locked by PID 7\n",
            ExitCode.REFUSED,
            "locked",
        ),
        (
            1,
            "Fatal: unable to open config file: <config/> does not exist\n"
            "Is there a repository at the following location?\nrest:http://u@h/r/\n",
            ExitCode.USAGE,
            "no restic repository",
        ),
        (
            1,
            'Fatal: unable to open config file: Head "http://h/r/config": dial tcp: '
            "connect: connection refused\nIs there a repository at the following location?\n",
            ExitCode.FAILED,
            "cannot be reached",
        ),
        (
            1,
            "Fatal: something new\n",
            ExitCode.FAILED,
            "restic snapshots failed (exit 1): something new",
        ),
        (42, "", ExitCode.FAILED, "exit 42"),  # an unknown code is a failure
    ],
)
def test_exit_codes_and_messages_map_to_ours(
    tmp_path: Path, code: int, stderr: str, exit_code: ExitCode, words: str
) -> None:
    error = driver(tmp_path).failure(["snapshots"], Outcome(code=code, stderr=stderr))
    assert error.exit_code == exit_code
    assert words in error.message
    assert "pw" not in error.message + (error.hint or "")


def test_the_final_exit_error_message_of_newer_restic_is_read(tmp_path: Path) -> None:
    exit_error = {"message_type": "exit_error", "code": 10, "message": "repository does not exist"}
    error = {"message_type": "error", "error": {"message": "permission denied"}, "item": "/a"}
    outcome = Outcome(code=1, stderr=json.dumps(error) + "\n" + json.dumps(exit_error) + "\n")
    _collect_stderr(outcome)
    assert outcome.errors == [error]
    assert outcome.stderr == "/a: permission denied\nFatal: repository does not exist"
    failure = driver(tmp_path).failure(["backup"], outcome)
    assert failure.message == "restic backup failed (exit 1): repository does not exist"


def test_tags_carry_labels_with_commas_and_times_parse(tmp_path: Path) -> None:
    args = part_tags("20261202-101500-x", "manifest", {"rollback-label": "a, b = c", "x": None})
    tags = args[1::2]
    assert all("," not in t for t in tags)  # restic splits tags at commas
    listing = [
        {
            "id": "f" * 64,
            "time": "2026-12-02T11:15:00.123456789+01:00",
            "hostname": "h",
            "tags": tags,
        },
        {"id": "e" * 64, "time": "2026-12-02T10:15:00Z", "tags": ["someone-else"]},
    ]
    sets = parse_sets(listing)
    assert list(sets) == ["20261202-101500-x"]
    manifest = sets["20261202-101500-x"].manifest
    assert manifest is not None and manifest.tags["rollback-label"] == "a, b = c"
    assert manifest.time.isoformat() == "2026-12-02T10:15:00+00:00"
    assert restic_time("2026-12-02T10:15:00Z").isoformat() == "2026-12-02T10:15:00+00:00"


def settings(tmp_path: Path, **restic: object) -> Config:
    return Config(tmp_path, {"restic": restic}, tmp_path / ".rollback.toml")


def test_settings_are_checked_and_the_password_stays_out_of_messages(tmp_path: Path) -> None:
    assert safe_repository("rest:https://u:s3cret@h:8000/r/") == "rest:https://u@h:8000/r/"
    parsed = parse_restic(settings(tmp_path, repository="backups/repo", paths=["var"]))
    assert parsed.repository == str(tmp_path / "backups/repo")  # relative to the project
    assert parsed.password_env == "RESTIC_PASSWORD" and parsed.password_command is None
    refused = {
        "repository is required": {},
        "not both": {"repository": "/r", "password_env": "A", "password_command": "b"},
        "not a restic --read-data-subset": {"repository": "/r", "check_subset": "most"},
        "contains the snapshot store": {"repository": "var/repo", "paths": ["var"]},
        "contains * ? [ ] or": {"repository": "/r", "paths": ["pub/[media]"]},
        "unknown setting 'pasword_env'": {"repository": "/r", "pasword_env": "X"},
    }
    for words, section in refused.items():
        with pytest.raises(
            UsageError,
            match=words.replace("*", r"\*")
            .replace("?", r"\?")
            .replace("[", r"\[")
            .replace("]", r"\]"),
        ):
            parse_restic(settings(tmp_path, **section))
