"""The WebSocket JSON-RPC transport over a real socket, against a tiny loopback server.

The server answers canned Ogmios vectors, and misbehaves on purpose for some methods:
it hangs up mid-call (clean close and abrupt TCP shutdown), answers another id, sends
non-JSON, or never answers. Each fault must surface as the project's error, and the
next call must reconnect and work.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from runner.chain.ogmios import OgmiosClient, WebSocketJsonRpc
from runner.chain.retry import LOST, NO_RETRY, UNREACHABLE
from runner.errors import ChainUnavailable, ProtocolError

VECTORS = Path("/work/shared/reference/ogmios/vectors")
_here = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "ogmios" / "vectors"
)
if _here.is_dir():
    VECTORS = _here
TIP = json.loads((VECTORS / "QueryNetworkTip" / "000.json").read_text())


class CannedOgmios:
    """Loopback server; records every request it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.server: Server = serve(self.handle, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        try:
            for raw in ws:
                request = json.loads(raw)
                self.requests.append(request)
                if not self.answer(ws, request):
                    return
        except ConnectionClosed:
            return

    def answer(self, ws: ServerConnection, request: dict[str, Any]) -> bool:
        """Reply to one request; False ends the connection."""
        method = request["method"]
        if method == "submitTransaction":  # hang up mid-call, cleanly
            ws.close()
            return False
        if method == "hasTransaction":  # hang up mid-call, abruptly
            ws.socket.shutdown(socket.SHUT_RDWR)
            return False
        if method == "queryLedgerState/eraSummaries":  # never answer
            return True
        if method == "queryNetwork/startTime":
            ws.send("this is not json")
            return True
        reply = dict(TIP, method=method, id=request["id"])
        if method == "queryLedgerState/epoch":
            reply["id"] = "someone-else"
        ws.send(json.dumps(reply))
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def ogmios() -> Iterator[CannedOgmios]:
    server = CannedOgmios()
    yield server
    server.close()


@pytest.fixture
def transport(ogmios: CannedOgmios) -> Iterator[WebSocketJsonRpc]:
    with WebSocketJsonRpc(ogmios.url, timeout=0.5, open_timeout=2.0) as rpc:
        yield rpc


def test_request_goes_out_as_json_rpc_and_the_answer_is_parsed(
    ogmios: CannedOgmios, transport: WebSocketJsonRpc
) -> None:
    before = len(ogmios.requests)
    tip = OgmiosClient(transport, retry=NO_RETRY).network_tip()
    assert (tip.slot, tip.block_hash) == (TIP["result"]["slot"], TIP["result"]["id"])
    (request,) = ogmios.requests[before:]
    assert request["jsonrpc"] == "2.0" and request["method"] == "queryNetwork/tip"
    assert "params" not in request and request["id"] is not None


def test_calls_share_one_connection_and_use_distinct_ids(
    ogmios: CannedOgmios, transport: WebSocketJsonRpc
) -> None:
    connections, before = ogmios.connections, len(ogmios.requests)
    client = OgmiosClient(transport, retry=NO_RETRY)
    client.network_tip(), client.network_tip(), client.network_tip()
    ids = [r["id"] for r in ogmios.requests[before:]]
    assert len(set(ids)) == 3
    assert ogmios.connections == connections + 1


@pytest.mark.parametrize("method", ["submitTransaction", "hasTransaction"])
def test_server_hanging_up_mid_call_is_chain_unavailable_then_next_call_reconnects(
    ogmios: CannedOgmios, transport: WebSocketJsonRpc, method: str
) -> None:
    params = (
        {"transaction": {"cbor": "84a0"}}
        if method == "submitTransaction"
        else {"id": "ab" * 32}
    )
    with pytest.raises(ChainUnavailable) as caught:
        transport.call(method, params)
    assert caught.value.code == LOST  # the request was sent: its fate is unknown
    assert ogmios.requests[-1]["method"] == method
    assert (
        OgmiosClient(transport, retry=NO_RETRY).network_tip().slot
        == TIP["result"]["slot"]
    )


def test_submit_is_not_resent_after_the_socket_dropped(
    ogmios: CannedOgmios, transport: WebSocketJsonRpc
) -> None:
    before = len(ogmios.requests)
    with pytest.raises(ChainUnavailable):
        OgmiosClient(transport, sleep=lambda _: None).submit(b"\x84\xa0")
    assert [r["method"] for r in ogmios.requests[before:]] == ["submitTransaction"]


def test_answer_with_another_id_is_a_protocol_error(
    transport: WebSocketJsonRpc,
) -> None:
    with pytest.raises(ProtocolError, match="someone-else"):
        transport.call("queryLedgerState/epoch", None)


def test_non_json_answer_is_a_protocol_error(transport: WebSocketJsonRpc) -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        transport.call("queryNetwork/startTime", None)


def test_silent_server_times_out_as_chain_unavailable(
    transport: WebSocketJsonRpc,
) -> None:
    with pytest.raises(ChainUnavailable, match="did not answer") as caught:
        transport.call("queryLedgerState/eraSummaries", None)
    assert caught.value.code == LOST


def test_nobody_listening_is_chain_unavailable_unreachable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rpc = WebSocketJsonRpc(f"ws://127.0.0.1:{port}", timeout=0.5, open_timeout=1.0)
    with rpc, pytest.raises(ChainUnavailable) as caught:
        rpc.call("queryNetwork/tip", None)
    assert caught.value.code == UNREACHABLE and caught.value.hint
