"""The benchmark harness at its smallest size, so it never rots.

Runs ``python -m benchmarks --smoke`` (one run per command, N = 10, a few MB of data) on a
tiny scenario set: start-up, restore/revert next to git revert, and the SQLite and files
snapshot stores; then checks the report, the JSON and the figures in them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_harness_writes_report_and_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--smoke",
            "--out",
            str(out),
            "--only",
            "version",
            "restore",
            "revert",
            "sqlite",
            "files",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "benchmarks.json").read_text())
    assert data["mode"] == "smoke"
    scenarios = {s["key"]: s for s in data["scenarios"]}
    assert set(scenarios) == {"version", "restore", "revert", "sqlite", "files"}
    for key, sc in scenarios.items():
        assert sc["unavailable"] is None, f"{key}: {sc['unavailable']}"
        for row in sc["rows"]:
            ours = row["ours"]
            assert 0 < ours["median_s"] < 60, (key, ours)
            assert ours["min_s"] <= ours["median_s"] <= ours["max_s"]
            assert 1 < ours["peak_rss_mb"] < 1000, (key, ours)  # MB, not KB or bytes
            for other in row["others"]:
                if other["runs"]:
                    assert other["median_s"] > 0
                    assert row["ratios"][other["label"]] > 0
    revert = scenarios["revert"]["rows"][0]
    assert revert["n"] == 10
    assert revert["notes"] == ["identical trees and messages (10 commits)"]
    restore = scenarios["restore"]["rows"][0]
    assert {o["label"] for o in restore["others"]} == {"git revert", "plumbing script"}
    targets = [t for s in data["scenarios"] for t in s["targets"]]
    assert any(t["target"].startswith("rollback --version") for t in targets)
    report = (out / "benchmarks.md").read_text()
    for heading in ("## Targets", "## Results", "## Machine", "## Versions"):
        assert heading in report
    assert "rollback restore" in report and "git revert" in report
    assert "tar czf" in report  # the native baseline of the files store


def test_restic_scenario_measures_three_ways_and_the_bytes_added(tmp_path: Path) -> None:
    """The restic provider's scenario (issue 15) at 200 files: rollback, raw restic and the
    local store side by side, with the bytes each snapshot added."""
    import shutil

    from tests.conftest import _service_unavailable

    if shutil.which("restic") is None:
        _service_unavailable("restic is not installed (apt-get install restic)")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--data-mb", "4", "--out", str(out),
         "--only", "restic-files"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "benchmarks.json").read_text())
    (scenario,) = data["scenarios"]
    assert scenario["key"] == "restic-files" and scenario["unavailable"] is None
    rows = {row["case"]: row for row in scenario["rows"]}
    assert list(rows) == ["first snapshot", "second snapshot, 1 % changed", "restore"]
    for row in rows.values():
        labels = [o["label"] for o in row["others"]]
        assert labels[0].startswith("raw restic") and "local store" in labels[1]
        assert row["ratios"][labels[0]] > 0
    added = [float(r["notes"][0].split("ours ")[1].split(" MB")[0]) for r in scenario["rows"][:2]]
    assert added[0] > 0 and added[1] < added[0]  # the second stores only what changed
    targets = {t["target"] for t in scenario["targets"]}
    assert "restic folder: second snapshot ≤ 3 % of the first's bytes" in targets
    assert "restic files: peak memory ≤ 200 MB" in targets
