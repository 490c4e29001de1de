"""Chain synchronization on `devnet up`: Ogmios' intersection rules, Praos blocks that validate
against the vendored v6.14 schema, RollBackward after a devnet rollback, waiting at the tip."""

from __future__ import annotations

import json
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from pycardano import StakeCredential, StakeRegistration
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.testing.schemas import assert_ogmios

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "reference" / "ogmios" / "vectors"
if not VECTORS.is_dir():
    VECTORS = Path("/work/shared/reference/ogmios/vectors")


RESPONSES = {"nextBlock": "NextBlockResponse", "findIntersection": "FindIntersectionResponse"}


class Wire:
    """One WebSocket connection; every answer is checked against the schema of its method."""

    def __init__(self, url: str) -> None:
        self.ws = connect(url, max_size=None)

    def send(self, method: str, params: Any = None) -> None:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": method}
        if params is not None:
            request["params"] = params
        self.ws.send(json.dumps(request))

    def receive(self, method: str, timeout: float | None = 30) -> dict[str, Any]:
        reply = json.loads(self.ws.recv(timeout=timeout))
        assert reply["method"] == method and reply["id"] == method, reply
        if "error" in reply and reply["error"]["code"] < 0:
            assert_ogmios("RpcError", reply)
        elif method in RESPONSES:
            assert_ogmios(RESPONSES[method], reply)
        return reply  # type: ignore[no-any-return]

    def call(self, method: str, params: Any = None) -> dict[str, Any]:
        self.send(method, params)
        return self.receive(method)

    def next(self) -> dict[str, Any]:
        return self.call("nextBlock")["result"]  # type: ignore[no-any-return]


def point(block: Any) -> dict[str, Any]:
    return {"slot": block.slot, "id": block.block_hash}


def _served() -> Any:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="chainsync")
    ledger.fund(ledger.wallet("bob").address, 3_000_000, assets={"tok": 5})
    ledger.fund(ledger.wallet("alice").address, 4_000_000)
    return serving(ledger)


@pytest.fixture()
def devnet():
    with _served() as running:
        yield running


@pytest.fixture(scope="module")
def still():
    """A devnet the tests only read (the vendored vectors ask about random points)."""
    with _served() as running:
        yield running


def test_a_new_connection_starts_at_the_origin_and_gets_every_block_in_the_praos_shape(devnet):
    ledger = devnet.ledger
    wire = Wire(devnet.ogmios_url)
    first = wire.next()
    assert first["direction"] == "backward" and first["point"] == "origin"
    for height, block in enumerate(ledger.blocks):
        step = wire.next()
        assert step["direction"] == "forward"
        sent = step["block"]
        assert (sent["id"], sent["height"], sent["slot"]) == (block.block_hash, height, block.slot)
        assert sent["ancestor"] == ("genesis" if height == 0 else ledger.blocks[height - 1].block_hash)
        assert [t["id"] for t in sent["transactions"]] == [t.tx_id for t in block.txs]
        assert step["tip"] == {"slot": ledger.tip.slot, "id": ledger.tip.block_hash, "height": ledger.tip.height}
    minted = [o for t in wire_blocks_transactions(devnet) for o in t["outputs"] if len(o["value"]) > 1]
    assert minted, "the faucet's token output is in a block"


def wire_blocks_transactions(devnet: Any) -> list[dict[str, Any]]:
    wire = Wire(devnet.ogmios_url)
    wire.call("findIntersection", {"points": ["origin"]})
    wire.next()
    return [t for _ in devnet.ledger.blocks for t in wire.next()["block"]["transactions"]]


def test_find_intersection_picks_the_first_known_point_and_rolls_back_to_it(devnet):
    blocks = devnet.ledger.blocks
    wire = Wire(devnet.ogmios_url)
    unknown = {"slot": 999, "id": "ab" * 32}
    found = wire.call("findIntersection", {"points": [unknown, point(blocks[1]), point(blocks[0])]})["result"]
    assert found["intersection"] == point(blocks[1])
    assert wire.next() == {"direction": "backward", "point": point(blocks[1]), "tip": found["tip"]}
    assert wire.next()["block"]["id"] == blocks[2].block_hash
    assert wire.call("findIntersection", {"points": ["origin", point(blocks[2])]})["result"]["intersection"] == "origin"
    assert wire.next()["point"] == "origin"
    assert wire.next()["block"]["height"] == 0


@pytest.mark.parametrize("points", [
    [{"slot": 999, "id": "ab" * 32}],
    [],
    "wrong-slot",
])
def test_no_known_point_is_intersection_not_found_with_the_tip(devnet, points):
    ledger = devnet.ledger
    if points == "wrong-slot":
        points = [{"slot": ledger.blocks[1].slot + 1, "id": ledger.blocks[1].block_hash}]
    error = Wire(devnet.ogmios_url).call("findIntersection", {"points": points})["error"]
    assert error["code"] == 1000
    assert error["data"]["tip"]["id"] == ledger.tip.block_hash


@pytest.mark.parametrize("params", [None, {"points": "origin"}, {"points": [{"slot": -1, "id": "00" * 32}]},
                                    {"points": [{"slot": 1, "id": "00" * 32, "x": 1}]}, {"points": ["genesis"]}])
def test_malformed_points_are_refused_with_minus_32602(devnet, params):
    wire = Wire(devnet.ogmios_url)
    assert wire.call("findIntersection", params)["error"]["code"] == -32602
    assert wire.call("nextBlock", {"junk": 1})["error"]["code"] == -32602


def test_a_devnet_rollback_sends_the_follower_backward_then_the_new_block(devnet):
    ledger = devnet.ledger
    wire, control = Wire(devnet.ogmios_url), Wire(devnet.ogmios_url)
    wire.call("findIntersection", {"points": [point(ledger.blocks[-1])]})
    wire.next()
    rolled_from = ledger.tip
    control.call("devnet/rollback", {"blocks": 1, "toMempool": False})
    back = wire.next()
    assert back["direction"] == "backward" and back["point"] == point(ledger.blocks[-1])
    assert back["tip"]["height"] == rolled_from.height - 1
    control.call("devnet/fund", {"address": str(ledger.wallet("alice").address), "lovelace": 2_000_000})
    forward = wire.next()
    assert forward["block"]["height"] == rolled_from.height
    assert forward["block"]["id"] == ledger.tip.block_hash != rolled_from.block_hash


def test_a_rollback_deeper_than_the_intersection_goes_back_to_the_origin_when_nothing_is_left(devnet):
    ledger = devnet.ledger
    wire = Wire(devnet.ogmios_url)
    wire.next()
    for _ in ledger.blocks:
        wire.next()
    devnet.guard.write(lambda led: led.reset())  # genesis is the same block: back to it
    assert wire.next()["point"] == point(ledger.blocks[0])


def test_next_block_at_the_tip_waits_for_the_next_block_while_other_clients_are_served(devnet):
    ledger = devnet.ledger
    wire = Wire(devnet.ogmios_url)
    wire.call("findIntersection", {"points": [point(ledger.blocks[-1])]})
    wire.next()
    wire.send("nextBlock")
    with pytest.raises(TimeoutError):
        wire.receive("nextBlock", timeout=0.3)
    other = Wire(devnet.ogmios_url)
    assert other.call("queryNetwork/tip")["result"]["id"] == ledger.tip.block_hash
    fund = threading.Thread(target=lambda: other.call(
        "devnet/fund", {"address": str(ledger.wallet("bob").address), "lovelace": 2_000_000}))
    fund.start()
    step = wire.receive("nextBlock")["result"]
    fund.join()
    assert step["direction"] == "forward" and step["block"]["id"] == ledger.tip.block_hash


def test_a_change_made_without_the_guard_is_still_seen(devnet):
    """Tests (and tools) may change the ledger under the lock directly: followers re-check."""
    ledger = devnet.ledger
    wire = Wire(devnet.ogmios_url)
    wire.call("findIntersection", {"points": [point(ledger.blocks[-1])]})
    wire.next()
    wire.send("nextBlock")
    with devnet.guard.lock:
        ledger.tick()
    assert wire.receive("nextBlock")["result"]["block"]["id"] == ledger.tip.block_hash


# --- the vendored vectors ----------------------------------------------------------------------

def _vectors(name: str) -> list[Any]:
    return [pytest.param(p, id=p.name) for p in sorted((VECTORS / name).glob("*.json"))]


@pytest.mark.parametrize("path", _vectors("FindIntersection"))
def test_vendored_find_intersection_requests_are_answered_in_the_schema(still, path):
    devnet = still
    request = json.loads(path.read_text())
    wire = Wire(devnet.ogmios_url)
    wire.ws.send(json.dumps(request))
    reply = json.loads(wire.ws.recv(timeout=30))
    assert reply["id"] == request.get("id")
    assert_ogmios("FindIntersectionResponse", reply)
    known = {b.block_hash for b in devnet.ledger.blocks}
    if any(p == "origin" or p["id"] in known for p in request["params"]["points"]):
        assert "result" in reply
    else:
        assert reply["error"]["code"] == 1000


@pytest.mark.parametrize("path", _vectors("NextBlock"))
def test_vendored_next_block_requests_are_answered_in_the_schema(still, path):
    devnet = still
    request = json.loads(path.read_text())
    wire = Wire(devnet.ogmios_url)
    wire.ws.send(json.dumps(request))
    reply = json.loads(wire.ws.recv(timeout=30))
    assert reply["id"] == request.get("id")
    assert_ogmios("NextBlockResponse", reply)


@pytest.mark.parametrize("path", _vectors("NextBlockResponse") + _vectors("FindIntersectionResponse"))
def test_vendored_chain_sync_responses_parse_with_the_pypi_client_and_the_patched_schema(path):
    """The checks applied to the devnet's answers accept Ogmios' own (so they check shape, not quirks)."""
    from ogmios.chainsync.FindIntersection import FindIntersection
    from ogmios.chainsync.NextBlock import NextBlock

    response = json.loads(path.read_text())
    if path.parent.name == "NextBlockResponse":
        assert_ogmios("NextBlockResponse", response)
        direction, _, _, _ = NextBlock._parse_NextBlock_response(response)
        assert direction.value == response["result"]["direction"]
    else:
        assert_ogmios("FindIntersectionResponse", response)
        if "result" in response:
            FindIntersection._parse_FindIntersection_response(response)


def test_stake_registration_shows_in_blocks_and_reward_account_summaries(devnet):
    from runner.testing.ledger import HandTx

    ledger = devnet.ledger
    hand = HandTx(ledger)
    credential = StakeCredential(ledger.wallet("alice").verification_key.hash())
    tx = hand.build(hand.utxos("alice")[:1], [], [hand.w("alice")],
                    certificates=[StakeRegistration(credential)], adjust=-2_000_000)
    wire = Wire(devnet.ogmios_url)
    wire.call("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    [summary] = wire.call("queryLedgerState/rewardAccountSummaries",
                          {"keys": [credential.credential.payload.hex()]})["result"]
    assert summary == {"from": "verificationKey", "credential": credential.credential.payload.hex(),
                       "rewards": {"ada": {"lovelace": 0}}, "deposit": {"ada": {"lovelace": 2_000_000}}}
    assert wire.call("queryLedgerState/rewardAccountSummaries", {"scripts": [
        credential.credential.payload.hex()]})["result"] == []


def test_a_transaction_the_decoder_cannot_read_is_sent_with_its_id_inputs_and_cbor(devnet, monkeypatch):
    """The ledger accepts with its own parser; a gap in pycardano's must not stall followers."""
    from runner.devnet.servers.ogmios import chainsync as ogmios_chainsync
    from runner.devnet.servers.ogmios import tx as ogmios_tx

    ledger = devnet.ledger
    monkeypatch.setattr(ogmios_chainsync, "_BLOCKS", OrderedDict())  # no block cached before the gap

    def broken(tx_id: str, cbor: bytes) -> Any:
        raise ValueError("decoder gap")

    monkeypatch.setattr(ogmios_tx, "transaction", broken)
    wire = Wire(devnet.ogmios_url)
    wire.call("findIntersection", {"points": [point(ledger.blocks[0])]})
    wire.next()
    block = wire.next()["block"]
    applied = ledger.blocks[1].txs[0]
    [tx] = block["transactions"]
    assert tx["id"] == applied.tx_id and tx["cbor"] == applied.cbor.hex()
    assert {(i["transaction"]["id"], i["index"]) for i in tx["inputs"]} == {
        (r.transaction_id.payload.hex(), int(r.index)) for r, _ in applied.undo.consumed}
    assert wire.next()["block"]["height"] == 2  # and the follower moves on
