"""Review: UTxOs planted at the schedule's addresses (anyone may send anything there)."""

from __future__ import annotations

import pycardano as pc
import pytest

from runner.contract.transactions import Deployment
from runner.engine import adapter
from runner.testing.contract_world import NETWORK, World, tx_in, wallet

ATTACKER_POLICY = bytes.fromhex("ab" * 28)


@pytest.fixture(scope="module")
def world() -> World:
    return World.create("review planted")


def deployment(world: World) -> Deployment:
    return Deployment(world.params, world.scripts, {}, NETWORK)


def utxo(pair: tuple[pc.TransactionInput, pc.TransactionOutput]) -> pc.UTxO:
    return pc.UTxO(*pair)


# ------------------------------------------------------------------ probes that hold


def test_a_same_named_token_of_another_policy_is_no_certificate(world: World):
    fake = pc.TransactionOutput(world.certificate_address,
                                pc.Value(2_000_000, pc.MultiAsset.from_primitive({ATTACKER_POLICY: {b"m1": 1}})))
    real = utxo(world.certificate_utxo(b"m2"))
    found = adapter.certificates(deployment(world), [pc.UTxO(tx_in("fake cert"), fake), real])
    assert set(found) == {"m2"}


def test_a_genuine_certificate_token_elsewhere_is_no_certificate(world: World):
    _, out = world.certificate_utxo(b"m3")
    moved = pc.TransactionOutput(wallet("attacker"), out.amount, datum=out.datum)
    assert adapter.certificates(deployment(world), [pc.UTxO(tx_in("moved cert"), moved)]) == {}


def test_a_forged_pot_not_made_by_a_register_transaction_is_ignored(world: World):
    pot = utxo(world.pot("forged", [(wallet("attacker"), 500)], b"m1", 0))
    locked, ignored = adapter.decode_locked(deployment(world), [pot], genuine_txs=frozenset())
    assert locked == [] and "register transactions" in ignored[0][1]


# ------------------------------------------------------------------ finding


def test_a_planted_pot_with_a_non_utf8_milestone_is_ignored_not_a_crash(world: World):
    pot = utxo(world.pot("not utf8", [(wallet("attacker"), 500)], b"\xff\xfe", 0))
    locked, ignored = adapter.decode_locked(deployment(world), [pot], genuine_txs=None)
    assert locked == [] and len(ignored) == 1
