"""Review: a lying (or stale, or rolled-back) Kupo decides alone that a transaction is
"on chain".

runner/engine/chainview.py ``fate``: ``by_refs(refs) or self.ever_created(tx_id)``;
``ever_created`` is one Kupo ``*@tx`` query.  If Kupo shows an output of the transaction
that the node (Ogmios) does not have, the engine marks the journal entry confirmed and
never submits it -- while its inputs are still unspent on the node, i.e. it never landed."""

from __future__ import annotations

from typing import Any

import pytest

from runner.chain.backend import OutputReference, Utxo, Value
from runner.chain.kupo import KupoMatch, KupoPoint
from runner.engine import Engine
from runner.store.journal import JournalEntry
from runner.testing.engine_world import OTHER, World, address, lovelace_of, refs, signed_payment


class LyingKupo:
    def __init__(self, inner: Any, invented: set[str]) -> None:
        self.inner, self.invented = inner, invented

    def matches(self, pattern: str, status: str | None = None) -> list[Any]:
        found = list(self.inner.matches(pattern, status=status))
        for tx in self.invented:
            if pattern == f"*@{tx}" and status in (None, "unspent") and not found:
                found.append(KupoMatch(Utxo(OutputReference(tx, 0), address(OTHER), Value(2_000_000)),
                                       KupoPoint(1, "00" * 32), None))
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LyingBackend:
    def __init__(self, inner: Any, invented: set[str]) -> None:
        self.inner = inner
        self.kupo = LyingKupo(inner.kupo, invented)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def world() -> World:
    return World.create()


def test_an_honest_index_leaves_an_unsubmitted_transaction_pending(world, tmp_path):
    tx = signed_payment(world)
    ctx = world.context(tmp_path, backend=LyingBackend(world.connection.backend, set()))
    assert ctx.chain.fate(str(tx.id), refs(tx), 1, None) == "pending"


def test_a_landed_transaction_is_on_chain(world, tmp_path):
    tx = signed_payment(world)
    world.ledger.submit(tx)
    ctx = world.context(tmp_path)
    assert ctx.chain.fate(str(tx.id), refs(tx), 1, None) == "on chain"


def test_a_lying_index_cannot_confirm_a_transaction_that_never_landed(world, tmp_path):
    tx = signed_payment(world)
    tx_id = str(tx.id)
    ctx = world.context(tmp_path, backend=LyingBackend(world.connection.backend, {tx_id}))
    ctx.journal.record(JournalEntry("review", tx_id, tx.to_cbor_hex(), refs(tx), None))
    before = lovelace_of(world, OTHER)
    list(Engine(ctx).run([]))
    after = lovelace_of(world, OTHER)
    assert after == before + 2_000_000, "entry marked confirmed, never submitted"
