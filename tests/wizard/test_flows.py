"""The wizard's flows below the UI: scripted answers through the prompt seam, real repos."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from rollback.cli import run
from rollback.errors import RefusedError, UsageError
from rollback.git.repo import GitRepo
from rollback.plan import plan_from_json
from rollback.ui.demo import Demo
from rollback.ui.execview import snapshot_ids
from rollback.ui.wizard.flow import Outcome, run_wizard
from rollback.ui.wizard.prompts import (
    CANCEL,
    INTERRUPT,
    Cancelled,
    Pick,
    ScriptedPrompter,
    WizardFlags,
)
from tests.gitrepo import Repo, git
from tests.wizard.conftest import schema, snapshot_state, text

TARGET = ("Roll back to what", Pick("release v1.2"))
STRATEGY = ("strategy", Pick("(recommended)"))
NO_PUSH = ("Push", False)
DATA = ("data", Pick("(recommended)"))
SAFETY = ("safety snapshot", True)
RUN = ("What now", "run")
FULL = [TARGET, STRATEGY, NO_PUSH, DATA, SAFETY, RUN]


def wizard(
    work: Any, answers: list[tuple[str, Any]], out: Console, flags: WizardFlags | None = None
) -> tuple[Outcome, ScriptedPrompter]:
    prompter = ScriptedPrompter(list(answers))
    outcome = run_wizard(GitRepo.open(work), prompter, flags or WizardFlags(), out)
    assert prompter.done, f"unused answers: {prompter.answers}"
    return outcome, prompter


def kinds(outcome: Outcome) -> list[str]:
    return [s.kind for s in outcome.plan.steps]


# -- a: context, and the whole happy path -----------------------------------------------------


def test_demo_rollback_with_data_then_undo(shop: Demo, out: Console) -> None:
    assert "price_incl_tax" in schema(shop.path)
    outcome, _ = wizard(shop.path, FULL, out)
    shown = text(out)
    for fact in ("repository", "origin/main: 0 ahead, 0 behind", "last checkpoint", "magento"):
        assert fact in shown
    assert outcome.action == "ran" and outcome.journal is not None
    assert outcome.journal.status == "completed"
    assert kinds(outcome) == [
        "safety-ref",
        "safety-snapshot",
        "restore-snapshot",
        "write-commits",
        "move-branch",
    ]
    v12 = git(shop.path, "rev-parse", "v1.2^{tree}")
    assert git(shop.path, "rev-parse", "HEAD^{tree}") == v12
    assert "price REAL" in schema(shop.path)  # the data is back at v1.2 too
    assert f"\n    $ rollback undo {outcome.plan.id}\n" in shown
    assert "safety snapshot: " in shown and "Next:" in shown
    from rollback.run.recovery import undo

    result = undo(GitRepo.open(shop.path), outcome.plan.id)
    assert result.moved
    assert git(shop.path, "rev-parse", "HEAD") == outcome.plan.head
    # the data goes back through the safety snapshot the summary names
    safety = snapshot_ids(outcome.journal)["safety-snapshot"]
    assert f"\n    $ rollback snapshot restore --yes {safety}  # the data only\n" in shown
    if "price_incl_tax" not in schema(shop.path):
        assert run(["snapshot", "restore", "--yes", "--no-safety-snapshot", safety]) == 0
    assert "price_incl_tax" in schema(shop.path)


def test_every_question_is_cancellable_and_changes_nothing(shop: Demo, out: Console) -> None:
    before = snapshot_state(shop.path)
    for i in range(len(FULL)):
        answers = [*FULL[:i], (FULL[i][0], CANCEL if i % 2 else INTERRUPT)]
        with pytest.raises(Cancelled) as caught:
            wizard(shop.path, answers, out)
        assert caught.value.exit_code == (0 if i % 2 else 130)
        assert snapshot_state(shop.path) == before


@pytest.mark.parametrize(
    "answers",
    [
        [("Roll back to what", Pick("Search")), ("Search commits", CANCEL)],
        [
            ("Roll back to what", Pick("Search")),
            ("Search commits", "reviews"),
            ("matching", CANCEL),
        ],
        [("Roll back to what", Pick("Pick single")), ("Which commits", CANCEL)],
        [TARGET, ("strategy", "revert-selected"), ("Which commits", CANCEL)],
        [TARGET, STRATEGY, NO_PUSH, ("data", Pick("another")), ("which snapshot", CANCEL)],
        [*FULL[:-1], ("What now", Pick("Save")), ("Save the runbook to", INTERRUPT)],
    ],
    ids=["search-text", "search-results", "pick", "strategy-pick", "snapshot", "save-path"],
)
def test_cancel_at_secondary_prompts(shop: Demo, out: Console, answers: list[Any]) -> None:
    before = snapshot_state(shop.path)
    with pytest.raises(Cancelled):
        wizard(shop.path, answers, out)
    assert snapshot_state(shop.path) == before


# -- b: roll back to what ------------------------------------------------------------------


def test_history_rows_fit_80_columns_and_the_head_is_disabled(shop: Demo, out: Console) -> None:
    answers = [*FULL[:-1], ("What now", "save"), ("Save the runbook to", "rb.md")]
    outcome, prompter = wizard(shop.path, answers, out)
    menu = prompter.shown[0]
    assert [o.title.split()[0] for o in menu[:2]] == ["release", "release"]
    assert any("last checkpoint" in o.title for o in menu)
    head_rows = [o for o in menu if o.disabled == "current head"]
    assert len(head_rows) == 1 and "Release v1.3" in head_rows[0].title
    assert all(len(o.title) <= 72 for o in menu)
    assert outcome.action == "saved"


def test_last_checkpoint_pairs_code_and_that_snapshot(shop: Demo, out: Console) -> None:
    answers = [("Roll back to what", Pick("last checkpoint")), STRATEGY, NO_PUSH]
    answers += [("data", Pick(shop.checkpoints["v1.2"])), SAFETY, ("What now", "cancel")]
    with pytest.raises(Cancelled):
        wizard(shop.path, answers, out)
    assert f"restore snapshot {shop.checkpoints['v1.2']}" in text(out).replace("\n", " ")


def test_search_by_text_then_choose(shop: Demo, out: Console) -> None:
    answers = [
        ("Roll back to what", Pick("Search")),
        ("Search commits", "nothing-matches-this"),
        ("Roll back to what", Pick("Search")),
        ("Search commits", "REVIEWS"),
        ("matching 'reviews'", Pick("tag:v1.1")),
        STRATEGY,
        NO_PUSH,
        ("data", Pick("Code only")),
        ("What now", "save"),
        ("Save the runbook to", "rb.md"),
    ]
    outcome, _ = wizard(shop.path, answers, out)
    assert outcome.plan.target == git(shop.path, "rev-parse", "v1.1^{commit}")
    assert "no commit matches 'nothing-matches-this'" in text(out)


def test_search_looks_past_the_listed_commits(shop: Demo, out: Console) -> None:
    answers = [
        ("Roll back to what", Pick("Search")),
        ("Search commits", "catalog module"),  # v1.0, older than the 3 rows listed
        ("matching 'catalog module'", Pick("tag:v1.0")),
        STRATEGY,
        NO_PUSH,
        ("data", Pick("Code only")),
        ("What now", "save"),
        ("Save the runbook to", "rb.md"),
    ]
    prompter = ScriptedPrompter(answers)
    outcome = run_wizard(GitRepo.open(shop.path), prompter, WizardFlags(), out, limit=3)
    assert prompter.done, f"unused answers: {prompter.answers}"
    assert outcome.plan.target == git(shop.path, "rev-parse", "v1.0^{commit}")


def test_pick_single_commits_is_revert_selected_code_only(shop: Demo, out: Console) -> None:
    release = git(shop.path, "rev-parse", "HEAD")
    answers = [
        ("Roll back to what", Pick("Pick single")),
        ("Which commits", []),
        ("Roll back to what", Pick("Pick single")),
        ("Which commits", [release]),
        NO_PUSH,
        RUN,
    ]
    outcome, _ = wizard(shop.path, answers, out)
    shown = text(out)
    assert "nothing was picked" in shown and "Predicted conflicts: none" in shown
    assert "data pairing needs one code target" in shown
    assert outcome.plan.strategy == "revert-selected"
    assert [c.sha for c in outcome.plan.commits] == [release]
    assert git(shop.path, "log", "-1", "--format=%s") == 'Revert "Release v1.3"'


# -- c: strategy ---------------------------------------------------------------------------


def test_strategies_recommended_first_and_reset_refused_for_pushed(
    shop: Demo, out: Console
) -> None:
    answers = [TARGET, ("strategy", "park"), ("force with lease", False)]
    answers += [("data", Pick("Code only")), ("What now", "save"), ("Save the runbook", "p.md")]
    outcome, prompter = wizard(shop.path, answers, out)
    options = prompter.shown[1]
    assert options[0].title.startswith("revert (recommended): one revert commit")
    assert all(len(o.title) <= 72 for o in options)  # 80 columns
    assert options[0].description is not None
    assert "merges with -m 1 (1)" in options[0].description
    reset = [o for o in options if o.value == "reset"]
    assert reset and reset[0].disabled == "2 undone commit(s) are already pushed"
    shown = text(out)
    assert "Predicted conflicts: none" in shown
    assert "Rewritten history: park would rewrite 2 pushed commit(s)" in shown
    assert outcome.plan.strategy == "park"


def test_strategy_revert_selected_picks_among_undone(shop: Demo, out: Console) -> None:
    merge = git(shop.path, "rev-parse", "HEAD~1")
    answers = [TARGET, ("strategy", "revert-selected"), ("Which commits", [merge]), NO_PUSH]
    answers += [("What now", "save"), ("Save the runbook", "x.md")]
    outcome, prompter = wizard(shop.path, answers, out)
    assert len(prompter.shown[2]) == 2  # only the two undone commits are offered
    assert outcome.plan.strategy == "revert-selected"
    assert [c.sha for c in outcome.plan.commits] == [merge]


def conflicting(repo: Repo) -> tuple[str, str]:
    repo.commit("root", {"a.txt": "1\n"})
    old = repo.commit("change a", {"a.txt": "2\n"})
    new = repo.commit("change a again", {"a.txt": "3\n"})
    return old, new


def test_predicted_conflict_then_stop_or_leave(repo: Repo, out: Console) -> None:
    old, _ = conflicting(repo)
    pick = [("Roll back to what", Pick("Pick single")), ("Which commits", [old])]
    with pytest.raises(Cancelled):
        wizard(repo.path, [*pick, ("Revert up to the conflict", False)], out)
    assert "Predicted conflict: reverting" in text(out) and "a.txt" in text(out)
    outcome, _ = wizard(repo.path, [*pick, ("Revert up to the conflict", True), RUN], out)
    assert kinds(outcome)[-1] == "stop-at-conflict"
    assert outcome.action == "stopped"
    assert "Stopped at the conflict" in text(out)
    git(repo.path, "revert", "--abort")


def test_conflict_with_yes_is_refused(repo: Repo, out: Console) -> None:
    old, _ = conflicting(repo)
    with pytest.raises(UsageError, match="would conflict"):
        wizard(repo.path, [], out, WizardFlags(commits=(old,), yes=True))


# -- d, e: data and safety -----------------------------------------------------------------


def test_no_provider_means_code_only(repo: Repo, out: Console) -> None:
    repo.commit("root", {"a.txt": "1\n"})
    repo.git("tag", "v1")
    repo.commit("bad", {"a.txt": "2\n"})
    answers = [("Roll back to what", Pick("release v1")), ("strategy", "reset"), RUN]
    outcome, prompter = wizard(repo.path, answers, out)
    assert "no snapshot provider configured; the plan is code only" in text(out)
    assert prompter.asked == ["Roll back to what?", "Which strategy?", "What now?"]
    assert outcome.plan.data is None and outcome.journal is not None


def test_no_provider_refuses_data_flags(repo: Repo, out: Console) -> None:
    repo.commit("root", {"a.txt": "1\n"})
    repo.commit("bad", {"a.txt": "2\n"})
    with pytest.raises(UsageError, match="no snapshot provider configured"):
        wizard(repo.path, [], out, WizardFlags(to="HEAD~1", snapshot="auto", yes=True))


def test_data_choices_restore_another_and_decline_safety_then_push(
    shop: Demo, out: Console
) -> None:
    v11 = shop.checkpoints["v1.1"]
    answers = [TARGET, STRATEGY, ("Push", True), ("data", Pick("another"))]
    answers += [("which snapshot", v11), ("safety snapshot", False), ("What now", "save")]
    answers += [("Save the runbook", "rb.md")]
    outcome, prompter = wizard(shop.path, answers, out)
    data_menu = prompter.shown[2]
    assert data_menu[0].value == ("restore", shop.checkpoints["v1.2"])
    assert "(recommended)" in data_menu[0].title
    downgrade = [o for o in data_menu if o.value[0] == "downgrade"]
    assert downgrade[0].disabled  # Magento has no migration downgrade
    plan = outcome.plan
    restores = [s for s in plan.steps if s.kind == "restore-snapshot"]
    assert len(restores) == 1 and v11 in restores[0].title
    assert "safety-snapshot" not in kinds(outcome) and kinds(outcome)[-1] == "push"
    assert any("no safety snapshot" in r for r in plan.risks)
    assert "the runbook records that you declined it" in text(out)


def test_code_only_choice_has_no_data_steps(shop: Demo, out: Console) -> None:
    answers = [TARGET, STRATEGY, NO_PUSH, ("data", Pick("Code only")), RUN]
    outcome, _ = wizard(shop.path, answers, out)
    assert "restore-snapshot" not in kinds(outcome)
    assert "price_incl_tax" in schema(shop.path)  # data untouched, as chosen


# -- f: run, save, flags -------------------------------------------------------------------


def test_save_runbook_writes_markdown_and_a_plan_apply_accepts(shop: Demo, out: Console) -> None:
    before = snapshot_state(shop.path)
    answers = [*FULL[:-1], ("What now", Pick("Save")), ("Save the runbook to", "../rb.md")]
    outcome, _ = wizard(shop.path, answers, out)
    md, js = outcome.saved
    assert md.read_text().startswith(f"# Rollback runbook {outcome.plan.id}\n")
    assert plan_from_json(js.read_text()) == outcome.plan
    assert snapshot_state(shop.path) == before


def test_save_runbook_flag_then_stop(shop: Demo, out: Console, tmp_path: Any) -> None:
    target = tmp_path / "handover.md"
    flags = WizardFlags(save_runbook=target)
    outcome, prompter = wizard(shop.path, [*FULL[:-1], ("What now", "cancel")], out, flags)
    assert outcome.action == "saved" and target.is_file()
    assert (tmp_path / "handover.json").is_file()
    assert [o.title for o in prompter.shown[-1]] == ["Run it now", "Stop here"]


def test_yes_with_flags_asks_nothing(shop: Demo, out: Console) -> None:
    from rollback.ui.commands.wizard import NoPrompts

    flags = WizardFlags(to="v1.2", yes=True)
    outcome = run_wizard(GitRepo.open(shop.path), NoPrompts(), flags, out)
    assert outcome.plan.strategy == "revert" and outcome.action == "ran"
    assert "restore-snapshot" in kinds(outcome)  # --yes takes the recommendation: restore
    assert "price REAL" in schema(shop.path)


def test_flags_skip_their_questions(shop: Demo, out: Console) -> None:
    flags = WizardFlags(to="v1.2", strategy="restore", snapshot="none", data="none", push=False)
    outcome, prompter = wizard(shop.path, [RUN], out, flags)
    assert prompter.asked == ["What now?"]
    assert outcome.plan.strategy == "restore" and "restore-snapshot" not in kinds(outcome)


def test_yes_needs_a_target(shop: Demo, out: Console) -> None:
    with pytest.raises(UsageError, match="--yes needs a target"):
        wizard(shop.path, [], out, WizardFlags(yes=True))


def test_yes_refuses_a_question_without_flag(shop: Demo, out: Console) -> None:
    from rollback.ui.commands.wizard import NoPrompts

    with pytest.raises(UsageError, match="no answer for"):
        NoPrompts().confirm("Push?", default=False)


def test_a_dirty_tree_is_refused_when_run(shop: Demo, out: Console) -> None:
    (shop.path / "README.md").write_text("local edit\n")
    with pytest.raises(RefusedError, match="uncommitted changes"):
        wizard(shop.path, FULL, out)
    assert "Note: the work tree has uncommitted changes (README.md)" in text(out)
    assert git(shop.path, "rev-parse", "HEAD") == git(shop.path, "rev-parse", "v1.3^{commit}")


def test_context_panel_ahead_behind_and_no_upstream(shop: Demo, repo: Repo, out: Console) -> None:
    from rollback.config import load_config
    from rollback.data.frameworks import migration_rules
    from rollback.data.project import Project
    from rollback.git.history import read_history
    from rollback.ui.wizard.context import context_panel, load_data_side

    (shop.path / "CHANGELOG.md").write_text("local\n")
    git(shop.path, "commit", "-qam", "local change")
    for work, expected in ((shop.path, "origin/main: 1 ahead, 0 behind"), (repo.path, None)):
        if work == repo.path:
            repo.commit("root", {"a.txt": "1\n"})
        config = load_config(work)
        git_repo = GitRepo.open(work)
        history = read_history(git_repo, migration_rules(config), limit=5)
        out.print(context_panel(git_repo, history, load_data_side(Project(config))))
        if expected:
            assert expected in text(out)
    shown = text(out)
    assert "none (nothing is pushed from here)" in shown
    assert "no snapshot provider configured" in shown
