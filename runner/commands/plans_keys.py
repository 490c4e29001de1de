"""A plan's keys and schedule in the engine's terms: a KeyRing, addresses, a ScheduleDefinition.

Devnet keys (``devnet_wallet``, ``devnet_test_key``) are derived from the devnet's seed
(the one ``milestones devnet up`` and the embedded devnet use), so the same plan finds the
same keys on every run; key files are cardano-cli envelopes.  Key material stays inside
the :class:`KeyRing`; only hashes and addresses leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycardano as pc

from runner.domain.schedule import Allocation, Oracle, ScheduleDefinition, canonical_network, ledger_network
from runner.engine import KeyRing, ScheduleTarget
from runner.engine.backends import DEVNET_SEED
from runner.errors import UserInputError
from runner.plan import Plan, PlanInvalid, Problem

TEST_KEY_PREFIX = "plan test key "


@dataclass
class PlanKeys:
    ring: KeyRing
    hashes: dict[str, bytes]
    addresses: dict[str, str]
    network: pc.Network

    def address(self, holder: str) -> str:
        """A bech32 address as written, or the address of the named key."""
        if holder.startswith("addr"):
            return str(pc.Address.from_primitive(holder))
        return self.addresses[holder]


def load_keys(plan: Plan) -> PlanKeys:
    network = ledger_network(canonical_network(plan.network))
    ring, hashes, addresses = KeyRing(), {}, {}
    for name, key in plan.keys.items():
        if key.source in ("devnet_wallet", "devnet_test_key"):
            from runner.devnet import derive_wallet

            label = key.value if key.source == "devnet_wallet" else TEST_KEY_PREFIX + key.value
            wallet = derive_wallet(DEVNET_SEED, label, network)
            hashes[name] = ring.add(wallet.signing_key)
            addresses[name] = str(wallet.address) if key.source == "devnet_wallet" else \
                ring.address(hashes[name], network)
            continue
        if key.source == "skey_file":
            hashes[name] = ring.load(Path(plan.base_dir) / key.value, f"keys.{name}.skey_file")
        elif key.source == "vkey_file":
            hashes[name] = _vkey_hash(Path(plan.base_dir) / key.value, name)
        else:
            hashes[name] = bytes.fromhex(key.value)
        addresses[name] = str(pc.Address(pc.VerificationKeyHash(hashes[name]), network=network))
    return PlanKeys(ring, hashes, addresses, network)


def _vkey_hash(path: Path, name: str) -> bytes:
    try:
        return bytes(pc.PaymentVerificationKey.load(str(path)).hash())
    except Exception:  # noqa: BLE001  # pycardano raises many types for a bad envelope
        raise UserInputError("not a cardano-cli payment verification key envelope",
                             location=f"keys.{name}.vkey_file {path}", hint="give a .vkey file") from None


def faucet_policy(connection: Any) -> bytes:
    """The devnet faucet's token policy (the embedded ledger's, or the default seed's)."""
    from runner.devnet import FAUCET, derive_wallet, faucet_policy_id

    if connection is not None and connection.embedded is not None:
        return bytes(connection.embedded.read(lambda ledger: faucet_policy_id(ledger.wallet(FAUCET))))
    return bytes(faucet_policy_id(derive_wallet(DEVNET_SEED, FAUCET)))


def schedule_target(plan: Plan, keys: PlanKeys, connection: Any, payer: str | None = None) -> ScheduleTarget:
    """The engine's ScheduleTarget for the plan's schedule; needs every value known."""
    s = plan.schedule
    if plan.unknowns and _schedule_unknown(plan):
        raise PlanInvalid([Problem(plan.file, 1, 1, "$.schedule", "known-after-apply",
                                   "the schedule still has values known only after apply",
                                   "the steps it depends on must run before the first step that needs it")])
    policy = faucet_policy(connection) if s.token.policy_id == "devnet-faucet" else bytes.fromhex(s.token.policy_id)
    allocations = tuple(Allocation(keys.address(a.beneficiary), a.amount, a.milestone, int(a.vesting_ms))  # type: ignore[arg-type]
                        for a in s.allocations)
    _refuse_duplicates(plan, allocations)
    oracles = tuple(Oracle(keys.addresses[o], keys.hashes[o]) for o in s.oracles)
    definition = ScheduleDefinition(canonical_network(plan.network), allocations, oracles, s.quorum,
                                    keys.hashes[s.owner], policy, s.token.name.encode(), int(s.expiry_ms))  # type: ignore[arg-type]
    owner = keys.addresses[s.owner]
    return ScheduleTarget(definition, owner, keys.addresses[payer] if payer else owner)


def _refuse_duplicates(plan: Plan, allocations: tuple[Allocation, ...]) -> None:
    """One (address, milestone) twice: names validate cannot see are one wallet (a key and its address)."""
    seen: set[tuple[str, str]] = set()
    problems = []
    for written, resolved in zip(plan.schedule.allocations, allocations, strict=True):
        pair = (str(resolved.beneficiary), resolved.milestone)
        if pair in seen:
            file, line, column = (written.location.rsplit(":", 2) if written.location.count(":") >= 2
                                  else (plan.file, "1", "1"))
            problems.append(Problem(file, int(line), int(column), "$.schedule.allocations", "duplicate-allocation",
                                    f"a second allocation for {written.beneficiary} x milestone {pair[1]} "
                                    "(the same address as an earlier one)", "merge the amounts into one"))
        seen.add(pair)
    if problems:
        raise PlanInvalid(problems)


def _schedule_unknown(plan: Plan) -> bool:
    from runner.plan import KnownAfterApply

    s = plan.schedule
    return isinstance(s.expiry_ms, KnownAfterApply) or any(isinstance(a.vesting_ms, KnownAfterApply)
                                                           for a in s.allocations)
