"""Conway phase-1 UTxO rules of the devnet ledger: each rule's rejection and its accepted twin.

Transactions are hand-made (``HandTx``: plain TransactionBody, exact min fee, derived
keys), so each test breaks exactly one rule. Every rejection is checked for its Ogmios
v6.14 code and data shape, and for leaving the ledger unchanged.
"""

from __future__ import annotations

from pycardano import (
    Address,
    Asset,
    AssetName,
    MultiAsset,
    Network,
    PlutusV3Script,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    Value,
)

from runner.devnet.ledger.genesis import faucet_policy
from runner.testing.ledger import accepted, ledger_size, rejected


def test_plain_payment_moves_value_and_forms_a_block(ledger, hand):
    bob_before = sum(o.amount.coin for _, o in ledger.utxos_at(hand.w("bob").address))
    tx = hand.pay("alice", "bob", 2_000_000)
    [spent] = tx.transaction_body.inputs
    assert spent in ledger.utxo
    accepted(ledger, tx)
    assert ledger.tip.height == 1
    assert sum(o.amount.coin for _, o in ledger.utxos_at(hand.w("bob").address)) == bob_before + 2_000_000
    assert spent not in ledger.utxo
    assert spent not in [r for r, _ in ledger.utxos_at(hand.w("alice").address)]


def test_spent_or_unknown_input_is_rejected_3117(ledger, hand):
    tx = hand.pay()
    accepted(ledger, tx)
    error = rejected(ledger, tx, 3117)  # the same transaction again: its input is spent
    assert error.data["unknownOutputReferences"][0]["transaction"]["id"] == str(tx.transaction_body.inputs[0].transaction_id)
    ghost = (TransactionInput(TransactionId(b"\x07" * 32), 0), TransactionOutput(hand.w("alice").address, 10_000_000))
    rejected(ledger, hand.build([ghost], [], [hand.w("alice")]), 3117)


def test_transaction_without_inputs_is_rejected_3121(ledger, hand):
    tx = hand.pay(tweak=lambda body: setattr(body, "inputs", []))
    rejected(ledger, tx, 3121)
    accepted(ledger, hand.pay())


def test_unbalanced_value_is_rejected_3123_and_exact_balance_accepted(ledger, hand):
    def leak(body):
        body.outputs[-1].amount.coin -= 1

    error = rejected(ledger, hand.pay(tweak=leak), 3123)
    consumed = error.data["valueConsumed"]["ada"]["lovelace"]
    assert consumed - error.data["valueProduced"]["ada"]["lovelace"] == 1
    accepted(ledger, hand.pay())


def test_fee_one_below_minimum_is_rejected_3122_and_exact_minimum_accepted(ledger, hand):
    exact = hand.pay()
    fee = exact.transaction_body.fee
    assert fee == hand.min_fee(ledger_size(exact))
    assert fee == hand.min_fee(len(exact.to_cbor())) - 44  # the is_valid byte is not charged
    low = hand.pay(fee=fee - 1)  # same size: the change output absorbs the difference
    assert len(low.to_cbor()) == len(exact.to_cbor())
    error = rejected(ledger, low, 3122)
    assert error.data == {"minimumRequiredFee": {"ada": {"lovelace": fee}}, "providedFee": {"ada": {"lovelace": fee - 1}}}
    accepted(ledger, exact)


def test_signature_over_another_body_is_rejected_3100(ledger, hand):
    good = hand.pay()
    other = hand.pay(lovelace=3_000_000)
    forged = hand.sign(good.transaction_body, [])
    forged.transaction_witness_set.vkey_witnesses = other.transaction_witness_set.vkey_witnesses
    error = rejected(ledger, forged, 3100)
    assert error.data["invalidSignatories"] == [hand.w("alice").verification_key.payload.hex()]
    accepted(ledger, good)


def _with_witness(hand, tx, vkey, signature):
    from pycardano import VerificationKeyWitness

    forged = hand.sign(tx.transaction_body, [])
    forged.transaction_witness_set.vkey_witnesses = [VerificationKeyWitness(vkey, signature)]
    return forged


def test_a_signature_with_one_bit_flipped_is_rejected_3100(ledger, hand):
    good = hand.pay()
    [witness] = good.transaction_witness_set.vkey_witnesses
    flipped = bytes([witness.signature[0] ^ 0x01]) + bytes(witness.signature[1:])
    error = rejected(ledger, _with_witness(hand, good, witness.vkey, flipped), 3100)
    assert error.data["invalidSignatories"] == [hand.w("alice").verification_key.payload.hex()]
    accepted(ledger, _with_witness(hand, good, witness.vkey, witness.signature))


def test_a_signature_presented_under_another_key_is_rejected_3100(ledger, hand):
    """Bob's key with Alice's (valid) signature: the pair does not verify."""
    good = hand.pay()
    [witness] = good.transaction_witness_set.vkey_witnesses
    bob_key = hand.w("bob").verification_key
    error = rejected(ledger, _with_witness(hand, good, bob_key, witness.signature), 3100)
    assert error.data["invalidSignatories"] == [bob_key.payload.hex()]
    accepted(ledger, good)


def test_a_truncated_signature_is_rejected_3100(ledger, hand):
    good = hand.pay()
    [witness] = good.transaction_witness_set.vkey_witnesses
    rejected(ledger, _with_witness(hand, good, witness.vkey, bytes(witness.signature)[:63]), 3100)
    accepted(ledger, good)


def test_a_valid_signature_by_an_extra_key_does_not_excuse_a_bad_one_3100(ledger, hand):
    good = hand.pay(signers=[hand.w("alice"), hand.w("bob")])
    alice_w, bob_w = good.transaction_witness_set.vkey_witnesses
    bad = hand.sign(good.transaction_body, [])
    flipped = bytes(alice_w.signature[:-1]) + bytes([alice_w.signature[-1] ^ 0x80])
    from pycardano import VerificationKeyWitness

    bad.transaction_witness_set.vkey_witnesses = [VerificationKeyWitness(alice_w.vkey, flipped), bob_w]
    error = rejected(ledger, bad, 3100)
    assert error.data["invalidSignatories"] == [hand.w("alice").verification_key.payload.hex()]
    accepted(ledger, good)


def test_unsigned_key_input_is_rejected_3101(ledger, hand):
    error = rejected(ledger, hand.pay(signers=[hand.w("bob")]), 3101)
    assert error.data["missingSignatories"] == [hand.w("alice").key_hash.hex()]
    accepted(ledger, hand.pay(signers=[hand.w("alice"), hand.w("bob")]))


def test_required_signer_must_sign_3101(ledger, hand):
    bob_hash = hand.w("bob").verification_key.hash()
    error = rejected(ledger, hand.pay(required_signers=[bob_hash]), 3101)
    assert error.data["missingSignatories"] == [bob_hash.payload.hex()]
    accepted(ledger, hand.pay(required_signers=[bob_hash], signers=[hand.w("alice"), hand.w("bob")]))


def test_validity_interval_must_contain_the_current_slot_3118(ledger, hand):
    ledger.advance_slots(100)
    slot = ledger.current_slot  # the clock is past the tip: the next block lands in this slot
    assert slot == 100
    error = rejected(ledger, hand.pay(ttl=slot), 3118)
    assert error.data == {"validityInterval": {"invalidAfter": slot}, "currentSlot": slot}
    rejected(ledger, hand.pay(validity_start=slot + 1), 3118)
    accepted(ledger, hand.pay(validity_start=slot, ttl=slot + 1))


def test_output_below_min_utxo_is_rejected_3125_and_exact_minimum_accepted(ledger, hand):
    bob = hand.w("bob").address
    probe = TransactionOutput(bob, 1_000_000)
    minimum = (160 + len(probe.to_cbor())) * 4310  # coinsPerUTxOByte of mainnet epoch 616
    error = rejected(ledger, hand.pay(lovelace=minimum - 1), 3125)
    [entry] = error.data["insufficientlyFundedOutputs"]
    assert entry["minimumRequiredValue"] == {"ada": {"lovelace": minimum}}
    accepted(ledger, hand.pay(lovelace=minimum))


def _value_of_size(hand, target: int) -> Value:
    """Faucet test tokens whose serialized value is exactly ``target`` bytes (searched
    with cbor2 sizes, then checked on the output as pycardano encodes it)."""
    import cbor2

    from runner.devnet.ledger.cbor import output_value

    policy = faucet_policy(hand.w("faucet")).hash()
    for count in range(120, 160):
        full = [f"token-{i:04d}-{'x' * 21}".encode() for i in range(count)]
        for first in range(1, 33):
            for second in range(1, 33):
                names = full + [b"y" * first, b"z" * second]
                if len(cbor2.dumps([80_000_000, {policy.payload: dict.fromkeys(names, 1)}])) != target:
                    continue
                value = Value(80_000_000, MultiAsset({policy: Asset({AssetName(n): 1 for n in names})}))
                assert len(output_value(TransactionOutput(hand.w("bob").address, value).to_cbor())) == target
                return value
    raise AssertionError(f"no value of {target} bytes")


def _mint(hand, value: Value):
    faucet = hand.w("faucet")
    out = TransactionOutput(hand.w("bob").address, value)
    return hand.build(hand.utxos("faucet")[:1], [out], [faucet], mint=value.multi_asset,
                      witness={"native_scripts": [faucet_policy(faucet)]})


def test_output_value_size_limit_is_exact_3120(ledger, hand):
    """maxValueSize 5000: a value of exactly 5000 bytes passes, 5001 is refused."""
    assert ledger.params.max_val_size == 5000
    error = rejected(ledger, _mint(hand, _value_of_size(hand, 5001)), 3120)
    assert len(error.data["excessivelyLargeOutputs"]) == 1
    accepted(ledger, _mint(hand, _value_of_size(hand, 5000)))


def test_output_to_another_network_is_rejected_3124(ledger, hand):
    mainnet = Address(hand.w("bob").verification_key.hash(), network=Network.MAINNET)
    tx = hand.build(hand.utxos("alice")[:1], [TransactionOutput(mainnet, 2_000_000)], [hand.w("alice")])
    error = rejected(ledger, tx, 3124)
    assert error.data["invalidEntities"] == [str(mainnet)]
    accepted(ledger, hand.pay())


def _of_ledger_size(hand, target: int):
    """A payment padded to exactly ``target`` ledger bytes with an inline datum of byte
    strings (each at most 64 bytes, as Plutus data requires)."""
    from cbor2 import CBORTag
    from pycardano import RawPlutusData

    def padded(n: int):  # chunks whose encodings take exactly n bytes (n >= 52)
        k = (n - 52) // 66
        rest = n - 66 * k
        first = max(24, rest - 67)
        chunks = [b"\x00" * 64] * k + [b"\x01" * first, b"\x02" * (rest - 4 - first)]
        out = TransactionOutput(hand.w("bob").address, 90_000_000, datum=RawPlutusData(CBORTag(121, chunks)))
        return hand.build(hand.utxos("alice")[:1], [out], [hand.w("alice")])

    n = 1_000
    for _ in range(5):
        tx = padded(n)
        if ledger_size(tx) == target:
            assert len(tx.to_cbor()) == target + 1
            return tx
        n += target - ledger_size(tx)
    raise AssertionError(f"could not pad to {target} bytes")


def test_transaction_size_limit_is_on_the_ledger_size_3119(ledger, hand):
    """The ledger measures the transaction without its is_valid flag: 16 384 ledger bytes
    (16 385 on the wire) pass, one more is refused."""
    over = _of_ledger_size(hand, 16_385)
    error = rejected(ledger, over, 3119)
    assert error.data == {"measuredTransactionSize": {"bytes": 16_385}, "maximumTransactionSize": {"bytes": 16_384}}
    accepted(ledger, _of_ledger_size(hand, 16_384))


def test_input_also_referenced_is_rejected_3164(ledger, hand):
    spent = hand.utxos("alice")[0][0]
    rejected(ledger, hand.pay(reference_inputs=[spent]), 3164)
    accepted(ledger, hand.pay(reference_inputs=[hand.utxos("bob")[0][0]]))


def test_native_script_policy_without_its_signature_is_rejected_3103(ledger, hand):
    faucet = hand.w("faucet")
    policy = faucet_policy(faucet)
    minted = MultiAsset({policy.hash(): Asset({AssetName(b"T"): 5})})
    out = TransactionOutput(hand.w("alice").address, Value(2_000_000, minted))
    bad = hand.build(hand.utxos("alice")[:1], [out], [hand.w("alice")], mint=minted,
                     witness={"native_scripts": [policy]})
    error = rejected(ledger, bad, 3103)
    assert error.data["failingNativeScripts"] == [policy.hash().payload.hex()]
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [out], [hand.w("alice"), faucet], mint=minted,
                                witness={"native_scripts": [policy]}))


def test_minting_without_the_policy_script_is_rejected_3102(ledger, hand):
    faucet = hand.w("faucet")
    policy = faucet_policy(faucet)
    minted = MultiAsset({policy.hash(): Asset({AssetName(b"T"): 5})})
    out = TransactionOutput(hand.w("alice").address, Value(2_000_000, minted))
    bad = hand.build(hand.utxos("alice")[:1], [out], [hand.w("alice"), faucet], mint=minted)
    assert rejected(ledger, bad, 3102).data["missingScripts"] == [policy.hash().payload.hex()]


def test_unneeded_witness_script_is_rejected_3104(ledger, hand):
    extra = faucet_policy(hand.w("carol"))
    rejected(ledger, hand.pay(witness={"native_scripts": [extra]}), 3104)
    accepted(ledger, hand.pay())


def test_reference_script_fee_is_tiered_3122(ledger_factory, hand):
    """30 000 bytes of reference script: 25 600 at 15/byte + 4 400 at 18/byte = 463 200."""
    big = PlutusV3Script(b"\x01" * 30_000)
    holder = hand.w("carol").address
    ref = TransactionInput(TransactionId(b"\x42" * 32), 0)
    ledger = ledger_factory(extra_utxo=[(ref, TransactionOutput(holder, 200_000_000, script=big))])
    from runner.testing.ledger import HandTx

    kit = HandTx(ledger)
    size_of_script = len(TransactionOutput(holder, 1, script=big).script)
    assert size_of_script == 30_000
    exact = kit.pay(reference_inputs=[ref], ref_script_size=30_000)
    assert exact.transaction_body.fee == kit.min_fee(ledger_size(exact)) + 463_200
    error = rejected(ledger, kit.pay(reference_inputs=[ref], fee=exact.transaction_body.fee - 1), 3122)
    assert error.data["minimumRequiredFee"]["ada"]["lovelace"] == exact.transaction_body.fee
    accepted(ledger, exact)


def test_reference_scripts_total_limit_is_exact_3166(ledger_factory):
    """200 KiB of reference scripts pass; one byte more is refused."""
    from runner.testing.ledger import HandTx

    limit = 200 * 1024
    sizes = [15_000] * 13 + [limit - 13 * 15_000]
    holder = ledger_factory().wallet("carol").address
    refs = [TransactionInput(TransactionId(bytes([i + 1]) * 32), 0) for i in range(len(sizes) + 1)]
    scripts = [PlutusV3Script(bytes([i + 1]) * n) for i, n in enumerate(sizes)] + [PlutusV3Script(b"\xff")]
    ledger = ledger_factory(extra_utxo=[(r, TransactionOutput(holder, 100_000_000, script=s))
                                        for r, s in zip(refs, scripts)])
    kit = HandTx(ledger)
    exact, over = refs[:-1], refs
    error = rejected(ledger, kit.pay(reference_inputs=over, ref_script_size=limit + 1), 3166)
    assert error.data == {"measuredReferenceScriptsSize": {"bytes": limit + 1},
                          "maximumReferenceScriptsSize": {"bytes": limit}}
    accepted(ledger, kit.pay(reference_inputs=exact, ref_script_size=limit))


def test_collateral_input_must_be_signed_by_its_key_3101(ledger, hand):
    from pycardano import RedeemerTag

    from runner.testing.ledger import ALWAYS_SUCCEEDS, redeemer

    locked = hand.lock(ALWAYS_SUCCEEDS)
    bob_collateral = [hand.utxos("bob")[0][0]]
    witness = {"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": [ALWAYS_SUCCEEDS]}

    def spend(signers):
        return hand.build([(locked, ledger.utxo[locked])], [], signers, change_to=hand.w("alice").address,
                          collateral=bob_collateral, witness=witness, integrity=True)

    error = rejected(ledger, spend([hand.w("alice")]), 3101)
    assert error.data["missingSignatories"] == [hand.w("bob").key_hash.hex()]
    accepted(ledger, spend([hand.w("alice"), hand.w("bob")]))


def test_key_credentials_of_certificates_and_withdrawals_must_sign_3101_and_vote_3150(ledger, hand):
    from pycardano import (
        DRep,
        DRepKind,
        StakeCredential,
        StakeRegistration,
        VoteDelegation,
        Withdrawals,
    )

    alice = hand.w("alice")
    stake_hash = alice.stake_verification_key.hash()
    cred = StakeCredential(stake_hash)
    account = Address(staking_part=stake_hash, network=Network.TESTNET).to_primitive()
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [alice], certificates=[StakeRegistration(cred)],
                                adjust=-2_000_000))

    def withdraw(signers):
        return hand.build(hand.utxos("alice")[:1], [], signers, withdraws=Withdrawals({account: 0}))

    assert rejected(ledger, withdraw([alice, alice.stake_signing_key]), 3150).data == {
        "marginalizedCredentials": [stake_hash.payload.hex()]}

    def delegate(signers):
        return hand.build(hand.utxos("alice")[:1], [], signers,
                          certificates=[VoteDelegation(cred, DRep(DRepKind.ALWAYS_ABSTAIN))])

    error = rejected(ledger, delegate([alice]), 3101)
    assert error.data["missingSignatories"] == [stake_hash.payload.hex()]
    accepted(ledger, delegate([alice, alice.stake_signing_key]))
    rejected(ledger, withdraw([alice]), 3101)
    accepted(ledger, withdraw([alice, alice.stake_signing_key]))


def test_metadata_and_its_hash_must_match_3105_3106_3107(ledger, hand):
    from pycardano import AlonzoMetadata, AuxiliaryData, Metadata

    aux = AuxiliaryData(AlonzoMetadata(metadata=Metadata({674: {"msg": ["devnet"]}})))
    other = AuxiliaryData(AlonzoMetadata(metadata=Metadata({674: {"msg": ["other"]}})))

    def with_aux(attached, declared):
        tx = hand.pay(fee=400_000, auxiliary_data_hash=declared.hash() if declared else None)
        tx.auxiliary_data = attached
        return tx

    assert rejected(ledger, with_aux(aux, None), 3105).data == {"metadata": {"hash": aux.hash().payload.hex()}}
    rejected(ledger, with_aux(None, aux), 3106)
    rejected(ledger, with_aux(aux, other), 3107)
    accepted(ledger, with_aux(aux, aux))
