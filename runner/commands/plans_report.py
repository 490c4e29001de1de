"""The Markdown distribution report (``--report FILE``): who got what, in which
transaction, at what fee; short enough for a pull-request comment or a job summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.commands.plans_engine import StepOutcome
from runner.plan import Plan


def markdown(plan: Plan, mode: str, outcomes: Sequence[StepOutcome], statuses: Sequence[Any],
             addresses: dict[str, str]) -> str:
    names = {address: name for name, address in addresses.items()}
    changes = sum(1 for o in outcomes if o.status != "noop")
    fees = sum(t["fee"] for o in outcomes for t in o.txs)
    lines = [f"# {plan.name}: {mode}", "",
             (f"Network **{plan.network}**, {len(plan.steps)} steps, {len(plan.schedule.allocations)} allocations; "
             f"{changes} step(s) with changes, {sum(len(o.txs) for o in outcomes)} transaction(s), "
             f"fees {fees / 1e6:.6f} ADA."), "", "## Steps", "", "| step | action | status | why |", "|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| `{o.id}` | {o.kind} | {o.status} | {_cell(o.reason)} |")
    txs = [(o.id, t) for o in outcomes for t in o.txs]
    if txs:
        lines += ["", "## Transactions", "", "| step | transaction | kind | fee (lovelace) | size |", "|---|---|---|---|---|"]
        lines += [f"| `{sid}` | `{t['tx_id']}` | {t['kind']} | {t['fee']} | {t['size']} |" for sid, t in txs]
    if statuses:
        lines += ["", "## Distribution", "", "| beneficiary | milestone | tokens | status |", "|---|---|---|---|"]
        for s in sorted(statuses, key=lambda s: (s.allocation.milestone, s.allocation.beneficiary)):
            who = names.get(s.allocation.beneficiary, s.allocation.beneficiary[:20] + "...")
            lines.append(f"| {who} | {s.allocation.milestone} | {s.allocation.amount} | {s.reason.value} |")
        released = [s for s in statuses if s.reason.value == "already released"]
        lines += ["", f"Released: {len(released)} allocation(s), {sum(s.allocation.amount for s in released)} tokens."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]
