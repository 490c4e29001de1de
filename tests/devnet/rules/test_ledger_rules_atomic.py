"""Applying a validated transaction is all or nothing: a fault injected at any point of the
apply leaves the UTxO set, stake accounts, mempool, blocks and clock exactly as they were,
and the same transaction is accepted once the fault is gone."""

from __future__ import annotations

from typing import Any

import pytest
from pycardano import StakeCredential, StakeRegistration, TransactionOutput

from runner.devnet.ledger import ledger as ledger_module
from runner.devnet.ledger.utxo import UtxoSet
from runner.testing.ledger import accepted


class Fault(RuntimeError):
    """The injected internal error."""


def snapshot(ledger: Any) -> tuple[Any, ...]:
    utxo = dict(ledger.utxo)
    by_address = {name: sorted(str(r) for r, _ in ledger.utxos_at(w.address)) for name, w in ledger.wallets.items()}
    return (utxo, by_address, dict(ledger.stake_accounts), ledger.mempool, [b.tip for b in ledger.blocks],
            ledger.current_slot, ledger.tip)


def two_outputs_and_a_certificate(hand: Any) -> Any:
    alice = hand.w("alice")
    cred = StakeCredential(alice.stake_verification_key.hash())
    outs = [TransactionOutput(hand.w("bob").address, 2_000_000), TransactionOutput(hand.w("carol").address, 3_000_000)]
    return hand.build(hand.utxos("alice")[:2], outs, [alice], certificates=[StakeRegistration(cred)],
                      adjust=-2_000_000)


def fail_on_call(monkeypatch: Any, owner: Any, name: str, n: int) -> None:
    """Make ``owner.name`` raise :class:`Fault` on its n-th call (1-based)."""
    original = getattr(owner, name)
    calls = {"count": 0}

    def faulty(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == n:
            raise Fault(f"injected into {name} (call {n})")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, faulty)


@pytest.mark.parametrize("where, call", [
    ("pop", 1),   # before any input is spent
    ("pop", 2),   # after the first of two inputs is spent
    ("add", 2),   # after the first output is created
])
def test_a_fault_in_the_utxo_update_leaves_everything_unchanged(ledger, hand, monkeypatch, where, call):
    tx = two_outputs_and_a_certificate(hand)
    before = snapshot(ledger)
    fail_on_call(monkeypatch, UtxoSet, where, call)
    with pytest.raises(Fault):
        ledger.submit(tx)
    monkeypatch.undo()
    assert snapshot(ledger) == before
    accepted(ledger, tx)
    assert len(ledger.stake_accounts) == 1


def test_a_fault_after_the_utxo_update_leaves_everything_unchanged(ledger, hand, monkeypatch):
    tx = two_outputs_and_a_certificate(hand)
    before = snapshot(ledger)
    fail_on_call(monkeypatch, ledger.index, "add_witnesses", 1)
    with pytest.raises(Fault):
        ledger.submit(tx)
    monkeypatch.undo()
    assert snapshot(ledger) == before
    accepted(ledger, tx)


def test_a_fault_while_forming_the_block_leaves_everything_unchanged(ledger, hand, monkeypatch):
    accepted(ledger, hand.pay(lovelace=4_000_000))
    tx = two_outputs_and_a_certificate(hand)
    before = snapshot(ledger)
    fail_on_call(monkeypatch, ledger_module, "block_hash", 1)
    with pytest.raises(Fault):
        ledger.submit(tx)
    monkeypatch.undo()
    assert snapshot(ledger) == before
    assert not ledger.has_transaction(str(tx.id))
    accepted(ledger, tx)


def test_a_fault_in_tick_mode_leaves_the_mempool_unchanged(ledger_factory, monkeypatch):
    from runner.testing.ledger import HandTx

    ledger = ledger_factory(block_mode="tick")
    hand = HandTx(ledger)
    first = hand.pay("bob", "carol")
    ledger.submit(first)
    tx = two_outputs_and_a_certificate(hand)
    before = snapshot(ledger)
    assert ledger.mempool == [str(first.id)]
    fail_on_call(monkeypatch, UtxoSet, "add", 1)
    with pytest.raises(Fault):
        ledger.submit(tx)
    monkeypatch.undo()
    assert snapshot(ledger) == before
    ledger.submit(tx)
    ledger.tick()
    assert ledger.has_transaction(str(tx.id)) and ledger.has_transaction(str(first.id))
