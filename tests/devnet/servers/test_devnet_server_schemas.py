"""Every answer of `devnet up` validates against the vendored Ogmios v6.14 and Kupo v2.12 schemas.

The devnet is driven over the wire into a state where the interesting shapes exist
(native assets, inline and hashed datums, a reference script, a spent script output), then
each method / path is asked and its answer checked against the upstream schema.
Upstream schema quirks are patched below, each with the reason.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import cbor2
import httpx
import pytest
from pycardano import (
    Address,
    Network,
    PlutusData,
    Redeemer,
    TransactionBuilder,
    TransactionOutput,
    datum_hash,
    plutus_script_hash,
)
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.rehearsal.demo import answer_42_script
from runner.testing.schemas import KUPO, OGMIOS, assert_kupo, assert_ogmios, kupo_ref  # noqa: F401

# --- a devnet with every interesting shape in it ------------------------------------------

def _holds_datum(utxo: Any, value: int) -> bool:
    """pycardano's Kupo path hands inline datums back as RawCBOR."""
    return getattr(utxo.output.datum, "cbor", None) == cbor2.dumps(value)


class Devnet:
    def __init__(self, running: Any, ledger: Ledger) -> None:
        self.running, self.ledger = running, ledger
        self.ws = connect(running.ogmios_url, max_size=None)
        self.next_id = 0

    def rpc(self, method: str, params: Any = None) -> dict[str, Any]:
        self.next_id += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self.next_id}
        if params is not None:
            request["params"] = params
        self.ws.send(json.dumps(request))
        response = json.loads(self.ws.recv())
        assert response.get("method") == method and response.get("id") == self.next_id
        return response

    def kupo(self, path: str) -> httpx.Response:
        reply = httpx.get(self.running.kupo_url + path)
        assert int(reply.headers["X-Most-Recent-Checkpoint"]) == self.ledger.tip.slot
        return reply

    def context(self) -> Any:
        return KupoOgmiosV6ChainContext(self.running.ogmios.host, self.running.ogmios.port, "", False,
                                        kupo_url=self.running.kupo_url)


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="schemas")
    with serving(ledger) as running:
        net = Devnet(running, ledger)
        alice = ledger.wallet("alice")
        script = answer_42_script()
        net.script_address = Address(plutus_script_hash(script), network=Network.TESTNET)
        net.token_ref = ledger.fund(alice.address, 5_000_000, assets={"tok": 7})
        builder = TransactionBuilder(net.context())
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(net.script_address, 10_000_000, datum=7))
        builder.add_output(TransactionOutput(net.script_address, 10_000_000, datum=8))
        net.hashed_datum = PlutusData()
        builder.add_output(TransactionOutput(alice.address, 3_000_000, datum_hash=datum_hash(net.hashed_datum)),
                           datum=net.hashed_datum, add_datum_to_witness=True)
        builder.add_output(TransactionOutput(alice.address, 30_000_000, script=script))
        net.lock_tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
        net.context().submit_tx(net.lock_tx)
        context = net.context()
        locked = next(u for u in context.utxos(net.script_address) if _holds_datum(u, 7))
        builder = TransactionBuilder(context)
        builder.add_script_input(locked, script=script, redeemer=Redeemer(42))
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(alice.address, 2_000_000))
        net.spend_tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
        context.submit_tx(net.spend_tx)
        net.script = script
        yield net
        net.ws.close()


# --- Ogmios ---------------------------------------------------------------------------------

SIMPLE_QUERIES = [
    ("queryNetwork/tip", "QueryNetworkTipResponse"),
    ("queryNetwork/startTime", "QueryNetworkStartTimeResponse"),
    ("queryNetwork/blockHeight", "QueryNetworkBlockHeightResponse"),
    ("queryLedgerState/epoch", "QueryLedgerStateEpochResponse"),
    ("queryLedgerState/tip", "QueryLedgerStateTipResponse"),
    ("queryLedgerState/protocolParameters", "QueryLedgerStateProtocolParametersResponse"),
    ("queryLedgerState/eraSummaries", "QueryLedgerStateEraSummariesResponse"),
    ("queryLedgerState/eraStart", "QueryLedgerStateEraStartResponse"),
]


@pytest.mark.parametrize("method,schema", SIMPLE_QUERIES)
def test_query_answers_validate(devnet, method, schema):
    response = devnet.rpc(method)
    assert "result" in response, response
    assert_ogmios(schema, response)


@pytest.mark.parametrize("era", ["byron", "shelley", "alonzo", "conway"])
def test_genesis_configuration_validates_for_each_era(devnet, era):
    response = devnet.rpc("queryNetwork/genesisConfiguration", {"era": era})
    assert response["result"]["era"] == era
    assert_ogmios("QueryNetworkGenesisConfigurationResponse", response)


def test_utxo_by_address_carries_assets_datums_and_scripts_and_validates(devnet):
    alice = devnet.ledger.wallet("alice").address
    response = devnet.rpc("queryLedgerState/utxo", {"addresses": [str(alice), str(devnet.script_address)]})
    assert_ogmios("QueryLedgerStateUtxoResponse", response)
    entries = response["result"]
    assert any(len(e["value"]) > 1 for e in entries)  # native asset
    assert any("datum" in e for e in entries) and any("datumHash" in e for e in entries)
    assert any(e.get("script", {}).get("language") == "plutus:v3" for e in entries)


def test_utxo_by_output_reference_and_whole_utxo_validate(devnet):
    ref = {"transaction": {"id": str(devnet.lock_tx.id)}, "index": 1}
    response = devnet.rpc("queryLedgerState/utxo", {"outputReferences": [ref]})
    assert_ogmios("QueryLedgerStateUtxoResponse", response)
    assert [(e["transaction"]["id"], e["index"]) for e in response["result"]] == [(str(devnet.lock_tx.id), 1)]
    whole = devnet.rpc("queryLedgerState/utxo")
    assert_ogmios("QueryLedgerStateUtxoResponse", whole)
    assert len(whole["result"]) == len(devnet.ledger.utxo)


def _spend_of_second_lock(devnet: Devnet, redeemer: int) -> Any:
    """A signed spend of the script output holding datum 8, with ``redeemer`` in its witness."""
    context = devnet.context()
    locked = next(u for u in context.utxos(devnet.script_address) if _holds_datum(u, 8))
    alice = devnet.ledger.wallet("alice")
    builder = TransactionBuilder(context)
    builder.add_script_input(locked, script=devnet.script, redeemer=Redeemer(42))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(alice.address, 2_000_000))
    tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
    tampered = copy.deepcopy(tx)
    for value in tampered.transaction_witness_set.redeemer.values():
        value.data = redeemer
    return tampered


def test_evaluate_success_validates_and_reports_the_spend_budget(devnet):
    tx = _spend_of_second_lock(devnet, 42)
    response = devnet.rpc("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()},
                                                  "additionalUtxo": None})
    assert_ogmios("EvaluateTransactionResponse", response)
    [entry] = response["result"]
    assert entry["validator"] == {"purpose": "spend", "index": 0}
    assert entry["budget"]["memory"] > 0 and entry["budget"]["cpu"] > 0


def test_evaluate_script_failure_is_3010_with_a_3012_entry_and_validates(devnet):
    tx = _spend_of_second_lock(devnet, 41)
    response = devnet.rpc("evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert_ogmios("EvaluateTransactionResponse", response)
    assert response["error"]["code"] == 3010
    [failure] = response["error"]["data"]
    assert failure["validator"] == {"purpose": "spend", "index": 0}
    assert failure["error"]["code"] == 3012


def test_evaluate_of_spent_inputs_is_3004_and_validates(devnet):
    response = devnet.rpc("evaluateTransaction", {"transaction": {"cbor": devnet.spend_tx.to_cbor_hex()}})
    assert_ogmios("EvaluateTransactionResponse", response)
    assert response["error"]["code"] == 3004
    assert "Unknown transaction input" in response["error"]["data"]["reason"]


def test_submit_rejection_carries_the_ledger_code_and_validates(devnet):
    response = devnet.rpc("submitTransaction", {"transaction": {"cbor": devnet.spend_tx.to_cbor_hex()}})
    assert_ogmios("SubmitTransactionResponse", response)
    assert response["error"]["code"] == 3117  # its inputs are spent


def _payment(devnet: Devnet, lovelace: int) -> Any:
    alice, bob = devnet.ledger.wallet("alice"), devnet.ledger.wallet("bob")
    builder = TransactionBuilder(devnet.context())
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(bob.address, lovelace))
    return builder.build_and_sign([alice.signing_key], change_address=alice.address)


def test_submit_success_validates_and_names_the_transaction(devnet):
    tx = _payment(devnet, 3_000_000)
    response = devnet.rpc("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert_ogmios("SubmitTransactionResponse", response)
    assert response["result"]["transaction"]["id"] == str(tx.id)
    assert devnet.ledger.has_transaction(str(tx.id))


def test_submit_of_garbage_is_a_deserialisation_failure_and_validates(devnet):
    response = devnet.rpc("submitTransaction", {"transaction": {"cbor": "84a0ff"}})
    assert_ogmios("SubmitTransactionResponse", response)
    assert response["error"]["code"] == -32602
    assert set(response["error"]["data"]) == {"shelley", "allegra", "mary", "alonzo", "babbage", "conway"}


def test_mempool_methods_validate_before_and_after_acquiring(devnet):
    for method, schema in [("nextTransaction", "NextTransactionResponse"),
                           ("hasTransaction", "HasTransactionResponse"),
                           ("sizeOfMempool", "SizeOfMempoolResponse"),
                           ("releaseMempool", "ReleaseMempoolResponse")]:
        params = {"id": "00" * 32} if method == "hasTransaction" else None
        refused = devnet.rpc(method, params)
        assert refused["error"]["code"] == 4000
        assert_ogmios(schema, refused)
    acquired = devnet.rpc("acquireMempool")
    assert_ogmios("AcquireMempoolResponse", acquired)
    assert acquired["result"]["slot"] == devnet.ledger.current_slot
    for method, params, schema in [("nextTransaction", None, "NextTransactionResponse"),
                                   ("hasTransaction", {"id": "00" * 32}, "HasTransactionResponse"),
                                   ("sizeOfMempool", None, "SizeOfMempoolResponse"),
                                   ("releaseMempool", None, "ReleaseMempoolResponse")]:
        response = devnet.rpc(method, params)
        assert "result" in response, response
        assert_ogmios(schema, response)


@pytest.mark.parametrize("method,params", [
    ("queryLedgerState/nonsense", None),
    ("queryLedgerState/utxo", {"addresses": ["not-an-address"]}),
    ("queryNetwork/genesisConfiguration", {"era": "mary"}),
])
def test_rpc_errors_validate(devnet, method, params):
    response = devnet.rpc(method, params)
    assert response["error"]["code"] in (-32601, -32602)
    assert_ogmios("RpcError", response)


# --- Kupo -----------------------------------------------------------------------------------

def match_list() -> dict[str, Any]:
    return {"type": "array", "items": kupo_ref("Match")}


@pytest.mark.parametrize("query", ["", "?unspent", "?spent", "?resolve_hashes", "?order=oldest_first"])
def test_kupo_matches_validate_for_every_pattern(devnet, query):
    alice = devnet.ledger.wallet("alice").address
    policy = next(iter(devnet.ledger.utxo[devnet.token_ref].amount.multi_asset)).payload.hex()
    patterns = ["*", str(alice), str(devnet.script_address), bytes(alice.to_primitive()).hex(),
                f"{policy}.*", f"*@{devnet.lock_tx.id}", f"0@{devnet.lock_tx.id}",
                f"{alice.payment_part.payload.hex()}/*"]
    for pattern in patterns:
        reply = devnet.kupo(f"/matches/{pattern}{query}")
        assert reply.status_code == 200, (pattern, reply.text)
        assert_kupo(match_list(), reply.json())


def test_kupo_spent_match_names_the_spending_transaction_and_redeemer(devnet):
    reply = devnet.kupo(f"/matches/{devnet.script_address}?spent")
    [spent] = reply.json()
    assert spent["spent_at"]["transaction_id"] == str(devnet.spend_tx.id)
    assert spent["spent_at"]["redeemer"] == "182a"  # CBOR of the integer 42
    assert spent["datum_type"] == "inline"
    assert_kupo(match_list(), [spent])


def test_kupo_datums_scripts_checkpoints_and_health_validate(devnet):
    digest = datum_hash(devnet.hashed_datum).payload.hex()
    datum = devnet.kupo(f"/datums/{digest}").json()
    assert_kupo({"oneOf": [kupo_ref("Datum"), {"type": "null"}]}, datum)
    assert datum == {"datum": devnet.hashed_datum.to_cbor_hex()}
    assert devnet.kupo("/datums/" + "ab" * 32).json() is None
    script = devnet.kupo(f"/scripts/{plutus_script_hash(devnet.script).payload.hex()}").json()
    assert_kupo(kupo_ref("Script"), script)
    assert script["language"] == "plutus:v3"
    checkpoints = devnet.kupo("/checkpoints").json()
    assert_kupo({"type": "array", "items": kupo_ref("Point")}, checkpoints)
    assert checkpoints[0] == {"slot_no": devnet.ledger.tip.slot, "header_hash": devnet.ledger.tip.block_hash}
    health = devnet.kupo("/health").json()
    assert_kupo(kupo_ref("Health"), health)
    assert health["most_recent_checkpoint"] == devnet.ledger.tip.slot


def test_kupo_bad_request_validates(devnet):
    reply = devnet.kupo("/matches/definitely$not$a$pattern")
    assert reply.status_code == 400
    assert_kupo(kupo_ref("BadRequest"), reply.json())


@pytest.mark.parametrize("name,response", [
    ("QueryNetworkTipResponse", {"jsonrpc": "2.0", "method": "queryNetwork/tip", "result": {"slot": 1}}),
    ("QueryLedgerStateUtxoResponse", {"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "result": [
        {"transaction": {"id": "00" * 32}, "index": 0, "address": "addr_test1x", "value": {"ada": {}}}]}),
    ("QueryLedgerStateProtocolParametersResponse", {"jsonrpc": "2.0",
                                                    "method": "queryLedgerState/protocolParameters",
                                                    "result": {"minFeeCoefficient": 44}}),
])
def test_the_patched_schemas_still_reject_wrong_shapes(name, response):
    with pytest.raises(AssertionError):
        assert_ogmios(name, response)


def test_a_pending_transaction_is_served_whole_with_its_real_size():
    """Tick mode keeps submissions in the mempool: sizeOfMempool counts their CBOR bytes and
    nextTransaction with fields=all returns the transaction in cardano.json's shape."""
    from runner.devnet.ledger.faucet import balanced_payment

    ledger = Ledger.create(seed="schemas-mempool", block_mode="tick")
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    txs = [balanced_payment(ledger.params, [utxo], [TransactionOutput(bob.address, 3_000_000 + n)],
                            alice.address, [alice.signing_key], ttl=ledger.current_slot + 500)
           for n, utxo in enumerate(ledger.utxos_at(alice.address)[:2])]
    with serving(ledger) as running:
        net = Devnet(running, ledger)
        for tx in txs:
            assert "result" in net.rpc("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        net.rpc("acquireMempool")
        size = net.rpc("sizeOfMempool")
        assert_ogmios("SizeOfMempoolResponse", size)
        assert size["result"]["currentSize"]["bytes"] == sum(len(tx.to_cbor()) for tx in txs)
        assert size["result"]["transactions"]["count"] == 2
        first = net.rpc("nextTransaction", {"fields": "all"})
        assert_ogmios("NextTransactionResponse", first)
        whole = first["result"]["transaction"]
        assert whole["id"] == str(txs[0].id) and whole["cbor"] == txs[0].to_cbor_hex()
        assert whole["fee"]["ada"]["lovelace"] == txs[0].transaction_body.fee
        assert whole["outputs"][0]["value"]["ada"]["lovelace"] == 3_000_000
        assert whole["validityInterval"] == {"invalidAfter": ledger.current_slot + 500}
        assert [s["key"] for s in whole["signatories"]] == [alice.verification_key.payload.hex()]
        assert net.rpc("nextTransaction")["result"] == {"transaction": {"id": str(txs[1].id)}}
        assert net.rpc("nextTransaction", {"fields": "all"})["result"] == {"transaction": None}
        refused = net.rpc("nextTransaction", {"fields": "some"})
        assert refused["error"]["code"] == -32602
        net.ws.close()
