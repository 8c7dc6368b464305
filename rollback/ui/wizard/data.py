"""Wizard steps d and e: the data decision (pairing) and the safety snapshot.

The pairing module (``rollback.data.pairing.attach.attach_data``) decides and adds the data steps;
this module only shows its recommendation and asks. Without a provider, or without pairing
in this version, the wizard says so and the plan stays code only.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from rollback.errors import UsageError
from rollback.ui.lines import fit_words
from rollback.ui.wizard.prompts import Option, Prompter

if TYPE_CHECKING:
    from rich.console import Console

    from rollback.data.project import Project
    from rollback.git.repo import GitRepo
    from rollback.plan import Plan
    from rollback.ui.wizard.context import DataSide
    from rollback.ui.wizard.prompts import WizardFlags


def pairing_available() -> bool:
    """Is the pairing module part of this version?"""
    return importlib.util.find_spec("rollback.data.pairing.attach") is not None


def _attach(repo: GitRepo, plan: Plan, project: Project | None, **kwargs: Any) -> Plan:
    from rollback.data.pairing.attach import attach_data

    result: Plan = attach_data(repo, plan, project=project, **kwargs)
    return result


def choose_data(
    repo: GitRepo,
    plan: Plan,
    side: DataSide,
    prompter: Prompter,
    flags: WizardFlags,
    out: Console,
    *,
    project: Project | None = None,
    preferred: str | None = None,
    seen: set[str] | None = None,
) -> Plan:
    """Return ``plan`` with its data steps, as flags or answers decide."""
    asked_for_data = flags.snapshot not in (None, "none") or flags.data not in (None, "none")
    if side.provider is None or not pairing_available() or plan.strategy == "revert-selected":
        why = side.note if side.provider is None else "pairing unavailable in this version"
        if plan.strategy == "revert-selected" and side.provider is not None:
            why = "data pairing needs one code target, not single commits"
        if asked_for_data:
            raise UsageError(f"cannot pair data with this rollback: {why}")
        out.print(f"Data: {why}; the plan is code only.", style="yellow", markup=False)
        return plan
    safety = flags.safety_snapshot
    if flags.snapshot is not None or flags.data is not None or flags.yes:
        return _attach(
            repo,
            plan,
            project,
            snapshot=flags.snapshot or preferred or "auto",
            data=flags.data,
            safety_snapshot=safety is not False,
        )
    recommended = _attach(
        repo, plan, project, snapshot=preferred or "auto", data=None, safety_snapshot=True
    )
    _show(recommended, out)
    if seen is not None:
        seen.add("data")
    action, snapshot = prompter.select(
        "What should happen to the data?", _actions(recommended, preferred, min(out.width, 120))
    )
    if action == "none":
        return _attach(repo, plan, project, snapshot="none", data="none", safety_snapshot=False)
    if action == "restore" and snapshot is None:
        snapshot = _pick_snapshot(prompter, recommended)
    if safety is None:
        safety = prompter.confirm(
            "Take a safety snapshot of the current data first (recommended)?", default=True
        )
    if not safety:
        out.print("No safety snapshot: the runbook records that you declined it.", style="yellow")
    return _attach(
        repo, plan, project, snapshot=snapshot or "none", data=action, safety_snapshot=safety
    )


def _data(plan: Plan) -> dict[str, Any]:
    return dict(plan.data or {})


def _recommendation(plan: Plan) -> dict[str, Any]:
    found = _data(plan).get("recommendation") or {}
    return found if isinstance(found, dict) else {}


def _snapshots(plan: Plan) -> list[dict[str, Any]]:
    found = _data(plan).get("snapshots") or []
    return [s for s in found if isinstance(s, dict)]


_ACTION = {"code-only": "none", "none-fits": "", "restore": "restore", "downgrade": "downgrade"}


def _actions(recommended: Plan, preferred: str | None, width: int = 80) -> list[Option]:
    """Values are (action, snapshot id or None: ask which)."""
    rec = _recommendation(recommended)
    best = _ACTION.get(str(rec.get("action")), "")
    suggested = preferred or (str(rec["snapshot"]) if rec.get("snapshot") else None)
    restorable = [s for s in _snapshots(recommended) if s.get("restorable")]
    options: list[Option] = []
    first = next((s for s in restorable if s.get("id") == suggested), None)
    if first is not None:
        mark = "  (recommended)" if best == "restore" else ""
        options.append(
            Option(
                f"Restore {first['id']}: data back to {str(first.get('commit') or '?')[:10]}{mark}",
                ("restore", first["id"]),
            )
        )
    options.append(
        Option(
            "Restore another snapshot…" if first is not None else "Restore a snapshot…",
            ("restore", None),
            disabled=None if len(restorable) > (first is not None) else "no other snapshot",
        )
    )
    downgrade = _data(recommended).get("downgrade") or {}
    title = "Downgrade the migrations (keep the data, undo the schema)" + (
        "  (recommended)" if best == "downgrade" else ""
    )
    why = str(downgrade.get("reason") or "not possible")
    # the list shows "- title (why)" on one row: fold the reason at a word, never mid-word
    room = max(width - len(title) - 8, 16)
    options.append(
        Option(
            title,
            ("downgrade", None),
            disabled=None if downgrade.get("possible") else fit_words(why, room),
        )
    )
    options.append(
        Option(
            "Code only (leave the data as it is)" + ("  (recommended)" if best == "none" else ""),
            ("none", None),
        )
    )
    # the recommended answer first, so Enter takes it
    options.sort(key=lambda o: "(recommended)" not in o.title)
    return options


def _pick_snapshot(prompter: Prompter, recommended: Plan) -> str:
    best = _recommendation(recommended).get("snapshot")
    snaps = [s for s in _snapshots(recommended) if s.get("restorable")]
    if not snaps:
        raise UsageError("no restorable snapshot to restore", hint="choose code only or downgrade")
    snaps.sort(key=lambda s: s.get("id") != best)  # stable: the recommended one first
    options = [Option(snapshot_title(s, best=s.get("id") == best), s["id"]) for s in snaps]
    return str(prompter.select("Restore which snapshot?", options))


def duration(seconds: float | None) -> str:
    """3700 -> '1h 1m'; None -> 'unknown'."""
    if seconds is None:
        return "unknown"
    minutes = int(seconds) // 60
    if minutes < 1:
        return f"{int(seconds)}s"
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"


def snapshot_title(snap: dict[str, Any], *, best: bool = False) -> str:
    """One assessed snapshot: id, its commit (recorded or inferred), age, loss window, fit."""
    commit = str(snap.get("commit") or "")[:10] or "no commit"
    source = snap.get("commit_source")
    inferred = " (inferred)" if source == "inferred" else ""
    fits = "fits" if snap.get("fits") else "does not fit"
    mark = "  (recommended)" if best else ""
    return (
        f"{snap.get('id')} at {commit}{inferred}; loses {duration(snap.get('loss_window_seconds'))}"
        f" of writes; restore ~{duration(snap.get('restore_seconds'))}; {fits}{mark}"
    )


def _show(plan: Plan, out: Console) -> None:
    """The pairing assessment (pairing's own rendering): snapshots, recommendation, reasons."""
    from rollback.ui.lines import show
    from rollback.ui.render import text_line
    from rollback.ui.render_pairing import data_lines

    if plan.data:
        lines = data_lines(plan.data, decision=False)
        show(out, [text_line(x) for x in lines[1:]])  # [0] is a blank line
