"""The rest of Ogmios' ledger-state queries, answered in the schema's shape with what the devnet has.

The devnet runs no stake pools, no DReps, no governance and no reward calculation, so most
answers are honestly empty (no pools, no proposals, zero pots) rather than an unknown-method
error: the official TypeScript client turns -32601 into ``undefined`` silently, which hides
the gap from its users. What the devnet does have is answered from its state at the tip:
the registered stake accounts (deposit, DRep delegation, reward balance), the constitution's
guardrails script, the pledge influence and pool target of the protocol parameters.

``acquireLedgerState`` acquires the tip only (the devnet keeps no older states); once the
tip moves, queries on the acquired state fail with 2003, as Ogmios' do when a state expires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pycardano import Address
from pycardano.crypto.bech32 import bech32_decode, convertbits

from runner.devnet.servers import tip_view
from runner.devnet.servers.ogmios import shapes
from runner.devnet.servers.ogmios.rpc import BadParams, RpcFailure, no_params, params_object

Json = dict[str, Any]
ACQUIRE_FAILED = 2000
ACQUIRED_EXPIRED = 2003
#: The devnet's constitution anchor: no document, the guardrails script of mainnet.
CONSTITUTION_URL = "https://milestones.invalid/devnet-constitution"


def _ada(lovelace: int) -> Json:
    return {"ada": {"lovelace": int(lovelace)}}


def _credential(raw: Any, where: str) -> str:
    """A stake credential (hex hash, stake_vkh/script bech32, or stake address) -> 56 hex."""
    if isinstance(raw, str) and len(raw) == 56 and all(c in "0123456789abcdef" for c in raw):
        return raw
    if isinstance(raw, str) and raw.startswith(("stake_vkh1", "script1")):
        hrp, data, _ = bech32_decode(raw)
        payload = bytes(convertbits(data, 5, 8, False) or []) if data is not None else b""
        if hrp in ("stake_vkh", "script") and len(payload) == 28:
            return payload.hex()
    if isinstance(raw, str) and raw.startswith("stake"):
        try:
            staking = Address.from_primitive(raw).staking_part
        except Exception:  # noqa: BLE001 - pycardano raises several kinds on a bad address
            staking = None
        if staking is not None:
            return bytes(staking.payload).hex()
    raise BadParams(f"Invalid request: {where} must be a stake credential: 56 hex characters, "
                    "stake_vkh1.../script1... bech32, or a stake address.")


def _credentials(params: Mapping[str, Any], method: str) -> tuple[set[str], set[str]] | None:
    """(key hashes, script hashes) asked for, or None when neither list is given."""
    unknown = sorted(set(params) - {"keys", "scripts", "stake"})
    if unknown:
        raise BadParams(f"Invalid request: {method} takes keys and scripts, not {', '.join(unknown)}.")
    if "keys" not in params and "scripts" not in params:
        return None
    found: list[set[str]] = []
    for kind in ("keys", "scripts"):
        items = params.get(kind, [])
        if not isinstance(items, list):
            raise BadParams(f"Invalid request: params.{kind} of {method} must be a list.")
        found.append({_credential(c, f"params.{kind}[{i}]") for i, c in enumerate(items)})
    return found[0], found[1]


def _summary(key: str, account: Any) -> Json:
    kind, _, credential = key.partition(":")
    summary: Json = {"from": "script" if kind == "script" else "verificationKey", "credential": credential}
    if getattr(account, "pool", None):
        summary["stakePool"] = {"id": str(account.pool)}
    drep = getattr(account, "drep", None)
    if drep in ("abstain", "noConfidence"):
        summary["delegateRepresentative"] = {"type": drep}
    summary["rewards"] = _ada(int(getattr(account, "rewards", 0) or 0))
    summary["deposit"] = _ada(int(account.deposit))
    return summary


def reward_account_summaries(ledger: Any, params: Any) -> list[Json]:
    """Registered stake accounts (all of them when no keys/scripts are given)."""
    query = params_object(params, "queryLedgerState/rewardAccountSummaries")
    wanted = _credentials(query, "queryLedgerState/rewardAccountSummaries")
    accounts = tip_view.stake_at_tip(ledger)
    chosen = sorted(accounts.items()) if wanted is None else sorted(
        (k, a) for k, a in accounts.items()
        if (k.startswith("key:") and k[4:] in wanted[0]) or (k.startswith("script:") and k[7:] in wanted[1]))
    return [_summary(key, account) for key, account in chosen]


def stake_pools(ledger: Any, params: Any) -> Json:
    query = params_object(params, "queryLedgerState/stakePools")
    unknown = sorted(set(query) - {"includeStake", "stakePools"})
    if unknown or not isinstance(query.get("includeStake", False), bool):
        raise BadParams("Invalid request: queryLedgerState/stakePools takes includeStake (a boolean) and "
                        "stakePools (a list of {\"id\": pool1...}).")
    return {}


def projected_rewards(ledger: Any, params: Any) -> Json:
    """No pools: every asked stake amount or credential projects to no rewards."""
    query = params_object(params, "queryLedgerState/projectedRewards")
    wanted = _credentials(query, "queryLedgerState/projectedRewards") or (set(), set())
    stakes = query.get("stake", [])
    if not isinstance(stakes, list) or not all(isinstance(s, dict) for s in stakes):
        raise BadParams("Invalid request: params.stake must be a list of {\"ada\": {\"lovelace\": n}}.")
    keys = [str(s.get("ada", {}).get("lovelace", 0)) for s in stakes] + sorted(wanted[0] | wanted[1])
    return {key: {} for key in keys}


def governance_proposals(ledger: Any, params: Any) -> list[Json]:
    query = params_object(params, "queryLedgerState/governanceProposals")
    if set(query) - {"proposals"} or not isinstance(query.get("proposals", []), list):
        raise BadParams("Invalid request: queryLedgerState/governanceProposals takes nothing or "
                        "{\"proposals\": [...]}.")
    return []


def constitution(ledger: Any, params: Any) -> Json:
    no_params(params, "queryLedgerState/constitution")
    return {"metadata": {"url": CONSTITUTION_URL, "hash": "0" * 64},
            "guardrails": {"hash": shapes.GUARDRAILS_SCRIPT_HASH}}


def stake_pools_performances(ledger: Any, params: Any) -> Json:
    no_params(params, "queryLedgerState/stakePoolsPerformances")
    raw = ledger.params.raw
    return {"desiredNumberOfStakePools": int(raw.get("n_opt", 500)),
            "stakePoolPledgeInfluence": shapes.ratio(raw.get("a0", 0)),
            "totalRewardsInEpoch": _ada(0), "activeStakeInEpoch": _ada(0), "totalStakeInEpoch": _ada(0),
            "stakePools": {}}


def delegate_representatives(ledger: Any, params: Any) -> list[Json]:
    """No registered DReps on the devnet (delegations go to abstain / no-confidence)."""
    query = params_object(params, "queryLedgerState/delegateRepresentatives")
    if set(query) - {"keys", "scripts"}:
        raise BadParams("Invalid request: queryLedgerState/delegateRepresentatives takes keys and scripts.")
    return []


def _empty(method: str, value: Callable[[], Any]) -> Callable[[Any, Any], Any]:
    def answer(ledger: Any, params: Any) -> Any:
        no_params(params, method)
        return value()
    return answer


QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "queryLedgerState/rewardAccountSummaries": reward_account_summaries,
    "queryLedgerState/stakePools": stake_pools,
    "queryLedgerState/liveStakeDistribution": _empty("queryLedgerState/liveStakeDistribution", dict),
    "queryLedgerState/constitution": constitution,
    "queryLedgerState/governanceProposals": governance_proposals,
    "queryLedgerState/projectedRewards": projected_rewards,
    "queryLedgerState/stakePoolsPerformances": stake_pools_performances,
    "queryLedgerState/treasuryAndReserves": _empty("queryLedgerState/treasuryAndReserves",
                                                   lambda: {"treasury": _ada(0), "reserves": _ada(0)}),
    "queryLedgerState/constitutionalCommittee": _empty("queryLedgerState/constitutionalCommittee",
                                                      lambda: {"members": [], "quorum": None}),
    "queryLedgerState/delegateRepresentatives": delegate_representatives,
    "queryLedgerState/rewardsProvenance": _empty("queryLedgerState/rewardsProvenance", lambda: {
        "totalStake": _ada(0), "activeStake": _ada(0), "fees": _ada(0), "incentives": _ada(0),
        "treasuryTax": _ada(0), "totalRewards": _ada(0), "efficiency": "0/1", "stakePools": {}}),
    "queryLedgerState/operationalCertificates": _empty("queryLedgerState/operationalCertificates", dict),
    # Not in Ogmios v6.14's schema (Conway has no proposed parameters); Ogmios 6.0 answered a
    # list of proposals and the PyPI `ogmios` client still asks: none on the devnet.
    "queryLedgerState/proposedProtocolParameters": _empty("queryLedgerState/proposedProtocolParameters", list),
}


# --- acquireLedgerState / releaseLedgerState ---------------------------------------------

@dataclass
class Acquired:
    """The ledger state a connection acquired: the tip it was at (slot, id)."""

    point: Json | str


def tip_point(ledger: Any) -> Json | str:
    tip = ledger.tip
    return shapes.point(shapes.ChainPoint(int(tip.slot), str(tip.block_hash), int(tip.height)))


def acquire(ledger: Any, params: Any) -> tuple[Acquired, Json]:
    point = params_object(params, "acquireLedgerState").get("point")
    if point != "origin" and not (isinstance(point, dict) and set(point) == {"slot", "id"}):
        raise BadParams('Invalid request: acquireLedgerState needs params.point, "origin" or {"slot", "id"}.')
    current = tip_point(ledger)
    if point != current:
        raise RpcFailure(ACQUIRE_FAILED, "Unable to acquire the ledger state at the requested point.",
                         f"the devnet keeps only the ledger state at its tip ({current}); acquire that point")
    return Acquired(point), {"acquired": "ledgerState", "point": point}


def check_acquired(ledger: Any, acquired: Acquired | None) -> None:
    """Queries on an acquired state that is no longer the tip fail, as on an expired one."""
    if acquired is not None and acquired.point != tip_point(ledger):
        raise RpcFailure(ACQUIRED_EXPIRED, "Previously acquired ledger state is no longer available.",
                         "the devnet's tip moved since acquireLedgerState; release it or acquire the new tip")


__all__ = ["QUERIES", "Acquired", "acquire", "check_acquired", "reward_account_summaries"]
