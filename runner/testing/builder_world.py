"""The builder's world for tests: deterministic keys, the devnet's ledger as chain and evaluator,
and a :class:`World` that makes schedules, deploys them and submits what the builder makes.

Used by the builder's tests (tests/contract/test_contract_transactions.py and its neighbours);
needs no test framework.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycardano as pc

from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
from runner.contract.datums import certificate_message, key_hash
from runner.contract.tx_core import ChainSnapshot, UnsignedTx, sign
from runner.devnet import Ledger
from runner.errors import ScriptFailure

__all__ = ["HOUR_MS", "NET", "TOKEN", "World", "address", "evaluator", "holdings", "key", "snapshot", "utxos"]

NET = pc.Network.TESTNET
TOKEN = b"GRANT"
HOUR_MS = 3_600_000


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(b"builder test " + name.encode()).digest())


def address(k: pc.SigningKey, stake: pc.SigningKey | None = None) -> pc.Address:
    staking = stake.to_verification_key().hash() if stake else None
    return pc.Address(k.to_verification_key().hash(), staking, network=NET)


def evaluator(ledger: Ledger) -> Callable[[pc.Transaction], dict[tuple[str, int], pc.ExecutionUnits]]:
    """The devnet's evaluator as the builder wants it; a failing script raises."""

    def evaluate(tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
        results = ledger.evaluate(tx)
        failed = [r for r in results if not r.ok]
        if failed:
            raise ScriptFailure("; ".join(f"{r.tag}:{r.index} {r.error}" for r in failed), ogmios_code=3010)
        return {(r.tag, r.index): pc.ExecutionUnits(r.memory, r.cpu) for r in results}

    return evaluate


def snapshot(ledger: Ledger) -> ChainSnapshot:
    return ChainSnapshot(ledger.params.to_pycardano(), NET, ledger.current_slot,
                         ledger.slot_config.system_start_ms, ledger.slot_config.slot_length_ms)


def utxos(ledger: Ledger, addr: pc.Address) -> list[pc.UTxO]:
    return [pc.UTxO(r, o) for r, o in ledger.utxos_at(addr)]


def holdings(ledger: Ledger, addr: pc.Address, policy: bytes) -> tuple[int, int]:
    """(lovelace, GRANT tokens) at ``addr``."""
    lovelace = tokens = 0
    for _, o in ledger.utxos_at(addr):
        lovelace += o.amount.coin
        tokens += o.amount.multi_asset.get(pc.ScriptHash(policy), {}).get(pc.AssetName(TOKEN), 0)
    return lovelace, tokens


@dataclass
class World:
    ledger: Ledger
    payer: pc.SigningKey
    owner: pc.SigningKey
    oracles: list[pc.SigningKey]
    token_policy: bytes
    now_ms: int
    submitted: list[tuple[UnsignedTx, pc.Transaction]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def submit(self, unsigned: UnsignedTx, *keys: pc.SigningKey) -> str:
        tx = sign(unsigned, keys)
        tx_id = self.ledger.submit(tx)
        assert tx_id == unsigned.tx_id
        self.submitted.append((unsigned, tx))
        return tx_id

    def schedule(self, label: str, seed_lovelace: int, tokens: int) -> tuple[ScheduleParameters, pc.UTxO]:
        owner_addr = address(self.owner)
        seed = self.ledger.fund(owner_addr, seed_lovelace, {TOKEN: tokens})
        params = ScheduleParameters(
            SeedRef(seed.transaction_id.payload, seed.index), key_hash(self.owner.to_verification_key().payload),
            tuple(key_hash(k.to_verification_key().payload) for k in self.oracles), 3,
            self.now_ms + HOUR_MS, self.token_policy, TOKEN)
        return params, next(u for u in utxos(self.ledger, owner_addr) if u.input == seed)

    def deploy(self, params: ScheduleParameters) -> T.Deployment:
        result = T.deploy(params, schedule_scripts(params), utxos(self.ledger, address(self.payer)),
                          snapshot(self.ledger))
        self.submit(result.tx, self.payer)
        stake = T.register_stake(result.deployment, utxos(self.ledger, address(self.payer)),
                                 snapshot(self.ledger), evaluator(self.ledger))
        if stake is not None:  # None: the credential is already registered
            self.submit(stake, self.payer)
        return result.deployment

    def signatures(self, dep: T.Deployment, milestone: bytes, signers: range) -> dict[bytes, bytes]:
        message = certificate_message(dep.policy_id, milestone)
        return {self.oracles[i].to_verification_key().payload: self.oracles[i].sign(message) for i in signers}

    def release(self, dep: T.Deployment) -> list[UnsignedTx]:
        certs = R.certificates_at(dep, utxos(self.ledger, dep.certificate_address))
        return R.release(dep, utxos(self.ledger, dep.allocation_address), certs,
                         utxos(self.ledger, address(self.payer)), snapshot(self.ledger), evaluator(self.ledger))
