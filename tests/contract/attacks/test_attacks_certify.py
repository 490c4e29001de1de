"""Attacks on CERTIFY (the certificate policy), submitted to the full devnet ledger.

A certificate needs ``quorum`` (3 of 5) valid ed25519 signatures from distinct oracles
over ``b"milestones:cert:v1" || policy id || milestone id``, exactly one token minted,
locked at the certificate address with the signers as its datum.  Every forgery below
has its honest twin accepted by the same ledger.
"""

from __future__ import annotations

from collections.abc import Callable

import pycardano as pc
import pytest

from runner.contract.datums import CertificateDatum, Forward, SignatureEntry, certificate_message, key_hash
from runner.devnet.ledger.ledger import Ledger
from runner.testing.attack_kit import (
    CERT_LOVELACE,
    MILESTONES,
    UNCERTIFIED,
    Draft,
    World,
    address,
    build_world,
    certify,
    key,
    release,
)

NEW = b"m-new"
M1 = MILESTONES[0]
MALLORY = address("mallory")


@pytest.fixture(scope="module")
def world(ledger_factory: Callable[..., Ledger]) -> World:
    return build_world(ledger_factory(wallets=("alice",)), expiry_ms=10**16)



def refused(world: World, draft: Draft, purpose: str = "mint", code: int = 3010, trace: str | None = None) -> None:
    """``trace``: the validator's message, checked when the scripts keep traces (ATTACK_BLUEPRINT=traced)."""
    world.kit.rejected(world.kit.finish(draft), code, purpose if code == 3010 else None, trace)


def accepted(world: World, draft: Draft) -> pc.Transaction:
    tx = world.kit.finish(draft)
    world.kit.accepted(tx)
    return tx


def with_datum(world: World, datum: CertificateDatum, milestone: bytes = NEW) -> Draft:
    """The honest certify transaction carrying ``datum`` as both redeemer and datum."""
    return certify(world, milestone, datum=datum)


def entry(world: World, oracle: int, message: bytes, signer: pc.PaymentSigningKey | None = None) -> SignatureEntry:
    sk = signer or world.oracles[oracle]
    return SignatureEntry(oracle, sk.to_verification_key().payload, sk.sign(message))


def ordered(entries: list[SignatureEntry]) -> list[SignatureEntry]:
    return sorted(entries, key=lambda e: key_hash(e.vkey))


def test_quorum_minus_one_signature(world: World) -> None:
    refused(world, with_datum(world, world.sign_certificate(NEW, [0, 1])), trace="quorum not reached")
    accepted(world, certify(world, NEW, [0, 1, 2]))


def test_a_duplicated_oracle_counts_once(world: World) -> None:
    message = certificate_message(world.schedule.policy_id, NEW)
    two = ordered([entry(world, 0, message), entry(world, 1, message)])
    duplicated = CertificateDatum(NEW, [two[0], two[0], two[1]])
    refused(world, with_datum(world, duplicated), trace="signers not ascending")
    accepted(world, with_datum(world, CertificateDatum(NEW, ordered([*two, entry(world, 2, message)]))))


def test_a_non_oracle_key_does_not_count(world: World) -> None:
    message = certificate_message(world.schedule.policy_id, NEW)
    intruder = entry(world, 3, message, signer=key("not an oracle"))  # claims oracle #3's slot
    refused(world, with_datum(world, CertificateDatum(NEW, ordered([entry(world, 0, message),
                                                                    entry(world, 1, message), intruder]))), trace="not an oracle")
    accepted(world, with_datum(world, CertificateDatum(NEW, ordered([entry(world, 0, message),
                                                                     entry(world, 1, message),
                                                                     entry(world, 3, message)]))))


def test_signatures_over_another_milestone(world: World) -> None:
    forged = world.sign_certificate(NEW, [0, 1, 2], message_for=(world.schedule.policy_id, M1))
    refused(world, with_datum(world, forged), trace="bad signature")
    accepted(world, certify(world, NEW))


def test_signatures_for_another_schedule(world: World) -> None:
    forged = world.sign_certificate(NEW, [0, 1, 2], message_for=(world.other.policy_id, NEW))
    refused(world, with_datum(world, forged), trace="bad signature")
    # ...while the same oracles CAN certify NEW for the other schedule with its own message
    accepted(world, certify(world, NEW, schedule=world.other))
    accepted(world, certify(world, NEW))


def test_a_tampered_signature_or_message(world: World) -> None:
    honest = world.sign_certificate(NEW, [0, 1, 2])
    flipped = honest.signatures[1].signature
    flipped = flipped[:10] + bytes([flipped[10] ^ 1]) + flipped[11:]
    tampered = CertificateDatum(NEW, [honest.signatures[0],
                                      SignatureEntry(honest.signatures[1].oracle_index, honest.signatures[1].vkey,
                                                     flipped), honest.signatures[2]])
    refused(world, with_datum(world, tampered), trace="bad signature")
    other_tag = b"milestones:cert:v2" + world.schedule.policy_id + NEW
    refused(world, with_datum(world, CertificateDatum(NEW, ordered([entry(world, i, other_tag) for i in (0, 1, 2)]))), trace="bad signature")
    accepted(world, with_datum(world, honest))


def test_minting_two_certificate_tokens_or_a_second_name(world: World) -> None:
    policy = world.schedule.policy_id
    two = certify(world, NEW)
    two.mint = pc.MultiAsset.from_primitive({policy: {NEW: 2}})
    two.outputs[0].amount = pc.Value(two.outputs[0].amount.coin, two.mint)
    refused(world, two, trace="exactly one token")
    second_name = certify(world, NEW)
    second_name.mint = pc.MultiAsset.from_primitive({policy: {NEW: 1, b"m-side": 1}})
    second_name.outputs.append(pc.TransactionOutput(MALLORY, pc.Value(
        CERT_LOVELACE, pc.MultiAsset.from_primitive({policy: {b"m-side": 1}}))))
    refused(world, second_name, trace="mints other tokens")
    accepted(world, certify(world, NEW))


def test_the_certificate_must_be_locked_with_its_signers(world: World) -> None:
    stolen = certify(world, NEW)
    stolen.outputs[0] = pc.TransactionOutput(MALLORY, stolen.outputs[0].amount)  # token to an attacker
    refused(world, stolen)
    staked = certify(world, NEW)  # certificate address with a stake credential: not the home
    home = world.schedule.certificate_address
    staked.outputs[0] = pc.TransactionOutput(pc.Address(home.payment_part, key("mallory").to_verification_key().hash(),
                                                        network=home.network),
                                             staked.outputs[0].amount + pc.Value(500_000), datum=staked.outputs[0].datum)
    refused(world, staked)
    other_record = certify(world, NEW)  # datum does not record the signers of the redeemer
    other_record.outputs[0].datum = world.sign_certificate(NEW, [2, 3, 4])
    refused(world, other_record, trace="datum must record the signers")
    accepted(world, certify(world, NEW))


def test_certificates_and_deployed_scripts_can_never_be_spent(world: World) -> None:
    for ref in (world.schedule.certificates[M1], world.schedule.script_refs["batch_release"]):
        draft = Draft(inputs=[ref, *world.kit.payer_utxos()[:1]],
                      reference_inputs=[world.schedule.script_refs["certificate_policy"]],
                      spend={ref: Forward()}, signers=[world.kit.payer], change_address=MALLORY)
        refused(world, draft, purpose="spend", trace="cert: mint only")
    accepted(world, certify(world, NEW))


# ----------------------------------------------------------------------- during a release


def _release_with_mint(world: World, mint: dict[bytes, int], to: pc.Address | None = None) -> Draft:
    """A release of (b0, m1) that also mints under the certificate policy."""
    policy = world.schedule.policy_id
    draft = release(world, [world.schedule.find(0, M1)])
    cert = certify(world, NEW)
    draft.mint = pc.MultiAsset.from_primitive({policy: mint})
    draft.mints = dict(cert.mints)
    draft.reference_inputs.append(world.schedule.script_refs["certificate_policy"])
    locked = cert.outputs[0]
    draft.outputs.append(pc.TransactionOutput(to or locked.address, pc.Value(locked.amount.coin, draft.mint),
                                              datum=locked.datum))
    return draft


def test_extra_certificates_minted_during_a_release(world: World) -> None:
    refused(world, _release_with_mint(world, {NEW: 2}), trace="exactly one token")
    refused(world, _release_with_mint(world, {NEW: 1, b"m-side": 1}), trace="mints other tokens")
    refused(world, _release_with_mint(world, {NEW: 1}, to=MALLORY))
    refused(world, _release_with_mint(world, {M1: 1}), trace="wrong token name")  # redeemer certifies NEW, token says m1
    accepted(world, _release_with_mint(world, {NEW: 1}))  # a quorum-signed certificate is fine


def test_the_batch_stake_credential_is_registered_and_cannot_be_deregistered(world: World) -> None:
    s = world.schedule
    assert f"script:{s.scripts.batch_hash.hex()}" in world.ledger.stake_accounts
    deposit = world.ledger.params.key_deposit
    cert = pc.StakeDeregistrationConway(pc.StakeCredential(pc.ScriptHash(s.scripts.batch_hash)), deposit)
    draft = Draft(inputs=world.kit.payer_utxos()[:1], certificates=[cert], deposits=-deposit,
                  reference_inputs=[s.script_refs["batch_release"]], publish={0: Forward()},
                  signers=[world.kit.payer])
    refused(world, draft, purpose="publish", trace="only stake registration")
    accepted(world, release(world, [s.find(0, M1)]))  # and the batch keeps working


def test_a_certificate_minted_in_the_release_transaction_does_not_count(world: World) -> None:
    """The release needs the certificate as a reference input, i.e. minted BEFORE."""
    never = world.schedule.find(0, UNCERTIFIED)
    draft = release(world, [never], certificates=[])
    cert = certify(world, UNCERTIFIED)
    draft.mint, draft.mints = cert.mint, dict(cert.mints)
    draft.reference_inputs.append(world.schedule.script_refs["certificate_policy"])
    draft.outputs.append(cert.outputs[0])
    refused(world, draft, purpose="withdraw", trace="not certified")
    certified = world.kit.finish(certify(world, UNCERTIFIED))
    world.kit.accepted(certified)
    world.schedule.certificates[UNCERTIFIED] = pc.TransactionInput(certified.id, 0)
    try:
        accepted(world, release(world, [never]))
    finally:
        del world.schedule.certificates[UNCERTIFIED]


def test_no_tokens_can_be_minted_under_the_forwarders_policy_during_a_release(world: World) -> None:
    s = world.schedule
    forwarder = s.scripts.forwarder_hash
    draft = release(world, [s.find(0, M1)])
    draft.mint = pc.MultiAsset.from_primitive({forwarder: {b"ALLOCATION": 1_000_000}})
    draft.mints = {forwarder: Forward()}
    draft.outputs.append(pc.TransactionOutput(MALLORY, pc.Value(2_000_000, draft.mint)))
    refused(world, draft, purpose="mint")
