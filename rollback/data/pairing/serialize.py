"""The JSON form of the pairing, carried in ``Plan.data`` (and so covered by its digest).

``pairing_render`` renders this form only, so a plan read back from a file shows exactly what
a fresh one shows. Field by field: docs/pairing.md, "In the plan file".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timezone
from typing import Any

from rollback.data import downgrades
from rollback.data.pairing import assess
from rollback.data.pairing.assess import Assessment
from rollback.data.pairing.decide import Decision, Recommendation

DATA_VERSION = 1


def _pairing_dict(p: assess.Pairing) -> dict[str, Any]:
    s = p.snapshot
    return {
        "id": s.id,
        "provider": s.provider,
        "label": s.label,
        "created_at": s.created_at.astimezone(timezone.utc).isoformat(),  # tables say UTC
        "commit": p.commit,
        "commit_source": p.source,
        "relation": p.relation,
        "between": [c.sha for c in p.between],
        "restorable": not p.expired and s.status == "complete",
        "expired": p.expired,
        "expires_at": s.expires_at.astimezone(timezone.utc).isoformat() if s.expires_at else None,
        "size_bytes": s.size_bytes,
        "loss_window_seconds": round(p.loss_seconds),
        "restore_seconds": round(p.restore_seconds) if p.restore_seconds is not None else None,
        "estimate_basis": p.estimate_basis,
        "fits": p.fits,
        "code_target": assess.code_target_for(p),
        "note": p.note,
    }


def data_dict(
    a: Assessment,
    rec: Recommendation,
    dec: Decision,
    found: Sequence[downgrades.FrameworkDowngrade],
    provider: str,
    safety: bool,
    notes: Sequence[str],
) -> dict[str, Any]:
    """The JSON form of the pairing, carried in ``Plan.data`` and rendered by pairing_render."""
    chosen = _pairing_dict(dec.pairing) if dec.pairing else None
    return {
        "version": DATA_VERSION,
        "provider": provider,
        "assessed_at": a.now.isoformat(timespec="seconds"),
        "target": a.target,
        "head": a.head,
        "data_commits": [
            {"sha": c.sha, "subject": c.subject, "files": list(c.data_files)}
            for c in a.data_commits
        ],
        "snapshots": [_pairing_dict(p) for p in a.pairings],
        "downgrade": {
            "needed": a.downgrade.needed,
            "possible": a.downgrade.possible,
            "reason": a.downgrade.reason,
            "frameworks": [
                {
                    "framework": f.framework,
                    "needed": f.needed,
                    "supported": f.supported,
                    "at_target": f.at_target,
                    "commands": [list(c) for c in f.commands],
                    "reason": f.reason,
                }
                for f in found
            ],
        },
        "recommendation": {
            "action": rec.action,
            "snapshot": rec.snapshot,
            "reasons": list(rec.reasons),
            "alternatives": list(rec.alternatives),
        },
        "decision": {
            "action": dec.action,
            "snapshot": chosen["id"] if chosen else None,
            "pairing": chosen,
            "safety_snapshot": safety and dec.action != "none",
            "reasons": list(dec.reasons),
        },
        "notes": list(notes),
    }
