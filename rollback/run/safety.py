"""The safety steps belong to the executor, not to the plan file.

A plan file's digest proves only that nobody edited it after it was written; whoever writes
the file can also recompute the digest. So the executor adds the safety steps itself: the
safety ref first (``refs/rollback/<plan-id>/before`` at the plan's head), and a safety
snapshot before the first step that changes the data, unless the plan records an explicit no
(``--no-safety-snapshot``). A plan that already has them runs unchanged (its JSON stays
byte-for-byte the same); a plan whose safety ref step points elsewhere is refused (exit 2).
"""

from __future__ import annotations

from dataclasses import replace

from rollback.errors import UsageError
from rollback.plan import Plan, Step

CHANGES_DATA = ("restore-snapshot", "downgrade")


def safety_ref_step(plan: Plan) -> Step:
    ref = plan.safety_ref
    return Step(
        "safety-ref",
        f"Keep the current head {plan.head[:10]} reachable as {ref}",
        (f"git update-ref -m 'rollback {plan.id}: before' {ref} {plan.head} ''",),
        f"git update-ref -d {ref}",
        {"ref": ref, "sha": plan.head},
    )


def _safety_snapshot_step(plan: Plan, provider: str) -> Step:
    label = f"before rollback {plan.id}"
    return Step(
        "safety-snapshot",
        f"Take a safety snapshot of the current data ({provider or 'configured provider'})",
        (f"rollback snapshot create --label '{label}'",),
        "",
        {"provider": provider, "label": label},
    )


def _declined_safety_snapshot(plan: Plan) -> bool:
    decision = (plan.data or {}).get("decision")
    return isinstance(decision, dict) and decision.get("safety_snapshot") is False


def with_safety_steps(plan: Plan) -> Plan:
    """``plan`` with the safety ref as its first step and a safety snapshot before the data."""
    steps = list(plan.steps)
    refs = [s for s in steps if s.kind == "safety-ref"]
    for s in refs:
        if s.params.get("ref") != plan.safety_ref or s.params.get("sha") != plan.head:
            raise UsageError(
                f"plan {plan.id}: its safety-ref step does not keep the plan's head "
                f"{plan.head[:10]} as {plan.safety_ref}",
                hint="make a new plan with rollback plan",
            )
    if not (steps and steps[0].kind == "safety-ref" and len(refs) == 1):
        steps = [safety_ref_step(plan)] + [s for s in steps if s.kind != "safety-ref"]
    first_change = next((i for i, s in enumerate(steps) if s.kind in CHANGES_DATA), None)
    has_snapshot = any(s.kind == "safety-snapshot" for s in steps[: first_change or 0])
    if first_change is not None and not has_snapshot and not _declined_safety_snapshot(plan):
        provider = str(steps[first_change].params.get("provider") or "")
        steps.insert(first_change, _safety_snapshot_step(plan, provider))
    if tuple(steps) == plan.steps:
        return plan
    return replace(plan, steps=tuple(steps))
