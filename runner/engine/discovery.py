"""Finding a schedule again from the chain alone (docs/engine.md, "Discovery").

Two ways in, both ending in a verified :class:`Resolved` (parameters whose scripts sit
on chain as reference scripts):

* from the **definition** (allocations, oracles, quorum, owner, token, expiry) and the
  owner's address: the only missing parameter is the one-shot seed, an output the
  owner once held.  Candidates are the owner's unspent outputs (deployed, not yet
  registered) and its spent ones from Kupo's history (registered); for each, the
  certificate address follows from (seed, oracles, quorum) alone, and one batched
  UTxO query over all candidate addresses finds the one holding the scripts.
* from the **contract address** (``--contract-address``): the forwarder's script (Kupo
  ``/scripts/{hash}``) carries the batch validator's hash, which carries the certificate
  policy id, owner, expiry and token, whose script carries the seed, oracles and quorum.

The data directory's ``cache/`` only remembers the answer (checksummed; a corrupt entry
is set aside and found again); a cached seed is still verified against the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycardano as pc

from runner.domain.schedule import ScheduleDefinition
from runner.engine import adapter
from runner.engine.context import Context
from runner.errors import UserInputError


@dataclass(frozen=True)
class Resolved:
    schedule: adapter.Schedule
    deployment: adapter.Deployment | None
    how: str


def _cache_name(kind: str, key: str) -> str:
    return f"cache/{kind}_{key}.json"


def remember(ctx: Context, found: Resolved, definition: ScheduleDefinition | None = None) -> None:
    if ctx.plan_mode:
        return
    record = {"seed": found.schedule.seed, "allocation_address": found.schedule.allocation_address,
              "certificate_address": found.schedule.certificate_address, "network": ctx.network,
              "policy_id": found.schedule.policy_id.hex()}
    ctx.data.write_json(_cache_name("contract", found.schedule.allocation_address), record)
    if definition is not None:
        ctx.data.write_json(_cache_name("schedule", definition.fingerprint()), record)


def _verified(ctx: Context, schedule: adapter.Schedule, how: str) -> Resolved | None:
    dep = schedule.deployment(ctx.chain.utxos(schedule.certificate_address))
    return Resolved(schedule, dep, how) if dep is not None else None


def by_definition(ctx: Context, definition: ScheduleDefinition, owner_address: str) -> Resolved | None:
    """The deployed schedule of this definition, or None (never deployed)."""
    key = f"definition:{definition.fingerprint()}"
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[return-value]
    found = _from_cache(ctx, definition) or _scan(ctx, definition, owner_address)
    if found is not None:
        remember(ctx, found, definition)
        ctx.memo[key] = found
    return found


def _from_cache(ctx: Context, definition: ScheduleDefinition) -> Resolved | None:
    record = ctx.data.read_json(_cache_name("schedule", definition.fingerprint()))
    if not isinstance(record, dict) or not isinstance(record.get("seed"), str):
        return None
    schedule = adapter.schedule_for(adapter.parameters(definition, record["seed"]), definition.network)
    return _verified(ctx, schedule, "data directory cache, verified on chain")


def _scan(ctx: Context, definition: ScheduleDefinition, owner_address: str) -> Resolved | None:
    owned = ctx.chain.raw_utxos(owner_address) + ctx.chain.spent_history(owner_address)
    candidates: dict[str, str] = {}
    for u in owned:
        seed = f"{u.ref.tx_id}#{u.ref.index}"
        candidates.setdefault(adapter.certificate_address_for(definition, seed), seed)
    if not candidates:
        return None
    holding = {u.address for u in ctx.chain.raw_utxos(list(candidates)) if u.script is not None}
    for address in sorted(holding):
        schedule = adapter.schedule_for(adapter.parameters(definition, candidates[address]), definition.network)
        found = _verified(ctx, schedule, "chain: the owner's outputs and the scripts at the certificate address")
        if found is not None:
            return found
    return None


def by_address(ctx: Context, allocation_address: str) -> Resolved:
    """The schedule at ``allocation_address`` (the quick-start's ``--contract-address``)."""
    key = f"address:{allocation_address}"
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[return-value]
    try:
        pc.Address.from_primitive(allocation_address)
    except Exception:  # noqa: BLE001
        raise UserInputError(f"not a valid bech32 address: {allocation_address[:40]!r}",
                             location="--contract-address", hint="the address register-milestone printed") from None
    found = _address_from_cache(ctx, allocation_address)
    if found is None:
        params = adapter.parameters_from_scripts(allocation_address, ctx.chain.script)
        if params is not None:
            found = _verified(ctx, adapter.schedule_for(params, ctx.network),
                              "chain: parameters read back from the applied scripts (Kupo /scripts)")
    if found is None:
        raise UserInputError("no schedule of this contract is deployed at this address",
                             location="--contract-address",
                             hint="check the address and --network; register-milestone prints the contract address")
    remember(ctx, found)
    ctx.memo[key] = found
    return found


def _address_from_cache(ctx: Context, allocation_address: str) -> Resolved | None:
    record = ctx.data.read_json(_cache_name("contract", allocation_address))
    if not isinstance(record, dict):
        return None
    params = adapter.parameters_from_scripts(allocation_address, ctx.chain.script)
    if params is None:
        return None
    return _verified(ctx, adapter.schedule_for(params, ctx.network), "data directory cache, verified on chain")
