"""Test support for the contract: one schedule, its keys, and hand-assembled transactions.

Transactions are assembled field by field with pycardano (no builder, no balancing), so a
test can make any transaction a builder would refuse.  They are evaluated by the devnet's
phase 2 (``runner.devnet.plutus.phase2``): the exact V3 ScriptContext the ledger builds,
the ``uplc`` evaluator, mainnet epoch-616 cost models, the per-transaction budget.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pycardano as pc
from pycardano import PlutusData

from runner.contract.blueprint import ScheduleParameters, ScheduleScripts, SeedRef, schedule_scripts
from runner.contract.datums import (
    CertificateDatum,
    Forward,
    NoOutputDatum,
    PotDatum,
    PotEntry,
    Release,
    certificate_datum,
    certificate_message,
    entry_key,
    from_plutus_address,
    to_plutus_address,
)
from runner.devnet import LedgerParams, SlotConfig
from runner.devnet.plutus import RedeemerEvaluation, evaluate_scripts

__all__ = [
    "ALLOCATION_LOVELACE",
    "MAX_UNITS",
    "NETWORK",
    "PARAMS",
    "SLOT_CONFIG",
    "TOKEN_NAME",
    "TOKEN_POLICY",
    "TxParts",
    "World",
    "all_ok",
    "evaluate",
    "failures",
    "key_hash_of",
    "payouts",
    "pot_datum",
    "release_parts",
    "signing_key",
    "tx_in",
    "wallet",
]

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

NETWORK = pc.Network.TESTNET
SLOT_CONFIG = SlotConfig(system_start_ms=0)  # slot s starts at s * 1000 ms
PARAMS = LedgerParams.mainnet()
MAX_UNITS = pc.ExecutionUnits(PARAMS.max_tx_ex_mem, PARAMS.max_tx_ex_steps)
TOKEN_POLICY = hashlib.blake2b(b"grant token", digest_size=28).digest()
TOKEN_NAME = b"GRANT"
ALLOCATION_LOVELACE = 1_500_000


def signing_key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(b"milestones test key " + name.encode()).digest())


def key_hash_of(sk: pc.PaymentSigningKey) -> bytes:
    return bytes(sk.to_verification_key().hash())


def wallet(name: str, stake: str | None = None) -> pc.Address:
    pay = signing_key(name).to_verification_key().hash()
    staking = signing_key(stake).to_verification_key().hash() if stake else None
    return pc.Address(pay, staking, network=NETWORK)


def tx_in(label: str, index: int = 0) -> pc.TransactionInput:
    return pc.TransactionInput(pc.TransactionId(hashlib.sha256(label.encode()).digest()), index)


@dataclass
class World:
    """One schedule (5 oracles, quorum 3) and everything needed to spend from it."""

    oracle_keys: list[pc.PaymentSigningKey]
    owner_key: pc.PaymentSigningKey
    params: ScheduleParameters
    scripts: ScheduleScripts

    @classmethod
    def create(cls, label: str = "schedule", quorum: int = 3, expiry_ms: int = 10_000_000) -> World:
        oracle_keys = [signing_key(f"{label} oracle {i}") for i in range(5)]
        owner = signing_key(f"{label} owner")
        seed = tx_in(f"{label} seed")
        params = ScheduleParameters(
            seed=SeedRef(seed.transaction_id.payload, seed.index),
            owner=key_hash_of(owner),
            oracles=tuple(key_hash_of(k) for k in oracle_keys),
            quorum=quorum,
            expiry_ms=expiry_ms,
            token_policy=TOKEN_POLICY,
            token_name=TOKEN_NAME,
        )
        return cls(oracle_keys, owner, params, schedule_scripts(params))

    # -- addresses and values ---------------------------------------------------------

    @property
    def allocation_address(self) -> pc.Address:
        return self.scripts.allocation_address(NETWORK)

    @property
    def certificate_address(self) -> pc.Address:
        return self.scripts.certificate_address(NETWORK)

    def tokens(self, amount: int, lovelace: int = ALLOCATION_LOVELACE) -> pc.Value:
        return pc.Value(lovelace, pc.MultiAsset.from_primitive({TOKEN_POLICY: {TOKEN_NAME: amount}}))

    def certificate_token(self, milestone: bytes, quantity: int = 1) -> pc.MultiAsset:
        return pc.MultiAsset.from_primitive({self.scripts.certificate_policy_id: {milestone: quantity}})

    # -- UTxOs ------------------------------------------------------------------------

    def pot(
        self,
        label: str,
        entries: Sequence[tuple[pc.Address, int]],
        milestone: bytes,
        vesting_ms: int,
        lovelace: int | None = None,
        datum: Any = None,
        index: int = 0,
        tokens: int | None = None,
    ) -> tuple[pc.TransactionInput, pc.TransactionOutput]:
        """A pot UTxO (entries sorted as the validator wants unless ``datum`` is given);
        inputs sort by (tx id of ``label``, ``index``) in the context."""
        d = datum if datum is not None else pot_datum(entries, milestone, vesting_ms)
        held = tokens if tokens is not None else sum(a for _, a in entries)
        coin = lovelace if lovelace is not None else ALLOCATION_LOVELACE * max(len(entries), 1)
        out = pc.TransactionOutput(self.allocation_address, self.tokens(held, coin), datum=d)
        return tx_in(label, index), out

    def sign_certificate(
        self, milestone: bytes, signer_indices: Sequence[int], policy_id: bytes | None = None
    ) -> CertificateDatum:
        message = certificate_message(policy_id or self.scripts.certificate_policy_id, milestone)
        sigs = {
            self.oracle_keys[i].to_verification_key().payload: self.oracle_keys[i].sign(message)
            for i in signer_indices
        }
        return certificate_datum(milestone, sigs, self.params.oracles)

    def certificate_utxo(self, milestone: bytes) -> tuple[pc.TransactionInput, pc.TransactionOutput]:
        """A certificate as the policy leaves it (for release tests)."""
        value = pc.Value(1_500_000, self.certificate_token(milestone))
        out = pc.TransactionOutput(
            self.certificate_address, value, datum=self.sign_certificate(milestone, [0, 1, 2])
        )
        return tx_in(f"certificate {milestone!r}"), out


def pot_datum(entries: Sequence[tuple[pc.Address, int]], milestone: bytes, vesting_ms: int,
              payout: Any = None) -> PotDatum:
    """A pot datum with its entries in the validator's order."""
    made = [PotEntry(to_plutus_address(a), n) for a, n in entries]
    made.sort(key=lambda e: entry_key(e.beneficiary))
    return PotDatum(milestone, vesting_ms, made, payout or NoOutputDatum())


def payouts(world: World, pot: PotDatum, lovelace: int = ALLOCATION_LOVELACE) -> list[pc.TransactionOutput]:
    """The honest release outputs of a pot, in its entries' order."""
    return [pc.TransactionOutput(from_plutus_address(e.beneficiary, NETWORK), world.tokens(e.amount, lovelace))
            for e in pot.entries]


@dataclass
class TxParts:
    """A transaction's parts before assembly; tests edit these to craft attacks."""

    inputs: list[tuple[pc.TransactionInput, pc.TransactionOutput]] = field(default_factory=list)
    reference_inputs: list[tuple[pc.TransactionInput, pc.TransactionOutput]] = field(default_factory=list)
    outputs: list[pc.TransactionOutput] = field(default_factory=list)
    mint: pc.MultiAsset | None = None
    withdrawals: dict[bytes, int] = field(default_factory=dict)
    validity_start: int | None = None
    ttl: int | None = None
    required_signers: list[bytes] = field(default_factory=list)
    spend_redeemers: dict[pc.TransactionInput, PlutusData] = field(default_factory=dict)
    mint_redeemers: dict[bytes, PlutusData] = field(default_factory=dict)
    withdraw_redeemers: dict[bytes, PlutusData] = field(default_factory=dict)
    scripts: list[pc.PlutusV3Script] = field(default_factory=list)

    def build(self) -> tuple[pc.Transaction, dict[pc.TransactionInput, pc.TransactionOutput]]:
        sorted_inputs = sorted((i for i, _ in self.inputs), key=lambda r: (r.transaction_id.payload, r.index))
        redeemers: list[pc.Redeemer] = []
        for ref, data in self.spend_redeemers.items():
            redeemers.append(_redeemer(pc.RedeemerTag.SPEND, sorted_inputs.index(ref), data))
        policies = sorted(self.mint_redeemers)
        for policy, data in self.mint_redeemers.items():
            redeemers.append(_redeemer(pc.RedeemerTag.MINT, policies.index(policy), data))
        accounts = sorted(self.withdrawals, key=lambda a: (0 if a[0] & 0x10 else 1, a[1:]))
        for account, data in self.withdraw_redeemers.items():
            redeemers.append(_redeemer(pc.RedeemerTag.WITHDRAWAL, accounts.index(account), data))
        body = pc.TransactionBody(
            inputs=[i for i, _ in self.inputs],
            outputs=list(self.outputs),
            fee=1_000_000,
            ttl=self.ttl,
            validity_start=self.validity_start,
            mint=self.mint,
            withdraws=pc.Withdrawals(dict(self.withdrawals)) if self.withdrawals else None,
            reference_inputs=[i for i, _ in self.reference_inputs] or None,
            required_signers=[pc.VerificationKeyHash(h) for h in self.required_signers] or None,
        )
        witness = pc.TransactionWitnessSet(redeemer=redeemers or None, plutus_v3_script=self.scripts or None)
        resolved = dict(self.inputs) | dict(self.reference_inputs)
        return pc.Transaction(body, witness), resolved


def _redeemer(tag: pc.RedeemerTag, index: int, data: PlutusData) -> pc.Redeemer:
    r = pc.Redeemer(data, pc.ExecutionUnits(0, 0))
    r.tag = tag
    r.index = index
    return r


def evaluate(parts: TxParts) -> list[RedeemerEvaluation]:
    tx, resolved = parts.build()
    return evaluate_scripts(
        tx, resolved, SLOT_CONFIG, PARAMS.cost_models, budgets="max", max_ex_units=MAX_UNITS
    )


def all_ok(results: Sequence[RedeemerEvaluation]) -> bool:
    return bool(results) and all(r.ok for r in results)


def failures(results: Sequence[RedeemerEvaluation]) -> list[str]:
    return [f"{r.tag}#{r.index}: {r.error} {list(r.logs)}" for r in results if not r.ok]


def release_parts(
    world: World,
    allocations: Sequence[tuple[pc.TransactionInput, pc.TransactionOutput]],
    outputs: Sequence[pc.TransactionOutput],
    certificates: Sequence[bytes],
    now_ms: int,
) -> TxParts:
    """An honest-shaped release: spend pots (Forward), zero-withdraw the batch (Release)."""
    account = bytes(world.scripts.batch_reward_address(NETWORK).to_primitive())
    return TxParts(
        inputs=list(allocations) + [(tx_in("fee payer"), pc.TransactionOutput(wallet("payer"), 50_000_000))],
        reference_inputs=[world.certificate_utxo(m) for m in certificates],
        outputs=list(outputs),
        withdrawals={account: 0},
        validity_start=now_ms // 1000,
        spend_redeemers={ref: Forward() for ref, _ in allocations},
        withdraw_redeemers={account: Release()},
        scripts=[world.scripts.spend_forwarder, world.scripts.batch_release],
    )
