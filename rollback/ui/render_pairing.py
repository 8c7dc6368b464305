"""The pairing part of a plan (``Plan.data``) as text lines and as Markdown runbook lines.

Takes the JSON form only (``pairing_plan.data_dict``), so a plan read back from a file renders
exactly like a fresh one. Inferred commits always carry the word "inferred".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rollback.data.pairing.assess import duration

if TYPE_CHECKING:
    from rollback.plan import Plan

_ACTIONS = {
    "code-only": "code-only rollback; restoring data is optional",
    "restore": "restore snapshot {snapshot}",
    "downgrade": "downgrade the migrations",
    "none-fits": "no snapshot fits and no downgrade exists",
}
_DECISIONS = {
    "none": "no data step: the data stays as it is",
    "restore": "restore snapshot {id}",
    "downgrade": "downgrade the migrations before the code step",
}


def _commit(s: Mapping[str, Any]) -> str:
    if not s.get("commit"):
        return "unknown"
    return f"{str(s['commit'])[:10]} ({s['commit_source']})"


def _status(s: Mapping[str, Any]) -> str:
    if s.get("expired"):
        return "expired"
    if not s.get("restorable"):
        return "not restorable"
    return "fits" if s.get("fits") else "does not fit"


def _seconds(value: Any) -> str:
    return duration(float(value)) if value is not None else "unknown"


def _rows(data: Mapping[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in data.get("snapshots", []):
        rows.append(
            (
                str(s["id"]),
                str(s["created_at"])[:16].replace("T", " "),
                _commit(s),
                str(s["relation"]),
                str(len(s.get("between", []))),
                _status(s),
                _seconds(s.get("loss_window_seconds")),
                _seconds(s.get("restore_seconds")),
            )
        )
    return rows


HEADER = (
    "snapshot",
    "taken (UTC)",
    "commit",
    "vs target",
    "schema chg",
    "status",
    "loss",
    "restore",
)


def _card(row: tuple[str, ...]) -> list[str]:
    """One snapshot in three short lines: a table row of eight columns does not fit 80 columns."""
    sid, taken, commit, relation, changes, status, loss, restore = row
    plural = "" if changes == "1" else "s"
    return [
        f"    {sid}  {status} ({relation}, {changes} schema change{plural})",
        f"      code {commit}, taken {taken}",
        f"      data-loss window {loss}; restore {restore}",
    ]


def _framework_lines(data: Mapping[str, Any]) -> list[str]:
    out = []
    for f in data.get("downgrade", {}).get("frameworks", []):
        if f["needed"] and f["supported"]:
            how = "; ".join(" ".join(c) for c in f["commands"])
            out.append(f"{f['framework']}: state at the target {f['at_target']}; downgrade: {how}")
    return out


def _new_reasons(data: Mapping[str, Any]) -> list[str]:
    """The decision's reasons not already given by the recommendation."""
    said = set(data["recommendation"]["reasons"])
    return [r for r in data["decision"]["reasons"] if r not in said]


def _summary(data: Mapping[str, Any]) -> tuple[str, str]:
    rec = data["recommendation"]
    dec = data["decision"]
    chosen = dec.get("pairing") or {}
    rec_text = _ACTIONS.get(rec["action"], rec["action"]).format(snapshot=rec.get("snapshot"))
    dec_text = _DECISIONS.get(dec["action"], dec["action"]).format(id=chosen.get("id"))
    if dec["action"] != "none":
        dec_text += (
            " (after a safety snapshot)"
            if dec.get("safety_snapshot")
            else " (NO safety snapshot: declined)"
        )
    return rec_text, dec_text


def decision_line(data: Mapping[str, Any]) -> str:
    """The data decision in one line, for a screen that showed the assessment already."""
    rec_text, dec_text = _summary(data)
    followed = dec_text.startswith(rec_text)
    return f"Data: {dec_text}" + ("" if followed else f"; recommended: {rec_text}")


def data_lines(data: Mapping[str, Any], *, decision: bool = True) -> list[str]:
    """Text lines for ``plan_text``: assessment table, recommendation with reasons, decision.

    ``decision=False``: up to the recommendation (the wizard asks for the decision next).
    """
    lines = ["", f"Data ({data.get('provider')} snapshots):"]
    commits = data.get("data_commits", [])
    if commits:
        lines.append(f"  schema changes undone ({len(commits)}):")
        lines += [
            f"    {c['sha'][:10]} {c['subject']}  [{', '.join(c['files'][:3])}]" for c in commits
        ]
    else:
        lines.append("  no undone commit changes a migration file")
    rows = _rows(data)
    if rows:
        lines.append(f"  snapshots ({len(rows)}, times in UTC):")
        lines += [line for row in rows for line in _card(row)]
    else:
        lines.append("  no snapshots")
    lines += [f"  {line}" for line in _framework_lines(data)]
    rec_text, dec_text = _summary(data)
    lines += ["", f"Recommendation: {rec_text}"]
    lines += [f"  - {r}" for r in data["recommendation"]["reasons"]]
    alts = data["recommendation"].get("alternatives", [])
    if alts:
        lines.append("  alternatives:")
        lines += [f"  - {a}" for a in alts]
    if decision:
        lines += [f"Decision: {dec_text}"]
        lines += [f"  - {r}" for r in _new_reasons(data)]
        lines += [f"  - {w}" for w in (data.get("replay") or {}).get("words", [])]
    lines += [f"  note: {n}" for n in data.get("notes", [])]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def data_markdown(data: Mapping[str, Any]) -> list[str]:
    """Markdown runbook lines: the same facts as ``data_lines``, as a table and lists."""
    lines = ["", "## Data", "", f"Provider: `{data.get('provider')}`.", ""]
    commits = data.get("data_commits", [])
    if commits:
        lines.append("Schema changes undone:")
        lines.append("")
        lines += [
            f"- `{c['sha'][:10]}` {_cell(c['subject'])} ({', '.join(c['files'][:3])})"
            for c in commits
        ]
    else:
        lines.append("No undone commit changes a migration file.")
    lines.append("")
    rows = _rows(data)
    if rows:
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|" + "---|" * len(HEADER))
        lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    else:
        lines.append("No snapshots.")
    frameworks = _framework_lines(data)
    if frameworks:
        lines += ["", *(f"- {line}" for line in frameworks)]
    rec_text, dec_text = _summary(data)
    lines += ["", f"**Recommendation:** {rec_text}", ""]
    lines += [f"- {r}" for r in data["recommendation"]["reasons"]]
    alts = data["recommendation"].get("alternatives", [])
    if alts:
        lines += ["", "Alternatives:", ""]
        lines += [f"- {a}" for a in alts]
    lines += ["", f"**Decision:** {dec_text}", ""]
    lines += [f"- {r}" for r in _new_reasons(data)]
    lines += [f"- {_cell(w)}" for w in (data.get("replay") or {}).get("words", [])]  # issue 14
    lines += [f"- Note: {n}" for n in data.get("notes", [])]
    return lines


def data_text(plan: Plan) -> str:
    """The pairing part of ``plan`` as one text block (empty when the plan has none)."""
    if not plan.data:
        return ""
    return "\n".join(data_lines(plan.data)).lstrip("\n") + "\n"
