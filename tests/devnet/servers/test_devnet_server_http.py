"""JSON-RPC over HTTP POST / on the Ogmios port: one round trip per method family, the same
answers as over WebSocket, HTTP 400 for JSON-RPC errors (as Ogmios), and refusals that say why."""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

import httpx
import pytest
from pycardano import TransactionBuilder, TransactionOutput
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.testing.schemas import assert_ogmios


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    with serving(Ledger.create(seed="http-post")) as running:
        running.http_url = f"http://{running.ogmios.host}:{running.ogmios.port}"
        yield running


def post(devnet: Any, method: str, params: Any = None, request_id: Any = 5) -> httpx.Response:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        request["params"] = params
    return httpx.post(devnet.http_url, json=request, timeout=60)


def over_websocket(devnet: Any, method: str, params: Any = None) -> dict[str, Any]:
    with connect(devnet.ogmios_url) as ws:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 5}
        if params is not None:
            request["params"] = params
        ws.send(json.dumps(request))
        return json.loads(ws.recv())  # type: ignore[no-any-return]


def payment(devnet: Any) -> Any:
    ledger = devnet.ledger
    context = KupoOgmiosV6ChainContext(devnet.ogmios.host, devnet.ogmios.port, "", False,
                                       kupo_url=devnet.kupo_url)
    builder = TransactionBuilder(context)
    builder.add_input_address(ledger.wallet("alice").address)
    builder.add_output(TransactionOutput(ledger.wallet("bob").address, 2_500_000))
    return builder.build_and_sign([ledger.wallet("alice").signing_key],
                                  change_address=ledger.wallet("alice").address)


@pytest.mark.parametrize("method,params,schema", [
    ("queryNetwork/tip", None, "QueryNetworkTipResponse"),
    ("queryLedgerState/protocolParameters", None, "QueryLedgerStateProtocolParametersResponse"),
    ("queryLedgerState/eraSummaries", None, "QueryLedgerStateEraSummariesResponse"),
    ("queryLedgerState/treasuryAndReserves", None, "QueryLedgerStateTreasuryAndReservesResponse"),
    ("queryNetwork/genesisConfiguration", {"era": "shelley"}, "QueryNetworkGenesisConfigurationResponse"),
    ("acquireMempool", None, "AcquireMempoolResponse"),
])
def test_queries_over_http_answer_as_over_websocket(devnet, method, params, schema):
    reply = post(devnet, method, params)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    assert_ogmios(schema, reply.json())
    assert reply.json() == over_websocket(devnet, method, params)


def test_utxo_evaluate_and_submit_over_http(devnet):
    ledger = devnet.ledger
    bob = str(ledger.wallet("bob").address)
    utxo = post(devnet, "queryLedgerState/utxo", {"addresses": [bob]})
    assert utxo.status_code == 200 and utxo.json()["result"]
    assert_ogmios("QueryLedgerStateUtxoResponse", utxo.json())
    tx = payment(devnet)
    evaluated = post(devnet, "evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert evaluated.status_code == 200 and evaluated.json()["result"] == []  # no scripts
    submitted = post(devnet, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert submitted.status_code == 200, submitted.text
    assert_ogmios("SubmitTransactionResponse", submitted.json())
    assert ledger.has_transaction(str(tx.id))
    again = post(devnet, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert again.status_code == 400 and again.json()["error"]["code"] == 3117
    assert_ogmios("SubmitTransactionResponse", again.json())


def test_devnet_control_over_http(devnet):
    reply = post(devnet, "devnet/status")
    assert reply.status_code == 200 and reply.json()["result"]["tip"]["id"] == devnet.ledger.tip.block_hash


@pytest.mark.parametrize("body,code", [
    (b'{"jsonrpc": "2.0", "method": "queryNetwork/tip"', -32700),
    (b'{"jsonrpc": "2.0", "method": "nope", "id": 5}', -32601),
    (b'{"jsonrpc": "2.0", "method": "nextBlock", "id": 5}', -32600),
    (b'{"jsonrpc": "2.0", "method": "findIntersection", "params": {"points": ["origin"]}, "id": 5}', -32600),
    (b'{"jsonrpc": "1.0", "method": "queryNetwork/tip", "id": 5}', -32600),
])
def test_json_rpc_errors_over_http_are_400_with_the_json_rpc_body(devnet, body, code):
    reply = httpx.post(devnet.http_url, content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == code and reply.json()["error"]["message"]


def _raw_http(devnet: Any, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection((devnet.ogmios.host, devnet.ogmios.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("request_bytes,status", [
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b" 411 "),
    (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", b" 411 "),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", b" 413 "),
])
def test_unreadable_posts_are_refused_with_a_hint(devnet, request_bytes, status):
    head, body = _raw_http(devnet, request_bytes)
    assert status in head.split(b"\r\n")[0]
    assert json.loads(body)["hint"]
    assert post(devnet, "queryNetwork/tip").status_code == 200  # still serving


def test_a_post_sent_in_pieces_is_answered(devnet):
    body = json.dumps({"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": 1}).encode()
    with socket.create_connection((devnet.ogmios.host, devnet.ogmios.port), timeout=10) as sock:
        for piece in (b"PO", b"ST / HTTP/1.1\r\nHost: x\r\nContent-Le",
                      f"ngth: {len(body)}\r\n\r\n".encode(), body[:10], body[10:]):
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b" 200 " in answer.split(b"\r\n")[0]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["result"]["id"] == devnet.ledger.tip.block_hash


def test_a_client_expecting_100_continue_gets_it_before_sending_the_body(devnet):
    body = json.dumps({"jsonrpc": "2.0", "method": "queryNetwork/tip", "id": 1, "pad": "x" * 2000}).encode()
    with socket.create_connection((devnet.ogmios.host, devnet.ogmios.port), timeout=10) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b" 200 " in answer.split(b"\r\n")[0]


def test_websocket_and_health_still_work_on_the_same_port(devnet):
    assert httpx.get(devnet.http_url + "/health").json()["lastKnownTip"]["id"] == devnet.ledger.tip.block_hash
    assert httpx.get(devnet.http_url + "/").status_code == 426
    assert over_websocket(devnet, "queryNetwork/tip")["result"]["id"] == devnet.ledger.tip.block_hash
