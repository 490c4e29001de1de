"""The project's own Ogmios + Kupo backend (``runner.chain.ogmios_kupo``) against `devnet up`.

The production client path, end to end over loopback: every ChainBackend call the
runner will make on a real network, answered by the devnet's servers, agrees with the
ledger behind them.
"""

from __future__ import annotations

import sys
import time

import pytest
from pycardano import (
    Address,
    Network,
    TransactionBuilder,
    TransactionOutput,
    plutus_script_hash,
)

from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.devnet.ledger.chain_context import DevnetChainContext
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.errors import LedgerRejection
from runner.rehearsal.demo import answer_42_script


@pytest.fixture(scope="module")
def served():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="project-client")
    with serving(ledger) as running, OgmiosKupoBackend.connect(
            running.ogmios_url, running.kupo_url, timeout=10) as backend:
        yield running, backend


def test_chain_facts_match_the_ledger(served):
    running, backend = served
    ledger = running.ledger
    assert backend.tip().slot == ledger.tip.slot
    assert backend.epoch() == 1
    params = backend.protocol_parameters()
    assert (params.min_fee_coefficient, params.min_fee_constant) == (ledger.params.min_fee_a, ledger.params.min_fee_b)
    assert len(backend.era_summaries()) == 7
    for era in ("byron", "shelley", "alonzo", "conway"):
        assert backend.genesis_configuration(era) is not None
    assert int(backend.start_time().timestamp() * 1000) == ledger.slot_config.system_start_ms


def test_utxos_by_address_and_reference_match_the_ledger(served):
    running, backend = served
    alice = running.ledger.wallet("alice").address
    utxos = backend.utxos_at([str(alice)])
    assert len(utxos) == len(running.ledger.utxos_at(alice))
    again = backend.utxos_by_refs([u.ref for u in utxos[:2]])
    assert [u.ref for u in again] == [u.ref for u in utxos[:2]]


def test_submit_then_kupo_catches_up_and_serves_the_script(served):
    running, backend = served
    ledger = running.ledger
    alice = ledger.wallet("alice")
    script = answer_42_script()
    builder = TransactionBuilder(DevnetChainContext(ledger))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(Address(plutus_script_hash(script), network=Network.TESTNET),
                                         20_000_000, script=script))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    result = backend.submit(tx.to_cbor())
    assert result.tx_id == str(tx.id)
    assert backend.wait_for_slot_indexed(ledger.tip.slot, time.monotonic() + 5) >= ledger.tip.slot
    found = backend.script(plutus_script_hash(script).payload.hex())
    assert found is not None and found.language == "plutus:v3" and found.cbor == bytes(script)
    with pytest.raises(LedgerRejection) as refused:
        backend.submit(tx.to_cbor())  # its inputs are spent now
    assert refused.value.ogmios_code == 3117
