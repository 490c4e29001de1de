"""The quick-start's JSON outputs, computed from chain facts (pure functions of facts).

Shapes follow ../shared/seed/quickstart.md; fields the guide does not show are added,
never renamed (``repairs``, ``ignored``, ``transactions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.domain import claims
from runner.engine import adapter, events
from runner.engine.chainview import ref_text
from runner.engine.observe import ScheduleFacts
from runner.engine.steps_claims import milestone_order


def milestone_record(facts: ScheduleFacts, milestone: str) -> dict[str, Any] | None:
    """``milestones/<id>.json``: rebuilt from the certificate's datum alone."""
    cert = facts.certificates.get(milestone)
    if cert is None or facts.resolved is None:
        return None
    params = facts.resolved.schedule.params
    signers = adapter.certificate_signers(cert)
    return {"milestone_identifier": milestone, "contract_address": facts.resolved.schedule.allocation_address,
            "certificate_policy_id": facts.resolved.schedule.policy_id.hex(), "certificate": ref_text(cert.input),
            "quorum_threshold": params.quorum, "total_oracles": len(params.oracles),
            "signatures": [{"verification_key": v.hex(), "signature": s.hex()} for v, s in signers]}


def check_status(facts: ScheduleFacts, milestone: str | None) -> dict[str, Any]:
    assert facts.resolved is not None
    params = facts.resolved.schedule.params
    allocations = facts.allocations()
    found = claims.statuses(allocations, facts.claim_facts())
    names = sorted({a.milestone for a in allocations} | set(facts.certificates))
    rows = []
    for name in names if milestone is None else [milestone]:
        cert = facts.certificates.get(name)
        count = len(adapter.certificate_signers(cert)) if cert is not None else 0
        vesting = [a.vesting_ms for a in allocations if a.milestone == name]
        rows.append({"milestone_identifier": name, "verified": cert is not None,
                     "quorum_status": "met" if cert is not None and count >= params.quorum else "not met",
                     "signature_count": count, "quorum_threshold": params.quorum,
                     "vesting_passed": bool(vesting) and max(vesting) <= facts.snap.now_ms})
    total = sum(a.amount for a in allocations)
    remaining = sum(item.amount for item in facts.locked)
    released = [s for s in found if s.reason is claims.Reason.ALREADY_RELEASED]
    return {"contract_address": facts.resolved.schedule.allocation_address, "milestones": rows,
            "contract_state": {"total_token_amount": total, "remaining_token_amount": remaining,
                               "claimed_count": len(released), "unclaimed_count": len(facts.locked)},
            "expiry_ms": params.expiry_ms, "chain_time_ms": facts.snap.now_ms}


def distribution(facts: ScheduleFacts, beneficiary: str) -> dict[str, Any]:
    """The guide's shape; each allocation also says its ``beneficiary_index`` (the position
    ``submit-release --beneficiary-index`` takes with its milestone)."""
    allocations = facts.allocations()
    found = claims.select(claims.statuses(allocations, facts.claim_facts()), beneficiary=beneficiary)
    return {"beneficiary_address": beneficiary, "claimable_amount": claims.claimable_amount(found),
            "allocations": [{"milestone_identifier": s.allocation.milestone, "token_amount": s.allocation.amount,
                             "claimable": s.claimable, "reason": s.reason.value, "vesting_passed": s.vesting_passed,
                             "vesting_time_ms": s.allocation.vesting_ms,
                             "beneficiary_index": milestone_order(allocations, s.allocation.milestone).index(
                                 s.allocation)} for s in found]}


def transactions(found: Sequence[events.Event]) -> list[dict[str, Any]]:
    """Every transaction planned or submitted, with its fate."""
    out: dict[str, dict[str, Any]] = {}
    for e in found:
        if isinstance(e, events.Planned):
            for tx in e.txs:
                out[tx.tx_id] = {"transaction_hash": tx.tx_id, "kind": tx.kind, "fee": tx.fee, "size": tx.size,
                                 "collateral_amount": tx.collateral, "status": "planned", "step": e.step}
        elif isinstance(e, events.Submitted) and e.tx_id in out:
            out[e.tx_id]["status"] = "submitted"
        elif isinstance(e, events.Confirmed) and e.tx_id in out:
            out[e.tx_id]["status"] = "confirmed"
        elif isinstance(e, events.AlreadyDone) and e.tx_id in out:
            out[e.tx_id]["status"] = "already done"
            out[e.tx_id]["reason"] = e.reason
    return list(out.values())


def side_notes(found: Sequence[events.Event]) -> dict[str, Any]:
    """What was repaired, ignored, recovered, or already done (shown with every result)."""
    notes: dict[str, Any] = {}
    repairs = [{"path": e.path, "problem": e.problem, "set_aside": e.set_aside, "rebuilt_from": "chain"}
               for e in found if isinstance(e, events.Repaired)]
    ignored = [{"what": e.what, "reason": e.reason} for e in found if isinstance(e, events.Ignored)]
    recovered = [{"transaction_hash": e.tx_id, "fate": e.fate} for e in found if isinstance(e, events.Recovered)]
    noops = [{"step": e.step, "reason": e.reason} for e in found if isinstance(e, events.Noop)]
    for key, value in (("repairs", repairs), ("ignored", ignored), ("recovered", recovered),
                       ("already_done", noops)):
        if value:
            notes[key] = value
    return notes
