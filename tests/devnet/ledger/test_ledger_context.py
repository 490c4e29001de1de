"""pycardano's own TransactionBuilder works against the devnet through DevnetChainContext.

This cross-checks the ledger against an independent implementation of fees, min-UTxO,
script-data hashes and redeemer indices: what pycardano builds, the devnet must accept.
"""

from __future__ import annotations

import pytest
from pycardano import (
    Address,
    Network,
    Redeemer,
    StakeCredential,
    StakeRegistration,
    TransactionBuilder,
    TransactionOutput,
    Withdrawals,
    plutus_script_hash,
)

from runner.devnet.ledger.chain_context import DevnetChainContext
from runner.errors import ScriptFailure
from runner.testing.ledger import ALWAYS_FAILS, ALWAYS_SUCCEEDS, HandTx, accepted, script_address


@pytest.fixture
def context(ledger):
    return DevnetChainContext(ledger)


def test_context_reports_the_ledger_view(ledger, context):
    assert context.network == ledger.network and context.last_block_slot == ledger.tip.slot
    assert context.protocol_param.min_fee_coefficient == 44
    assert context.genesis_param.epoch_length == ledger.slot_config.epoch_length
    assert len(context.utxos(ledger.wallet("alice").address)) == 5


def test_builder_payment_is_accepted(ledger, context):
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    builder = TransactionBuilder(context)
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(bob.address, 4_000_000))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    accepted(ledger, tx)


def test_builder_script_spend_is_evaluated_and_accepted(ledger, context):
    alice = ledger.wallet("alice")
    locked = HandTx(ledger).lock(ALWAYS_SUCCEEDS, datum=42)
    builder = TransactionBuilder(context)
    builder.add_script_input(context.utxos(script_address(ALWAYS_SUCCEEDS))[0], script=ALWAYS_SUCCEEDS,
                             redeemer=Redeemer(0))
    builder.add_input_address(alice.address)
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    [value] = list(tx.transaction_witness_set.redeemer.values())  # pycardano writes the Conway map form
    assert value.ex_units.mem > 0  # measured by evaluate_tx
    accepted(ledger, tx)
    assert locked not in ledger.utxo


def test_builder_withdraw_zero_is_accepted(ledger, context):
    alice = ledger.wallet("alice")
    script_hash = plutus_script_hash(ALWAYS_SUCCEEDS)
    register = TransactionBuilder(context)
    register.add_input_address(alice.address)
    register.certificates = [StakeRegistration(StakeCredential(script_hash))]
    accepted(ledger, register.build_and_sign([alice.signing_key], change_address=alice.address))
    account = Address(staking_part=script_hash, network=Network.TESTNET)
    builder = TransactionBuilder(context)
    builder.add_input_address(alice.address)
    builder.withdrawals = Withdrawals({bytes(account): 0})
    builder.add_withdrawal_script(ALWAYS_SUCCEEDS, Redeemer(0))
    accepted(ledger, builder.build_and_sign([alice.signing_key], change_address=alice.address))


def test_evaluation_of_a_failing_script_is_a_script_failure(ledger, context):
    alice = ledger.wallet("alice")
    HandTx(ledger).lock(ALWAYS_FAILS)
    builder = TransactionBuilder(context)
    builder.add_script_input(context.utxos(script_address(ALWAYS_FAILS))[0], script=ALWAYS_FAILS,
                             redeemer=Redeemer(0))
    builder.add_input_address(alice.address)
    with pytest.raises(ScriptFailure) as info:
        builder.build_and_sign([alice.signing_key], change_address=alice.address)
    assert info.value.ogmios_code == 3010


def test_builder_batch_spend_by_reference_script_with_withdraw_zero_is_accepted(ledger, context):
    """The release pattern: several script inputs, the script by reference, one zero withdrawal."""
    from pycardano import UTxO

    alice = ledger.wallet("alice")
    hand = HandTx(ledger)
    holder = hand.lock(ALWAYS_FAILS, 30_000_000, script_ref=ALWAYS_SUCCEEDS)
    locked = [hand.lock(ALWAYS_SUCCEEDS, 5_000_000 + i, datum=i) for i in range(3)]
    script_hash = plutus_script_hash(ALWAYS_SUCCEEDS)
    register = TransactionBuilder(context)
    register.add_input_address(alice.address)
    register.certificates = [StakeRegistration(StakeCredential(script_hash))]
    accepted(ledger, register.build_and_sign([alice.signing_key], change_address=alice.address))
    ref_utxo = UTxO(holder, ledger.utxo[holder])
    builder = TransactionBuilder(context)
    for ref in locked:
        builder.add_script_input(UTxO(ref, ledger.utxo[ref]), script=ref_utxo, redeemer=Redeemer(0))
    builder.add_input_address(alice.address)
    builder.withdrawals = Withdrawals({bytes(Address(staking_part=script_hash, network=Network.TESTNET)): 0})
    builder.add_withdrawal_script(ref_utxo, Redeemer(0))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    assert tx.transaction_body.reference_inputs and not tx.transaction_witness_set.plutus_v3_script
    accepted(ledger, tx)
    assert not any(ref in ledger.utxo for ref in locked)
