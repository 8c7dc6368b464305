"""Put the data into a plan: list snapshots, read history, pair, and insert the data steps.

Order of the steps (why):

1. ``safety-ref`` (code): cheap, and first so no commit can ever be lost.
2. ``safety-snapshot``: the current data, before anything changes it.
3. ``before_restore`` hooks, e.g. ``bin/magento maintenance:enable``.
4. ``downgrade`` or ``restore-snapshot``, BEFORE the code steps: a framework can only reverse
   a migration whose file is still in the work tree, and data must match the old code before
   a push deploys it (on Magento Cloud a push is a deploy, which runs ``setup:upgrade``).
5. The code steps (write commits, move the branch, push).
6. ``after_restore`` hooks, e.g. ``bin/magento cache:flush``, ``maintenance:disable``.

Hooks run only when the plan changes the data (restore or downgrade).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

from rollback.data import downgrades
from rollback.data.frameworks import MigrationRules
from rollback.data.pairing import assess
from rollback.data.pairing import replay as replay_mod
from rollback.data.pairing.assess import Assessment
from rollback.data.pairing.decide import Decision, decide, recommend
from rollback.data.pairing.serialize import data_dict
from rollback.data.project import Project, load_project
from rollback.data.snapshots.base import Snapshot
from rollback.errors import RefusedError, RollbackError, UsageError
from rollback.git.history import History, read_history
from rollback.git.repo import GitRepo
from rollback.plan import Plan, Step


def attach_data(
    repo: GitRepo,
    plan: Plan,
    *,
    snapshot: str | None,
    data: str | None,
    safety_snapshot: bool = True,
    project: Project | None = None,
    now: datetime | None = None,
    keep_writes: bool = False,
    replay: bool = True,
) -> Plan:
    """Pair ``plan``'s code target with the data: assessment, decision and data steps.

    ``snapshot``: a snapshot id, "auto" or "none"; ``data``: restore | downgrade | none (None:
    follow the recommendation). ``replay``: restore to the bad deploy's mark when one fits
    (pairing/replay.py); ``keep_writes``: and keep the writes since to untouched tables.
    Reads git, the provider's listing and the databases' logs; changes nothing.
    """
    if plan.strategy == "revert-selected":
        raise UsageError(
            "pairing data needs one code target: use --to or --before (revert, restore, park "
            "or reset), not revert-selected"
        )
    if plan.data is not None:
        raise UsageError("internal: the plan is paired already; pair the code-only plan")
    project = project or load_project(repo.root)
    now = now or datetime.now(timezone.utc)
    rules = project.rules
    hooks = project.hooks
    prefix = project.downgrade_prefix
    tolerant = data == "none" or (snapshot == "none" and data is None)
    tolerant = tolerant or (data == "downgrade" and not safety_snapshot)
    provider_name, snapshots, notes = list_snapshots(project, tolerant=tolerant)
    live = [s for s in snapshots if not assess.is_expired(s, now)]
    history = pairing_history(repo, rules, plan.head, plan.target, live)
    partial = bool(history.commits and history.commits[-1].parents)
    pos_t = history.position(plan.target)
    changed = [f for c in history.commits[:pos_t] for f in c.data_files]
    found = downgrades.plan_downgrades(repo, rules.presets, plan.target, plan.head, changed)
    facts = downgrades.summarize(found, changed)
    assessment = assess.assess(history, plan.target, snapshots, facts, now, partial=partial)
    recommendation = recommend(assessment)
    decision = decide(assessment, recommendation, snapshot=snapshot, data=data)
    before, after = data_steps(
        plan, decision, assessment, provider_name, hooks, safety_snapshot, prefix=prefix
    )
    replayed = None  # issue 14: restore to the moment before the bad deploy (pairing/replay.py)
    if replay:
        replayed = replay_mod.consider(
            project, history, plan.target, decision, keep_writes=keep_writes
        )
    if keep_writes and (replayed is None or replayed.refused):
        why = replayed.refused if replayed else "no deploy mark of a deploy after the target"
        raise RefusedError(
            f"--keep-writes cannot be honoured: {why}",
            hint="drop --keep-writes for a plain restore (everything since the snapshot is lost)",
        )
    if replayed is not None:
        before = list(replay_mod.amend(before, replayed))
    steps = plan.steps
    if before or after:
        if not steps or steps[0].kind != "safety-ref":
            raise UsageError("internal: a plan's first step must be its safety ref")
        steps = (steps[0], *before, *steps[1:], *after)
    risks = list(plan.risks) + list(decision.risks)
    if decision.action != "none" and safety_snapshot:
        risks += [f"apply will stop before changing any data: {n}" for n in notes if "safety" in n]
    if decision.action != "none" and not safety_snapshot:
        risks.append(
            "no safety snapshot (--no-safety-snapshot): the current data is not kept and "
            "cannot be put back if a step fails"
        )
    undo = list(plan.undo)
    if decision.action != "none":
        undo.append(_undo_data_text(plan, safety_snapshot))
    body = data_dict(
        assessment, recommendation, decision, found, provider_name, safety_snapshot, notes
    )
    if replayed is not None:
        body["replay"] = {**replay_mod.to_dict(replayed), "words": replay_mod.words(replayed, now)}
    return replace(plan, steps=steps, risks=tuple(risks), undo=tuple(undo), data=body)


def _undo_data_text(plan: Plan, safety: bool) -> str:
    if not safety:
        return (
            "The data: no safety snapshot is taken (--no-safety-snapshot), so rollback undo "
            "moves only the code; put the data back from a snapshot of your own"
        )
    return (
        "The data: rollback undo puts it back too, from the snapshot labelled "
        f"'{safety_label(plan)}' (the data as it is then is snapshotted first); "
        "--code-only leaves it"
    )


def safety_label(plan: Plan) -> str:
    """The label of the safety snapshot the plan's run takes (its id is known only then)."""
    return f"before rollback {plan.id}"  # short enough (38) that the id keeps the whole plan id


def list_snapshots(project: Project, *, tolerant: bool) -> tuple[str, list[Snapshot], list[str]]:
    """(provider name, its snapshots, notes). ``tolerant``: a failure becomes a note."""
    name = project.provider_name
    try:
        provider = project.provider()
        notes = []
        # the local store with no paths present and no services cannot take a safety snapshot
        if getattr(provider, "components", None) == []:
            notes.append(
                "nothing is configured to snapshot (no paths exist, no services in "
                "[tool.rollback.local]): a safety snapshot step would fail"
            )
        return provider.name, provider.list(), notes
    except RollbackError as exc:
        if not tolerant:
            raise
        return name, [], [f"snapshots could not be listed: {exc}"]


def target_for_snapshot(repo: GitRepo, snapshot_id: str, *, project: Project | None = None) -> str:
    """The reverse question: the commit whose code fits snapshot ``snapshot_id``'s data.

    Its recorded commit, else the inferred one (the plan's assessment then says "inferred").
    """
    project = project or load_project(repo.root)
    _, snapshots, _ = list_snapshots(project, tolerant=False)
    found = [s for s in snapshots if s.id == snapshot_id]
    head = repo.head()
    if not found or head is None:
        raise UsageError(
            f"no snapshot {snapshot_id!r}", hint="see the snapshots with: rollback snapshot list"
        )
    history = pairing_history(repo, project.rules, head, head, found)
    commit, _source = assess.snapshot_commit(found[0], history)
    if commit is None or history.position(commit) is None:
        raise UsageError(
            f"snapshot {snapshot_id} belongs with no commit on the first-parent line of "
            f"{history.branch or 'HEAD'}",
            hint="name the code target yourself: rollback plan --to REF --snapshot ID",
        )
    return commit


def pairing_history(
    repo: GitRepo, rules: MigrationRules, head: str, target: str, snapshots: Sequence[Snapshot]
) -> History:
    """First-parent history from far enough back for the target and ``snapshots``.

    Bounded by the older of the target and the commit at the oldest snapshot's time, so a
    long history is not read in full (the caller passes only restorable snapshots: expired
    ones are never recommended); read in full only when a recorded commit is older.
    """
    start = target
    if snapshots:
        oldest = min(s.created_at for s in snapshots)
        at = repo.log(
            "--first-parent", "-1", "--format=%H", f"--before=@{int(oldest.timestamp())}", head
        ).strip()
        if not at:
            return read_history(repo, rules, head=head)
        if at != start and repo.is_ancestor(at, start):
            start = at
    since = repo.rev_parse(f"{start}^")
    history = read_history(repo, rules, since=since, head=head)
    recorded = [s.commit for s in snapshots if s.commit]
    if since is not None and any(assess.full_sha(c, history) is None for c in recorded):
        history = read_history(repo, rules, head=head)
    return history


def data_steps(
    plan: Plan,
    decision: Decision,
    assessment: Assessment,
    provider: str,
    hooks: dict[str, list[list[str]]],
    safety: bool,
    *,
    prefix: Sequence[str] = (),
) -> tuple[list[Step], list[Step]]:
    """(steps before the code steps, steps after them) for ``decision``."""
    if decision.action == "none":
        return [], []
    before: list[Step] = []
    label = safety_label(plan)
    # "<safety snapshot id>": the execution view fills in the id once the safety step ran
    undo_cmd = f"rollback snapshot restore --provider {provider} <safety snapshot id>"
    if safety:
        before.append(
            Step(
                "safety-snapshot",
                f"Take a safety snapshot of the current data ({provider})",
                (f"rollback snapshot create --provider {provider} --label {shlex.quote(label)}",),
                "",
                {"provider": provider, "label": label},
            )
        )
    before += [_hook(argv, "before_restore") for argv in hooks.get("before_restore", [])]
    if decision.action == "downgrade":
        commands = [[*prefix, *c] for c in assessment.downgrade.commands]
        before.append(
            Step(
                "downgrade",
                "Downgrade the migrations to the target's state, before the code step: the "
                "newer migration files must still exist to be reversed",
                tuple(shlex.join(c) for c in commands),
                undo_cmd if safety else "",
                {"commands": commands},
            )
        )
    else:
        p = decision.pairing
        assert p is not None
        snap = p.snapshot
        commit = f"{p.commit[:10]} ({p.source})" if p.commit else "unknown commit"
        before.append(
            Step(
                "restore-snapshot",
                f"Restore snapshot {snap.id} ({snap.provider}, taken "
                f"{snap.created_at:%Y-%m-%d %H:%M %Z}, code {commit}), before the code step",
                (
                    f"rollback snapshot restore --provider {snap.provider} "
                    f"--no-safety-snapshot --yes {snap.id}",
                ),
                undo_cmd if safety else "",
                {
                    "provider": snap.provider,
                    "snapshot": snap.id,
                    "created_at": snap.created_at.isoformat(),
                    "commit": p.commit,
                    "commit_source": p.source,
                },
            )
        )
    after = [_hook(argv, "after_restore") for argv in hooks.get("after_restore", [])]
    return before, after


def _hook(argv: list[str], phase: str) -> Step:
    text = shlex.join(argv)
    return Step(
        "hook", f"Run the {phase} hook: {text}", (text,), "", {"phase": phase, "argv": argv}
    )
