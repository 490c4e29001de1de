"""The builder evaluates each draft's scripts ONCE (``tx_core.finish``): the declared units
are the first evaluation's plus the margin, the fee is iterated without evaluating again.

That is sound only because what changes after the evaluation (the declared units, the fee,
the change, the collateral return) does not change what the schedule's scripts cost.  For
each kind of script transaction (stake registration: publish; certify: mint; release and
reclaim: withdraw + spend), these tests build through the builder with a counting evaluator,
evaluate the FINAL signed transaction again (its units must be exactly the declared ones
without the margin) and submit it to the devnet's ledger, which runs phase 2 against the
declared budget.  The signed bytes the engine submits (``signed_cbor``: the body as the
builder serialised it) are pycardano's signed transaction, byte for byte.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pycardano as pc
import pytest

from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import schedule_scripts
from runner.contract.tx_core import EX_UNIT_MARGIN, UnsignedTx, sign, signed_cbor
from runner.devnet.ledger.genesis import FAUCET, faucet_policy_id
from runner.devnet.ledger.ledger import Ledger
from runner.testing.builder_world import HOUR_MS, World, address, evaluator, key, snapshot, utxos

Units = Mapping[tuple[str, int], pc.ExecutionUnits]


@dataclass
class Counting:
    """The devnet's evaluator, counting its calls."""

    ledger: Ledger
    calls: int = 0
    seen: list[Units] = field(default_factory=list)

    def __call__(self, tx: pc.Transaction) -> Units:
        self.calls += 1
        found = evaluator(self.ledger)(tx)
        self.seen.append(found)
        return found


@dataclass
class Built:
    kind: str
    tx: UnsignedTx
    evaluations: int
    signers: tuple[pc.SigningKey, ...]


def _once(world: World, kind: str, make: Callable[[Counting], UnsignedTx | None],
          *signers: pc.SigningKey) -> Built:
    counting = Counting(world.ledger)
    tx = make(counting)
    assert tx is not None
    return Built(kind, tx, counting.calls, signers)


@pytest.fixture(scope="module")
def built(ledger_factory: Callable[..., Ledger]) -> list[Built]:
    """One transaction of each script kind, each built, checked and submitted in turn."""
    ledger = ledger_factory(seed="single evaluation")
    payer = key("payer")
    ledger.fund(address(payer), 3_000_000_000)
    now_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot)
    w = World(ledger, payer, key("owner"), [key(f"oracle {i}") for i in range(3)],
              bytes(faucet_policy_id(ledger.wallet(FAUCET))), now_ms)
    params, seed = w.schedule("one", 100_000_000, 10_000)
    deployed = T.deploy(params, schedule_scripts(params), utxos(ledger, address(payer)), snapshot(ledger))
    w.submit(deployed.tx, payer)
    dep = deployed.deployment
    out: list[Built] = []

    def check_and_submit(b: Built) -> None:
        signed = sign(b.tx, b.signers)
        again = evaluator(ledger)(signed)  # the final transaction, fee and declared units in place
        b_units = {k: pc.ExecutionUnits(math.ceil(u.mem * (1 + EX_UNIT_MARGIN)),
                                        math.ceil(u.steps * (1 + EX_UNIT_MARGIN))) for k, u in again.items()}
        assert b_units == dict(b.tx.ex_units), f"{b.kind}: the final transaction costs other units"
        assert ledger.submit(signed_cbor(b.tx, b.signers)) == b.tx.tx_id  # phase 2 against the declared budget
        out.append(b)

    check_and_submit(_once(w, "stake", lambda ev: T.register_stake(dep, utxos(ledger, address(payer)),
                                                                    snapshot(ledger), ev), payer))
    specs = [T.AllocationSpec(address(key(f"beneficiary {i}")), 10 + i, b"m1", now_ms) for i in range(5)]
    for r in T.register_schedule(dep, specs, seed, [seed], snapshot(ledger)):
        w.submit(r, w.owner)
    check_and_submit(_once(w, "certify", lambda ev: T.certify(
        dep, b"m1", w.signatures(dep, b"m1", range(3)), utxos(ledger, address(payer)), snapshot(ledger), ev),
        payer))
    certs = R.certificates_at(dep, utxos(ledger, dep.certificate_address))

    def release(ev: Counting) -> UnsignedTx:
        [tx] = R.release(dep, utxos(ledger, dep.allocation_address), certs, utxos(ledger, address(payer)),
                         snapshot(ledger), ev)
        return tx

    check_and_submit(_once(w, "release", release, payer))
    # reclaim: a second schedule's pots, after its expiry
    params2, seed2 = w.schedule("two", 100_000_000, 10_000)
    deployed2 = T.deploy(params2, schedule_scripts(params2), utxos(ledger, address(payer)), snapshot(ledger))
    w.submit(deployed2.tx, payer)
    dep2 = deployed2.deployment
    w.submit(T.register_stake(dep2, utxos(ledger, address(payer)), snapshot(ledger), evaluator(ledger)), payer)
    for r in T.register_schedule(dep2, specs, seed2, [seed2], snapshot(ledger)):
        w.submit(r, w.owner)
    ledger.advance_to_posix_ms(now_ms + HOUR_MS + 1_000)
    ledger.fund(address(w.owner), 20_000_000)

    def reclaim(ev: Counting) -> UnsignedTx:
        [tx] = R.reclaim(dep2, utxos(ledger, dep2.allocation_address), utxos(ledger, address(w.owner)),
                         snapshot(ledger), ev)
        return tx

    check_and_submit(_once(w, "reclaim", reclaim, w.owner))
    return out


def test_every_script_kind_is_built_with_a_single_evaluation(built: list[Built]) -> None:
    assert [b.kind for b in built] == ["stake", "certify", "release", "reclaim"]
    assert {b.kind: b.evaluations for b in built} == {"stake": 1, "certify": 1, "release": 1, "reclaim": 1}


def test_the_declared_units_are_the_final_transactions_cost_plus_the_margin_and_the_ledger_accepts_it(
        built: list[Built]) -> None:
    # check_and_submit compared the re-evaluation and submitted each: here, what was covered
    tags = {b.kind: sorted({tag for tag, _ in b.tx.ex_units}) for b in built}
    assert tags == {"stake": ["publish"], "certify": ["mint"], "release": ["spend", "withdraw"],
                    "reclaim": ["spend", "withdraw"]}
    assert all(b.tx.ex_units and all(u.mem > 0 and u.steps > 0 for u in b.tx.ex_units.values()) for b in built)


def test_signed_cbor_is_pycardanos_signed_transaction_byte_for_byte(built: list[Built]) -> None:
    for b in built:
        assert signed_cbor(b.tx, b.signers) == sign(b.tx, b.signers).to_cbor(), b.kind
        assert b.tx.tx_id == str(b.tx.body.id)


def test_a_copy_with_another_body_is_serialised_again(built: list[Built]) -> None:
    tx = built[0].tx
    other = dataclasses.replace(tx, body=dataclasses.replace(tx.body, fee=tx.fee + 1))
    assert other.body_cbor == other.body.to_cbor() != tx.body_cbor
    assert signed_cbor(other, built[0].signers) == sign(other, built[0].signers).to_cbor()
