"""`devnet up` under bad input, concurrency and plain HTTP: it answers, keeps serving, and
never lets a refused request change the ledger."""

from __future__ import annotations

import itertools
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    Redeemer,
    RedeemerTag,
    Transaction,
    TransactionBody,
    TransactionBuilder,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    plutus_script_hash,
)
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from runner.devnet.ledger.json_codec import utxo_entry
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.ogmios.server import MAX_REQUEST_BYTES
from runner.devnet.servers.serve import serving
from runner.rehearsal.demo import answer_42_script


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="server-tests")
    with serving(ledger) as running:
        yield running


def ask(ws: Any, text: str) -> dict[str, Any]:
    ws.send(text)
    return json.loads(ws.recv())


def rpc(ws: Any, method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        request["params"] = params
    return ask(ws, json.dumps(request))


def snapshot(ledger: Ledger) -> tuple[Any, frozenset[Any]]:
    return ledger.tip, frozenset(ledger.utxo)


def pay(running: Any, lovelace: int, sender: str = "alice", receiver: str = "bob") -> Transaction:
    ledger = running.ledger
    context = KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                       kupo_url=running.kupo_url)
    builder = TransactionBuilder(context)
    builder.add_input_address(ledger.wallet(sender).address)
    builder.add_output(TransactionOutput(ledger.wallet(receiver).address, lovelace))
    return builder.build_and_sign([ledger.wallet(sender).signing_key],
                                  change_address=ledger.wallet(sender).address)


# --- bad input --------------------------------------------------------------------------

BAD_REQUESTS = [
    ('{"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": 1', -32700),
    ("\x00\x01 not json", -32700),
    ('[1, 2, 3]', -32600),
    ('{"jsonrpc": "2.0", "method": "queryNetwork/everything", "id": 7}', -32601),
    ('{"jsonrpc": "2.0", "id": 7}', -32600),
    ('{"jsonrpc": "2.0", "method": ["queryNetwork/tip"], "id": 7}', -32600),
    ('{"jsonrpc": "2.0", "method": {"a": 1}, "id": 7}', -32600),
    ('{"jsonrpc": "2.0", "method": 5, "id": 7}', -32600),
    ('{"jsonrpc": "1.0", "method": "queryNetwork/tip", "id": 7}', -32600),
    ('{"jsonrpc": 2.0, "method": "queryNetwork/tip", "id": 7}', -32600),
    ('{"method": "queryNetwork/tip", "id": 7}', -32600),
    ('{"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": NaN}', -32700),
    ('{"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": Infinity}', -32700),
    ('{"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": 1e999}', -32600),
    ('{"jsonrpc": "2.0", "method": "devnet/advance", "params": {"slots": 1e999}, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/rollback", "params": {"blocks": 0, "toMempool": "no"}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/rollback", "params": {"blocks": 0, "toMempool": 0}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/rollback", "params": {"blocks": 0, "colour": 1}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/tick", "params": {"blocks": 5}, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/tick", "params": [1], "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "devnet/status", "params": "x", "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "acquireMempool", "params": {"junk": true}, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "acquireMempool", "params": 42, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "params": [1], "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "params": {"addresses": ["addr_test1qqq"]}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "params": {"addresses": "addr"}, "id": 7}', -32602),
    (('{"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "params": {"outputReferences": '
      '[{"transaction": {"id": "zz"}, "index": 0}]}, "id": 7}'), -32602),
    ('{"jsonrpc": "2.0", "method": "queryLedgerState/utxo", "params": {"colour": "blue"}, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "queryNetwork/genesisConfiguration", "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "submitTransaction", "params": {}, "id": 7}', -32602),
    ('{"jsonrpc": "2.0", "method": "submitTransaction", "params": {"transaction": {"cbor": "xyz"}}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "submitTransaction", "params": {"transaction": {"cbor": "deadbeef"}}, "id": 7}',
     -32602),
    ('{"jsonrpc": "2.0", "method": "evaluateTransaction", "params": {"transaction": {"cbor": "a0"}}, "id": 7}',
     -32602),
    (('{"jsonrpc": "2.0", "method": "evaluateTransaction", "params": {"transaction": {"cbor": "a0"}, '
      '"additionalUtxo": 5}, "id": 7}'), -32602),
    ('{"jsonrpc": "2.0", "method": "hasTransaction", "params": {"id": 5}, "id": 7}', 4000),
    ("[" * 100_000 + "]" * 100_000, -32700),  # nested past the parser's recursion limit
    ('{"jsonrpc": "2.0", "method": "submitTransaction", "params": {"transaction": {"cbor": "'
     + "81" * 50_000 + '00"}}, "id": 7}', -32602),  # CBOR nested 50,000 deep
    (('{"jsonrpc": "2.0", "method": "submitTransaction", "params": {"transaction": {"cbor": "5bffffffffffffff00"}}, '
      '"id": 7}'), -32602),  # a byte string claiming 2^64 bytes
]


@pytest.mark.parametrize("text,code", BAD_REQUESTS)
def test_bad_request_gets_its_json_rpc_error_and_the_connection_keeps_serving(devnet, text, code, caplog):
    before = snapshot(devnet.ledger)
    with connect(devnet.ogmios_url) as ws:
        ws.send(text)
        raw = ws.recv()
        reply = json.loads(raw, parse_constant=lambda name: pytest.fail(f"{name} on the wire: {raw[:200]}"))
        assert reply["error"]["code"] == code, reply
        assert reply["error"]["message"]
        if code not in (-32700, -32600):
            assert reply["id"] == 7
        tip = rpc(ws, "queryNetwork/tip")
        assert tip["result"]["id"] == devnet.ledger.tip.block_hash
    assert snapshot(devnet.ledger) == before
    assert not [r for r in caplog.records if r.exc_info], "a refused request logged a traceback"


def test_bad_params_message_names_the_field(devnet):
    with connect(devnet.ogmios_url) as ws:
        reply = rpc(ws, "queryLedgerState/utxo", {"addresses": [str(devnet.ledger.wallet("bob").address), "nope"]})
    assert reply["error"]["code"] == -32602
    assert "params.addresses[1]" in reply["error"]["message"]


def test_request_over_the_cap_is_refused_cleanly_and_the_connection_stays(devnet):
    huge = json.dumps({"jsonrpc": "2.0", "method": "submitTransaction",
                       "params": {"transaction": {"cbor": "00" * MAX_REQUEST_BYTES}}, "id": 1})
    before = snapshot(devnet.ledger)
    with connect(devnet.ogmios_url, max_size=None) as ws:
        reply = ask(ws, huge)
        assert reply["error"]["code"] == -32600
        assert str(MAX_REQUEST_BYTES) in reply["error"]["message"]
        assert rpc(ws, "queryLedgerState/epoch")["result"] >= 1
    assert snapshot(devnet.ledger) == before


def test_frame_far_over_the_cap_closes_that_socket_only(devnet):
    with connect(devnet.ogmios_url, max_size=None) as ws:
        ws.send("x" * (9 * MAX_REQUEST_BYTES))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with connect(devnet.ogmios_url) as ws:
        assert rpc(ws, "queryLedgerState/epoch")["result"] >= 1


def test_rejected_submission_leaves_the_ledger_unchanged(devnet):
    tx = pay(devnet, 2_000_000)
    tx.transaction_witness_set.vkey_witnesses = []  # unsigned
    before = snapshot(devnet.ledger)
    with connect(devnet.ogmios_url) as ws:
        reply = rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert 3000 <= reply["error"]["code"] < 4000
    assert snapshot(devnet.ledger) == before


# --- the protocol's normal answers ----------------------------------------------------------

def test_every_response_echoes_method_and_id(devnet):
    with connect(devnet.ogmios_url) as ws:
        for request_id in ("abc", 42, {"nested": [1]}, None):
            reply = rpc(ws, "queryNetwork/blockHeight", request_id=request_id)
            assert reply["method"] == "queryNetwork/blockHeight" and reply["id"] == request_id


def test_epoch_is_never_zero_and_the_era_summaries_agree_with_it(devnet):
    ledger = devnet.ledger
    with connect(devnet.ogmios_url) as ws:
        assert rpc(ws, "queryLedgerState/epoch")["result"] == 1
        epoch_length = ledger.slot_config.epoch_length
        ledger.advance_slots(epoch_length + 5)
        epoch = rpc(ws, "queryLedgerState/epoch")["result"]
        summaries = rpc(ws, "queryLedgerState/eraSummaries")["result"]
    assert len(summaries) == 7 and all({"start", "end", "parameters"} <= set(s) for s in summaries)
    conway = summaries[-1]
    slot = ledger.current_slot
    assert conway["start"]["slot"] <= slot < conway["end"]["slot"]
    derived = conway["start"]["epoch"] + (slot - conway["start"]["slot"]) // conway["parameters"]["epochLength"]
    assert derived == epoch == 2
    for earlier, later in itertools.pairwise(summaries):
        assert earlier["end"] == later["start"]


def test_evaluate_uses_additional_utxo_for_inputs_the_ledger_does_not_know(devnet):
    script = answer_42_script()
    address = Address(plutus_script_hash(script), network=Network.TESTNET)
    phantom = TransactionInput.from_primitive(["ff" * 32, 0])
    body = TransactionBody(inputs=[phantom],
                           outputs=[TransactionOutput(devnet.ledger.wallet("bob").address, 2_000_000)],
                           fee=300_000)
    redeemer = Redeemer(42, ExecutionUnits(0, 0))
    redeemer.tag = RedeemerTag.SPEND
    tx = Transaction(body, TransactionWitnessSet(plutus_v3_script=[script], redeemer=[redeemer]))
    extra = [utxo_entry(phantom, TransactionOutput(address, 5_000_000, datum=1))]
    with connect(devnet.ogmios_url) as ws:
        known = rpc(ws, "evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()},
                                                "additionalUtxo": extra})
        unknown = rpc(ws, "evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert known["result"][0]["validator"] == {"purpose": "spend", "index": 0}
    assert unknown["error"]["code"] == 3004


def test_evaluate_refuses_additional_utxo_the_ledger_already_has(devnet):
    ref, output = next(iter(devnet.ledger.utxo.items()))
    with connect(devnet.ogmios_url) as ws:
        reply = rpc(ws, "evaluateTransaction", {"transaction": {"cbor": "84a0a0f5f6"},
                                                "additionalUtxo": [utxo_entry(ref, output)]})
    assert reply["error"]["code"] == 3002
    assert reply["error"]["data"]["overlappingOutputReferences"] == [
        {"transaction": {"id": ref.transaction_id.payload.hex()}, "index": ref.index}]


def test_binary_frames_are_answered_like_text_frames(devnet):
    with connect(devnet.ogmios_url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": "b"}).encode())
        reply = json.loads(ws.recv())
    assert reply["id"] == "b" and reply["result"]["id"] == devnet.ledger.tip.block_hash


# --- concurrency ----------------------------------------------------------------------------

def test_twenty_concurrent_clients_get_consistent_answers_while_payments_land(devnet):
    bob = str(devnet.ledger.wallet("bob").address)

    def client(n: int) -> list[tuple[int, int]]:
        seen = []
        with connect(devnet.ogmios_url) as ws:
            for round_ in range(5):
                tip = rpc(ws, "queryNetwork/tip", request_id=[n, round_])
                utxo = rpc(ws, "queryLedgerState/utxo", {"addresses": [bob]}, request_id=[n, round_])
                assert tip["id"] == [n, round_] and utxo["id"] == [n, round_]
                assert all(e["address"] == bob for e in utxo["result"])
                seen.append((tip["result"]["slot"], len(utxo["result"])))
        return seen

    def payer() -> list[str]:
        ids = []
        for _ in range(3):
            tx = pay(devnet, 1_500_000)
            with connect(devnet.ogmios_url) as ws:
                reply = rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
            ids.append(reply["result"]["transaction"]["id"])
        return ids

    with ThreadPoolExecutor(max_workers=21) as pool:
        readers = [pool.submit(client, n) for n in range(20)]
        paid = pool.submit(payer)
        results = [r.result(timeout=120) for r in readers]
        ids = paid.result(timeout=120)
    assert all(devnet.ledger.has_transaction(tx_id) for tx_id in ids)
    for seen in results:  # each client sees the chain only move forward
        assert seen == sorted(seen)


# --- plain HTTP -----------------------------------------------------------------------------

def test_health_answers_on_both_ports(devnet):
    with connect(devnet.ogmios_url) as ws:
        rpc(ws, "queryNetwork/tip")  # so the counters have something to count
    ogmios = httpx.get(devnet.ogmios_url.replace("ws://", "http://") + "/health")
    assert ogmios.status_code == 200
    body = ogmios.json()
    assert body["connectionStatus"] == "connected" and body["currentEra"] == "conway"
    assert body["metrics"]["totalConnections"] > 0 and body["metrics"]["totalMessages"] > 0
    assert body["lastKnownTip"]["slot"] == devnet.ledger.tip.slot
    kupo = httpx.get(devnet.kupo_url + "/health")
    assert kupo.status_code == 200
    assert kupo.json()["most_recent_checkpoint"] == int(kupo.headers["X-Most-Recent-Checkpoint"])
    text = httpx.get(devnet.kupo_url + "/health", headers={"Accept": "text/plain"})
    assert text.headers["Content-Type"].startswith("text/plain") and "kupo_connection_status" in text.text


def test_plain_http_to_the_websocket_endpoint_is_told_to_upgrade(devnet):
    reply = httpx.get(devnet.ogmios_url.replace("ws://", "http://") + "/")
    assert reply.status_code == 426
    assert "WebSocket" in reply.json()["hint"]


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/nowhere", 404),
    ("GET", "/matches/not*a*pattern", 400),
    ("GET", "/matches/*?spent&unspent", 400),
    ("GET", "/matches/*?colour=blue", 400),
    ("GET", "/matches/*?output_index=1", 400),
    ("GET", "/datums/xyz", 400),
    ("GET", "/scripts/" + "0" * 57, 400),
    ("GET", "/checkpoints/yesterday", 400),
    ("DELETE", "/matches/*", 405),
    ("POST", "/patterns/*", 405),
])
def test_kupo_refusals_carry_a_hint_and_the_checkpoint(devnet, method, path, status):
    reply = httpx.request(method, devnet.kupo_url + path)
    assert reply.status_code == status
    assert reply.json()["hint"]
    assert int(reply.headers["X-Most-Recent-Checkpoint"]) == devnet.ledger.tip.slot


def test_kupo_checkpoint_passes_the_slot_of_a_new_transaction(devnet):
    before = int(httpx.get(devnet.kupo_url + "/health").headers["X-Most-Recent-Checkpoint"])
    tx = pay(devnet, 1_700_000)
    with connect(devnet.ogmios_url) as ws:
        assert "result" in rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    reply = httpx.get(f"{devnet.kupo_url}/matches/*@{tx.id}?unspent")
    assert int(reply.headers["X-Most-Recent-Checkpoint"]) > before
    assert {m["created_at"]["slot_no"] for m in reply.json()} == {devnet.ledger.tip.slot}
    assert sorted(m["output_index"] for m in reply.json()) == [0, 1]


def test_kupo_forgets_a_rolled_back_block_and_restores_what_it_spent(devnet):
    tx = pay(devnet, 1_900_000)
    spent_inputs = [f"{i.index}@{i.transaction_id.payload.hex()}" for i in tx.transaction_body.inputs]
    with connect(devnet.ogmios_url) as ws:
        assert "result" in rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert httpx.get(f"{devnet.kupo_url}/matches/*@{tx.id}").json()
    assert all(httpx.get(f"{devnet.kupo_url}/matches/{p}?spent").json() for p in spent_inputs)
    tip_before = devnet.ledger.tip
    with devnet.guard.lock:
        devnet.ledger.rollback(1, to_mempool=False)
    reply = httpx.get(f"{devnet.kupo_url}/matches/*@{tx.id}")
    assert reply.json() == []
    assert int(reply.headers["X-Most-Recent-Checkpoint"]) < tip_before.slot
    for pattern in spent_inputs:
        [restored] = httpx.get(f"{devnet.kupo_url}/matches/{pattern}?unspent").json()
        assert restored["spent_at"] is None


def test_kupo_places_genesis_outputs_in_the_genesis_block(devnet):
    alice = devnet.ledger.wallet("alice")
    genesis_block = devnet.ledger.blocks[0]
    matches = httpx.get(f"{devnet.kupo_url}/matches/{alice.address}?order=oldest_first").json()
    assert matches[0]["created_at"] == {"slot_no": genesis_block.slot, "header_hash": genesis_block.block_hash}
    checkpoints = httpx.get(f"{devnet.kupo_url}/checkpoints").json()
    assert checkpoints[-1] == matches[0]["created_at"]


@pytest.mark.parametrize("method,params", [
    ("devnet/advance", {"slots": -1}),
    ("devnet/advance", {"slots": 1, "posixMs": 5}),
    ("devnet/fund", {"address": "addr_nope", "lovelace": 5}),
    ("devnet/rollback", {"blocks": 10_000}),
    ("devnet/advance", {"slots": 2**64}),
    ("devnet/fund", {"address": "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn",
                     "lovelace": 5_000_000}),
])
def test_devnet_control_methods_refuse_bad_params_without_changing_the_ledger(devnet, method, params):
    before = snapshot(devnet.ledger), devnet.ledger.current_slot
    with connect(devnet.ogmios_url) as ws:
        reply = rpc(ws, method, params)
    assert reply["error"]["code"] == -32602 and reply["error"]["message"]
    assert (snapshot(devnet.ledger), devnet.ledger.current_slot) == before


def test_devnet_control_methods_move_the_clock_and_fund_over_the_wire(devnet):
    bob = devnet.ledger.wallet("bob").address
    with connect(devnet.ogmios_url) as ws:
        start = rpc(ws, "devnet/status")["result"]["slot"]
        moved = rpc(ws, "devnet/advance", {"slots": 10})["result"]
        funded = rpc(ws, "devnet/fund", {"address": str(bob), "lovelace": 4_200_000})["result"]
    assert moved["slot"] == start + 10 == moved["advanced_to_slot"]
    tx_id, index = funded["output"].split("#")
    [(_, output)] = [(r, o) for r, o in devnet.ledger.utxos_at(bob)
                     if r.transaction_id.payload.hex() == tx_id and int(r.index) == int(index)]
    assert output.amount.coin == 4_200_000


def test_kupo_credential_patterns_accept_hex_and_bech32_keys(devnet):
    from pycardano.crypto.bech32 import encode

    alice = devnet.ledger.wallet("alice")
    key = alice.verification_key.payload
    key_hash = alice.address.payment_part.payload
    expected = httpx.get(f"{devnet.kupo_url}/matches/{alice.address}").json()
    assert expected
    for credential in (key.hex(), key_hash.hex(), encode("addr_vk", key), encode("addr_vkh", key_hash)):
        reply = httpx.get(f"{devnet.kupo_url}/matches/{credential}/*")
        assert reply.status_code == 200, reply.text
        assert reply.json() == expected


def test_garbled_http_gets_a_json_refusal_with_the_checkpoint(devnet):
    import socket

    host, port = devnet.kupo.host, devnet.kupo.port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer_bytes = sock.recv(65536)
    head, _, body = answer_bytes.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert b"X-Most-Recent-Checkpoint" in head
    assert json.loads(body)["hint"]


@pytest.mark.parametrize("path", ["/matches/*?created_after=" + "9" * 5000, "/checkpoints/" + "9" * 5000,
                                  "/matches/*?created_before=" + "9" * 21])
def test_kupo_refuses_oversized_numbers_as_bad_requests(devnet, path):
    reply = httpx.get(devnet.kupo_url + path)
    assert reply.status_code == 400 and "20 digits" in reply.json()["hint"]


def test_kupo_refuses_a_huge_request_line_and_keeps_serving(devnet):
    import socket

    with socket.create_connection((devnet.kupo.host, devnet.kupo.port)) as sock:
        sock.sendall(b"GET /matches/" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head = sock.recv(65536).split(b"\r\n")[0]
    assert head.startswith(b"HTTP/1.") and b" 414 " in head
    assert httpx.get(devnet.kupo_url + "/health").status_code == 200


def test_concurrent_kupo_clients_get_consistent_answers(devnet):
    alice = str(devnet.ledger.wallet("alice").address)
    expected = httpx.get(f"{devnet.kupo_url}/matches/{alice}?unspent").json()

    def client(_: int) -> list[Any]:
        with httpx.Client() as http:
            return [http.get(f"{devnet.kupo_url}/matches/{alice}?unspent").json() for _ in range(5)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = [a for batch in pool.map(client, range(10)) for a in batch]
    assert answers == [expected] * 50


def test_mempool_snapshot_lists_pending_transactions_of_a_tick_mode_devnet():
    ledger = Ledger.create(seed="mempool", block_mode="tick")
    with serving(ledger) as running:
        tx = pay(running, 2_500_000)
        with connect(running.ogmios_url) as ws:
            assert "result" in rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
            acquired = rpc(ws, "acquireMempool")["result"]
            assert acquired == {"acquired": "mempool", "slot": ledger.current_slot}
            assert rpc(ws, "hasTransaction", {"id": str(tx.id)})["result"] is True
            assert rpc(ws, "sizeOfMempool")["result"]["transactions"]["count"] == 1
            assert rpc(ws, "nextTransaction")["result"] == {"transaction": {"id": str(tx.id)}}
            assert rpc(ws, "nextTransaction")["result"] == {"transaction": None}
            assert rpc(ws, "releaseMempool")["result"] == {"released": "mempool"}
            rpc(ws, "devnet/tick")
            rpc(ws, "acquireMempool")
            assert rpc(ws, "hasTransaction", {"id": str(tx.id)})["result"] is False
        assert ledger.has_transaction(str(tx.id))


def test_funding_a_reward_address_is_refused_with_the_reason(devnet):
    before = snapshot(devnet.ledger)
    with connect(devnet.ogmios_url) as ws:
        reply = rpc(ws, "devnet/fund", {"address": "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn",
                                        "lovelace": 5_000_000})
    assert reply["error"]["code"] == -32602 and "reward (stake) address" in reply["error"]["message"]
    assert snapshot(devnet.ledger) == before
