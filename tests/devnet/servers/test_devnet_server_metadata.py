"""Transaction metadata as the engine discovers schedules from the chain: Kupo's
``/metadata/{slot}`` (OpenAPI shape, X-Block-Header-Hash, transaction filter) and the
``metadata`` of transactions in chain-sync blocks (Ogmios schema)."""

from __future__ import annotations

import json
import sys

import cbor2
import httpx
import pytest
from pycardano import AlonzoMetadata, AuxiliaryData, Metadata, TransactionBuilder, TransactionOutput
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.kupo.metadata import metadatum
from runner.devnet.servers.serve import serving
from runner.testing.schemas import assert_kupo, assert_ogmios, kupo_ref

MESSAGE = {674: {"msg": ["milestone 1", b"\x01\x02"], "n": -5, "m": {1: [2, 3]}}}


@pytest.fixture(scope="module")
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="metadata")
    with serving(ledger) as running:
        alice = ledger.wallet("alice")
        context = KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                           kupo_url=running.kupo_url)
        builder = TransactionBuilder(context)
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(ledger.wallet("bob").address, 2_000_000))
        builder.auxiliary_data = AuxiliaryData(AlonzoMetadata(metadata=Metadata(MESSAGE)))
        running.tx = builder.build_and_sign([alice.signing_key], change_address=alice.address)
        context.submit_tx(running.tx)
        running.block = ledger.blocks[-1]
        yield running


def test_metadata_of_a_block_validates_and_names_the_block(devnet):
    reply = httpx.get(f"{devnet.kupo_url}/metadata/{devnet.block.slot}")
    assert reply.status_code == 200
    assert reply.headers["X-Block-Header-Hash"] == devnet.block.block_hash
    assert_kupo({"type": "array", "items": kupo_ref("Metadata")}, reply.json())
    [found] = reply.json()
    assert found["hash"] == devnet.tx.transaction_body.auxiliary_data_hash.payload.hex()
    assert found["schema"]["674"] == metadatum(MESSAGE[674])
    assert found["schema"]["674"]["map"][0] == {"k": {"string": "msg"}, "v": {"list": [
        {"string": "milestone 1"}, {"bytes": "0102"}]}}
    assert cbor2.loads(bytes.fromhex(found["raw"])).value[0] == MESSAGE


def test_metadata_filters_by_transaction_and_is_empty_where_no_block_is(devnet):
    slot = devnet.block.slot
    assert len(httpx.get(f"{devnet.kupo_url}/metadata/{slot}?transaction_id={devnet.tx.id}").json()) == 1
    assert httpx.get(f"{devnet.kupo_url}/metadata/{slot}?transaction_id={'ab' * 32}").json() == []
    empty = httpx.get(f"{devnet.kupo_url}/metadata/{slot + 1000}")
    assert empty.status_code == 200 and empty.json() == [] and "X-Block-Header-Hash" not in empty.headers


@pytest.mark.parametrize("path", ["/metadata/yesterday", "/metadata/" + "9" * 21, "/metadata/5?colour=1",
                                  "/metadata/5?transaction_id=xyz"])
def test_bad_metadata_requests_are_400_with_a_hint(devnet, path):
    reply = httpx.get(devnet.kupo_url + path)
    assert reply.status_code == 400 and reply.json()["hint"]


def test_chain_sync_blocks_carry_the_metadata_in_the_ogmios_shape(devnet):
    previous = devnet.ledger.blocks[devnet.block.height - 1]
    with connect(devnet.ogmios_url, max_size=None) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "findIntersection", "id": 1,
                            "params": {"points": [{"slot": previous.slot, "id": previous.block_hash}]}}))
        ws.recv()
        for _ in range(2):
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "nextBlock", "id": 2}))
            reply = json.loads(ws.recv())
    assert_ogmios("NextBlockResponse", reply)
    [tx] = reply["result"]["block"]["transactions"]
    assert tx["metadata"]["hash"] == devnet.tx.transaction_body.auxiliary_data_hash.payload.hex()
    assert cbor2.loads(bytes.fromhex(tx["metadata"]["labels"]["674"]["cbor"])) == MESSAGE[674]


@pytest.mark.parametrize("path", ["/patterns", "/patterns/*", "/patterns/addr_vk1qqqq/*"])
def test_patterns_say_the_devnet_indexes_everything(devnet, path):
    if path.endswith("addr_vk1qqqq/*"):
        assert httpx.get(devnet.kupo_url + path).status_code == 400  # unreadable credential
        return
    reply = httpx.get(devnet.kupo_url + path)
    assert reply.status_code == 200 and reply.json() == ["*"]
    assert_kupo({"type": "array", "items": kupo_ref("Pattern")}, reply.json())


def test_patterns_include_an_address(devnet):
    alice = devnet.ledger.wallet("alice").address
    assert httpx.get(f"{devnet.kupo_url}/patterns/{alice}").json() == ["*"]


def test_in_process_callers_get_metadata_and_a_refusal_instead_of_a_wait(devnet):
    """The engine drives the devnet in process (no sockets): Kupo's route and Ogmios' answer."""
    from runner.devnet.servers.kupo.server import IndexCache, route
    from runner.devnet.servers.ogmios.methods import Session
    from runner.devnet.servers.ogmios.server import answer

    index = IndexCache(devnet.guard).current()
    reply = route(index, f"/metadata/{devnet.block.slot}")
    assert len(reply.body) == 1 and reply.headers["X-Block-Header-Hash"] == devnet.block.block_hash
    session, tip = Session(), devnet.ledger.tip
    answer(devnet.guard, session, json.dumps({"jsonrpc": "2.0", "method": "findIntersection", "id": 1,
                                              "params": {"points": [{"slot": tip.slot, "id": tip.block_hash}]}}))
    back = json.loads(answer(devnet.guard, session, '{"jsonrpc": "2.0", "method": "nextBlock", "id": 2}'))
    assert back["result"]["direction"] == "backward"
    waiting = json.loads(answer(devnet.guard, session, '{"jsonrpc": "2.0", "method": "nextBlock", "id": 3}'))
    assert waiting["error"]["code"] == -32000 and waiting["id"] == 3 and waiting["method"] == "nextBlock"
