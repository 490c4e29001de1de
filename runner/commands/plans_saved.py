"""``plan --out FILE`` / ``apply FILE``: a saved plan, anchored to the plan's inputs and the chain.

The saved file records the plan file's and the variables' digests, the chain tip, each
step's decision and the transaction inputs the planned transactions would spend.  ``apply
FILE`` refuses it, with the reason, when the plan or its variables changed, or when planning
again now decides differently (a spent input, a moved chain); otherwise it applies exactly
what was shown.  The recorded inputs are for the reviewer: they are not checked one by one.  No signing key is in the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runner.errors import StateError, UserInputError
from runner.plan import Inputs, Plan
from runner.store.atomic import write_json_atomic

FORMAT = "milestones.saved-plan"
VERSION = 1


def digest(path: Path, inputs: Inputs) -> dict[str, str]:
    files = [path, *[Path(f) for f in inputs.var_files]]
    blob = hashlib.sha256()
    for file in files:
        blob.update(file.read_bytes() if file.is_file() else b"(missing)")
    variables = hashlib.sha256(json.dumps(dict(inputs.variables), sort_keys=True, default=str).encode()).hexdigest()
    return {"plan_sha256": blob.hexdigest(), "variables_sha256": variables}


def _decisions(outcomes: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"id": o.id, "kind": o.kind, "status": o.status, "reason": o.reason,
             "tx_ids": [t["tx_id"] for t in o.txs]} for o in outcomes]


def save(out: Path, path: Path, inputs: Inputs, plan: Plan, outcomes: Sequence[Any], run: Any) -> None:
    tip = run.ctx.chain.snapshot()
    write_json_atomic(out, {"format": FORMAT, "version": VERSION, "plan_file": str(path.resolve()),
                            **digest(path, inputs), "network": plan.network, "tip_slot": tip.slot,
                            "steps": _decisions(outcomes), "spends": sorted(set(run.spent))})


def read(path: Path) -> dict[str, Any] | None:
    """The saved plan in ``path``, or None when ``path`` is a plan file."""
    if path.suffix != ".json":
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        return None
    if value.get("version") != VERSION:
        raise UserInputError(f"saved plan format version {value.get('version')} is not {VERSION}",
                             location=str(path), hint="make the plan again with this version")
    fields = {"plan_file": str, "plan_sha256": str, "variables_sha256": str, "steps": list}
    bad = [name for name, kind in fields.items() if not isinstance(value.get(name), kind)]
    if bad or not all(isinstance(s, dict) and "id" in s for s in value["steps"]):
        raise UserInputError(f"the saved plan is damaged (bad or missing: {', '.join(bad) or 'steps'})",
                             location=str(path), hint="make the plan again with `milestones plan --out`")
    return value


def check_fresh(saved: dict[str, Any], inputs: Inputs,
                replan: Callable[[Path, Inputs], Sequence[Any]]) -> Path:
    """The plan file to apply, or StateError (exit 5) saying why the saved plan is stale."""
    path = Path(saved["plan_file"])
    now = digest(path, inputs)
    if now["plan_sha256"] != saved["plan_sha256"]:
        raise StateError("the saved plan is stale: the plan file (or a --var-file) changed since",
                         location=str(path), code="stale-plan", hint="run `milestones plan --out` again")
    if now["variables_sha256"] != saved["variables_sha256"]:
        raise StateError("the saved plan is stale: different --var values", location=str(path),
                         code="stale-plan", hint="pass the same --var values as to `plan`, or plan again")
    decisions = _decisions(replan(path, inputs))
    if decisions != saved["steps"]:
        changed = [n["id"] for n, o in zip(decisions, saved["steps"]) if n != o]
        raise StateError("the saved plan is stale: the chain changed since it was made (steps "
                         f"{', '.join(changed) or 'list'} decide differently now)", location=str(path),
                         code="stale-plan", hint="run `milestones plan --out` again and review it")
    return path
