"""Ledger-state queries and Kupo answer from the state at the tip; the mempool is seen only
through the mempool methods (issue 9, "Protocol semantics"). Checked with the raw wire, the
project's view and a third-party one (pycardano's ``KupoOgmiosV6ChainContext``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
import pytest
from pycardano import Transaction, TransactionBuilder, TransactionOutput
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving


def rpc(ws: Any, method: str, params: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        request["params"] = params
    ws.send(json.dumps(request))
    return json.loads(ws.recv())


def context(running: Any) -> KupoOgmiosV6ChainContext:
    return KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                    kupo_url=running.kupo_url)


def payment(running: Any, lovelace: int) -> Transaction:
    ledger = running.ledger
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    builder = TransactionBuilder(context(running))
    builder.add_input_address(alice.address)
    builder.add_output(TransactionOutput(bob.address, lovelace))
    return builder.build_and_sign([alice.signing_key], change_address=alice.address)


def refs(tx: Transaction) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the outputs it creates, the inputs it spends) as Ogmios output references."""
    created = [{"transaction": {"id": str(tx.id)}, "index": i} for i in range(len(tx.transaction_body.outputs))]
    spent = [{"transaction": {"id": i.transaction_id.payload.hex()}, "index": int(i.index)}
             for i in tx.transaction_body.inputs]
    return created, spent


def kupo(running: Any, pattern: str, flag: str = "") -> list[dict[str, Any]]:
    reply = httpx.get(f"{running.kupo_url}/matches/{pattern}{flag}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def assert_pending_is_invisible(running: Any, tx: Transaction) -> None:
    ledger = running.ledger
    created, spent = refs(tx)
    genesis = ledger.blocks[0]
    with connect(running.ogmios_url) as ws:
        assert rpc(ws, "queryLedgerState/utxo", {"outputReferences": created})["result"] == []
        assert len(rpc(ws, "queryLedgerState/utxo", {"outputReferences": spent})["result"]) == len(spent)
        bob = rpc(ws, "queryLedgerState/utxo", {"addresses": [str(ledger.wallet("bob").address)]})["result"]
        assert all(u["transaction"]["id"] != str(tx.id) for u in bob)
        whole = rpc(ws, "queryLedgerState/utxo")["result"]
        assert {(u["transaction"]["id"], u["index"]) for u in whole} >= {
            (r["transaction"]["id"], r["index"]) for r in spent}
        assert all(u["transaction"]["id"] != str(tx.id) for u in whole)
        rpc(ws, "acquireMempool")
        assert rpc(ws, "hasTransaction", {"id": str(tx.id)})["result"] is True
    assert kupo(running, f"*@{tx.id}") == []
    for ref in spent:
        [match] = kupo(running, f"{ref['index']}@{ref['transaction']['id']}", "?unspent")
        assert match["spent_at"] is None
        assert match["created_at"] == {"slot_no": genesis.slot, "header_hash": genesis.block_hash}
    theirs = {(u.input.transaction_id.payload.hex(), int(u.input.index))
              for u in context(running).utxos(ledger.wallet("alice").address)}
    assert {(r["transaction"]["id"], r["index"]) for r in spent} <= theirs
    assert all(u.input.transaction_id.payload.hex() != str(tx.id)
               for u in context(running).utxos(ledger.wallet("bob").address))


def assert_on_chain(running: Any, tx: Transaction) -> None:
    ledger = running.ledger
    created, spent = refs(tx)
    block = next(b for b in ledger.blocks if any(t.tx_id == str(tx.id) for t in b.txs))
    point = {"slot_no": block.slot, "header_hash": block.block_hash}
    with connect(running.ogmios_url) as ws:
        assert len(rpc(ws, "queryLedgerState/utxo", {"outputReferences": created})["result"]) == len(created)
        assert rpc(ws, "queryLedgerState/utxo", {"outputReferences": spent})["result"] == []
    assert {m["output_index"] for m in kupo(running, f"*@{tx.id}", "?unspent")} == set(range(len(created)))
    assert all(m["created_at"] == point for m in kupo(running, f"*@{tx.id}"))
    for ref in spent:
        [match] = kupo(running, f"{ref['index']}@{ref['transaction']['id']}", "?spent")
        assert match["spent_at"]["slot_no"] == block.slot and match["spent_at"]["header_hash"] == block.block_hash
        assert match["spent_at"]["transaction_id"] == str(tx.id)


@pytest.fixture()
def tick_devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    with serving(Ledger.create(seed="tip-view", block_mode="tick")) as running:
        yield running


def test_a_pending_transaction_is_seen_only_through_the_mempool_until_its_block(tick_devnet):
    tx = payment(tick_devnet, 3_000_000)
    with connect(tick_devnet.ogmios_url) as ws:
        assert "result" in rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert_pending_is_invisible(tick_devnet, tx)
    with connect(tick_devnet.ogmios_url) as ws:
        rpc(ws, "devnet/tick")
    assert_on_chain(tick_devnet, tx)


def test_a_rollback_to_the_mempool_takes_the_outputs_off_the_chain_views():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    with serving(Ledger.create(seed="tip-rollback")) as running:
        tx = payment(running, 4_000_000)
        with connect(running.ogmios_url) as ws:
            assert "result" in rpc(ws, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        assert_on_chain(running, tx)
        with connect(running.ogmios_url) as ws:
            back = rpc(ws, "devnet/rollback", {"blocks": 1, "toMempool": True})["result"]
        assert back["returned_to_mempool"] == [str(tx.id)]
        assert_pending_is_invisible(running, tx)
        # the ledger itself still holds the pending outputs (that is what the view subtracts)
        assert any(r.transaction_id.payload.hex() == str(tx.id) for r in running.ledger.utxo)


def test_a_pending_chain_of_transactions_restores_only_what_came_from_the_tip(tick_devnet):
    first = payment(tick_devnet, 5_000_000)
    with connect(tick_devnet.ogmios_url) as ws:
        rpc(ws, "submitTransaction", {"transaction": {"cbor": first.to_cbor_hex()}})
    assert_pending_is_invisible(tick_devnet, first)
    from runner.devnet.servers.tip_view import TipUtxo, utxo_at_tip

    view = utxo_at_tip(tick_devnet.ledger)
    assert isinstance(view, TipUtxo)
    assert len(view) == len(list(view)) == len(set(view))
    assert not (set(view) & view.hidden)


def test_the_project_client_sees_on_chain_in_mempool_and_spent_as_a_node_would(tick_devnet):
    """The engine's "on chain / in mempool / dead" resolution reads these three answers."""
    from runner.chain.ogmios_kupo import OgmiosKupoBackend

    tx = payment(tick_devnet, 6_000_000)
    created, spent = refs(tx)
    with OgmiosKupoBackend.connect(tick_devnet.ogmios_url, tick_devnet.kupo_url, timeout=10) as backend:
        backend.submit(tx.to_cbor())
        assert backend.in_mempool(str(tx.id))
        bob = str(tick_devnet.ledger.wallet("bob").address)
        assert all(u.ref.tx_id != str(tx.id) for u in backend.utxos_at([bob]))
        alice_refs = {(u.ref.tx_id, u.ref.index) for u in backend.utxos_at([str(tick_devnet.ledger.wallet("alice").address)])}
        assert {(r["transaction"]["id"], r["index"]) for r in spent} <= alice_refs
        with connect(tick_devnet.ogmios_url) as ws:
            rpc(ws, "devnet/tick")
        assert not backend.in_mempool(str(tx.id))
        assert {u.ref.tx_id for u in backend.utxos_at([bob])} >= {str(tx.id)}
        assert not {(u.ref.tx_id, u.ref.index) for u in backend.utxos_at(
            [str(tick_devnet.ledger.wallet("alice").address)])} & {(r["transaction"]["id"], r["index"]) for r in spent}
    assert created


def test_acquiring_again_while_holding_a_snapshot_waits_for_a_different_one(tick_devnet):
    """Ogmios' acquireMempool while acquired is the node's MsgAwaitAcquire; after release it
    answers at once."""
    with connect(tick_devnet.ogmios_url) as ws, connect(tick_devnet.ogmios_url) as other:
        first = rpc(ws, "acquireMempool")["result"]
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "acquireMempool", "id": 2}))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
        tx = payment(tick_devnet, 2_200_000)
        assert "result" in rpc(other, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        second = json.loads(ws.recv(timeout=30))
        assert second["result"]["acquired"] == "mempool" and second["id"] == 2
        assert rpc(ws, "hasTransaction", {"id": str(tx.id)})["result"] is True
        assert rpc(ws, "releaseMempool")["result"] == {"released": "mempool"}
        assert rpc(ws, "acquireMempool")["result"]["slot"] >= first["slot"]  # released: at once
