"""The Plan: what a rollback will do, as data. Versioned, JSON round-trip exact, no I/O.

Every entry point (wizard, ``rollback plan``, ``rollback apply``, the demo) builds and runs the
same Plan, so what a release lead reviews is exactly what runs. The JSON carries a digest of
its own content: a plan edited by hand after it was made is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rollback.errors import UsageError

PLAN_VERSION = 1
STRATEGIES = ("revert", "restore", "revert-selected", "park", "reset")
STEP_KINDS = (
    # code
    "safety-ref",
    "write-commits",
    "create-branch",
    "move-branch",
    "push",
    "stop-at-conflict",
    # data (pairing)
    "safety-snapshot",
    "hook",
    "restore-snapshot",
    "downgrade",
)
# the parameters each step kind needs, and their types ("sha": a full commit id; "sha?": one
# or null; "sha|@written": one, or the commit the write-commits step wrote; "argvs": a list of
# argument lists). A plan with a step missing one is refused before anything runs (exit 2).
STEP_PARAMS: dict[str, dict[str, str]] = {
    "safety-ref": {"ref": "str", "sha": "sha"},
    "write-commits": {"mode": "str"},
    "create-branch": {"branch": "str", "sha": "sha"},
    "move-branch": {"branch": "str", "from": "sha", "to": "sha|@written"},
    "push": {"remote": "str", "branch": "str", "force": "bool", "lease": "sha?"},
    "stop-at-conflict": {"commits": "shas"},
    "safety-snapshot": {"provider": "str", "label": "str"},
    "hook": {"argv": "strs"},
    "restore-snapshot": {"provider": "str", "snapshot": "str", "created_at": "str"},
    "downgrade": {"commands": "argvs"},
}
WRITE_MODES = {
    "restore": {"tree_of": "sha", "message": "str"},
    "revert": {"commits": "shas"},
    "revert-selected": {"commits": "shas"},
}
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_PLAN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


@dataclass(frozen=True)
class CommitRef:
    """One commit the plan undoes (or, for revert-selected, reverts)."""

    sha: str
    subject: str
    merge: bool = False
    touches_data: bool = False
    pushed: bool | None = None
    data_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step. ``commands`` are what a person could type instead; ``undo`` how to undo it."""

    kind: str
    title: str
    commands: tuple[str, ...] = ()
    undo: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    id: str
    created_at: str  # ISO 8601, UTC
    repo: str
    branch: str
    head: str  # the branch head the plan was made against
    target: str  # the commit whose tree the code returns to (revert-selected: HEAD)
    target_ref: str  # what the user typed
    strategy: str
    commits: tuple[CommitRef, ...]  # newest first
    steps: tuple[Step, ...]
    risks: tuple[str, ...] = ()
    undo: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None  # the pairing assessment and decision, when present
    version: int = PLAN_VERSION

    @property
    def safety_ref(self) -> str:
        return f"refs/rollback/{self.id}/before"

    @property
    def has_conflicts(self) -> bool:
        return any(self.conflicts.values())

    def to_dict(self) -> dict[str, Any]:
        # built field by field: dataclasses.asdict plus a JSON round trip cost 0.5 s for a
        # 10,000-commit plan
        body: dict[str, Any] = {
            "id": self.id,
            "created_at": self.created_at,
            "repo": self.repo,
            "branch": self.branch,
            "head": self.head,
            "target": self.target,
            "target_ref": self.target_ref,
            "strategy": self.strategy,
            "commits": [
                {
                    "sha": c.sha,
                    "subject": c.subject,
                    "merge": c.merge,
                    "touches_data": c.touches_data,
                    "pushed": c.pushed,
                    "data_files": list(c.data_files),
                }
                for c in self.commits
            ],
            "steps": [
                {
                    "kind": s.kind,
                    "title": s.title,
                    "commands": list(s.commands),
                    "undo": s.undo,
                    "params": _plain(s.params),
                }
                for s in self.steps
            ],
            "risks": list(self.risks),
            "undo": list(self.undo),
            "options": _plain(self.options),
            "conflicts": {k: list(v) for k, v in self.conflicts.items()},
            "data": None if self.data is None else _plain(self.data),
            "version": self.version,
        }
        body["digest"] = _digest(body)
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    """Mappings to dicts and tuples to lists, as they come back from JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in body.items() if k != "digest"}, sort_keys=True, ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _need(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise UsageError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"{where}: field {key!r} has the wrong type")
    return value


def _sha(value: str, where: str) -> str:
    if not _SHA.match(value):
        raise UsageError(f"{where}: {value!r} is not a full commit id")
    return value


def _check_params(kind: str, params: Mapping[str, Any], where: str) -> None:
    """Each parameter the step kind needs is there with the right type; else exit 2."""
    wanted = dict(STEP_PARAMS[kind])
    if kind == "write-commits":
        mode = params.get("mode")
        if mode not in WRITE_MODES:
            raise UsageError(f"{where}: parameter 'mode' must be one of {', '.join(WRITE_MODES)}")
        wanted.update(WRITE_MODES[str(mode)])
    for name, kind_of in wanted.items():
        if name not in params:
            raise UsageError(f"{where}: missing parameter {name!r}")
        if not _fits(params[name], kind_of):
            raise UsageError(f"{where}: parameter {name!r} has the wrong type or value")


def _fits(value: Any, kind_of: str) -> bool:
    def sha(v: Any) -> bool:
        return isinstance(v, str) and bool(_SHA.match(v))

    def strs(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    checks: dict[str, Callable[[Any], bool]] = {
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "sha": sha,
        "sha?": lambda v: v is None or sha(v),
        "sha|@written": lambda v: v == "@written" or sha(v),
        "shas": lambda v: isinstance(v, list) and all(sha(x) for x in v),
        "strs": lambda v: strs(v) and bool(v),
        "argvs": lambda v: isinstance(v, list) and all(strs(x) and x for x in v),
    }
    return bool(checks[kind_of](value))


def plan_from_json(text: str, *, source: str = "plan") -> Plan:
    """Parse and validate a plan file; every problem is a one-line UsageError."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: not a plan file (invalid JSON at line {exc.lineno}: {exc.msg})",
            hint="was it truncated? make a new one with: rollback plan --to REF --format json",
        ) from exc
    if not isinstance(body, dict):
        raise UsageError(f"{source}: not a plan file (expected a JSON object)")
    return plan_from_dict(body, source=source)


def plan_from_dict(body: Mapping[str, Any], *, source: str = "plan") -> Plan:
    version = body.get("version")
    if version != PLAN_VERSION:
        raise UsageError(
            f"{source}: plan format version {version!r} is not supported (this rollback reads "
            f"version {PLAN_VERSION})",
            hint="make the plan again with this version of rollback",
        )
    digest = _need(body, "digest", str, source)
    if digest != _digest(body):
        raise UsageError(
            f"{source}: the plan was changed after it was made (digest mismatch)",
            hint="plans are run exactly as reviewed; make a new one with rollback plan",
        )
    plan_id = _need(body, "id", str, source)
    if not _PLAN_ID.match(plan_id):
        raise UsageError(f"{source}: bad plan id {plan_id!r}")
    strategy = _need(body, "strategy", str, source)
    if strategy not in STRATEGIES:
        raise UsageError(f"{source}: unknown strategy {strategy!r}")
    commits = []
    for i, c in enumerate(_need(body, "commits", list, source)):
        where = f"{source}: commits[{i}]"
        if not isinstance(c, dict):
            raise UsageError(f"{where}: expected an object")
        pushed = c.get("pushed")
        if pushed is not None and not isinstance(pushed, bool):
            raise UsageError(f"{where}: field 'pushed' has the wrong type")
        commits.append(
            CommitRef(
                sha=_sha(_need(c, "sha", str, where), where),
                subject=_need(c, "subject", str, where),
                merge=_need(c, "merge", bool, where),
                touches_data=_need(c, "touches_data", bool, where),
                pushed=pushed,
                data_files=tuple(_need(c, "data_files", list, where)),
            )
        )
    steps = []
    for i, s in enumerate(_need(body, "steps", list, source)):
        where = f"{source}: steps[{i}]"
        if not isinstance(s, dict):
            raise UsageError(f"{where}: expected an object")
        kind = _need(s, "kind", str, where)
        if kind not in STEP_KINDS:
            raise UsageError(f"{where}: unknown step kind {kind!r}")
        params = _need(s, "params", dict, where)
        _check_params(kind, params, f"{where} ({kind})")
        steps.append(
            Step(
                kind=kind,
                title=_need(s, "title", str, where),
                commands=tuple(_need(s, "commands", list, where)),
                undo=_need(s, "undo", str, where),
                params=params,
            )
        )
    conflicts = _need(body, "conflicts", dict, source)
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise UsageError(f"{source}: field 'data' has the wrong type")
    return Plan(
        id=plan_id,
        created_at=_need(body, "created_at", str, source),
        repo=_need(body, "repo", str, source),
        branch=_need(body, "branch", str, source),
        head=_sha(_need(body, "head", str, source), source),
        target=_sha(_need(body, "target", str, source), source),
        target_ref=_need(body, "target_ref", str, source),
        strategy=strategy,
        commits=tuple(commits),
        steps=tuple(steps),
        risks=tuple(_need(body, "risks", list, source)),
        undo=tuple(_need(body, "undo", list, source)),
        options=_need(body, "options", dict, source),
        conflicts={k: tuple(v) for k, v in conflicts.items()},
        data=data,
        version=version,
    )
