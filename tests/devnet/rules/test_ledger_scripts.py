"""Script-related Conway rules of the devnet ledger: redeemers, datums, script integrity,
collateral, the phase-2 hook (is_valid), stake registration and zero withdrawals.

Scripts are tiny UPLC programs (always succeeds / always fails), so each test pins a
ledger rule, not a validator. Each rejection has an accepted twin.
"""

from __future__ import annotations

import pytest
from pycardano import (
    Address,
    Asset,
    AssetName,
    ExecutionUnits,
    MultiAsset,
    Network,
    RedeemerTag,
    StakeCredential,
    StakeDeregistration,
    StakeRegistration,
    StakeRegistrationConway,
    TransactionInput,
    TransactionOutput,
    Value,
    Withdrawals,
    datum_hash,
    plutus_script_hash,
)

from runner.errors import LedgerRejection, ScriptFailure
from runner.testing.ledger import ALWAYS_FAILS, ALWAYS_SUCCEEDS, UNITS, accepted, redeemer, rejected, spend

SCRIPT_HASH = plutus_script_hash(ALWAYS_SUCCEEDS)


def test_script_spend_with_redeemer_script_and_collateral_is_accepted(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    accepted(ledger, spend(hand, locked))
    assert locked not in ledger.utxo


def test_wrong_or_absent_script_integrity_hash_is_rejected_3113(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    error = rejected(ledger, spend(hand, locked, integrity=False), 3113)
    assert error.data["providedScriptIntegrity"] is None and error.data["computedScriptIntegrity"]
    good = spend(hand, locked)
    assert error.data["computedScriptIntegrity"] == good.transaction_body.script_data_hash.payload.hex()

    def other(body):
        body.script_data_hash = type(body.script_data_hash)(b"\x00" * 32)

    rejected(ledger, spend(hand, locked, tweak=other), 3113)
    accepted(ledger, good)


def test_script_input_without_redeemer_is_rejected_3109(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    error = rejected(ledger, spend(hand, locked, witness={"redeemer": None}, integrity=False), 3109)
    assert error.data["missingRedeemers"][0]["purpose"] == "spend"
    accepted(ledger, spend(hand, locked))


def test_redeemer_pointing_at_nothing_is_rejected_3110(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    extra = [redeemer(RedeemerTag.SPEND, 0), redeemer(RedeemerTag.MINT, 0)]
    error = rejected(ledger, spend(hand, locked, witness={"redeemer": extra}), 3110)
    assert error.data["extraneousRedeemers"] == [{"purpose": "mint", "index": 0}]
    accepted(ledger, spend(hand, locked))


def test_missing_script_is_rejected_3102_and_a_reference_script_suffices(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    error = rejected(ledger, spend(hand, locked, witness={"plutus_v3_script": None}), 3102)
    assert error.data["missingScripts"] == [SCRIPT_HASH.payload.hex()]
    holder = hand.lock(ALWAYS_FAILS, 20_000_000, script_ref=ALWAYS_SUCCEEDS)  # any address carries it
    accepted(ledger, spend(hand, locked, witness={"plutus_v3_script": None}, reference_inputs=[holder],
                           ref_script_size=len(ALWAYS_SUCCEEDS)))
    assert ledger.script_by_hash(SCRIPT_HASH.payload.hex()) == ("plutus:v3", bytes(ALWAYS_SUCCEEDS))


def test_datum_of_a_hashed_input_must_be_witnessed_3111_and_no_other_3112(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS, datum_hash=datum_hash(42))
    error = rejected(ledger, spend(hand, locked), 3111)
    assert error.data["missingDatums"] == [datum_hash(42).payload.hex()]
    error = rejected(ledger, spend(hand, locked, witness={"plutus_data": [42, 43]}), 3112)
    assert error.data["extraneousDatums"] == [datum_hash(43).payload.hex()]
    accepted(ledger, spend(hand, locked, witness={"plutus_data": [42]}))
    assert ledger.datum_by_hash(datum_hash(42).payload.hex()) is not None


def test_collateral_is_required_when_scripts_run_3132(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    rejected(ledger, spend(hand, locked, collateral=[]), 3132)
    accepted(ledger, spend(hand, locked))


def test_script_locked_collateral_is_rejected_3129(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    other = hand.lock(ALWAYS_SUCCEEDS)
    error = rejected(ledger, spend(hand, locked, collateral=[other]), 3129)
    assert error.data["unsuitableCollateralInputs"][0]["index"] == other.index
    accepted(ledger, spend(hand, locked))


def test_collateral_with_tokens_needs_a_return_3133(ledger, hand):
    alice = hand.w("alice")
    token_ref = ledger.fund(alice.address, 5_000_000, {"TOK": 7})
    locked = hand.lock(ALWAYS_SUCCEEDS)
    error = rejected(ledger, spend(hand, locked, collateral=[token_ref]), 3133)
    assert error.data["unsuitableCollateralValue"]["ada"]["lovelace"] == 5_000_000
    tokens = ledger.utxo[token_ref].amount.multi_asset
    back = TransactionOutput(alice.address, Value(2_000_000, tokens))
    accepted(ledger, spend(hand, locked, collateral=[token_ref], collateral_return=back, total_collateral=3_000_000))


def test_insufficient_collateral_is_rejected_3128_and_total_must_match_3135(ledger, hand):
    alice = hand.w("alice")
    locked = hand.lock(ALWAYS_SUCCEEDS)
    _, coll_out = hand.utxos("alice")[1]

    def with_return(kept, total=300_000):
        back = TransactionOutput(alice.address, kept)
        return spend(hand, locked, collateral_return=back, total_collateral=total)

    fee = with_return(coll_out.amount.coin - 300_000).transaction_body.fee  # same size for all below
    needed = -(-fee * 150 // 100)
    error = rejected(ledger, with_return(coll_out.amount.coin - needed + 1, needed - 1), 3128)
    assert error.data["minimumRequiredCollateral"] == {"ada": {"lovelace": needed}}
    rejected(ledger, with_return(coll_out.amount.coin - needed, needed + 1), 3135)
    tx = with_return(coll_out.amount.coin - needed, needed)
    assert tx.transaction_body.fee == fee
    accepted(ledger, tx)


def test_too_many_collateral_inputs_are_rejected_3131(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    four = [r for r, _ in hand.utxos("alice")[1:5]]
    assert len(four) == 4
    error = rejected(ledger, spend(hand, locked, collateral=four), 3131)
    assert error.data == {"maximumCollateralInputs": 3, "countedCollateralInputs": 4}
    accepted(ledger, spend(hand, locked, collateral=four[:3]))


def test_declared_units_above_the_transaction_maximum_are_rejected_3134(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    huge = [redeemer(RedeemerTag.SPEND, 0, units=ExecutionUnits(16_500_001, 1_000_000))]
    rejected(ledger, spend(hand, locked, witness={"redeemer": huge}), 3134)
    fits = [redeemer(RedeemerTag.SPEND, 0, units=ExecutionUnits(16_500_000, 1_000_000))]
    accepted(ledger, spend(hand, locked, witness={"redeemer": fits}))


def test_failing_script_flagged_valid_is_rejected_3010(ledger, hand):
    locked = hand.lock(ALWAYS_FAILS)
    error = rejected(ledger, spend(hand, locked, script=ALWAYS_FAILS), 3010)
    assert isinstance(error, ScriptFailure)
    assert error.data[0]["validator"] == {"purpose": "spend", "index": 0}


def test_failing_script_flagged_invalid_takes_the_collateral_only(ledger, hand):
    alice = hand.w("alice")
    locked = hand.lock(ALWAYS_FAILS)
    coll_ref, coll_out = hand.utxos("alice")[1]
    back = TransactionOutput(alice.address, coll_out.amount.coin - 1_000_000)
    tx = spend(hand, locked, script=ALWAYS_FAILS, collateral_return=back, total_collateral=1_000_000)
    tx.valid = False
    tx_id = ledger.submit(tx)
    assert ledger.has_transaction(tx_id)
    assert locked in ledger.utxo and coll_ref not in ledger.utxo
    n_outputs = len(tx.transaction_body.outputs)
    assert ledger.utxo[TransactionInput(tx.id, n_outputs)] == back
    assert TransactionInput(tx.id, 0) not in ledger.utxo


def test_passing_script_flagged_invalid_is_rejected_3136(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    tx = spend(hand, locked)
    tx.valid = False
    rejected(ledger, tx, 3136)
    tx.valid = True
    accepted(ledger, tx)


def test_plutus_mint_and_burn_keep_value_balanced_3123(ledger, hand):
    alice = hand.w("alice")
    minted = MultiAsset({SCRIPT_HASH: Asset({AssetName(b"P"): 10})})
    coll = [hand.utxos("alice")[1][0]]
    wit = {"redeemer": [redeemer(RedeemerTag.MINT, 0)], "plutus_v3_script": [ALWAYS_SUCCEEDS]}
    too_many = TransactionOutput(alice.address, Value(2_000_000, MultiAsset({SCRIPT_HASH: Asset({AssetName(b"P"): 11})})))

    def steal(body):
        body.outputs.insert(0, too_many)
        body.outputs[-1].amount.coin -= 2_000_000
        body.outputs[-1].amount.multi_asset = MultiAsset()

    rejected(ledger, hand.build(hand.utxos("alice")[:1], [], [alice], mint=minted, collateral=coll,
                                witness=wit, integrity=True, tweak=steal), 3123)
    tx = hand.build(hand.utxos("alice")[:1], [], [alice], mint=minted, collateral=coll, witness=wit, integrity=True)
    accepted(ledger, tx)
    burn = MultiAsset({SCRIPT_HASH: Asset({AssetName(b"P"): -10})})
    holder = (TransactionInput(tx.id, 0), ledger.utxo[TransactionInput(tx.id, 0)])
    accepted(ledger, hand.build([holder], [], [alice], mint=burn, collateral=[hand.utxos("alice")[1][0]],
                                witness=wit, integrity=True))


# --- stake registration and the withdraw-zero pattern -----------------------------------

STAKE = StakeCredential(SCRIPT_HASH)
REWARD_ACCOUNT = Address(staking_part=SCRIPT_HASH, network=Network.TESTNET).to_primitive()
DEPOSIT = 2_000_000


def register(hand):
    return hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], certificates=[StakeRegistration(STAKE)],
                      adjust=-DEPOSIT)


def withdraw(hand, amount=0, *, with_redeemer=True, account=REWARD_ACCOUNT):
    wit = {"redeemer": [redeemer(RedeemerTag.WITHDRAWAL, 0)] if with_redeemer else None,
           "plutus_v3_script": [ALWAYS_SUCCEEDS]}
    wit = {k: v for k, v in wit.items() if v is not None}
    return hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], withdraws=Withdrawals({account: amount}),
                      adjust=amount, collateral=[hand.utxos("alice")[1][0]], witness=wit,
                      integrity=with_redeemer)


def test_legacy_stake_registration_takes_the_deposit_once_3145(ledger, hand):
    wrong_deposit = hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                               certificates=[StakeRegistration(STAKE)], adjust=-DEPOSIT + 1)
    rejected(ledger, wrong_deposit, 3123)
    accepted(ledger, register(hand))
    assert ledger.stake_accounts[f"script:{SCRIPT_HASH.payload.hex()}"].deposit == DEPOSIT
    error = rejected(ledger, register(hand), 3145)
    assert error.data == {"knownCredential": SCRIPT_HASH.payload.hex(), "from": "script"}


def test_conway_registration_checks_the_deposit_3151_and_runs_the_script(ledger, hand):
    def conway(coin, with_redeemer=True):
        wit = {"plutus_v3_script": [ALWAYS_SUCCEEDS]}
        if with_redeemer:
            wit["redeemer"] = [redeemer(RedeemerTag.CERTIFICATE, 0)]
        return hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                          certificates=[StakeRegistrationConway(STAKE, coin)], adjust=-coin,
                          collateral=[hand.utxos("alice")[1][0]], witness=wit, integrity=with_redeemer)

    error = rejected(ledger, conway(DEPOSIT - 1), 3151)
    assert error.data["expectedDeposit"] == {"ada": {"lovelace": DEPOSIT}}
    assert rejected(ledger, conway(DEPOSIT, with_redeemer=False), 3109).data["missingRedeemers"][0]["purpose"] == "publish"
    accepted(ledger, conway(DEPOSIT))


def test_zero_withdrawal_from_a_registered_script_credential_runs_its_script(ledger, hand):
    error = rejected(ledger, withdraw(hand), 3141)  # not registered yet
    assert list(error.data["incompleteWithdrawals"].values()) == [{"ada": {"lovelace": 0}}]
    accepted(ledger, register(hand))
    rejected(ledger, withdraw(hand, with_redeemer=False), 3109)
    rejected(ledger, withdraw(hand, amount=1), 3141)  # rewards are 0 on the devnet
    accepted(ledger, withdraw(hand))
    accepted(ledger, withdraw(hand))  # and again: the credential stays registered


def test_deregistration_refunds_the_deposit(ledger, hand):
    accepted(ledger, register(hand))
    wit = {"redeemer": [redeemer(RedeemerTag.CERTIFICATE, 0)], "plutus_v3_script": [ALWAYS_SUCCEEDS]}

    def dereg(adjust):
        return hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], certificates=[StakeDeregistration(STAKE)],
                          adjust=adjust, collateral=[hand.utxos("alice")[1][0]], witness=wit, integrity=True)

    rejected(ledger, dereg(DEPOSIT + 1), 3123)
    accepted(ledger, dereg(DEPOSIT))
    assert f"script:{SCRIPT_HASH.payload.hex()}" not in ledger.stake_accounts
    rejected(ledger, dereg(DEPOSIT), 3146)


@pytest.mark.parametrize("order", ["key-then-script"])
def test_withdraw_redeemer_index_follows_the_ledger_order_script_credentials_first(ledger, hand, order):
    """Two withdrawals, one key and one script: the script one is index 0 (Credential Ord)."""
    from pycardano import DRep, DRepKind, VoteDelegation

    alice = hand.w("alice")
    key_cred = StakeCredential(alice.stake_verification_key.hash())
    key_account = Address(staking_part=alice.stake_verification_key.hash(), network=Network.TESTNET).to_primitive()
    setup = hand.build(hand.utxos("alice")[:1], [], [alice, alice.stake_signing_key],
                       certificates=[StakeRegistration(STAKE), StakeRegistration(key_cred),
                                     VoteDelegation(key_cred, DRep(DRepKind.ALWAYS_ABSTAIN))],
                       adjust=-2 * DEPOSIT)
    accepted(ledger, setup)
    assert key_account < REWARD_ACCOUNT  # byte order would put the key account first

    def both(index):
        return hand.build(hand.utxos("alice")[:1], [], [alice, alice.stake_signing_key],
                          withdraws=Withdrawals({key_account: 0, REWARD_ACCOUNT: 0}),
                          collateral=[hand.utxos("alice")[1][0]], integrity=True,
                          witness={"redeemer": [redeemer(RedeemerTag.WITHDRAWAL, index)],
                                   "plutus_v3_script": [ALWAYS_SUCCEEDS]})

    rejected(ledger, both(1), 3109)
    accepted(ledger, both(0))


def test_declared_budget_is_the_limit_during_submit_3010(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    starved = [redeemer(RedeemerTag.SPEND, 0, units=ExecutionUnits(10, 10))]
    error = rejected(ledger, spend(hand, locked, witness={"redeemer": starved}), 3010)
    assert isinstance(error, ScriptFailure)
    [evaluation] = ledger.evaluate(spend(hand, locked, witness={"redeemer": starved}))
    assert evaluation.ok and evaluation.memory > 10  # evaluate ignores the declared budget
    accepted(ledger, spend(hand, locked))


def test_evaluate_ignores_budgets_fee_and_signatures_of_a_draft(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    zero = [redeemer(RedeemerTag.SPEND, 0, units=ExecutionUnits(0, 0))]
    draft = spend(hand, locked, witness={"redeemer": zero}, fee=0, signers=[hand.w("carol")], integrity=False)
    with pytest.raises(LedgerRejection):
        ledger.submit(draft)
    [evaluation] = ledger.evaluate(draft)
    assert evaluation.ok and evaluation.tag == "spend" and evaluation.index == 0
    assert 0 < evaluation.memory <= UNITS.mem


def test_evaluate_sees_additional_utxo_not_yet_on_chain(ledger, hand):
    from pycardano import TransactionId

    ghost = TransactionInput(TransactionId(b"\x09" * 32), 0)
    ghost_out = TransactionOutput(Address(SCRIPT_HASH, network=Network.TESTNET), 10_000_000)
    alice = hand.w("alice")
    draft = hand.build([(ghost, ghost_out)], [], [alice], change_to=alice.address,
                       collateral=[hand.utxos("alice")[1][0]],
                       witness={"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": [ALWAYS_SUCCEEDS]})
    with pytest.raises(LedgerRejection) as info:
        ledger.evaluate(draft)
    assert info.value.ogmios_code == 3117
    [evaluation] = ledger.evaluate(draft, additional_utxo={ghost: ghost_out})
    assert evaluation.ok
