"""Behaviour of the compiled scripts on hand-assembled transactions (devnet phase 2, uplc).

Every refusal has an accepted twin that differs only in the rule under test, so a
script that refuses everything fails this file.  (The full attack suite, submitted to
the devnet ledger, is separate.)
"""

from __future__ import annotations

import dataclasses

import pycardano as pc
import pytest

from runner.contract.datums import (
    Forward,
    NoOutputDatum,
    PotDatum,
    PotEntry,
    Reclaim,
    SignatureEntry,
    SomeOutputDatumHash,
    entry_key,
    to_plutus_address,
)
from runner.testing.contract_world import (
    ALLOCATION_LOVELACE,
    TxParts,
    World,
    all_ok,
    evaluate,
    failures,
    key_hash_of,
    payouts,
    pot_datum,
    release_parts,
    tx_in,
    wallet,
)

VESTING = 5_000_000  # ms
NOW = 6_000_000
M1, M2 = b"milestone-1", b"milestone-2"


@pytest.fixture(scope="module")
def world() -> World:
    return World.create()


@pytest.fixture(scope="module")
def other_world() -> World:
    return World.create(label="another schedule")


ALICE = wallet("alice", "alice stake")
BOB = wallet("bob")


def out(
    world: World, address: pc.Address, amount: int, lovelace: int = ALLOCATION_LOVELACE
) -> pc.TransactionOutput:
    return pc.TransactionOutput(address, world.tokens(amount, lovelace))


def assert_accepted(parts: TxParts) -> None:
    results = evaluate(parts)
    assert all_ok(results), failures(results)


def assert_refused(parts: TxParts, tag: str = "withdraw") -> None:
    results = evaluate(parts)
    assert any(r.tag == tag and not r.ok for r in results), f"expected {tag} to fail: {results}"


# ----------------------------------------------------------------------------- release


def two_pots(world: World) -> tuple[TxParts, list[PotDatum]]:
    """Pot M1 (alice 100, bob 70) and pot M2 (alice 50), released together."""
    p1 = pot_datum([(ALICE, 100), (BOB, 70)], M1, VESTING)
    p2 = pot_datum([(ALICE, 50)], M2, VESTING)
    pots = [world.pot("register", [(ALICE, 100), (BOB, 70)], M1, VESTING, datum=p1, index=0),
            world.pot("register", [(ALICE, 50)], M2, VESTING, datum=p2, index=1)]
    return release_parts(world, pots, payouts(world, p1) + payouts(world, p2), [M1, M2], NOW), [p1, p2]


def two_beneficiaries(world: World) -> TxParts:
    return two_pots(world)[0]


def one_pot(world: World, entries: list[tuple[pc.Address, int]], outputs: list[pc.TransactionOutput] | None = None,
            **kw: object) -> TxParts:
    datum = kw.pop("datum", None) or pot_datum(entries, M1, VESTING)
    pot = world.pot("register", entries, M1, VESTING, datum=datum, **kw)  # type: ignore[arg-type]
    return release_parts(world, [pot], payouts(world, datum) if outputs is None else outputs, [M1], NOW)


def test_release_pays_every_entry_of_two_pots_in_one_transaction(world: World) -> None:
    assert_accepted(two_beneficiaries(world))


def test_release_before_vesting_time_is_refused(world: World) -> None:
    early = two_beneficiaries(world)
    early.validity_start = (VESTING - 1000) // 1000
    assert_refused(early)


@pytest.mark.parametrize("vesting_ms, accepted", [(NOW, True), (NOW + 1, False)])
def test_vesting_time_is_compared_with_the_inclusive_lower_bound_to_the_millisecond(
    world: World, vesting_ms: int, accepted: bool
) -> None:
    """The ledger passes a closed lower bound: vested at exactly ``now``, not 1 ms later."""
    datum = pot_datum([(ALICE, 100)], M1, vesting_ms)
    pot = world.pot("register", [(ALICE, 100)], M1, vesting_ms, datum=datum)
    parts = release_parts(world, [pot], payouts(world, datum), [M1], NOW)
    if accepted:
        assert_accepted(parts)
    else:
        assert_refused(parts)


def test_release_without_a_lower_bound_is_refused(world: World) -> None:
    parts = two_beneficiaries(world)
    parts.validity_start = None
    assert_refused(parts)


def test_release_needs_the_certificate_of_each_pot_milestone(world: World) -> None:
    parts = two_beneficiaries(world)
    parts.reference_inputs = [world.certificate_utxo(M1)]  # M2 not certified
    assert_refused(parts)


def test_certificate_of_another_schedule_does_not_count(world: World, other_world: World) -> None:
    parts = two_beneficiaries(world)
    parts.reference_inputs = [world.certificate_utxo(M1), other_world.certificate_utxo(M2)]
    assert_refused(parts)


def test_token_named_like_the_milestone_under_another_policy_does_not_count(world: World) -> None:
    parts = two_beneficiaries(world)
    fake = pc.MultiAsset.from_primitive({bytes(28): {M2: 1}})
    parts.reference_inputs = [
        world.certificate_utxo(M1),
        (
            tx_in("fake certificate"),
            pc.TransactionOutput(world.certificate_address, pc.Value(2_000_000, fake)),
        ),
    ]
    assert_refused(parts)


@pytest.mark.parametrize(
    "address",
    [wallet("mallory"), wallet("alice"), wallet("alice", "mallory stake")],
    ids=["wrong-beneficiary", "missing-stake-credential", "other-stake-credential"],
)
def test_release_pays_exactly_the_beneficiary_address(world: World, address: pc.Address) -> None:
    parts, [p1, _] = two_pots(world)
    i = next(k for k, e in enumerate(p1.entries) if e.amount == 100)
    parts.outputs[i] = out(world, address, 100)
    assert_refused(parts)


@pytest.mark.parametrize("amount", [99, 101], ids=["too-few", "too-many"])
def test_release_pays_exactly_the_entrys_tokens(world: World, amount: int) -> None:
    parts, [p1, _] = two_pots(world)
    i = next(k for k, e in enumerate(p1.entries) if e.amount == 100)
    parts.outputs[i] = out(world, ALICE, amount)
    assert_refused(parts)


def test_a_payment_carries_nothing_the_pot_did_not_fix(world: World) -> None:
    """No datum (the pot's payout datum is none), no reference script, no other token."""
    base = one_pot(world, [(ALICE, 100)])
    assert_accepted(base)
    paid = base.outputs[0]
    for variant in (dataclasses.replace(paid, datum=Reclaim()),
                    dataclasses.replace(paid, datum_hash=pc.DatumHash(bytes(32))),
                    dataclasses.replace(paid, script=world.scripts.spend_forwarder),
                    pc.TransactionOutput(ALICE, paid.amount + pc.Value(0, pc.MultiAsset.from_primitive(
                        {bytes([9]) * 28: {b"x": 1}})))):
        parts = one_pot(world, [(ALICE, 100)])
        parts.outputs[0] = variant
        assert_refused(parts)


def test_a_pot_may_fix_a_payout_datum_and_then_every_payment_carries_it(world: World) -> None:
    tag = SomeOutputDatumHash(bytes([7]) * 32)
    datum = pot_datum([(ALICE, 100), (BOB, 70)], M1, VESTING, payout=tag)
    tagged = [dataclasses.replace(o, datum_hash=pc.DatumHash(bytes([7]) * 32)) for o in payouts(world, datum)]
    assert_accepted(one_pot(world, [(ALICE, 100), (BOB, 70)], tagged, datum=datum))
    assert_refused(one_pot(world, [(ALICE, 100), (BOB, 70)], payouts(world, datum), datum=datum))


def test_pot_ada_goes_to_the_beneficiaries(world: World) -> None:
    parts, [p1, _] = two_pots(world)
    parts.outputs[0] = out(world, parts.outputs[0].address, p1.entries[0].amount, ALLOCATION_LOVELACE - 1)
    assert_refused(parts)
    parts, _ = two_pots(world)  # shifted between two entries of the pot: still all theirs
    parts.outputs[0] = out(world, parts.outputs[0].address, p1.entries[0].amount, ALLOCATION_LOVELACE - 1)
    parts.outputs[1] = out(world, parts.outputs[1].address, p1.entries[1].amount, ALLOCATION_LOVELACE + 1)
    assert_accepted(parts)


def test_an_entry_left_unpaid_or_outputs_out_of_order(world: World) -> None:
    parts, _ = two_pots(world)
    parts.outputs = parts.outputs[:-1]
    assert_refused(parts)
    parts, _ = two_pots(world)
    parts.outputs[0], parts.outputs[1] = parts.outputs[1], parts.outputs[0]
    assert_refused(parts)


def test_a_foreign_output_between_entries(world: World) -> None:
    parts, _ = two_pots(world)
    parts.outputs.insert(1, pc.TransactionOutput(wallet("payer"), 2_000_000))
    assert_refused(parts)
    parts, _ = two_pots(world)
    parts.outputs.append(pc.TransactionOutput(wallet("payer"), 2_000_000))  # after the last entry: fine
    assert_accepted(parts)


def test_two_identical_pots_need_two_sets_of_outputs(world: World) -> None:
    datum = pot_datum([(ALICE, 100), (BOB, 70)], M1, VESTING)
    pots = [world.pot("register", [(ALICE, 100), (BOB, 70)], M1, VESTING, datum=datum, index=i) for i in (0, 1)]
    assert_refused(release_parts(world, pots, payouts(world, datum), [M1], NOW))
    assert_accepted(release_parts(world, pots, payouts(world, datum) * 2, [M1], NOW))


def test_pot_tokens_must_equal_its_entries(world: World) -> None:
    for held in (169, 171):  # short, and a surplus the releaser would keep
        assert_refused(one_pot(world, [(ALICE, 100), (BOB, 70)], tokens=held))
    assert_accepted(one_pot(world, [(ALICE, 100), (BOB, 70)], tokens=170))


def test_duplicate_or_unsorted_entries_are_refused(world: World) -> None:
    dup = PotDatum(M1, VESTING, [PotEntry(to_plutus_address(ALICE), 50)] * 2, NoOutputDatum())
    assert_refused(one_pot(world, [(ALICE, 100)], [out(world, ALICE, 50)] * 2, datum=dup))
    ordered = pot_datum([(ALICE, 100), (BOB, 70)], M1, VESTING)
    backwards = PotDatum(M1, VESTING, list(reversed(ordered.entries)), NoOutputDatum())
    assert_refused(one_pot(world, [(ALICE, 100), (BOB, 70)], payouts(world, backwards), datum=backwards))
    assert_accepted(one_pot(world, [(ALICE, 100), (BOB, 70)], payouts(world, ordered), datum=ordered))


def test_entries_are_ordered_by_the_serialised_address_as_on_chain() -> None:
    import uplc

    for a in (ALICE, BOB, wallet("carol", "carol stake"), pc.Address(pc.ScriptHash(bytes(28)), network=pc.Network.TESTNET)):
        data = to_plutus_address(a)
        result = uplc.eval(uplc.parse(f"(program 1.1.0 [(builtin serialiseData) (con data #{data.to_cbor().hex()})])"))
        assert result.result.value == entry_key(data)


def test_non_positive_entries_are_refused(world: World) -> None:
    """A zero or negative entry would let a forged pot offset a real one's sum."""
    for amount in (0, -100):
        datum = PotDatum(M1, VESTING, [PotEntry(to_plutus_address(ALICE), amount)], NoOutputDatum())
        pot = world.pot("register", [], M1, VESTING, datum=datum, tokens=0)
        pot = (pot[0], dataclasses.replace(pot[1], amount=pc.Value(ALLOCATION_LOVELACE)))
        assert_refused(release_parts(world, [pot], [pc.TransactionOutput(ALICE, ALLOCATION_LOVELACE)], [M1], NOW))


def test_a_pot_with_an_empty_milestone_id_is_never_released(world: World) -> None:
    """b"" is the batch's empty cache slot: it must not pass for a verified milestone."""
    forged = pot_datum([(ALICE, 100)], b"", VESTING)
    pot = world.pot("register", [(ALICE, 100)], b"", VESTING, datum=forged)
    assert_refused(release_parts(world, [pot], payouts(world, forged), [M1], NOW))
    assert_accepted(one_pot(world, [(ALICE, 100)]))


def test_alternating_milestones_each_need_their_certificate(world: World) -> None:
    pots, outputs = [], []
    for i, m in enumerate((M1, M2, M1, M2)):
        datum = pot_datum([(ALICE, 10)], m, VESTING)
        pots.append(world.pot("register", [(ALICE, 10)], m, VESTING, datum=datum, index=i))
        outputs += payouts(world, datum)
    assert_accepted(release_parts(world, pots, outputs, [M1, M2], NOW))
    assert_refused(release_parts(world, pots, outputs, [M1], NOW))
    assert_refused(release_parts(world, pots, outputs, [M2], NOW))


def test_a_pot_input_with_a_malformed_datum_blocks_the_release(world: World) -> None:
    parts = two_beneficiaries(world)
    bad = world.pot("junk", [(ALICE, 1)], M1, VESTING)
    garbage = dataclasses.replace(bad[1], datum=SignatureEntry(0, b"", b""))
    parts.inputs.append((bad[0], garbage))
    parts.spend_redeemers[bad[0]] = Forward()
    assert_refused(parts)


def test_forwarder_refuses_a_spend_without_the_batch_withdrawal(world: World) -> None:
    parts = two_beneficiaries(world)
    parts.withdrawals = {}
    parts.withdraw_redeemers = {}
    assert_refused(parts, tag="spend")


def test_forwarder_refuses_a_key_credential_named_like_the_batch_validator(world: World) -> None:
    """The first withdrawal must be the SCRIPT credential B (constructor compared too)."""
    parts = two_beneficiaries(world)
    script_account = next(iter(parts.withdrawals))
    key_account = bytes([script_account[0] & ~0x10]) + script_account[1:]
    parts.withdrawals = {key_account: 0}
    parts.withdraw_redeemers = {}
    assert_refused(parts, tag="spend")


@dataclasses.dataclass
class UnknownAction(pc.PlutusData):
    CONSTR_ID = 2


def test_batch_refuses_a_redeemer_other_than_release_or_reclaim(world: World) -> None:
    """Twins: the same transactions pass with Release (release) and Reclaim (owner after expiry)."""
    release = two_beneficiaries(world)
    reclaim = reclaim_parts(world, world.params.expiry_ms, world.owner_key)
    for parts in (release, reclaim):
        account = next(iter(parts.withdrawals))
        parts.withdraw_redeemers = {account: UnknownAction()}
        assert_refused(parts)


def test_a_utxo_at_the_batch_validator_payment_address_cannot_be_spent(world: World) -> None:
    """The batch script fails for every purpose but the zero withdrawal and stake registration."""
    parts = two_beneficiaries(world)  # accepted without the extra input: test_release_pays_each_...
    locked = pc.Address(pc.ScriptHash(world.scripts.batch_hash), network=pc.Network.TESTNET)
    ref = tx_in("sent to the batch address")
    parts.inputs.append((ref, pc.TransactionOutput(locked, 5_000_000, datum=Reclaim())))
    parts.spend_redeemers[ref] = Reclaim()
    assert_refused(parts, tag="spend")


# ----------------------------------------------------------------------------- reclaim


def reclaim_parts(world: World, now_ms: int, signer: pc.PaymentSigningKey | None) -> TxParts:
    allocation = world.pot("register", [(ALICE, 100)], M1, VESTING)
    parts = release_parts(world, [allocation], [out(world, wallet("owner"), 100)], [], now_ms)
    account = next(iter(parts.withdrawals))
    parts.withdraw_redeemers = {account: Reclaim()}
    parts.required_signers = [key_hash_of(signer)] if signer else []
    return parts


def test_owner_reclaims_after_expiry(world: World) -> None:
    assert_accepted(reclaim_parts(world, world.params.expiry_ms, world.owner_key))


def test_reclaim_before_expiry_is_refused(world: World) -> None:
    assert_refused(reclaim_parts(world, world.params.expiry_ms - 1000, world.owner_key))


def test_reclaim_without_the_owner_is_refused(world: World) -> None:
    assert_refused(reclaim_parts(world, world.params.expiry_ms, None))
    assert_refused(reclaim_parts(world, world.params.expiry_ms, world.oracle_keys[0]))


# ----------------------------------------------------------------------------- certify


def certify_parts(world: World, cert, mint_quantity: int = 1, extra_mint: dict | None = None) -> TxParts:
    policy = world.scripts.certificate_policy_id
    minted = {cert.milestone_id: mint_quantity, **(extra_mint or {})}
    mint = pc.MultiAsset.from_primitive({policy: minted})
    return TxParts(
        inputs=[(tx_in("oracle fee payer"), pc.TransactionOutput(wallet("payer"), 50_000_000))],
        outputs=[pc.TransactionOutput(world.certificate_address, pc.Value(2_000_000, mint), datum=cert)],
        mint=mint,
        mint_redeemers={policy: cert},
        scripts=[world.scripts.certificate_policy],
    )


def test_certificate_mints_with_a_quorum_of_distinct_oracles(world: World) -> None:
    assert_accepted(certify_parts(world, world.sign_certificate(M1, [0, 2, 4])))
    assert_accepted(certify_parts(world, world.sign_certificate(M1, [0, 1, 2, 3, 4])))


def test_certificate_with_quorum_minus_one_is_refused(world: World) -> None:
    assert_refused(certify_parts(world, world.sign_certificate(M1, [0, 2])), tag="mint")


def test_the_same_oracle_twice_counts_once(world: World) -> None:
    cert = world.sign_certificate(M1, [0, 2])
    cert.signatures = [cert.signatures[0], cert.signatures[0], cert.signatures[1]]
    assert_refused(certify_parts(world, cert), tag="mint")


@pytest.mark.parametrize("index", [-1, -5, 5, 6])
def test_an_oracle_index_outside_the_list_is_refused(world: World, index: int) -> None:
    """-1 once read oracle 0's slot (a byte slice clamps a negative start), so a certificate
    could record a wrong index; the twin with the true index passes."""
    cert = world.sign_certificate(M1, [0, 1, 2])
    honest = [e for e in cert.signatures]
    i = next(k for k, e in enumerate(honest) if e.oracle_index == 0)
    forged = list(honest)
    forged[i] = SignatureEntry(index, honest[i].vkey, honest[i].signature)
    assert_refused(certify_parts(world, dataclasses.replace(cert, signatures=forged)), tag="mint")
    assert_accepted(certify_parts(world, dataclasses.replace(cert, signatures=honest)))


def test_a_non_oracle_signature_does_not_count(world: World, other_world: World) -> None:
    cert = world.sign_certificate(M1, [0, 2])
    stranger = other_world.oracle_keys[0]
    message = b"milestones:cert:v1" + world.scripts.certificate_policy_id + M1
    cert.signatures.append(SignatureEntry(1, stranger.to_verification_key().payload, stranger.sign(message)))
    assert_refused(certify_parts(world, cert), tag="mint")


def test_a_signature_over_another_milestone_or_schedule_fails(world: World, other_world: World) -> None:
    other_milestone = world.sign_certificate(M2, [0, 1, 2])
    other_milestone.milestone_id = M1
    assert_refused(certify_parts(world, other_milestone), tag="mint")
    other_schedule = world.sign_certificate(
        M1, [0, 1, 2], policy_id=other_world.scripts.certificate_policy_id
    )
    assert_refused(certify_parts(world, other_schedule), tag="mint")


def test_certificate_for_an_empty_milestone_id_is_refused(world: World) -> None:
    from runner.contract.datums import CertificateDatum

    message = b"milestones:cert:v1" + world.scripts.certificate_policy_id
    entries = sorted(
        (
            SignatureEntry(i, k.to_verification_key().payload, k.sign(message))
            for i, k in enumerate(world.oracle_keys[:3])
        ),
        key=lambda e: key_hash_of_vkey(e.vkey),
    )
    assert_refused(certify_parts(world, CertificateDatum(b"", entries)), tag="mint")


def key_hash_of_vkey(vkey: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(vkey, digest_size=28).digest()


def test_certificate_mint_must_be_exactly_one_token(world: World) -> None:
    cert = world.sign_certificate(M1, [0, 1, 2])
    assert_refused(certify_parts(world, cert, mint_quantity=2), tag="mint")
    assert_refused(certify_parts(world, cert, extra_mint={b"side": 5}), tag="mint")


def test_certificate_output_records_the_signers(world: World) -> None:
    cert = world.sign_certificate(M1, [0, 1, 2])
    parts = certify_parts(world, cert)
    parts.outputs[0] = dataclasses.replace(parts.outputs[0], datum=world.sign_certificate(M1, [0, 1, 3]))
    assert_refused(parts, tag="mint")


def test_certificate_must_be_locked_at_the_policy_address(world: World) -> None:
    parts = certify_parts(world, world.sign_certificate(M1, [0, 1, 2]))
    parts.outputs[0] = dataclasses.replace(parts.outputs[0], address=wallet("mallory"))
    assert_refused(parts, tag="mint")


def test_a_certificate_utxo_cannot_be_spent(world: World) -> None:
    ref, cert_out = world.certificate_utxo(M1)
    parts = TxParts(
        inputs=[(ref, cert_out)],
        outputs=[pc.TransactionOutput(wallet("mallory"), cert_out.amount)],
        spend_redeemers={ref: Forward()},
        scripts=[world.scripts.certificate_policy],
    )
    assert_refused(parts, tag="spend")
