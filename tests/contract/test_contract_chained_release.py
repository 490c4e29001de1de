"""A payer with ONE UTxO releases more pots than one transaction holds in one call: the
builder chains each further transaction on the previous one's change (fee input and
collateral), evaluating it with that change as an additional UTxO; submitted in order,
the devnet's ledger accepts them all.  Without ``evaluate_after`` the builder makes only
the transactions the payer's UTxOs pay for (the rest waits for the next call)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pycardano as pc
import pytest

from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import schedule_scripts
from runner.contract.tx_core import Evaluator, UnsignedTx
from runner.devnet.ledger.genesis import FAUCET, faucet_policy_id
from runner.devnet.ledger.ledger import Ledger
from runner.errors import ScriptFailure
from runner.testing.builder_world import (
    World,
    address,
    evaluator,
    holdings,
    key,
    snapshot,
    utxos,
)

BENEFICIARIES = 160  # staked: two pots, more than one transaction releases


def evaluator_after(ledger: Ledger) -> Callable[[Sequence[pc.UTxO]], Evaluator]:
    """The devnet's evaluator seeing ``extra`` outputs not yet on chain (``additionalUtxo``)."""

    def make(extra: Sequence[pc.UTxO]) -> Evaluator:
        def evaluate(tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
            results = ledger.evaluate(tx, additional_utxo={u.input: u.output for u in extra})
            failed = [r for r in results if not r.ok]
            if failed:
                raise ScriptFailure("; ".join(f"{r.tag}:{r.index} {r.error}" for r in failed), ogmios_code=3010)
            return {(r.tag, r.index): pc.ExecutionUnits(r.memory, r.cpu) for r in results}
        return evaluate

    return make


def failing_evaluator(tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
    raise ScriptFailure("the evaluator is down", ogmios_code=3010)


@dataclass
class Chained:
    unchained: list[UnsignedTx]
    broken: R.ReleasePlan  # the chained transaction's evaluation fails
    withdrawing: list[UnsignedTx]  # two fee inputs, a reward balance to withdraw
    many: list[UnsignedTx]  # the same without a balance
    chained: list[UnsignedTx]
    payer_utxo: pc.UTxO
    paid: list[int]
    expected: list[int]
    left: list[pc.UTxO]


@pytest.fixture(scope="module")
def chained(ledger_factory: Callable[..., Ledger]) -> Chained:
    ledger = ledger_factory(seed="chained release")
    setup_payer, payer = key("setup payer"), key("one utxo payer")
    ledger.fund(address(setup_payer), 3_000_000_000)
    ledger.fund(address(payer), 200_000_000)
    now_ms = ledger.slot_config.slot_to_posix_ms(ledger.current_slot)
    w = World(ledger, setup_payer, key("owner"), [key(f"oracle {i}") for i in range(3)],
              bytes(faucet_policy_id(ledger.wallet(FAUCET))), now_ms)
    params, seed = w.schedule("chain", 900_000_000, 100_000)
    deployed = T.deploy(params, schedule_scripts(params), utxos(ledger, address(setup_payer)), snapshot(ledger))
    w.submit(deployed.tx, setup_payer)
    dep = deployed.deployment
    w.submit(T.register_stake(dep, utxos(ledger, address(setup_payer)), snapshot(ledger), evaluator(ledger)),
             setup_payer)
    bens = [address(key(f"chain {i}"), key(f"chain stake {i}")) for i in range(BENEFICIARIES)]
    specs = [T.AllocationSpec(b, 3 + i, b"go", now_ms) for i, b in enumerate(bens)]
    for r in T.register_schedule(dep, specs, seed, [seed], snapshot(ledger)):
        w.submit(r, w.owner)
    w.submit(T.certify(dep, b"go", w.signatures(dep, b"go", range(3)), utxos(ledger, address(setup_payer)),
                       snapshot(ledger), evaluator(ledger)), setup_payer)
    certs = R.certificates_at(dep, utxos(ledger, dep.certificate_address))
    [payer_utxo] = utxos(ledger, address(payer))
    pots = utxos(ledger, dep.allocation_address)
    unchained = R.release(dep, pots, certs, [payer_utxo], snapshot(ledger), evaluator(ledger))
    broken = R.release_plan(dep, pots, certs, [payer_utxo], snapshot(ledger), evaluator(ledger),
                            evaluate_after=lambda extra: failing_evaluator)
    extra = key("three utxo payer")
    for _ in range(3):
        ledger.fund(address(extra), 100_000_000)
    rich = utxos(ledger, address(extra))  # two fee inputs and the collateral
    withdrawing = R.release(dep, pots, certs, rich, snapshot(ledger), evaluator(ledger), reward_balance=1,
                            evaluate_after=evaluator_after(ledger))
    many = R.release(dep, pots, certs, rich, snapshot(ledger), evaluator(ledger))
    txs = R.release(dep, pots, certs, [payer_utxo], snapshot(ledger), evaluator(ledger),
                    evaluate_after=evaluator_after(ledger))
    for tx in txs:
        w.submit(tx, payer)
    return Chained(unchained, broken, withdrawing, many, txs, payer_utxo, [holdings(ledger, b, w.token_policy)[1] for b in bens],
                   [s.amount for s in specs], utxos(ledger, dep.allocation_address))


def test_without_evaluate_after_one_payer_utxo_makes_one_transaction(chained: Chained) -> None:
    assert len(chained.unchained) == 1


def test_a_single_payer_utxo_pays_a_chain_that_releases_every_pot_in_one_call(chained: Chained) -> None:
    txs = chained.chained
    assert len(txs) == 2
    assert chained.paid == chained.expected  # the ledger accepted both: every beneficiary paid exactly
    assert chained.left == []


def test_each_chained_transaction_is_paid_and_backed_by_the_previous_change(chained: Chained) -> None:
    first, second = chained.chained
    assert chained.payer_utxo.input in first.inputs
    assert first.body.collateral == [chained.payer_utxo.input]
    change = first.produced[-1]
    assert change.output.address == chained.payer_utxo.output.address and not change.output.amount.multi_asset
    assert change.input in second.inputs
    assert second.body.collateral == [change.input]
    assert set(first.inputs).isdisjoint(second.inputs)


def test_a_failing_chained_transaction_keeps_the_ones_before_it_and_blames_no_pot(chained: Chained) -> None:
    assert [tx.tx_id for tx in chained.broken.transactions] == [tx.tx_id for tx in chained.unchained]
    assert chained.broken.skipped == []


def test_a_reward_balance_is_withdrawn_by_one_transaction_whatever_the_payer_holds(chained: Chained) -> None:
    assert len(chained.many) == 2  # without a balance: one transaction per fee input
    [only] = chained.withdrawing
    assert dict(only.body.withdraws or {}) and list(only.body.withdraws.values()) == [1]
