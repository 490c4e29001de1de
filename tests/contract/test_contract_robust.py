"""The builder treats everything at the pot address as untrusted (issue 6 §2), on the FULL
devnet ledger.

A schedule (one pot: m1 for three beneficiaries, certified and vested) shares its pot
address with what an attacker planted, with real tokens: a pot whose datum claims more
than it holds, pots whose beneficiaries the builder cannot express (a pointer stake
credential, a 27-byte key hash), a pot carrying 60 foreign assets, a fully backed "dust"
pot paying the attacker, junk UTxOs with many assets and no datum.  The honest release
and reclaim still go through; every planted UTxO is reported with its reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycardano as pc
import pytest

from runner.contract import pots as P
from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
from runner.contract.datums import (
    NoOutputDatum,
    PlutusAddress,
    PotDatum,
    PotEntry,
    PubKeyCredential,
    SomeStakingCredential,
    StakingPtr,
    certificate_message,
    to_plutus_address,
)
from runner.contract.tx_core import ChainSnapshot, Draft, UnsignedTx, finish, sign
from runner.devnet.ledger.genesis import FAUCET, faucet_policy_id
from runner.devnet.ledger.ledger import Ledger
from runner.errors import LedgerRejection, ScriptFailure

NET = pc.Network.TESTNET
TOKEN = b"GRANT"


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(b"robust builder " + name.encode()).digest())


def addr(k: pc.SigningKey, stake: pc.SigningKey | None = None) -> pc.Address:
    return pc.Address(k.to_verification_key().hash(), stake.to_verification_key().hash() if stake else None,
                      network=NET)


BENEFICIARIES = [addr(key("b0"), key("s0")), addr(key("b1")), addr(key("b2"), key("s2"))]
MALLORY = key("mallory")


@dataclass
class World:
    ledger: Ledger
    dep: T.Deployment
    specs: list[T.AllocationSpec]
    policy: bytes
    planted: dict[str, pc.TransactionInput] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def snap(self) -> ChainSnapshot:
        lg = self.ledger
        return ChainSnapshot(lg.params.to_pycardano(), NET, lg.current_slot, lg.slot_config.system_start_ms,
                             lg.slot_config.slot_length_ms)

    def utxos(self, a: pc.Address) -> list[pc.UTxO]:
        return [pc.UTxO(r, o) for r, o in self.ledger.utxos_at(a)]

    def evaluate(self, tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
        results = self.ledger.evaluate(tx)
        failed = [r for r in results if not r.ok]
        if failed:
            raise ScriptFailure("; ".join(f"{r.tag}:{r.index} {r.error}" for r in failed), ogmios_code=3010)
        return {(r.tag, r.index): pc.ExecutionUnits(r.memory, r.cpu) for r in results}

    def submit(self, tx: UnsignedTx, *keys: pc.SigningKey) -> str:
        return self.ledger.submit(sign(tx, keys))

    def tokens(self, n: int, coin: int = 0, extra: dict[bytes, int] | None = None) -> pc.Value:
        return pc.Value(coin, pc.MultiAsset.from_primitive({self.policy: {TOKEN: n, **(extra or {})}}))

    def plant(self, name: str, value: pc.Value, datum: Any = None, assets: dict[bytes, int] | None = None) -> None:
        """Mallory locks ``value`` (her own, real assets) at the pot address with ``datum``;
        ``assets``: the foreign asset set it carries (spent from the UTxO that holds it)."""
        out = pc.TransactionOutput(self.dep.allocation_address, value, datum=datum)
        out.amount.coin = max(out.amount.coin, T.min_lovelace(self.snap().params, out))
        policy = pc.ScriptHash(self.policy)

        def names(u: pc.UTxO) -> set[bytes]:
            return {n.payload for n in u.output.amount.multi_asset.get(policy, {})} - {TOKEN}

        mine = [u for u in self.utxos(addr(MALLORY)) if not names(u) or (assets and names(u) == set(assets))]
        tx = finish(Draft("plant", inputs=mine, outputs=[out], change_address=addr(MALLORY)), self.snap(), None)
        self.submit(tx, MALLORY)
        self.planted[name] = tx.produced[0].input


def _entry(address: PlutusAddress, amount: int) -> PotEntry:
    return PotEntry(address, amount)


SET_A = {f"junk asset A {i:03d} padded to 32 bytes!".encode()[:32]: 1 for i in range(70)}
SET_B = {f"junk asset B {i:03d} padded to 32 bytes!".encode()[:32]: 1 for i in range(70)}


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    ledger = ledger_factory(seed="robust builder")
    payer, owner = key("payer"), key("owner")
    for _ in range(3):
        ledger.fund(addr(payer), 1_000_000_000)
    ledger.fund(addr(MALLORY), 500_000_000, {TOKEN: 100_000})
    ledger.fund(addr(MALLORY), 50_000_000, SET_A)
    ledger.fund(addr(MALLORY), 50_000_000, SET_B)
    policy = bytes(faucet_policy_id(ledger.wallet(FAUCET)))
    now_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot)
    seed_ref = ledger.fund(addr(owner), 500_000_000, {TOKEN: 1_000})
    oracles = [key(f"oracle {i}") for i in range(3)]
    params = ScheduleParameters(SeedRef(seed_ref.transaction_id.payload, seed_ref.index),
                                bytes(owner.to_verification_key().hash()),
                                tuple(bytes(k.to_verification_key().hash()) for k in oracles), 2,
                                now_ms + 3_600_000, policy, TOKEN)
    w = World(ledger, None, [T.AllocationSpec(b, 100 + i, b"m1", now_ms) for i, b in enumerate(BENEFICIARIES)],
              policy)  # type: ignore[arg-type]
    deployed = T.deploy(params, schedule_scripts(params), w.utxos(addr(payer)), w.snap())
    w.submit(deployed.tx, payer)
    w.dep = deployed.deployment
    # a stranger registers the batch credential first: no witness is needed, the script accepts it
    stranger = T.register_stake(w.dep, w.utxos(addr(payer)), w.snap(), w.evaluate)
    assert stranger is not None
    w.submit(stranger, payer)
    registered = f"script:{w.dep.scripts.batch_hash.hex()}" in ledger.stake_accounts
    w.facts["register_stake"] = T.register_stake(w.dep, w.utxos(addr(payer)), w.snap(), w.evaluate,
                                                 registered=registered)
    seed = next(u for u in w.utxos(addr(owner)) if u.input == seed_ref)
    for r in T.register_schedule(w.dep, w.specs, seed, [seed], w.snap()):
        w.submit(r, owner)
    message = certificate_message(w.dep.policy_id, b"m1")
    sigs = {k.to_verification_key().payload: k.sign(message) for k in oracles[:2]}
    w.submit(T.certify(w.dep, b"m1", sigs, w.utxos(addr(payer)), w.snap(), w.evaluate), payer)
    # what Mallory plants (all with real assets)
    honest = PotDatum.from_cbor(w.utxos(w.dep.allocation_address)[0].output.datum.to_cbor())
    mallory = to_plutus_address(addr(MALLORY))
    w.plant("claims more than it holds", w.tokens(10), PotDatum(b"m1", now_ms, [_entry(mallory, 1000)],
                                                                NoOutputDatum()))
    pointer = PlutusAddress(PubKeyCredential(bytes(28)), SomeStakingCredential(StakingPtr(1, 2, 3)))
    w.plant("pointer stake credential", w.tokens(5), PotDatum(b"m1", now_ms, [_entry(pointer, 5)], NoOutputDatum()))
    short = PlutusAddress(PubKeyCredential(bytes(27)), mallory.staking_credential)
    w.plant("27-byte key hash", w.tokens(5), PotDatum(b"m1", now_ms, [_entry(short, 5)], NoOutputDatum()))
    w.plant("foreign assets", w.tokens(sum(e.amount for e in honest.entries), 10_000_000, SET_A), honest, SET_A)
    w.plant("dust to mallory", w.tokens(1, 2_000_000), PotDatum(b"m1", now_ms, [_entry(mallory, 1)], NoOutputDatum()))
    w.plant("no datum, many assets", pc.Value(5_000_000, pc.MultiAsset.from_primitive({policy: SET_B})), None, SET_B)
    ledger.advance_to_posix_ms(now_ms + 10_000)
    certs = R.certificates_at(w.dep, w.utxos(w.dep.certificate_address))
    w.facts["scan"] = P.scan_pots(w.dep, w.utxos(w.dep.allocation_address), schedule=w.specs)
    w.facts["scan_any"] = P.scan_pots(w.dep, w.utxos(w.dep.allocation_address))
    with pytest.raises(LedgerRejection) as wrong_balance:
        [bad] = R.release(w.dep, w.utxos(w.dep.allocation_address), certs, w.utxos(addr(payer)), w.snap(),
                          w.evaluate, schedule=w.specs, reward_balance=5)
        w.submit(bad, payer)
    w.facts["wrong_balance"] = wrong_balance.value
    before = {str(b): _held(w, b) for b in BENEFICIARIES}
    plan = R.release_plan(w.dep, w.utxos(w.dep.allocation_address), certs, w.utxos(addr(payer)), w.snap(),
                          w.evaluate, schedule=w.specs)
    for tx in plan.transactions:
        w.submit(tx, payer)
    w.facts["plan"] = plan
    w.facts["paid"] = {str(b): _held(w, b) - before[str(b)] for b in BENEFICIARIES}
    # after expiry the owner reclaims everything left (junk with many assets included)
    ledger.advance_to_posix_ms(params.expiry_ms + 1_000)
    ledger.fund(addr(owner), 20_000_000)
    left = w.utxos(w.dep.allocation_address)
    w.facts["left"] = left
    reclaims = R.reclaim(w.dep, left, [u for u in w.utxos(addr(owner)) if not u.output.amount.multi_asset],
                         w.snap(), w.evaluate)
    for tx in reclaims:
        w.submit(tx, owner)
    w.facts["reclaim"] = reclaims
    return w


def _held(w: World, a: pc.Address) -> int:
    return sum(u.output.amount.multi_asset.get(pc.ScriptHash(w.policy), {}).get(pc.AssetName(TOKEN), 0)
               for u in w.utxos(a))


def _reasons(scan: P.PotScan, w: World) -> dict[str, str]:
    names = {ref: name for name, ref in w.planted.items()}
    return {names.get(i.utxo.input, "?"): i.reason for i in scan.ignored}


def test_every_planted_utxo_is_ignored_with_its_reason(world: World) -> None:
    scan = world.facts["scan"]
    assert len(scan.pots) == 1  # the schedule's own pot only
    reasons = _reasons(scan, world)
    assert set(reasons) == set(world.planted)
    assert "holds 10 tokens but its entries add up to 1000" in reasons["claims more than it holds"]
    assert "cannot express" in reasons["pointer stake credential"]
    assert "cannot express" in reasons["27-byte key hash"]
    assert "foreign assets" in reasons["foreign assets"]
    assert "not a pot of this schedule" in reasons["dust to mallory"]
    assert "no inline pot datum" in reasons["no datum, many assets"]


def test_without_the_schedule_a_fully_backed_stranger_pot_is_releasable(world: World) -> None:
    """Harmless (its tokens are the planter's own), but it rides at the releaser's cost: the
    engine passes the schedule so that only the schedule's pots are released."""
    scan = world.facts["scan_any"]
    assert len(scan.pots) == 2 and "dust to mallory" not in _reasons(scan, world)


def test_the_honest_release_goes_through_next_to_the_planted_utxos(world: World) -> None:
    plan = world.facts["plan"]
    assert len(plan.transactions) == 1
    assert world.facts["paid"] == {str(b): 100 + i for i, b in enumerate(BENEFICIARIES)}
    assert {i.utxo.input for i in plan.skipped} == set(world.planted.values())


def test_the_withdrawal_must_be_the_accounts_actual_balance(world: World) -> None:
    """The builder withdraws what it is told (the caller reads the account's balance); the
    devnet's balance is 0, so a withdrawal of 5 lovelace is refused."""
    assert world.facts["wrong_balance"].ogmios_code == 3141


def test_a_stake_credential_registered_by_someone_else_is_success(world: World) -> None:
    assert world.facts["register_stake"] is None
    assert world.facts["plan"].transactions  # and releases work with it


def test_reclaim_takes_everything_back_in_outputs_under_the_value_size_limit(world: World) -> None:
    reclaims = world.facts["reclaim"]
    assert world.utxos(world.dep.allocation_address) == []
    limit = world.ledger.params.max_val_size
    outputs = [o for tx in reclaims for o in tx.body.outputs]
    assert all(len(o.amount.to_cbor()) <= limit for o in outputs)
    assert max(len(tx.body.outputs) for tx in reclaims) >= 3  # two owner outputs (the junk's 140 assets) + change


class _FailsOn:
    """An evaluator that refuses any transaction spending ``bad`` (a fault injected in the
    evaluation, e.g. a node refusing one pot for a reason the builder cannot see)."""

    def __init__(self, world: World, bad: pc.TransactionInput) -> None:
        self.world, self.bad = world, bad

    def __call__(self, tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
        if self.bad in tx.transaction_body.inputs:
            raise ScriptFailure("injected: this pot is refused", ogmios_code=3010)
        return self.world.evaluate(tx)


def test_a_failing_pot_is_dropped_with_its_reason_and_the_rest_proceed(ledger_factory: Callable[..., Ledger]) -> None:
    ledger = ledger_factory(seed="robust builder drop")
    payer, owner = key("payer"), key("owner")
    ledger.fund(addr(payer), 1_000_000_000)
    ledger.fund(addr(payer), 1_000_000_000)
    policy = bytes(faucet_policy_id(ledger.wallet(FAUCET)))
    now_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot)
    seed_ref = ledger.fund(addr(owner), 500_000_000, {TOKEN: 1_000})
    oracle = key("oracle")
    params = ScheduleParameters(SeedRef(seed_ref.transaction_id.payload, seed_ref.index),
                                bytes(owner.to_verification_key().hash()),
                                (bytes(oracle.to_verification_key().hash()),), 1, now_ms + 10**9, policy, TOKEN)
    w = World(ledger, None, [T.AllocationSpec(b, 10, b"m1", now_ms - i) for i, b in enumerate(BENEFICIARIES)],
              policy)  # type: ignore[arg-type]
    deployed = T.deploy(params, schedule_scripts(params), w.utxos(addr(payer)), w.snap())
    w.submit(deployed.tx, payer)
    w.dep = deployed.deployment
    stake = T.register_stake(w.dep, w.utxos(addr(payer)), w.snap(), w.evaluate)
    assert stake is not None
    w.submit(stake, payer)
    seed = next(u for u in w.utxos(addr(owner)) if u.input == seed_ref)
    for r in T.register_schedule(w.dep, w.specs, seed, [seed], w.snap()):
        w.submit(r, owner)
    sig = {oracle.to_verification_key().payload: oracle.sign(certificate_message(w.dep.policy_id, b"m1"))}
    w.submit(T.certify(w.dep, b"m1", sig, w.utxos(addr(payer)), w.snap(), w.evaluate), payer)
    pots = P.scan_pots(w.dep, w.utxos(w.dep.allocation_address), schedule=w.specs).pots
    assert len(pots) == 3  # three vesting times
    bad = pots[1].utxo.input
    certs = R.certificates_at(w.dep, w.utxos(w.dep.certificate_address))
    plan = R.release_plan(w.dep, w.utxos(w.dep.allocation_address), certs, w.utxos(addr(payer)), w.snap(),
                          _FailsOn(w, bad))
    assert [i.utxo.input for i in plan.skipped] == [bad]
    assert "injected" in plan.skipped[0].reason
    # the builder pays the exact minimum fee on the ledger's size (no is_valid byte): one lovelace less
    # (moved to the change, so the value still balances) is refused as too small
    tx = plan.transactions[0]
    outputs = list(tx.body.outputs)
    outputs[-1] = pc.TransactionOutput(outputs[-1].address, outputs[-1].amount + pc.Value(1))
    short = dataclasses.replace(tx, body=dataclasses.replace(tx.body, fee=tx.fee - 1, outputs=outputs))
    with pytest.raises(LedgerRejection) as low:
        w.submit(short, payer)
    assert low.value.ogmios_code == 3122
    for tx in plan.transactions:
        w.submit(tx, payer)
    assert [u.input for u in w.utxos(w.dep.allocation_address)] == [bad]
