"""Rules of issue 2 whose rejection or accepted twin was still missing: network id beyond
output addresses, collateral return min-UTxO, script execution priced into the minimum
fee, cost models inside the script-data hash, a failing withdraw-zero script (flagged
valid, then invalid), and a rolled-back transaction that can no longer come back.

Each test breaks one rule, checks Ogmios' code and shape (``rejected``) and then shows
the same transaction done right is accepted.
"""

from __future__ import annotations

from pycardano import (
    Address,
    CostModels,
    Network,
    RedeemerTag,
    StakeCredential,
    StakeRegistration,
    TransactionInput,
    TransactionOutput,
    Withdrawals,
    plutus_script_hash,
)
from pycardano.utils import script_data_hash

from runner.errors import ScriptFailure
from runner.testing.ledger import (
    ALWAYS_FAILS,
    ALWAYS_SUCCEEDS,
    UNITS,
    accepted,
    ledger_size,
    redeemer,
    rejected,
    spend,
)

FAILS_HASH = plutus_script_hash(ALWAYS_FAILS)


def test_withdrawal_from_another_networks_reward_account_is_rejected_3124(ledger, hand):
    script_hash = plutus_script_hash(ALWAYS_SUCCEEDS)
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], adjust=-2_000_000,
                                certificates=[StakeRegistration(StakeCredential(script_hash))]))

    def withdraw(network):
        account = Address(staking_part=script_hash, network=network).to_primitive()
        return _withdraw_zero(hand, ALWAYS_SUCCEEDS, account)

    error = rejected(ledger, withdraw(Network.MAINNET), 3124)
    assert error.data["discriminatedType"] == "rewardAccount" and error.data["expectedNetwork"] == "testnet"
    accepted(ledger, withdraw(Network.TESTNET))


def test_body_network_id_must_be_the_devnets_3124(ledger, hand):
    error = rejected(ledger, hand.pay(network_id=Network.MAINNET), 3124)
    assert error.data == {"expectedNetwork": "testnet", "discriminatedType": "transaction"}
    accepted(ledger, hand.pay(network_id=Network.TESTNET))


def test_collateral_return_to_another_network_is_rejected_3124(ledger, hand):
    alice = hand.w("alice")
    locked = hand.lock(ALWAYS_SUCCEEDS)
    _, coll_out = hand.utxos("alice")[1]

    def returning(address):
        back = TransactionOutput(address, coll_out.amount.coin - 3_000_000)
        return spend(hand, locked, collateral_return=back, total_collateral=3_000_000)

    mainnet = Address(alice.verification_key.hash(), network=Network.MAINNET)
    assert rejected(ledger, returning(mainnet), 3124).data["invalidEntities"] == [str(mainnet)]
    accepted(ledger, returning(alice.address))


def test_collateral_return_below_min_utxo_is_rejected_3125(ledger, hand):
    alice = hand.w("alice")
    locked = hand.lock(ALWAYS_SUCCEEDS)
    _, coll_out = hand.utxos("alice")[1]
    minimum = (160 + len(TransactionOutput(alice.address, 1_000_000).to_cbor())) * 4310

    def returning(kept):
        back = TransactionOutput(alice.address, kept)
        return spend(hand, locked, collateral_return=back, total_collateral=coll_out.amount.coin - kept)

    error = rejected(ledger, returning(minimum - 1), 3125)
    [entry] = error.data["insufficientlyFundedOutputs"]
    assert entry["minimumRequiredValue"] == {"ada": {"lovelace": minimum}}
    accepted(ledger, returning(minimum))


def test_declared_execution_units_are_priced_into_the_minimum_fee_3122(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    exact = spend(hand, locked)
    fee = exact.transaction_body.fee
    size_only = hand.min_fee(ledger_size(exact))
    assert fee == hand.min_fee(ledger_size(exact), [UNITS]) and fee - 1 > size_only
    error = rejected(ledger, spend(hand, locked, fee=fee - 1), 3122)
    assert error.data["minimumRequiredFee"] == {"ada": {"lovelace": fee}}
    accepted(ledger, exact)


def test_script_data_hash_over_another_cost_model_is_rejected_3113(ledger, hand):
    locked = hand.lock(ALWAYS_SUCCEEDS)
    good = spend(hand, locked)
    model = list(ledger.params.cost_model("PlutusV3"))
    model[0] += 1
    wrong = script_data_hash(good.transaction_witness_set.redeemer, None,
                             CostModels({2: {f"{i:03d}": x for i, x in enumerate(model)}}))

    def other_costs(body):
        body.script_data_hash = wrong

    error = rejected(ledger, spend(hand, locked, tweak=other_costs), 3113)
    assert error.data["computedScriptIntegrity"] == good.transaction_body.script_data_hash.payload.hex()
    accepted(ledger, good)


# --- a withdraw-zero script that fails ---------------------------------------------------

FAILS_ACCOUNT = Address(staking_part=FAILS_HASH, network=Network.TESTNET).to_primitive()


def _register_failing(ledger, hand):
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], adjust=-2_000_000,
                                certificates=[StakeRegistration(StakeCredential(FAILS_HASH))]))


def _withdraw_zero(hand, script, account, **kw):
    return hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], withdraws=Withdrawals({account: 0}),
                      collateral=[hand.utxos("alice")[1][0]], integrity=True,
                      witness={"redeemer": [redeemer(RedeemerTag.WITHDRAWAL, 0)], "plutus_v3_script": [script]},
                      **kw)


def test_a_zero_withdrawal_whose_script_fails_is_rejected_3010(ledger, hand):
    _register_failing(ledger, hand)
    error = rejected(ledger, _withdraw_zero(hand, ALWAYS_FAILS, FAILS_ACCOUNT), 3010)
    assert isinstance(error, ScriptFailure)
    assert error.data[0]["validator"] == {"purpose": "withdraw", "index": 0}
    good_account = Address(staking_part=plutus_script_hash(ALWAYS_SUCCEEDS), network=Network.TESTNET).to_primitive()
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")], adjust=-2_000_000,
                                certificates=[StakeRegistration(StakeCredential(plutus_script_hash(ALWAYS_SUCCEEDS)))]))
    accepted(ledger, _withdraw_zero(hand, ALWAYS_SUCCEEDS, good_account))


def test_a_failing_withdraw_zero_flagged_invalid_consumes_only_the_collateral(ledger, hand):
    _register_failing(ledger, hand)
    spent_ref = hand.utxos("alice")[0][0]
    coll_ref = hand.utxos("alice")[1][0]
    tx = _withdraw_zero(hand, ALWAYS_FAILS, FAILS_ACCOUNT)
    tx.valid = False
    tx_id = ledger.submit(tx)
    assert ledger.has_transaction(tx_id)
    assert coll_ref not in ledger.utxo and spent_ref in ledger.utxo  # no collateral return: all of it
    assert TransactionInput(tx.id, 0) not in ledger.utxo
    assert f"script:{FAILS_HASH.payload.hex()}" in ledger.stake_accounts


# --- rollback ----------------------------------------------------------------------------


def test_a_rolled_back_transaction_that_expired_meanwhile_vanishes_even_to_the_mempool(ledger, hand):
    lasting, short = hand.pay("bob", "carol"), hand.pay("alice", "bob", ttl=ledger.current_slot + 5)
    accepted(ledger, lasting)
    accepted(ledger, short)
    ledger.advance_slots(10)
    kept = ledger.rollback(2, to_mempool=True)
    assert kept == [str(lasting.id)] and ledger.in_mempool(str(lasting.id))
    assert not ledger.in_mempool(str(short.id)) and not ledger.has_transaction(str(short.id))
    assert hand.utxos("alice")[0][0] in ledger.utxo  # the expired payment's input is free again
    ledger.tick()
    assert ledger.has_transaction(str(lasting.id)) and not ledger.has_transaction(str(short.id))
