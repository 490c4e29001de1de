"""The production client path, end to end, against the devnet's own Ogmios and Kupo servers.

``OgmiosKupoBackend`` over real sockets, pycardano's ``TransactionBuilder`` over
``OgmiosKupoContext``, and the devnet ledger judging every transaction with its real
rules (phase 1 and Plutus V3 phase 2). Every expectation is checked against the
ledger's own state, never against a copy of the client's answer.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pycardano import (
    Address,
    CostModels,
    Network,
    Redeemer,
    TransactionBuilder,
    TransactionOutput,
    plutus_script_hash,
)

from runner.chain.backend import (
    AlonzoGenesis,
    ByronGenesis,
    ConwayGenesis,
    OutputReference,
    ShelleyGenesis,
)
from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.chain.pycardano_context import OgmiosKupoContext
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.errors import LedgerRejection, ScriptFailure
from runner.rehearsal.demo import answer_42_script


@pytest.fixture(scope="module")
def devnet() -> Iterator[Any]:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    logging.getLogger("PyCardano").setLevel(logging.ERROR)
    ledger = Ledger.create(seed="chain-client", wallets=("alice", "bob"))
    with serving(ledger) as running:
        yield running


@pytest.fixture(scope="module")
def backend(devnet: Any) -> Iterator[OgmiosKupoBackend]:
    with OgmiosKupoBackend.connect(
        devnet.ogmios_url, devnet.kupo_url, timeout=30.0
    ) as chain:
        yield chain


def refs_of(pairs: Any) -> set[tuple[str, int]]:
    return {(i.transaction_id.payload.hex(), i.index) for i, _ in pairs}


def test_queries_agree_with_the_ledger(devnet: Any, backend: OgmiosKupoBackend) -> None:
    ledger = devnet.ledger
    assert backend.tip().slot == ledger.tip.slot
    assert backend.epoch() >= 0
    alice = str(ledger.wallet("alice").address)
    found = backend.utxos_at([alice])
    assert {(u.ref.tx_id, u.ref.index) for u in found} == refs_of(
        ledger.utxos_at(alice)
    )
    by_ref = backend.utxos_by_refs([found[0].ref])
    assert by_ref == [found[0]]
    assert sum(u.value.lovelace for u in found) == sum(
        o.amount.coin for _, o in ledger.utxos_at(alice)
    )
    eras = backend.era_summaries()
    assert eras and eras[-1].slot_length_ms == ledger.slot_config.slot_length_ms
    genesis = {
        era: backend.genesis_configuration(era)
        for era in ("byron", "shelley", "alonzo", "conway")
    }
    assert isinstance(genesis["byron"], ByronGenesis) and isinstance(
        genesis["shelley"], ShelleyGenesis
    )
    assert isinstance(genesis["alonzo"], AlonzoGenesis) and isinstance(
        genesis["conway"], ConwayGenesis
    )
    assert backend.start_time() == genesis["shelley"].start_time


def test_protocol_parameters_give_pycardano_the_ledgers_fees_and_script_hash_inputs(
    devnet: Any, backend: OgmiosKupoBackend
) -> None:
    """Over the wire, the parameters must give the same fee and script-data hash as the ledger's."""
    ours = OgmiosKupoContext(backend).protocol_param
    ledgers = devnet.ledger.params.to_pycardano()
    for field in (
        "min_fee_constant",
        "min_fee_coefficient",
        "price_mem",
        "price_step",
        "coins_per_utxo_byte",
        "max_tx_size",
        "max_tx_ex_mem",
        "max_tx_ex_steps",
        "collateral_percent",
    ):
        assert getattr(ours, field) == getattr(ledgers, field), field
    for version in (1, 2, 3):
        name = f"PlutusV{version}"
        assert (
            CostModels({version - 1: ours.cost_models[name]}).to_shallow_primitive()
            == CostModels(
                {version - 1: ledgers.cost_models[name]}
            ).to_shallow_primitive()
        ), name


def test_payment_lands_and_kupo_catches_up(
    devnet: Any, backend: OgmiosKupoBackend
) -> None:
    ledger = devnet.ledger
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    builder = TransactionBuilder(OgmiosKupoContext(backend))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(bob.address, 7_000_000))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)

    tx_id = backend.submit(tx.to_cbor()).tx_id
    assert tx_id == str(tx.id)
    assert ledger.has_transaction(tx_id) or ledger.in_mempool(tx_id)
    assert backend.in_mempool(tx_id) == ledger.in_mempool(tx_id)
    indexed = backend.wait_for_slot_indexed(
        ledger.tip.slot, deadline=time.monotonic() + 10
    )
    assert indexed >= ledger.tip.slot
    paid = [
        m.utxo
        for m in backend.kupo.matches(str(bob.address))
        if m.utxo.ref.tx_id == tx_id
    ]
    assert [u.value.lovelace for u in paid] == [7_000_000]
    assert backend.utxos_by_refs([paid[0].ref]) == [paid[0]]

    with pytest.raises(
        LedgerRejection
    ) as caught:  # the same inputs cannot be spent twice
        backend.submit(tx.to_cbor())
    assert caught.value.ogmios_code == 3117, caught.value


def test_script_lock_and_spend_through_the_client(
    devnet: Any, backend: OgmiosKupoBackend
) -> None:
    ledger = devnet.ledger
    alice = ledger.wallet("alice")
    script = answer_42_script()
    script_address = Address(plutus_script_hash(script), network=Network.TESTNET)
    context = OgmiosKupoContext(backend)
    lock = TransactionBuilder(context)
    lock.add_input_address(alice.address)
    lock.add_output(
        TransactionOutput(script_address, 10_000_000, datum=7, script=script)
    )
    lock_id = backend.submit(
        lock.build_and_sign([alice.signing_key], change_address=alice.address).to_cbor()
    ).tx_id

    [locked] = [
        u for u in backend.utxos_at([str(script_address)]) if u.ref.tx_id == lock_id
    ]
    assert locked.datum == b"\x07" and locked.script is not None
    assert backend.script(plutus_script_hash(script).payload.hex()) == locked.script

    def spend(redeemer: int) -> str:
        builder = TransactionBuilder(OgmiosKupoContext(backend))
        [utxo] = [
            u
            for u in OgmiosKupoContext(backend).utxos(script_address)
            if str(u.input.transaction_id) == lock_id
        ]
        builder.add_script_input(utxo, redeemer=Redeemer(redeemer))
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(alice.address, 2_000_000))
        signed = builder.build_and_sign(
            [alice.signing_key], change_address=alice.address
        )
        return backend.submit(signed.to_cbor()).tx_id

    with pytest.raises(
        ScriptFailure
    ) as caught:  # evaluation runs the validator: 41 is refused
        spend(41)
    assert caught.value.ogmios_code == 3010
    spent = spend(42)
    assert ledger.has_transaction(spent) or ledger.in_mempool(spent)
    assert backend.utxos_by_refs([OutputReference(lock_id, locked.ref.index)]) == []
