"""The magento-cloud provider against a fake ``magento-cloud`` executable.

The real CLI cannot be installed here, so ``tests/fakes/magento-cloud`` stands in for it: it is
put first on PATH (nothing in subprocess is patched) and replays verbatim the outputs the seed
documents show (2018 and 2023 tables, 2023 create output), plus the failure modes, selected by
FAKE_MC_MODE. It records each call's argv so the tests assert the exact arguments passed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.config import Config
from rollback.data.snapshots.magento_cloud import (
    MagentoCloudProvider,
    MagentoCloudSettings,
    estimate_restore_seconds,
    restore_estimate_text,
)
from rollback.data.snapshots.magento_cloud_output import parse_csv, parse_table
from rollback.errors import OperationError, RefusedError, UsageError

FAKES = Path(__file__).resolve().parent.parent / "fakes"
CSV_LIST = ["snapshot:list", "--format", "csv", "--no-header", "-c"]
CSV_LIST += ["created_at,id,restorable,commit_id"]
TARGET = ["-p", "proj", "-e", "develop-branch"]
SEED_2023 = datetime(2023, 3, 8, 17, 7, 1, tzinfo=timezone.utc)
SEED_2018 = datetime(2018, 4, 9, 14, 43, 39, tzinfo=timezone(timedelta(hours=-5)))
UNAVAILABLE = "The service is temporarily unavailable (HTTP 503)"
DUMP = "magento-cloud ssh -p proj -e production -- vendor/bin/ece-tools db-dump"


class Fake:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
        self.monkeypatch = monkeypatch
        self.log = log

    def mode(self, mode: str, **env: str) -> None:
        self.monkeypatch.setenv("FAKE_MC_MODE", mode)
        for key, value in env.items():
            self.monkeypatch.setenv(f"FAKE_MC_{key.upper()}", value)

    def calls(self) -> list[list[str]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Fake:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MC_LOG", str(tmp_path / "calls.jsonl"))
    for key in ("FAKE_MC_ROWS", "FAKE_MC_FAIL_ON", "FAKE_MC_ENV_TYPE"):
        monkeypatch.delenv(key, raising=False)
    return Fake(monkeypatch, tmp_path / "calls.jsonl")


def provider(
    tmp_path: Path, *, clock: datetime | None = None, notes: list[str] | None = None, **keys: object
) -> MagentoCloudProvider:
    section = {"project": "proj", "environment": "develop-branch", **keys}
    config = Config(tmp_path, {"magento-cloud": {k: v for k, v in section.items() if v}})
    built = MagentoCloudProvider.from_config(config, notify=None if notes is None else notes.append)
    if clock is not None:
        built = MagentoCloudProvider(
            built.settings, notify=built._notify, clock=lambda: clock, cwd=tmp_path
        )
    return built


# -- listing -------------------------------------------------------------------------------


def test_list_2018_table_by_column_name(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2018")
    (snap,) = provider(tmp_path).list()
    assert fake.calls() == [[*CSV_LIST, *TARGET], ["snapshot:list", *TARGET]]
    # "<snapshot_ID>." in the seed: the trailing period belongs to the docs, not the id.
    assert (snap.id, snap.extra["listed_id"]) == ("<snapshot_ID>", "<snapshot_ID>.")
    assert (snap.created_at, snap.expires_at) == (SEED_2018, SEED_2018 + timedelta(days=7))
    assert (snap.status, snap.extra["progress"], snap.branch) == (
        "complete",
        "100%",
        "develop-branch",
    )
    assert snap.restorable is False  # no Restorable column: 7 days after 2018-04-09 passed


def test_list_2018_restorable_inside_the_window(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2018")
    (snap,) = provider(tmp_path, clock=SEED_2018 + timedelta(days=6)).list()
    assert snap.restorable is True
    (late,) = provider(tmp_path, clock=SEED_2018 + timedelta(days=8)).list()
    assert late.restorable is False


def test_list_2018_failed_and_running_snapshots(fake: Fake, tmp_path: Path) -> None:
    rows = [
        ["2018-04-09T14:43:39-05:00", "abc1", "100%", "complete", "failure"],
        ["2018-04-09T15:00:00-05:00", "abc2", "40%", "in_progress", ""],
    ]
    fake.mode("table2018", rows=json.dumps(rows))
    snaps = provider(tmp_path, clock=SEED_2018 + timedelta(hours=2)).list()
    assert [(s.id, s.status, s.restorable) for s in snaps] == [
        ("abc2", "in_progress", False),
        ("abc1", "failed", False),
    ]


def test_list_2023_table(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    (snap,) = provider(tmp_path).list()
    # restorable from the Restorable column, even though we would have computed "expired"
    assert (snap.id, snap.created_at, snap.restorable, snap.commit) == (
        "my-snapshot",
        SEED_2023,
        True,
        None,
    )
    assert "listed_id" not in snap.extra


def test_list_csv_with_commit(fake: Fake, tmp_path: Path) -> None:
    fake.mode("csv")
    (snap,) = provider(tmp_path).list()
    assert fake.calls() == [[*CSV_LIST, *TARGET]]
    assert (snap.id, snap.commit, snap.restorable) == ("my-snapshot", "a" * 40, True)


def test_csv_rejected_falls_back_to_table_once(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    mc = provider(tmp_path)
    assert [s.id for s in mc.list()] == ["my-snapshot"]
    assert [s.id for s in mc.list()] == ["my-snapshot"]
    assert fake.calls() == [
        [*CSV_LIST, *TARGET],
        ["snapshot:list", *TARGET],
        ["snapshot:list", *TARGET],
    ]


def test_no_project_or_environment_flags_unless_configured(fake: Fake, tmp_path: Path) -> None:
    fake.mode("csv")
    mc = MagentoCloudProvider.from_config(Config(tmp_path))
    assert mc.settings == MagentoCloudSettings(executable="magento-cloud", retention_days=7)
    mc.list()
    assert fake.calls() == [CSV_LIST]


def test_executable_from_config(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.environ["PATH"].split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in path if p != str(FAKES)))
    fake.mode("csv")
    mc = provider(tmp_path, executable=str(FAKES / "magento-cloud"))
    assert [s.id for s in mc.list()] == ["my-snapshot"]


# -- create --------------------------------------------------------------------------------


def test_create_live_reads_the_id(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    mc = provider(tmp_path, clock=now, environment_type="development")
    snap = mc.create("before deploy", commit="b" * 40)
    assert fake.calls() == [["snapshot:create", "--live", *TARGET]]
    assert (snap.id, snap.label, snap.commit) == ("my-snapshot", "before deploy", "b" * 40)
    assert snap.branch == "develop-branch"
    assert snap.created_at == now
    assert snap.expires_at == now + timedelta(days=7)


def test_create_checks_the_environment_type_first(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    mc = provider(tmp_path)
    assert mc.create(live=False).id == "my-snapshot"
    assert mc.create().id == "my-snapshot"
    assert fake.calls() == [
        ["snapshot:list", *TARGET],  # the 2023 preamble says "(type: development)"
        ["snapshot:create", *TARGET],
        ["snapshot:create", "--live", *TARGET],
    ]


def test_create_2018_cli_without_id_takes_the_new_listed_one(fake: Fake, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = [
        [(now - timedelta(days=3)).isoformat(), "older", "100%", "complete", "success"],
        [now.isoformat(), "fresh1.", "100%", "complete", "success"],
    ]
    fake.mode("table2018", rows=json.dumps(rows))
    snap = provider(tmp_path, environment_type="development").create(live=False)
    assert (snap.id, snap.extra["id_source"]) == ("fresh1", "newest listed snapshot")
    assert fake.calls()[0] == ["snapshot:create", *TARGET]


def test_create_2018_cli_failures(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2018")
    mc = provider(tmp_path, environment_type="development")
    with pytest.raises(OperationError, match="printed no snapshot id"):
        mc.create(live=False)  # and the only listed snapshot is from 2018
    with pytest.raises(OperationError, match="does not know --live") as info:
        mc.create()
    assert "self:update" in (info.value.hint or "")


# -- restore -------------------------------------------------------------------------------


def test_restore_takes_a_safety_snapshot_then_passes_the_id(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    notes: list[str] = []
    seen: list[tuple[str, int, int | None]] = []
    result = provider(tmp_path, notes=notes).restore(
        "my-snapshot", progress=lambda *event: seen.append(event)
    )
    assert fake.calls() == [
        [*CSV_LIST, *TARGET],
        ["snapshot:list", *TARGET],
        ["snapshot:create", "--live", *TARGET],
        ["snapshot:restore", "--yes", *TARGET, "--", "my-snapshot"],
    ]
    assert result.snapshot.id == "my-snapshot"
    assert result.safety_snapshot is not None and result.safety_snapshot.id == "my-snapshot"
    assert result.safety_snapshot.label == "safety before restoring my-snapshot"
    assert result.skipped_safety is False
    assert notes == [restore_estimate_text(None)]
    assert "unknown, the snapshot's size is not known" in notes[0]
    assert result.snapshot.extra["restore_estimate"] == notes[0]
    label = "magento-cloud restore (time unknown)"
    assert seen[-2:] == [(label, 0, None), (label, 1, 1)]


def test_restore_with_csv_asks_the_type_from_the_table(fake: Fake, tmp_path: Path) -> None:
    fake.mode("csv")
    result = provider(tmp_path).restore("my-snapshot", safety=False)
    assert fake.calls() == [
        [*CSV_LIST, *TARGET],
        ["snapshot:list", *TARGET],
        ["snapshot:restore", "--yes", *TARGET, "--", "my-snapshot"],
    ]
    assert result.safety_snapshot is None
    assert result.skipped_safety is True


def test_restore_refuses_an_unknown_or_option_like_id(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    with pytest.raises(UsageError, match="not a snapshot id"):
        provider(tmp_path).restore("--help")
    assert fake.calls() == []
    with pytest.raises(RefusedError, match="snapshot nope not found on develop-branch"):
        provider(tmp_path).restore("nope")
    assert not any(call[0] in ("snapshot:restore", "snapshot:create") for call in fake.calls())


OLD_2023 = [["2023-03-01T10:00:00+00:00", "old-one", "false"]]
# 2023: the Restorable column says false; 2018 (id as the table printed it): created in 2018,
# computed out of the 7-day window.
EXPIRED = [("table2023", OLD_2023, "old-one"), ("table2018", None, "<snapshot_ID>.")]


@pytest.mark.parametrize(("mode", "rows", "snap_id"), EXPIRED)
def test_restore_refuses_an_expired_snapshot(
    fake: Fake, tmp_path: Path, mode: str, rows: list[list[str]] | None, snap_id: str
) -> None:
    fake.mode(mode, **({"rows": json.dumps(rows)} if rows else {}))
    expected = f"snapshot {snap_id.rstrip('.')} is not restorable"
    with pytest.raises(RefusedError, match=expected) as info:
        provider(tmp_path).restore(snap_id)
    assert "7 days" in (info.value.hint or "")
    assert not any(call[0] in ("snapshot:restore", "snapshot:create") for call in fake.calls())


def test_failed_restore_points_at_the_safety_snapshot(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023", fail_on="snapshot:restore")
    with pytest.raises(OperationError) as info:
        provider(tmp_path).restore("my-snapshot")
    assert str(info.value) == f"magento-cloud failed (exit 1): {UNAVAILABLE}"
    assert "safety snapshot my-snapshot" in (info.value.hint or "")


def test_failed_safety_snapshot_stops_the_restore(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023", fail_on="snapshot:create")
    with pytest.raises(OperationError, match="safety snapshot failed, restore of my-snapshot"):
        provider(tmp_path).restore("my-snapshot")
    assert not any(call[0] == "snapshot:restore" for call in fake.calls())


# -- Pro Staging / Production ----------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "restore"])
@pytest.mark.parametrize("keys", [{"environment_type": "production"}, {"plan": "pro"}])
def test_pro_production_is_refused_with_the_db_dump_offer(
    fake: Fake, tmp_path: Path, action: str, keys: dict[str, str]
) -> None:
    fake.mode("table2023")
    mc = provider(tmp_path, environment="production", **keys)
    with pytest.raises(RefusedError) as info:
        mc.create() if action == "create" else mc.restore("my-snapshot")
    assert info.value.exit_code == 3
    assert "does not snapshot Pro Staging or Production" in str(info.value)
    hint = info.value.hint or ""
    assert DUMP in hint and "bin/magento maintenance:enable" in hint
    assert "dump-<timestamp>.sql.gz" in hint and "var/dbdump.lock" in hint
    assert fake.calls() == []


def test_type_from_the_2023_preamble_is_refused(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023", env_type="staging")
    with pytest.raises(RefusedError, match="type reported by magento-cloud snapshot:list"):
        provider(tmp_path).create()
    assert fake.calls() == [["snapshot:list", *TARGET]]


def test_starter_production_can_be_snapshotted(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023", env_type="production")
    snap = provider(tmp_path, environment="master", plan="starter").create()
    assert snap.id == "my-snapshot"
    assert fake.calls() == [["snapshot:create", "--live", "-p", "proj", "-e", "master"]]


def test_db_dump_command_and_run(fake: Fake, tmp_path: Path) -> None:
    fake.mode("table2023")
    mc = provider(tmp_path, environment="production", environment_type="production")
    planned = mc.db_dump_command()
    assert planned.text == DUMP
    expected = ["ssh", "-p", "proj", "-e", "production", "--", "vendor/bin/ece-tools", "db-dump"]
    assert list(planned.command) == ["magento-cloud", *expected]
    assert fake.calls() == []  # building the command runs nothing
    done = mc.dump_database()
    assert fake.calls() == [expected]
    assert done.dump_file == "dump-2023-03-08T17-07-01.sql.gz"


# -- verify / delete ------------------------------------------------------------------------


def test_verify(fake: Fake, tmp_path: Path) -> None:
    rows = [
        ["2023-03-08T17:07:01+00:00", "my-snapshot", "true"],
        ["2023-03-01T17:07:01+00:00", "old-one", "false"],
    ]
    fake.mode("table2023", rows=json.dumps(rows))
    mc = provider(tmp_path)
    ok = mc.verify("my-snapshot")
    assert (ok.ok, ok.problems) == (True, ())
    old = mc.verify("old-one")
    assert old.ok is False
    assert old.problems[0].startswith("not restorable any more")
    assert "cannot be downloaded" in old.problems[-1]
    missing = mc.verify("nope")
    assert missing.ok is False
    assert "not found" in missing.problems[0]


def test_delete_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="snapshots expire on the platform"):
        provider(tmp_path).delete("my-snapshot")


# -- errors ---------------------------------------------------------------------------------


FAILURES = [
    ("notloggedin", OperationError, "magento-cloud CLI is not logged in", "magento-cloud login"),
    ("noproject", UsageError, "Magento Cloud project 'proj' not found", "`project`"),
    ("noenv", UsageError, "Magento Cloud environment 'develop-branch' not found", "`environment`"),
    ("fail", OperationError, f"magento-cloud failed (exit 1): {UNAVAILABLE}", "snapshot:list"),
]


@pytest.mark.parametrize(("mode", "kind", "message", "hint"), FAILURES)
def test_cli_failures_are_one_clear_line(
    fake: Fake, tmp_path: Path, mode: str, kind: type[Exception], message: str, hint: str
) -> None:
    fake.mode(mode)
    with pytest.raises(kind) as info:
        provider(tmp_path).list()
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    assert hint in (getattr(info.value, "hint", None) or "")


def test_missing_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(OperationError, match=r"^magento-cloud CLI not found; install it") as info:
        provider(tmp_path).list()
    assert "accounts.magento.cloud/cli/installer" in (info.value.hint or "")


def test_relative_executable_is_relative_to_the_project(fake: Fake, tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "mc").symlink_to(FAKES / "magento-cloud")
    fake.mode("csv")
    assert [s.id for s in provider(tmp_path, executable="bin/mc").list()] == ["my-snapshot"]


def test_table_without_an_id_column_is_reported_not_guessed() -> None:
    with pytest.raises(OperationError, match="printed a table without id"):
        parse_table("+---+\n| Created | Name |\n+---+\n| 2023-03-08T17:07:01+00:00 | x |\n")
    assert parse_table("No snapshots found\n").rows == ()
    preamble = "Snapshots on the project (p), environment e (type: staging):\n"
    listed = parse_csv(
        preamble + "2023-03-08T17:07:01+00:00,x,true,\n", ("created_at", "id", "r", "c")
    )
    assert (listed.rows[0]["id"], listed.environment_type) == ("x", "staging")
    assert parse_table("+-+\n| Created | Snapshot ID |\n+-+\n+-+\n").rows == ()


# -- estimates and settings ----------------------------------------------------------------


ESTIMATES = {0: 0.0, 30: 0.5, 60: 1.0, 100: 100 / 60, 150: 2.5, 175: 3.75, 200: 5.0, 400: 10.0}


@pytest.mark.parametrize(("gb", "hours"), ESTIMATES.items())
def test_restore_estimate(gb: int, hours: float) -> None:
    seconds = estimate_restore_seconds(gb * 1_000_000_000)
    assert seconds == pytest.approx(hours * 3600)


def test_restore_estimate_unknown_and_text() -> None:
    assert estimate_restore_seconds(None) is None
    assert restore_estimate_text(150 * 1_000_000_000).startswith(
        "restore time estimate: about 2 h 30 min for 150 GB (documented: about 1 h for 60 GB"
    )
    with pytest.raises(ValueError):
        estimate_restore_seconds(-1)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"projet": "x"}, "unknown key"),
        ({"environment_type": "prod"}, "environment_type must be one of"),
        ({"plan": "enterprise"}, "plan must be one of"),
        ({"retention_days": 0}, "retention_days must be"),
        ({"project": "-x"}, "project must be a non-empty name"),
    ],
)
def test_settings_are_validated(tmp_path: Path, section: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        MagentoCloudProvider.from_config(Config(tmp_path, {"magento-cloud": section}))
