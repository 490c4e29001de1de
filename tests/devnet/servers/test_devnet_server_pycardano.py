"""pycardano's own Ogmios v6 + Kupo chain contexts, unmodified, against `devnet up` over loopback.

The servers run in a background thread of this process on free ports, exactly as
`milestones devnet up` serves them; pycardano only sees the sockets.
"""

from __future__ import annotations

import logging
import sys
from datetime import timezone
from fractions import Fraction

import pytest
from ogmios.errors import ResponseError
from pycardano import (
    Address,
    Network,
    Redeemer,
    TransactionBuilder,
    TransactionOutput,
    plutus_script_hash,
)
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext, OgmiosV6ChainContext

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.rehearsal.demo import answer_42_script


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    logging.getLogger("PyCardano").setLevel(logging.ERROR)  # it dumps whole builders on failures
    ledger = Ledger.create(seed="pycardano-e2e")
    with serving(ledger) as running:
        yield running


def kupo_ogmios(devnet) -> KupoOgmiosV6ChainContext:
    """A fresh context per step: pycardano caches UTxOs per (slot, address) for 10 s."""
    return KupoOgmiosV6ChainContext(devnet.ogmios.host, devnet.ogmios.port, "", False,
                                    kupo_url=devnet.kupo_url)


def balance(context, address) -> int:
    return sum(u.output.amount.coin for u in context.utxos(address))


def test_protocol_parameters_arrive_as_the_ledger_charges_them(devnet):
    params = OgmiosV6ChainContext(devnet.ogmios.host, devnet.ogmios.port).protocol_param
    ledger_params = devnet.ledger.params
    assert (params.min_fee_coefficient, params.min_fee_constant) == (ledger_params.min_fee_a, ledger_params.min_fee_b)
    assert params.coins_per_utxo_byte == ledger_params.coins_per_utxo_byte
    assert Fraction(params.price_mem).limit_denominator(10**9) == ledger_params.price_mem
    assert list(params.cost_models["PlutusV3"].values()) == ledger_params.cost_model("PlutusV3")
    assert params.max_tx_size == ledger_params.max_tx_size


def test_genesis_epoch_and_tip_are_readable(devnet):
    context = OgmiosV6ChainContext(devnet.ogmios.host, devnet.ogmios.port)
    genesis = context.genesis_param
    assert genesis.slot_length == devnet.ledger.slot_config.slot_length_ms
    assert genesis.epoch_length == devnet.ledger.slot_config.epoch_length
    assert context.epoch >= 1
    assert context.last_block_slot == devnet.ledger.tip.slot


def test_a_payment_from_a_devnet_wallet_lands_and_kupo_shows_it(devnet):
    alice, bob = devnet.ledger.wallet("alice"), devnet.ledger.wallet("bob")
    before = balance(kupo_ogmios(devnet), bob.address)
    builder = TransactionBuilder(kupo_ogmios(devnet))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(bob.address, 7_000_000))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    kupo_ogmios(devnet).submit_tx(tx)
    assert devnet.ledger.has_transaction(str(tx.id))
    assert balance(kupo_ogmios(devnet), bob.address) == before + 7_000_000
    ogmios_only = OgmiosV6ChainContext(devnet.ogmios.host, devnet.ogmios.port)
    assert balance(ogmios_only, bob.address) == before + 7_000_000


def test_lock_to_a_plutus_v3_script_and_spend_it_through_phase_2(devnet):
    alice = devnet.ledger.wallet("alice")
    script = answer_42_script()
    script_address = Address(plutus_script_hash(script), network=Network.TESTNET)
    builder = TransactionBuilder(kupo_ogmios(devnet))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(script_address, 15_000_000, datum=99))
    lock = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    kupo_ogmios(devnet).submit_tx(lock)
    context = kupo_ogmios(devnet)
    [locked] = context.utxos(script_address)
    assert locked.output.amount.coin == 15_000_000

    def spend(redeemer: int):
        builder = TransactionBuilder(context)
        builder.add_script_input(locked, script=script, redeemer=Redeemer(redeemer))
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(alice.address, 2_000_000))
        return builder.build_and_sign([alice.signing_key], change_address=alice.address)

    with pytest.raises(ResponseError, match="3010"):  # the devnet's phase 2 refuses 41
        spend(41)
    tx = spend(42)
    [redeemer] = tx.transaction_witness_set.redeemer.values()
    assert redeemer.ex_units.mem > 0 and redeemer.ex_units.steps > 0  # measured by evaluateTransaction
    context.submit_tx(tx)
    assert devnet.ledger.has_transaction(str(tx.id))
    assert kupo_ogmios(devnet).utxos(script_address) == []


def test_slot_times_and_epochs_from_the_era_summaries_match_the_ledger_clock():
    """The conversion pycardano's Ogmios library makes (start time + era summaries) lands
    on the ledger's own SlotConfig time and epoch, across epoch boundaries."""
    from ogmios import Client as OgmiosClient

    from runner.devnet.ledger.clock import SlotConfig

    config = SlotConfig(system_start_ms=1_700_000_123_000, slot_length_ms=2000, epoch_length=100)
    ledger = Ledger.create(seed="clock", slot_config=config)
    with serving(ledger) as running, OgmiosClient(running.ogmios.host, running.ogmios.port) as client:
        for advance in (0, 42, 100, 333):
            ledger.advance_slots(advance)
            slot = ledger.current_slot
            start, _ = client.query_start_time.execute()
            summaries, _ = client.query_era_summaries.execute()
            epoch, _ = client.query_epoch.execute()
            [era] = [e for e in summaries if e.start_slot <= slot < e.end_slot]
            posix_ms = (int(start.replace(tzinfo=timezone.utc).timestamp()) + era.start_time) * 1000 \
                + (slot - era.start_slot) * era.slot_length
            assert posix_ms == config.slot_to_posix_ms(slot)
            assert era.start_epoch + (slot - era.start_slot) // era.epoch_length == epoch == ledger.epoch
    assert ledger.epoch == 5 and ledger.current_slot == 475


def test_a_sub_second_system_start_is_refused():
    from runner.devnet.ledger.clock import SlotConfig

    with pytest.raises(ValueError, match="whole second"):
        SlotConfig(system_start_ms=1_700_000_000_500)
