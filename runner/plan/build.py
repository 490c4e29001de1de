"""Rendered, checked documents -> the typed :class:`~runner.plan.model.Plan`.

Only called once the schema and the cross-checks found nothing, so the shapes here are
the schema's; values only apply can know stay :data:`KNOWN_AFTER_APPLY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.plan.model import (
    STEP_KINDS,
    AdvanceTimeOptions,
    Allocation,
    Backend,
    CheckOptions,
    CommitOptions,
    DeployOptions,
    Expectations,
    FundOptions,
    InitOptions,
    Key,
    Plan,
    ReclaimOptions,
    RegisterOptions,
    ReleaseOptions,
    ReleaseSelector,
    Schedule,
    SignOptions,
    Step,
    Token,
    to_millis,
)
from runner.plan.problems import Path
from runner.plan.yaml_source import Marks

AllocationEntry = tuple[Path, Mapping[str, Any], Marks]


def build_plan(doc: Mapping[str, Any], marks: Marks, base_dir: str, allocations: Sequence[AllocationEntry],
               variables: Mapping[str, Any]) -> Plan:
    keys = {name: Key(name, *next(iter(spec.items()))) for name, spec in (doc.get("keys") or {}).items()}
    backend = Backend(**(doc.get("backend") or {}))
    schedule = _schedule(doc["schedule"], allocations)
    steps = tuple(_step(i, raw, marks, schedule) for i, raw in enumerate(doc["steps"]))
    return Plan(marks.file, base_dir, str(doc.get("name") or marks.file), str(doc["network"]), backend, keys,
                schedule, steps, dict(variables))


def _schedule(raw: Mapping[str, Any], allocations: Sequence[AllocationEntry]) -> Schedule:
    token = raw["token"]
    items = tuple(Allocation(str(a["beneficiary"]), int(a["amount"]), str(a["milestone"]), to_millis(a["vesting"]),
                             "{}:{}:{}".format(marks.file, *marks.locate(path))) for path, a, marks in allocations)
    return Schedule(Token(str(token["policy_id"]), str(token["name"])), str(raw["owner"]), tuple(raw["oracles"]),
                    int(raw["quorum"]), to_millis(raw["expiry"]), items, raw.get("allocations_file"))


def _step(index: int, raw: Mapping[str, Any], marks: Marks, schedule: Schedule) -> Step:
    kind = next(k for k in raw if k in STEP_KINDS)
    options = raw.get(kind) or {}
    where = marks.problem(("steps", index), "", "").location
    return Step(str(raw["id"]), kind, index, where, OPTIONS[kind](options, schedule), str(raw.get("description", "")))


def _expectations(raw: Mapping[str, Any]) -> Expectations:
    counts = raw.get("allocations") or {}
    return Expectations(
        certified={m: bool(v["certified"]) for m, v in (raw.get("milestones") or {}).items() if "certified" in v},
        released=counts.get("released"), locked=counts.get("locked"), reclaimed=counts.get("reclaimed"),
        claimable=counts.get("claimable"),
        balances=tuple((str(b["holder"]), int(b["tokens"])) for b in raw.get("balances") or []),
        remaining_tokens=raw.get("remaining_tokens"))


def _release(raw: Mapping[str, Any], schedule: Schedule) -> ReleaseOptions:
    allocation = raw.get("allocation") or {}
    select = ReleaseSelector(all=bool(raw.get("all")), milestone=raw.get("milestone", allocation.get("milestone")),
                             beneficiary=raw.get("beneficiary", allocation.get("beneficiary")))
    return ReleaseOptions(select, raw.get("payer"))


OPTIONS: dict[str, Callable[[Mapping[str, Any], Schedule], Any]] = {
    "init": lambda raw, s: InitOptions(),
    "fund": lambda raw, s: FundOptions(str(raw["to"]), int(raw["lovelace"]), int(raw.get("tokens", 0))),
    "advance-time": lambda raw, s: AdvanceTimeOptions(to_millis(raw["to"]) if "to" in raw else None, raw.get("by")),
    "deploy": lambda raw, s: DeployOptions(str(raw["payer"])),
    "register": lambda raw, s: RegisterOptions(str(raw.get("funding", s.owner))),
    "sign": lambda raw, s: SignOptions(str(raw["milestone"]), tuple(raw["oracles"]), str(raw["out"])),
    "commit": lambda raw, s: CommitOptions(str(raw["milestone"]), str(raw["signatures"]), raw.get("payer")),
    "check": lambda raw, s: CheckOptions(_expectations(raw["expect"])),
    "release": _release,
    "reclaim": lambda raw, s: ReclaimOptions(raw.get("milestone"), raw.get("payer")),
}
