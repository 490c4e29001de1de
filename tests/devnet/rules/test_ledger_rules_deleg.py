"""Delegation rules the devnet can only refuse (it has no stake pools and no registered
DReps), and the Plutus V1/V2 rules: each refusal with its accepted (or furthest-reaching) twin."""

from __future__ import annotations

from pycardano import (
    CostModels,
    DRep,
    DRepKind,
    PlutusV2Script,
    PoolKeyHash,
    RedeemerTag,
    StakeCredential,
    StakeDelegation,
    StakeRegistration,
    TransactionInput,
    TransactionOutput,
    VoteDelegation,
)
from pycardano.utils import script_data_hash
from uplc.tools import flatten, parse

from runner.testing.ledger import UNITS, accepted, redeemer, rejected, script_address

V2_SUCCEEDS = PlutusV2Script(flatten(parse("(program 1.0.0 (lam d (lam r (lam c (con unit ())))))")))


def _registered(ledger, hand):
    alice = hand.w("alice")
    cred = StakeCredential(alice.stake_verification_key.hash())
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [alice], certificates=[StakeRegistration(cred)],
                                adjust=-2_000_000))
    return cred, [alice, alice.stake_signing_key]


def test_delegation_to_a_stake_pool_is_refused_3140(ledger, hand):
    cred, signers = _registered(ledger, hand)
    pool = PoolKeyHash(bytes(range(28)))

    def delegate(cert):
        return hand.build(hand.utxos("alice")[:1], [], signers, certificates=[cert])

    error = rejected(ledger, delegate(StakeDelegation(cred, pool)), 3140)
    assert error.data["unknownStakePool"].startswith("pool1")
    accepted(ledger, delegate(VoteDelegation(cred, DRep(DRepKind.ALWAYS_ABSTAIN))))


def test_vote_delegation_to_an_unregistered_drep_is_refused_3153(ledger, hand):
    cred, signers = _registered(ledger, hand)
    drep_key = hand.w("bob").verification_key.hash()

    def delegate(drep):
        return hand.build(hand.utxos("alice")[:1], [], signers, certificates=[VoteDelegation(cred, drep)])

    error = rejected(ledger, delegate(DRep(DRepKind.VERIFICATION_KEY_HASH, drep_key)), 3153)
    assert error.data["unknownDelegateRepresentative"]["id"] == drep_key.payload.hex()
    accepted(ledger, delegate(DRep(DRepKind.ALWAYS_NO_CONFIDENCE)))


# --- Plutus V1/V2 ------------------------------------------------------------------------


def _v2_spend(ledger, hand, locked: TransactionInput, *, is_valid: bool = True):
    alice = hand.w("alice")
    witness = {"redeemer": [redeemer(RedeemerTag.SPEND, 0, units=UNITS)], "plutus_v2_script": [V2_SUCCEEDS]}
    v2 = {f"{i:03d}": x for i, x in enumerate(ledger.params.cost_model("PlutusV2"))}

    def integrity(body):
        body.script_data_hash = script_data_hash(witness["redeemer"], None, CostModels({1: v2}))

    tx = hand.build([(locked, ledger.utxo[locked])], [], [alice], change_to=alice.address,
                    collateral=[hand.utxos("alice")[0][0]], witness=witness, tweak=integrity)
    tx.valid = is_valid  # the signatures cover the body only
    return tx


def _lock_v2(ledger, hand, **datum):
    out = TransactionOutput(script_address(V2_SUCCEEDS), 10_000_000, **datum)
    tx = hand.build(hand.utxos("alice")[1:2], [out], [hand.w("alice")])
    accepted(ledger, tx)
    return TransactionInput(tx.id, 0)


def test_a_v2_script_output_without_datum_is_unspendable_3114(ledger, hand):
    orphan = _lock_v2(ledger, hand)
    error = rejected(ledger, _v2_spend(ledger, hand, orphan), 3114)
    assert error.data["orphanScriptInputs"][0]["index"] == 0
    # the twin carries a datum: it passes the datum rule and meets the devnet's V1/V2 refusal
    with_datum = _lock_v2(ledger, hand, datum=42)
    error = rejected(ledger, _v2_spend(ledger, hand, with_datum), 3997)
    assert "Plutus V3 scripts only" in error.message and "PlutusV2" in error.data["error"]


def test_a_v2_script_flagged_invalid_is_refused_not_charged_collateral(ledger, hand):
    """The devnet cannot run V2: refusing is honest, taking the collateral would not be."""
    locked = _lock_v2(ledger, hand, datum=42)
    collateral = hand.utxos("alice")[0][0]
    error = rejected(ledger, _v2_spend(ledger, hand, locked, is_valid=False), 3997)
    assert "unsupported Plutus language" in error.data["error"]
    assert collateral in ledger.utxo
