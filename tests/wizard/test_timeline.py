"""rollback timeline, and the golden 80- and 120-column renders of the demo's plan and timeline.

Regenerate the goldens after an intended change with ``UPDATE_GOLDEN=1 pytest tests/wizard``
and review the diff.
"""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from rollback.code.planner import make_plan
from rollback.data.pairing.attach import attach_data
from rollback.data.project import load_project
from rollback.git.repo import GitRepo
from rollback.run.timeline import gather
from rollback.ui.demo import Demo, build_demo
from rollback.ui.lines import show
from rollback.ui.render import plan_lines
from rollback.ui.render_timeline import show_timeline, timeline_markdown
from tests.cli import rollback
from tests.wizard.test_flows import FULL, wizard

GOLDEN = Path(__file__).parent / "golden"
# in the future: the local store decides "restorable" by the real clock (7 days' retention)
NOW = datetime(2031, 3, 12, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def fixed_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo(tmp_path_factory.mktemp("fixed") / "demo", now=NOW)


def render(width: int, draw: object) -> str:
    out = Console(file=io.StringIO(), width=width, no_color=True, highlight=False)
    draw(out)  # type: ignore[operator]
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue()


def check(name: str, got: str, demo: Demo) -> None:
    got = got.replace(str(demo.path), "/srv/shop")
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [80, 120])
def test_golden_plan_and_timeline_of_the_demo(fixed_demo: Demo, width: int) -> None:
    repo = GitRepo.open(fixed_demo.path)
    project = load_project(repo.root)
    plan = make_plan(repo, strategy="revert", to="v1.2", project=project, now=NOW,
                     plan_id="20310312-150000-abc123")  # fmt: skip
    plan = attach_data(repo, plan, snapshot="auto", data=None, project=project, now=NOW)
    text = render(width, lambda out: show(out, plan_lines(plan)))
    check(f"demo-plan-{width}.txt", text, fixed_demo)
    lines = text.splitlines()
    # the recommendation before the steps, each section once
    assert lines.index("Recommendation: restore snapshot 20310312-130000-release-v1-2") < (
        lines.index("Steps:")
    )
    for title in ("Steps:", "Risks:", "Undo:", "Data (local snapshots):"):
        assert lines.count(title) == 1
    assert "(Magento has no s" not in text
    for line in lines:  # prose fits; only a command (or an id) may run longer
        assert len(line) <= width or line.lstrip().startswith("$ "), line

    timeline = gather(repo, project, target="v1.2", now=NOW)
    drawn = render(width, lambda out: show_timeline(out, timeline))
    check(f"demo-timeline-{width}.txt", drawn, fixed_demo)
    assert all(len(line) <= width for line in drawn.splitlines())


def test_timeline_of_the_demo_names_releases_checkpoints_fit_and_expiry(
    fixed_demo: Demo,
) -> None:
    repo = GitRepo.open(fixed_demo.path)
    timeline = gather(repo, load_project(repo.root), target="v1.2", now=NOW)
    kinds = [e.kind for e in timeline.events]
    assert kinds.count("release") == 4 and kinds.count("checkpoint") == 3
    assert "migration" in kinds  # the price-split merge
    fit = {e.ref: e.facts["fits"] for e in timeline.events if e.kind == "checkpoint"}
    assert fit == {
        fixed_demo.checkpoints["v1.2"]: True,
        fixed_demo.checkpoints["v1.1"]: True,  # no schema change between v1.1 and v1.2
        fixed_demo.checkpoints["v1.0"]: False,  # the reviews table came after it
    }
    later = gather(repo, load_project(repo.root), now=NOW + timedelta(days=6))
    expired = {e.ref for e in later.events if e.facts.get("expired")}
    assert expired == {fixed_demo.checkpoints["v1.0"], fixed_demo.checkpoints["v1.1"]}
    markdown = "\n".join(timeline_markdown(timeline))
    assert "```mermaid\ntimeline\n" in markdown
    body = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    events = [x for x in body.splitlines()[2:] if not x.lstrip().startswith("section ")]
    assert len(events) >= 8
    for line in events:  # Mermaid splits events on ':'
        assert line.count(" : ") == 1 and line.count(":") == 1, line


def test_a_run_shows_on_the_timeline_with_its_safety_snapshot(
    shop: Demo, out: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, _ = wizard(shop.path, FULL, out)
    result = rollback(capsys, "timeline", "--json")
    assert result.code == 0, result.err
    events = json.loads(result.out)["events"]
    runs = [e for e in events if e["kind"] == "run"]
    assert [(r["ref"], r["status"]) for r in runs] == [(outcome.plan.id, "completed")]
    safety = [e for e in events if e.get("label") == f"before rollback {outcome.plan.id}"]
    assert [e["kind"] for e in safety] == ["snapshot"]  # a rollback's own, not a checkpoint
    assert safety[0]["fits"] is False  # taken at v1.3's schema; the head is back at v1.2
    listed = rollback(capsys, "log", "--json")
    marks = {c["sha"][:10]: c["checkpoints"] for c in json.loads(listed.out)["commits"]}
    assert sorted(i for ids in marks.values() for i in ids) == sorted(shop.checkpoints.values())
    text = rollback(capsys, "log")
    assert "checkpoint" in text.out


def test_timeline_refuses_a_target_off_the_line(shop: Demo, capsys) -> None:
    result = rollback(capsys, "timeline", "--to", "no-such-ref", "--json")
    assert result.code == 2
    assert json.loads(result.out)["error"]["code"] == 2


def test_the_runbook_carries_the_timeline(shop: Demo, capsys) -> None:
    result = rollback(capsys, "plan", "--to", "v1.2", "--snapshot", "auto", "-f", "markdown")
    assert result.code == 0, result.err
    assert "## Timeline\n\n```mermaid\ntimeline\n" in result.out
    assert "◀" not in result.out
