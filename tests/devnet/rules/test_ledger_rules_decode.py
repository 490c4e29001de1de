"""Conway CDDL constraints enforced at decode time: each refusal (-32602, as Ogmios answers
a transaction a node cannot decode) and its accepted twin, which differs in that one thing.

pycardano refuses to *encode* some of these (a negative quantity), so those transactions
are written as raw CBOR here (``RawTx``), exactly balanced and signed like ``HandTx``'s.
"""

from __future__ import annotations

import hashlib
from typing import Any

import cbor2
import pytest
from pycardano import (
    Address,
    Asset,
    AssetName,
    DRep,
    DRepKind,
    MultiAsset,
    Network,
    StakeCredential,
    StakeRegistration,
    TransactionOutput,
    Value,
    VoteDelegation,
)

from runner.devnet.ledger.genesis import faucet_policy
from runner.errors import LedgerRejection, UserInputError
from runner.testing.ledger import accepted, rejected

DECODE = -32602


class RawTx:
    """Transactions as plain CBOR structures: anything the CDDL allows or forbids."""

    def __init__(self, hand: Any) -> None:
        self.hand = hand
        self.faucet = hand.w("faucet")
        self.policy = faucet_policy(self.faucet)
        self.policy_id = self.policy.hash().payload

    def addr(self, name: str) -> bytes:
        return bytes(self.hand.w(name).address.to_primitive())

    def encode(self, body: dict[int, Any], keys: list[Any], witness: dict[int, Any] | None = None) -> bytes:
        body_raw = cbor2.dumps(body)
        digest = hashlib.blake2b(body_raw, digest_size=32).digest()
        wits: dict[int, Any] = {0: [[k.to_verification_key().payload, k.sign(digest)] for k in keys]}
        wits.update(witness or {})
        return b"\x84" + body_raw + cbor2.dumps(wits) + b"\xf5\xf6"

    def build(self, outputs: list[Any], *, change_assets: dict[bytes, dict[bytes, int]] | None = None,
              mint: dict[bytes, dict[bytes, int]] | None = None, sender: str = "alice",
              extra: dict[int, Any] | None = None, witness: dict[int, Any] | None = None,
              withheld: int = 0) -> bytes:
        """Spend the sender's first UTxO; the change (last output) takes the rest at the exact
        min fee, less ``withheld`` (a donation or a deposit)."""
        ref, out = self.hand.utxos(sender)[0]
        keys = [self.hand.w(sender).signing_key]
        wit = dict(witness or {})
        if mint is not None:
            keys.append(self.faucet.signing_key)
            wit[1] = [cbor2.loads(self.policy.to_cbor())]
        spent_coin = out.amount.coin - sum(o[1] if isinstance(o[1], int) else o[1][0] for o in outputs)
        fee = 0
        for _ in range(5):
            change_coin = spent_coin - fee - withheld
            change = [change_coin, change_assets] if change_assets else change_coin
            body: dict[int, Any] = {0: [[ref.transaction_id.payload, ref.index]],
                                    1: [*outputs, [self.addr(sender), change]], 2: fee}
            if mint is not None:
                body[9] = mint
            body.update(extra or {})
            raw = self.encode(body, keys, wit)
            needed = self.hand.min_fee(len(raw) - 1)
            if fee >= needed:
                return raw
            fee = needed
        raise AssertionError("fee did not converge")


@pytest.fixture
def raw(hand: Any) -> RawTx:
    return RawTx(hand)


def refused(ledger: Any, tx: Any, fragment: str) -> LedgerRejection:
    error = rejected(ledger, tx, DECODE)
    assert fragment in error.data["conway"], error.data["conway"]
    assert ledger.mempool == []
    return error


def taken(ledger: Any, raw_tx: bytes) -> None:
    tx_id = ledger.submit(raw_tx)
    assert ledger.has_transaction(tx_id)


# --- sets without repeats ----------------------------------------------------------------


def test_the_same_input_listed_twice_is_refused_and_creates_nothing(ledger, hand):
    first = hand.utxos("alice")[:1]
    doubled = hand.build(first + first, [], [hand.w("alice")])  # counted twice: would create value
    refused(ledger, doubled, "field 0 (inputs)")
    accepted(ledger, hand.build(first, [], [hand.w("alice")]))


def test_a_tagged_input_set_with_a_repeat_is_refused(ledger, raw):
    ref, _ = raw.hand.utxos("alice")[0]
    one = [ref.transaction_id.payload, ref.index]
    bob = [raw.addr("bob"), 2_000_000]
    twice = raw.build([bob], extra={0: cbor2.CBORTag(258, [one, one])})
    refused(ledger, twice, "appears twice")
    taken(ledger, raw.build([bob], extra={0: cbor2.CBORTag(258, [one])}))


def test_the_same_input_in_two_encodings_is_still_a_repeat(ledger, raw):
    ref, _ = raw.hand.utxos("alice")[0]
    canonical = cbor2.dumps([ref.transaction_id.payload, ref.index])
    assert ref.index == 0
    long_form = canonical[:-1] + b"\x18\x00"  # index 0 written as a one-byte argument
    body = cbor2.dumps({0: [], 1: [], 2: 0})
    patched = body.replace(b"\x00\x80", b"\x00\x82" + canonical + long_form, 1)
    tx = b"\x84" + patched + cbor2.dumps({}) + b"\xf5\xf6"
    refused(ledger, tx, "field 0 (inputs)")


def test_a_reference_input_listed_twice_is_refused(ledger, hand):
    other = hand.utxos("bob")[0][0]
    refused(ledger, hand.pay(reference_inputs=[other, other]), "field 18 (reference inputs)")
    accepted(ledger, hand.pay(reference_inputs=[other]))


def test_a_collateral_input_listed_twice_is_refused(ledger, hand):
    second = hand.utxos("alice")[1][0]
    refused(ledger, hand.pay(collateral=[second, second]), "field 13 (collateral inputs)")
    accepted(ledger, hand.pay(collateral=[second]))


def test_a_required_signer_listed_twice_is_refused(ledger, hand):
    bob = hand.w("bob").verification_key.hash()
    signers = [hand.w("alice"), hand.w("bob")]
    refused(ledger, hand.pay(required_signers=[bob, bob], signers=signers), "field 14 (required signers)")
    accepted(ledger, hand.pay(required_signers=[bob], signers=signers))


def test_a_certificate_listed_twice_is_refused_before_any_rule(ledger, hand):
    cred = StakeCredential(hand.w("alice").stake_verification_key.hash())
    alice = hand.w("alice")

    def register(certs, deposit):
        return hand.build(hand.utxos("alice")[:1], [], [alice], certificates=certs, adjust=-deposit)

    refused(ledger, register([StakeRegistration(cred)] * 2, 4_000_000), "field 4 (certificates)")
    accepted(ledger, register([StakeRegistration(cred)], 2_000_000))


def test_a_vkey_witness_given_twice_is_tolerated_as_conway_does(ledger, hand):
    """Before protocol 12 the ledger drops a repeated vkey witness instead of refusing it
    (cardano-ledger #4698/#5908); the repeat still counts in the size, so in the fee."""
    alice = hand.w("alice")
    accepted(ledger, hand.pay(signers=[alice, alice]))


def test_a_plutus_script_given_twice_in_the_witness_set_is_refused(ledger, hand):
    from pycardano import RedeemerTag

    from runner.testing.ledger import ALWAYS_SUCCEEDS, redeemer

    locked = hand.lock(ALWAYS_SUCCEEDS)
    alice = hand.w("alice")

    def spend(scripts):
        witness = {"redeemer": [redeemer(RedeemerTag.SPEND, 0)], "plutus_v3_script": scripts}
        return hand.build([(locked, ledger.utxo[locked])], [], [alice], change_to=alice.address,
                          collateral=[hand.utxos("alice")[0][0]], witness=witness, integrity=True)

    refused(ledger, spend([ALWAYS_SUCCEEDS, ALWAYS_SUCCEEDS]), "witness set field 7 (Plutus V3 scripts)")
    accepted(ledger, spend([ALWAYS_SUCCEEDS]))


def test_a_mir_certificate_does_not_decode_in_conway(ledger, raw):
    mir = [6, [0, 5_000_000]]  # move 5 ADA from the reserves to the treasury
    refused(ledger, raw.build([[raw.addr("bob"), 2_000_000]], extra={4: [mir]}), "MIR")
    cred = [0, raw.hand.w("alice").stake_verification_key.hash().payload]
    taken(ledger, raw.build([[raw.addr("bob"), 2_000_000]], extra={4: [[0, cred]]}, withheld=2_000_000))


# --- non-empty optional fields -------------------------------------------------------------


@pytest.mark.parametrize("field, name", [
    ("reference_inputs", "field 18 (reference inputs)"),
    ("collateral", "field 13 (collateral inputs)"),
    ("required_signers", "field 14 (required signers)"),
    ("certificates", "field 4 (certificates)"),
])
def test_an_empty_optional_set_is_refused(ledger, hand, field, name):
    refused(ledger, hand.pay(**{field: []}), f"{name} is present but empty")
    accepted(ledger, hand.pay(**{field: None}))


def test_an_empty_withdrawal_map_and_an_empty_mint_are_refused(ledger, raw):
    bob = [raw.addr("bob"), 2_000_000]
    refused(ledger, raw.build([bob], extra={5: {}}), "field 5 (withdrawals) is present but empty")
    refused(ledger, raw.build([bob], mint={}), "field 9 (mint) is present but empty")
    taken(ledger, raw.build([bob]))


# --- quantities and coins ------------------------------------------------------------------


def test_a_negative_token_quantity_in_an_output_is_refused(ledger, raw):
    """The change holds -5 tokens, so bob's 10 balance against a mint of 5: value out of nothing."""
    pid = raw.policy_id
    forged = raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 10}}]]], mint={pid: {b"T": 5}},
                       change_assets={pid: {b"T": -5}})
    refused(ledger, forged, "must be positive, got -5")
    taken(ledger, raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 5}}]]], mint={pid: {b"T": 5}}))


def test_a_zero_token_quantity_in_an_output_is_refused(ledger, raw):
    pid = raw.policy_id
    zero = raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 5, b"U": 0}}]]], mint={pid: {b"T": 5}})
    refused(ledger, zero, "must be positive, got 0")
    taken(ledger, raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 5}}]]], mint={pid: {b"T": 5}}))


def test_an_empty_asset_map_in_an_output_is_refused(ledger, raw):
    pid = raw.policy_id
    refused(ledger, raw.build([[raw.addr("bob"), [2_000_000, {pid: {}}]]]), "empty asset map")
    taken(ledger, raw.build([[raw.addr("bob"), [2_000_000, {}]]]))


def test_a_zero_mint_quantity_is_refused_and_a_burn_is_not(ledger, raw):
    pid = raw.policy_id
    refused(ledger, raw.build([], mint={pid: {b"T": 0}}), "mint quantity must be non-zero")
    taken(ledger, raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 3}}]]], mint={pid: {b"T": 3}}))
    ref = next(r for r, o in ledger.utxos_at(raw.hand.w("bob").address) if o.amount.multi_asset)
    out, fee = ledger.utxo[ref], 400_000
    burn = {0: [[ref.transaction_id.payload, ref.index]],
            1: [[raw.addr("bob"), out.amount.coin - fee]], 2: fee, 9: {pid: {b"T": -3}}}
    keys = [raw.hand.w("bob").signing_key, raw.faucet.signing_key]
    taken(ledger, raw.encode(burn, keys, {1: [cbor2.loads(raw.policy.to_cbor())]}))


def test_a_negative_coin_in_an_output_is_refused(ledger, raw):
    refused(ledger, raw.build([[raw.addr("bob"), -1]]), "expected an unsigned 64-bit amount")
    taken(ledger, raw.build([[raw.addr("bob"), 1_000_000]]))


def test_a_negative_fee_is_refused(ledger, raw):
    body = {0: [[b"\x01" * 32, 0]], 1: [], 2: -1}
    refused(ledger, raw.encode(body, [raw.hand.w("alice").signing_key]), "field 2 (fee)")
    body[2] = 1  # the twin decodes, and meets the ledger rules (an unknown input)
    rejected(ledger, raw.encode(body, [raw.hand.w("alice").signing_key]), 3117)


def test_a_zero_donation_is_refused_and_a_positive_one_accepted(ledger, raw):
    bob = [raw.addr("bob"), 2_000_000]
    refused(ledger, raw.build([bob], extra={22: 0}), "donation")
    taken(ledger, raw.build([bob], extra={22: 1}, withheld=1))


# --- output addresses --------------------------------------------------------------------


def test_an_output_at_a_reward_address_is_refused(ledger, raw):
    stake = Address(staking_part=raw.hand.w("bob").stake_verification_key.hash(), network=Network.TESTNET)
    refused(ledger, raw.build([[bytes(stake.to_primitive()), 2_000_000]]), "reward (stake) address")
    taken(ledger, raw.build([[raw.addr("bob"), 2_000_000]]))


def test_funding_a_reward_address_is_refused_and_changes_nothing(ledger, hand):
    stake = Address(staking_part=hand.w("bob").stake_verification_key.hash(), network=Network.TESTNET)
    before, tip = dict(ledger.utxo), ledger.tip
    with pytest.raises(UserInputError, match="reward \\(stake\\) address"):
        ledger.fund(str(stake), 5_000_000)
    assert dict(ledger.utxo) == before and ledger.tip == tip
    ref = ledger.fund(str(hand.w("bob").address), 5_000_000)
    assert ledger.utxo[ref].amount.coin == 5_000_000


def test_funding_a_non_positive_token_quantity_is_refused(ledger, hand):
    with pytest.raises(UserInputError, match="not positive"):
        ledger.fund(hand.w("bob").address, 5_000_000, {"T": 0})
    ref = ledger.fund(hand.w("bob").address, 5_000_000, {"T": 1})
    assert ledger.utxo[ref].amount.multi_asset


def test_pycardano_objects_with_tokens_still_decode(ledger, hand):
    """The checks read the submitted bytes: an ordinary multi-asset output is untouched."""
    faucet = hand.w("faucet")
    policy = faucet_policy(faucet)
    minted = MultiAsset({policy.hash(): Asset({AssetName(b"T"): 5})})
    out = TransactionOutput(hand.w("bob").address, Value(2_000_000, minted))
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [out], [hand.w("alice"), faucet], mint=minted,
                                witness={"native_scripts": [policy]}))
    cred = StakeCredential(hand.w("alice").stake_verification_key.hash())
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                                certificates=[StakeRegistration(cred)], adjust=-2_000_000))
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice"), hand.w("alice").stake_signing_key],
                                certificates=[VoteDelegation(cred, DRep(DRepKind.ALWAYS_ABSTAIN))]))


# --- maps without repeated keys ------------------------------------------------------------


def _with_repeated_key(encoded_map: bytes, key_and_value: bytes) -> bytes:
    """A definite map with one more (repeated) entry appended; cbor2 cannot write one."""
    head = encoded_map[0]
    assert 0xA0 <= head < 0xB7, "a small definite map"
    return bytes([head + 1]) + encoded_map[1:] + key_and_value


def test_a_body_field_given_twice_is_refused(ledger, raw):
    honest = raw.build([[raw.addr("bob"), 2_000_000]])
    body = cbor2.loads(honest[1:])  # the first item after the array head: the body
    keys = [raw.hand.w("alice").signing_key]
    twice = _with_repeated_key(cbor2.dumps(body), cbor2.dumps(2) + cbor2.dumps(body[2] + 1))
    digest = hashlib.blake2b(twice, digest_size=32).digest()
    wits = cbor2.dumps({0: [[k.to_verification_key().payload, k.sign(digest)] for k in keys]})
    refused(ledger, b"\x84" + twice + wits + b"\xf5\xf6", "transaction body: key 2 appears twice")
    taken(ledger, honest)


def test_a_policy_given_twice_in_the_mint_is_refused(ledger, raw):
    pid = raw.policy_id
    honest_mint = cbor2.dumps({pid: {b"T": 5}})
    doubled = _with_repeated_key(honest_mint, cbor2.dumps(pid) + cbor2.dumps({b"U": 1}))
    body = {0: [[b"\x01" * 32, 0]], 1: [], 2: 0}
    encoded = cbor2.dumps(body)
    patched = bytes([encoded[0] + 1]) + encoded[1:] + cbor2.dumps(9) + doubled
    tx = b"\x84" + patched + cbor2.dumps({}) + b"\xf5\xf6"
    refused(ledger, tx, "mint: key " + pid.hex() + " appears twice")
    taken(ledger, raw.build([[raw.addr("bob"), [2_000_000, {pid: {b"T": 5}}]]], mint={pid: {b"T": 5}}))


def test_an_output_map_without_an_address_is_refused_not_a_crash(ledger, raw):
    refused(ledger, raw.build([{1: 2_000_000}]), "malformed")
    taken(ledger, raw.build([{0: raw.addr("bob"), 1: 2_000_000}]))


def test_mutated_bytes_are_refused_with_a_ledger_code_never_a_crash(ledger, hand):
    """300 deterministic 1-3 byte mutations of an honest payment: each is refused with a
    LedgerRejection (or is the honest bytes again); nothing else escapes, nothing changes."""
    import random

    honest = bytes(hand.pay().to_cbor())
    rng = random.Random(2026)
    before = dict(ledger.utxo)
    for _ in range(300):
        mutated = bytearray(honest)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if bytes(mutated) == honest:
            continue
        with pytest.raises(LedgerRejection):
            ledger.submit(bytes(mutated))
    assert dict(ledger.utxo) == before


# --- Plutus data: byte strings of at most 64 bytes -------------------------------------------


def test_an_inline_datum_with_a_65_byte_string_does_not_decode(ledger, raw):
    def with_datum(data):
        inline = [1, cbor2.CBORTag(24, cbor2.dumps(data))]
        return raw.build([{0: raw.addr("bob"), 1: 2_000_000, 2: inline}])

    refused(ledger, with_datum(b"\x07" * 65), "output #0 inline datum: Plutus data holds a 65-byte string")
    taken(ledger, with_datum([b"\x07" * 64, b"\x07"]))  # the same bytes, written within the bound


def test_a_witness_datum_with_a_65_byte_string_does_not_decode(ledger, raw):
    bob = [raw.addr("bob"), 2_000_000]
    refused(ledger, raw.build([bob], witness={4: [b"\x07" * 65]}), "witness set field 4 (datums)")
    # 64 bytes decode; the datum is then refused by the ledger rule, as nothing needs it
    rejected(ledger, raw.build([bob], witness={4: [b"\x07" * 64]}), 3112)


def test_chunked_byte_strings_in_plutus_data_decode(ledger, raw):
    chunked = b"\x5f" + cbor2.dumps(b"\x07" * 64) + cbor2.dumps(b"\x07") + b"\xff"  # 65 bytes in 2 chunks
    inline = [1, cbor2.CBORTag(24, chunked)]
    taken(ledger, raw.build([{0: raw.addr("bob"), 1: 2_000_000, 2: inline}]))
