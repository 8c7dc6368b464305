"""The Markdown runbook: a plan a person can follow without the tool.

A release lead hands it over; whoever runs it needs only git (and the snapshot tool for data
steps): context, the commits undone, the data decision and its reasons, the risks, numbered
commands, a verification checklist and how to undo. The output depends only on the plan, so
it is byte-stable for a given plan (golden tests compare it whole).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollback.plan import Plan, Step

if TYPE_CHECKING:
    from rollback.data.timeline import Timeline

_DATA_KINDS = ("safety-snapshot", "hook", "restore-snapshot", "downgrade")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _yes(flag: bool | None) -> str:
    return "yes" if flag else ""


def plan_markdown(plan: Plan, timeline: Timeline | None = None) -> str:
    """The whole runbook for ``plan`` as Markdown text; with ``timeline``, also the history
    around it as a Mermaid diagram (``rollback timeline``)."""
    lines = _context(plan)
    lines += _commits(plan)
    lines += _data(plan)
    if timeline is not None:
        from rollback.ui.render_timeline import timeline_markdown

        lines += timeline_markdown(timeline)
    lines += ["", "## Risks", ""]
    lines += [f"- {r}" for r in plan.risks] or ["- none found"]
    if plan.conflicts:
        lines += ["", "Predicted conflicts (`git merge-tree`, nothing touched):", ""]
        lines += [f"- `{sha[:10]}`: {', '.join(files)}" for sha, files in plan.conflicts.items()]
    lines += _before(plan)
    lines += _steps(plan)
    lines += _verify(plan)
    lines += _undo(plan)
    return "\n".join(lines).rstrip("\n") + "\n"


def _context(plan: Plan) -> list[str]:
    verb = "revert selected commits on" if plan.strategy == "revert-selected" else "roll back"
    return [
        f"# Rollback runbook {plan.id}",
        "",
        f"Plan to {verb} `{plan.branch}` with the **{plan.strategy}** strategy.",
        "",
        f"- Repository: `{plan.repo}`",
        f"- Branch: `{plan.branch}` at `{plan.head}`",
        f"- Target: `{plan.target}` ({plan.target_ref})",
        f"- Strategy: **{plan.strategy}**",
        f"- Planned: {plan.created_at}",
        f"- Safety ref: `{plan.safety_ref}`",
        "",
        "Run it with the tool (`rollback apply <plan>.json`), or by hand with the commands "
        "below, in order.",
    ]


def _commits(plan: Plan) -> list[str]:
    title = "Commits reverted" if plan.strategy == "revert-selected" else "Commits undone"
    lines = [
        "",
        f"## {title} ({len(plan.commits)})",
        "",
        "| commit | subject | merge | data | pushed |",
        "|---|---|---|---|---|",
    ]
    for c in plan.commits:
        pushed = "" if c.pushed is None else ("yes" if c.pushed else "no")
        lines.append(
            f"| `{c.sha[:10]}` | {_cell(c.subject)} | {_yes(c.merge)} "
            f"| {_yes(c.touches_data)} | {pushed} |"
        )
    return lines


def _data(plan: Plan) -> list[str]:
    """The data decision and its reasons; rendered by the pairing module when present."""
    if not plan.data:
        return [
            "",
            "## Data",
            "",
            "No data step: this plan changes code only; databases and files stay as they are.",
        ]
    try:
        from rollback.ui.render_pairing import data_markdown
    except ImportError:  # a version without pairing: say what the plan carries, plainly
        decision = plan.data.get("decision") or {}
        return ["", "## Data", "", f"Decision: {decision.get('action', 'unknown')}"]
    lines = list(data_markdown(plan.data))
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _before(plan: Plan) -> list[str]:
    lines = [
        "",
        "## Before you start",
        "",
        f"- [ ] `git switch {plan.branch}` and `git status` shows a clean work tree",
        f"- [ ] `git rev-parse HEAD` prints `{plan.head}` (else the plan is stale: make a new one)",
        "- [ ] no merge, rebase, revert or cherry-pick is in progress",
        "- [ ] the people who push to this branch know a rollback is under way",
    ]
    if any(s.kind in _DATA_KINDS for s in plan.steps):
        lines.append("- [ ] the site is quiet or in maintenance: writes after a snapshot are lost")
    return lines


def _steps(plan: Plan) -> list[str]:
    lines = ["", "## Steps", ""]
    for i, step in enumerate(plan.steps, 1):
        lines.append(f"{i}. {step.title}")
        if step.commands:
            lines += ["", "   ```sh", *(f"   {c}" for c in step.commands), "   ```"]
        if step.undo:
            lines += ["", f"   Undo: `{step.undo}`"]
        lines.append("")
    return lines


def _verify(plan: Plan) -> list[str]:
    lines = ["## Verify", ""]
    if plan.strategy == "revert-selected":
        lines.append(
            "- [ ] `git log --oneline -n "
            f"{len(plan.commits)}` shows one revert commit per selected commit"
        )
    else:
        lines.append(
            f"- [ ] `git diff --stat {plan.target[:10]} HEAD` prints nothing: the code is the "
            f"code of {plan.target_ref}"
        )
    lines.append(f"- [ ] `git rev-parse {plan.safety_ref}` prints `{plan.head}`")
    kinds = {s.kind for s in plan.steps}
    if "restore-snapshot" in kinds or "downgrade" in kinds:
        lines.append(
            "- [ ] the schema matches the target code (run the application's own schema check)"
        )
        lines.append("- [ ] `rollback snapshot list` shows the safety snapshot taken before")
    if _pushes(plan):
        lines.append(f"- [ ] `git status -sb` shows `{plan.branch}` even with its upstream")
    else:
        lines.append(f"- [ ] push when ready: `git push origin {plan.branch}`")
    lines += [
        "- [ ] deploy, then open the site or app and run the smoke tests",
        "- [ ] watch the error logs for a few minutes",
    ]
    return lines


def _pushes(plan: Plan) -> list[Step]:
    return [s for s in plan.steps if s.kind == "push"]


def _undo(plan: Plan) -> list[str]:
    lines = ["", "## Undo", ""]
    lines += [f"- {u}" for u in plan.undo]
    if any(s.kind == "restore-snapshot" for s in plan.steps) and not any(
        u.startswith("The data:") for u in plan.undo
    ):  # the pairing's undo lines already say how the data goes back
        lines.append(
            "- Data: `rollback snapshot restore <safety snapshot id>` (the run prints the id; "
            "`rollback snapshot list` shows it too)"
        )
    lines.append(f"- The old head stays reachable as `{plan.safety_ref}`, even after `git gc`")
    return lines
