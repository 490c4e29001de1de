"""Devnet ledger state: deterministic genesis, faucet, persistence, rollback, time, blocks,
protocol parameters and UTxO files."""

from __future__ import annotations

import json

import pytest
from pycardano import (
    AssetName,
    Network,
    StakeCredential,
    StakeRegistration,
    Transaction,
    TransactionInput,
)

from runner.devnet.ledger.clock import SlotConfig, era_summaries
from runner.devnet.ledger.genesis import derive_wallet, faucet_policy_id
from runner.devnet.ledger.json_codec import utxo_entry
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.ledger.params import LedgerParams
from runner.devnet.storage.store import load_ledger
from runner.errors import ConfigError, LedgerRejection, StateError, UserInputError
from runner.testing.ledger import (
    ALWAYS_SUCCEEDS,
    HandTx,
    accepted,
    assert_ogmios_shape,
    rejected,
    script_address,
)


def _balance(ledger, name):
    return sum(o.amount.coin for _, o in ledger.utxos_at(ledger.wallet(name).address))


# --- genesis ---------------------------------------------------------------------------


def test_same_seed_gives_same_keys_utxos_and_transaction_ids(ledger_factory):
    one, two = ledger_factory(seed="s1"), ledger_factory(seed="s1")
    assert one.wallet("alice").address == two.wallet("alice").address
    assert dict(one.utxo) == dict(two.utxo) and one.tip == two.tip
    assert one.fund(one.wallet("bob").address, 3_000_000) == two.fund(two.wallet("bob").address, 3_000_000)
    assert one.tip == two.tip


def test_different_seeds_or_names_give_different_keys(ledger_factory):
    assert derive_wallet("s1", "alice").address != derive_wallet("s2", "alice").address
    assert derive_wallet("s1", "alice").address != derive_wallet("s1", "bob").address
    assert ledger_factory(seed="s1").tip != ledger_factory(seed="s2").tip


def test_every_wallet_has_several_utxos_and_the_faucet_exists(ledger_factory):
    ledger = ledger_factory(wallets=("alice", "bob"), initial_lovelace=50_000_000_000, utxos_per_wallet=4)
    for name in ("alice", "bob"):
        assert len(ledger.utxos_at(ledger.wallet(name).address)) == 4
        assert _balance(ledger, name) == 50_000_000_000
    assert _balance(ledger, "faucet") > 0
    assert "signing" not in repr(ledger.wallet("alice")).lower()


def test_fund_is_a_real_signed_faucet_transaction(ledger):
    carol = ledger.wallet("carol")
    faucet_before = _balance(ledger, "faucet")
    ref = ledger.fund(carol.address, 7_000_000, {"GOLD": 3})
    out = ledger.utxo[ref]
    assert out.address == carol.address and out.amount.coin == 7_000_000
    assert out.amount.multi_asset[faucet_policy_id(ledger.wallet("faucet"))][AssetName(b"GOLD")] == 3
    [applied] = ledger.blocks[-1].txs
    tx = Transaction.from_cbor(applied.cbor)
    assert ledger.has_transaction(applied.tx_id)
    [witness] = tx.transaction_witness_set.vkey_witnesses
    assert witness.vkey.hash() == ledger.wallet("faucet").verification_key.hash()
    assert _balance(ledger, "faucet") == faucet_before - 7_000_000 - tx.transaction_body.fee


def test_fund_below_min_utxo_is_refused_by_the_ledger(ledger):
    with pytest.raises(LedgerRejection) as info:
        ledger.fund(ledger.wallet("carol").address, 100_000)
    assert info.value.ogmios_code == 3125


# --- persistence -------------------------------------------------------------------------


def test_save_and_load_round_trip_and_both_continue_identically(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path)
    hand = HandTx(ledger)
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                                certificates=[StakeRegistration(StakeCredential(script_address(ALWAYS_SUCCEEDS).payment_part))],
                                adjust=-2_000_000))
    hand.lock(ALWAYS_SUCCEEDS, datum=42, script_ref=ALWAYS_SUCCEEDS)
    ledger.advance_slots(50)
    loaded = load_ledger(tmp_path)
    assert dict(loaded.utxo) == dict(ledger.utxo)
    assert loaded.tip == ledger.tip and loaded.current_slot == ledger.current_slot
    assert dict(loaded.stake_accounts) == dict(ledger.stake_accounts)
    assert loaded.index == ledger.index and loaded.params == ledger.params
    tx = HandTx(ledger).pay("bob", "carol")
    assert ledger.submit(tx) == loaded.submit(tx) and ledger.tip == loaded.tip


def test_every_change_is_saved_atomically_when_a_data_dir_is_set(ledger_factory, tmp_path):
    ledger = ledger_factory(data_dir=tmp_path)
    ledger.fund(ledger.wallet("bob").address, 2_000_000)
    assert load_ledger(tmp_path).tip == ledger.tip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.cbor", "ledger.log"]  # no temp file left


def test_loading_a_directory_without_state_is_a_state_error(tmp_path):
    with pytest.raises(StateError):
        load_ledger(tmp_path)
    (tmp_path / "ledger.cbor").write_bytes(b"\xff\x00garbage")
    with pytest.raises(StateError):
        load_ledger(tmp_path)


def test_reset_returns_to_genesis(ledger, hand):
    genesis_utxo, genesis_tip = dict(ledger.utxo), ledger.tip
    accepted(ledger, hand.pay())
    ledger.reset()
    assert dict(ledger.utxo) == genesis_utxo and ledger.tip == genesis_tip and ledger.current_slot == 0


# --- rollback ----------------------------------------------------------------------------


def test_rollback_restores_the_utxo_set_exactly_and_forgets_the_transactions(ledger, hand):
    accepted(ledger, hand.pay("alice", "bob"))
    snapshot, tip = dict(ledger.utxo), ledger.tip
    ids = [accepted(ledger, hand.pay("bob", "carol")), accepted(ledger, hand.pay("carol", "alice"))]
    ledger.rollback(2, to_mempool=False)
    assert dict(ledger.utxo) == snapshot and ledger.tip == tip
    assert not any(ledger.has_transaction(i) or ledger.in_mempool(i) for i in ids)


def test_rollback_to_mempool_keeps_the_transactions_pending_until_the_next_block(ledger, hand):
    first = hand.pay("bob", "carol")
    accepted(ledger, first)
    height = ledger.tip.height
    kept = ledger.rollback(1, to_mempool=True)
    assert kept == [str(first.id)] and ledger.in_mempool(kept[0]) and not ledger.has_transaction(kept[0])
    assert TransactionInput(first.id, 0) in ledger.utxo  # mempool state is applied
    ledger.tick()
    assert ledger.has_transaction(kept[0]) and ledger.tip.height == height


def test_rollback_undoes_stake_registrations(ledger, hand):
    cred = StakeCredential(script_address(ALWAYS_SUCCEEDS).payment_part)
    accepted(ledger, hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                                certificates=[StakeRegistration(cred)], adjust=-2_000_000))
    assert ledger.stake_accounts
    ledger.rollback(1)
    assert not ledger.stake_accounts


def test_a_rolled_back_spend_frees_its_inputs_for_another_transaction(ledger, hand):
    first = hand.pay("alice", "bob", 2_000_000)
    double = hand.pay("alice", "carol", 3_000_000)  # same input
    accepted(ledger, first)
    rejected(ledger, double, 3117)
    ledger.rollback(1)
    accepted(ledger, double)


def test_genesis_cannot_be_rolled_back(ledger, hand):
    accepted(ledger, hand.pay())
    with pytest.raises(UserInputError):
        ledger.rollback(2)


# --- time and blocks -----------------------------------------------------------------------


def test_time_travel_makes_a_future_validity_interval_valid(ledger, hand):
    tx = hand.pay(validity_start=1000, ttl=1100)
    rejected(ledger, tx, 3118)
    ledger.advance_slots(1000)
    accepted(ledger, tx)
    assert ledger.tip.slot == 1000


def test_advance_to_posix_ms_uses_the_slot_config(ledger_factory):
    ledger = ledger_factory(slot_config=SlotConfig(system_start_ms=1_700_000_000_000, slot_length_ms=200))
    assert ledger.advance_to_posix_ms(1_700_000_001_000) == 5
    assert ledger.advance_to_posix_ms(1_700_000_000_000) == 5  # never backwards
    assert ledger.slot_config.slot_to_posix_ms(5) == 1_700_000_001_000
    with pytest.raises(UserInputError):
        ledger.advance_slots(-1)


def test_each_block_takes_its_own_slot(ledger, hand):
    accepted(ledger, hand.pay("alice", "bob"))
    accepted(ledger, hand.pay("bob", "carol"))
    assert [b.slot for b in ledger.blocks] == [0, 1, 2]
    assert len({b.block_hash for b in ledger.blocks}) == 3


def test_in_tick_mode_blocks_form_only_on_tick(ledger_factory):
    ledger = ledger_factory(block_mode="tick")
    hand = HandTx(ledger)
    tx_id = ledger.submit(hand.pay("alice", "bob"))
    assert ledger.in_mempool(tx_id) and not ledger.has_transaction(tx_id) and ledger.tip.height == 0
    ledger.advance_slots(20)
    tip = ledger.tick()
    assert ledger.has_transaction(tx_id) and tip.slot == 20 and tip.height == 1
    assert ledger.tick().height == 2 and ledger.blocks[-1].txs == []


def test_era_summaries_have_seven_eras_in_ogmios_shape():
    from jsonschema import Draft7Validator

    from runner.testing.ledger import _ogmios_registry

    config = SlotConfig(system_start_ms=0, slot_length_ms=1000, epoch_length=86_400)
    summaries = era_summaries(config)
    assert len(summaries) == 7 and all("end" in s for s in summaries)
    assert summaries[-1]["end"]["slot"] > 0 and summaries[-1]["parameters"]["epochLength"] == 86_400
    validator = Draft7Validator({"$ref": "cardano.json#/definitions/EraSummary"}, registry=_ogmios_registry())
    for summary in summaries:
        assert not list(validator.iter_errors(summary))
    conway = summaries[-1]
    slot = 3 * 86_400 + 5  # hard-fork arithmetic over the summaries agrees with the clock
    assert conway["start"]["epoch"] + (slot - conway["start"]["slot"]) // 86_400 == config.epoch_of_slot(slot) == 4


# --- parameters and files ------------------------------------------------------------------


def test_mainnet_616_parameters_are_the_default_and_exact():
    params = LedgerParams.mainnet()
    assert (params.min_fee_a, params.min_fee_b, params.coins_per_utxo_byte) == (44, 155381, 4310)
    assert str(params.price_mem) == "577/10000" and str(params.price_step) == "721/10000000"
    assert len(params.cost_model("plutus:v3")) == 297 and params.cost_model("PlutusV1")[0] == 100788
    pp = params.to_pycardano()
    assert pp.min_fee_coefficient == 44 and pp.coins_per_utxo_byte == 4310
    assert list(pp.cost_models["PlutusV3"].values()) == params.cost_model("PlutusV3")


def test_a_parameter_file_overrides_the_defaults(ledger_factory, tmp_path):
    raw = dict(LedgerParams.mainnet().raw, min_fee_a=100)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(raw))
    ledger = ledger_factory(params=LedgerParams.from_file(path))
    hand = HandTx(ledger)
    exact = hand.pay()
    assert exact.transaction_body.fee == 100 * (len(exact.to_cbor()) - 1) + 155381  # ledger size: no is_valid
    accepted(ledger, exact)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError):
        LedgerParams.from_file(tmp_path / "bad.json")


def test_a_ledger_can_start_from_an_ogmios_utxo_file(ledger_factory, tmp_path):
    source = ledger_factory(seed="elsewhere")
    hand = HandTx(source)
    locked = hand.lock(ALWAYS_SUCCEEDS, datum=7, script_ref=ALWAYS_SUCCEEDS)
    entries = [utxo_entry(ref, out) for ref, out in source.utxo.items()]
    path = tmp_path / "utxo.json"
    path.write_text(json.dumps(entries))
    ledger = Ledger.from_utxo_file(path, slot=5000, seed="tests")
    assert ledger.utxo[locked] == source.utxo[locked]
    assert ledger.current_slot == 5000 and ledger.tip.slot == 5000
    assert ledger.script_by_hash(script_address(ALWAYS_SUCCEEDS).payment_part.payload.hex()) is not None


def test_a_garbage_transaction_is_a_deserialisation_error(ledger):
    with pytest.raises(LedgerRejection) as info:
        ledger.submit(b"\x84\x01\x02")
    assert info.value.ogmios_code == -32602
    assert_ogmios_shape(info.value)


def test_network_is_testnet(ledger):
    assert ledger.network == Network.TESTNET


def test_governance_content_is_refused_openly(ledger, hand):
    from pycardano import Address, Anchor, AnchorDataHash, InfoAction, ProposalProcedure

    account = Address(staking_part=ledger.wallet("alice").address.staking_part, network=Network.TESTNET)
    proposal = ProposalProcedure(100_000_000_000, account, InfoAction(),
                                 Anchor("https://example.org", AnchorDataHash(b"\x00" * 32)))
    rejected(ledger, hand.pay(proposal_procedures=[proposal]), 3997)
    accepted(ledger, hand.pay())


def test_address_index_agrees_with_a_scan_after_payments_and_rollbacks(ledger, hand):
    def scan(address):
        return sorted((r.to_cbor(), o.to_cbor()) for r, o in ledger.utxo.items() if o.address == address)

    for sender, to in [("alice", "bob"), ("bob", "carol"), ("carol", "alice"), ("alice", "alice")]:
        accepted(ledger, hand.pay(sender, to))
    ledger.rollback(2, to_mempool=True)
    ledger.rollback(1)
    for name in ("alice", "bob", "carol", "faucet"):
        address = ledger.wallet(name).address
        assert sorted((r.to_cbor(), o.to_cbor()) for r, o in ledger.utxos_at(address)) == scan(address)
        assert ledger.utxos_at(str(address)) == ledger.utxos_at(address)


@pytest.mark.parametrize("index", [0, 23, 24, 255, 256, 65535, 65536])
def test_output_references_are_persisted_as_pycardano_encodes_them(index):
    from pycardano import TransactionId

    from runner.devnet.storage.store import _ref

    ref = TransactionInput(TransactionId(bytes(range(32))), index)
    assert _ref(ref) == ref.to_cbor()


def test_tick_drops_mempool_transactions_that_expired_while_waiting(ledger_factory):
    ledger = ledger_factory(block_mode="tick")
    hand = HandTx(ledger)
    short = hand.pay("alice", "bob", ttl=10)
    lasting = hand.pay("bob", "carol")
    ledger.submit(short)
    ledger.submit(lasting)
    ledger.advance_slots(10)
    ledger.tick()
    assert not ledger.has_transaction(str(short.id)) and ledger.has_transaction(str(lasting.id))
    assert TransactionInput(short.id, 0) not in ledger.utxo
    assert short.transaction_body.inputs[0] in ledger.utxo


def test_a_malformed_address_is_a_user_input_error(ledger):
    with pytest.raises(UserInputError):
        ledger.utxos_at("addr_test1notanaddress")
    with pytest.raises(UserInputError):
        ledger.fund("hello", 2_000_000)
    assert ledger.utxos_at(str(ledger.wallet("bob").address)) == ledger.utxos_at(ledger.wallet("bob").address)
