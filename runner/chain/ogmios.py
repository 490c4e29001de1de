"""Ogmios v6.14 client: JSON-RPC 2.0 over one WebSocket, behind one ``call`` function.

``OgmiosClient`` only needs a ``JsonRpcCall`` — ``(method, params) -> response`` — so
tests fake the chain with a plain function and the real transport
(``WebSocketJsonRpc``) is tested on its own against a loopback server. The transport
owns every network fault: connection refused, handshake failures, timeouts and dropped
sockets become ``ChainUnavailable`` (code ``chain-unreachable`` when the request
provably never left, ``chain-unavailable`` when its answer was lost); an answer that is
not JSON, or that echoes another request ``id``, is a ``ProtocolError``. The client
checks that each answer echoes its ``method`` and parses it with ``ogmios_codec``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidURI,
    WebSocketException,
)
from websockets.sync.client import ClientConnection, connect

from runner.chain import ogmios_codec as codec
from runner.chain.backend import (
    EraSummary,
    Evaluation,
    GenesisConfiguration,
    OutputReference,
    ProtocolParameters,
    RewardAccount,
    SubmitResult,
    Tip,
    Utxo,
)
from runner.chain.ogmios_blocks import height_at
from runner.chain.ogmios_rewards import parse_reward_account_summaries
from runner.chain.retry import (
    DEFAULT_RETRY,
    LOST,
    SUBMIT_RETRY,
    UNREACHABLE,
    RetryPolicy,
    Sleep,
)
from runner.chain.urls import shown_url
from runner.errors import ChainUnavailable, ConfigError, ProtocolError

T = TypeVar("T")
JsonRpcCall = Callable[[str, "Mapping[str, Any] | None"], Mapping[str, Any]]

MAX_MESSAGE_BYTES = 128 * 1024 * 1024  # a UTxO query on a busy address can be large
HINT_DOWN = "is Ogmios running and OGMIOS_URL right? (devnet: `milestones devnet up`)"


def encode_request(
    method: str, params: Mapping[str, Any] | None, request_id: Any
) -> dict[str, Any]:
    """A JSON-RPC 2.0 request as Ogmios v6 expects it (``params`` omitted when None)."""
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        request["params"] = dict(params)
    request["id"] = request_id
    return request


class WebSocketJsonRpc:
    """One persistent WebSocket to Ogmios; reconnects lazily after any fault.

    Calls are serialised (Ogmios answers in order on a connection, and mempool
    snapshots are per connection). Every wait is bounded by ``timeout`` seconds.
    """

    def __init__(
        self, url: str, *, timeout: float = 30.0, open_timeout: float = 10.0
    ) -> None:
        self.url = url
        self.shown_url = shown_url(url)  # for messages: no credentials
        self.timeout = timeout
        self.open_timeout = open_timeout
        self._connection: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(
        self, method: str, params: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        return self.call(method, params)

    def call(self, method: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        with self._lock:
            connection = self._connect()
            request_id = f"{method}#{next(self._ids)}"
            self._send(
                connection,
                method,
                json.dumps(encode_request(method, params, request_id)),
            )
            raw = self._receive(connection, method)
            return self._decode(raw, method, request_id)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> WebSocketJsonRpc:  # noqa: PYI034 (typing.Self needs 3.11)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the pieces, each translating its own faults

    def _connect(self) -> ClientConnection:
        if self._connection is not None:
            return self._connection
        try:
            self._connection = connect(
                self.url,
                open_timeout=self.open_timeout,
                close_timeout=1.0,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
                proxy=None,
            )
        except InvalidURI as exc:
            raise ConfigError(
                f"not a WebSocket URL: {self.shown_url!r}",
                location="ogmios_url",
                hint="use ws://host:port or wss://host:port",
            ) from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise ChainUnavailable(
                f"cannot connect to Ogmios at {self.shown_url}: {exc}",
                code=UNREACHABLE,
                location=self.shown_url,
                hint=HINT_DOWN,
            ) from exc
        return self._connection

    def _send(self, connection: ClientConnection, method: str, message: str) -> None:
        try:
            connection.send(message)
        except (
            ConnectionClosed
        ) as exc:  # closed before we wrote: nothing left this machine
            self._drop()
            raise ChainUnavailable(
                f"Ogmios connection was closed before sending {method}",
                code=UNREACHABLE,
                location=self.shown_url,
                hint=HINT_DOWN,
            ) from exc
        except (OSError, WebSocketException) as exc:
            self._drop()
            raise ChainUnavailable(
                f"sending {method} to Ogmios failed: {exc}",
                code=LOST,
                location=self.shown_url,
                hint=HINT_DOWN,
            ) from exc

    def _receive(self, connection: ClientConnection, method: str) -> str | bytes:
        try:
            return connection.recv(timeout=self.timeout)
        except TimeoutError as exc:
            self._drop()  # a late answer would be read as the next call's answer
            raise ChainUnavailable(
                f"Ogmios did not answer {method} within {self.timeout:g}s",
                code=LOST,
                location=self.shown_url,
                hint="the node may be overloaded; retry later",
            ) from exc
        except (ConnectionClosed, OSError, WebSocketException) as exc:
            self._drop()
            raise ChainUnavailable(
                f"Ogmios closed the connection during {method}: {exc}",
                code=LOST,
                location=self.shown_url,
                hint=HINT_DOWN,
            ) from exc

    def _decode(
        self, raw: str | bytes, method: str, request_id: str
    ) -> Mapping[str, Any]:
        try:
            response = json.loads(raw)
        except ValueError as exc:
            self._drop()
            raise ProtocolError(
                f"Ogmios answered {method} with something that is not JSON",
                location=self.shown_url,
            ) from exc
        if not isinstance(response, dict) or response.get("id") != request_id:
            got = response.get("id") if isinstance(response, dict) else response
            self._drop()
            raise ProtocolError(
                f"Ogmios answered request {request_id!r} with id {got!r}",
                location=self.shown_url,
                hint="the server must echo the request id (JSON-RPC 2.0)",
            )
        return response

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except (OSError, WebSocketException):  # already broken; nothing to save
                pass


class OgmiosClient:
    """Typed Ogmios v6.14 methods over any ``JsonRpcCall``, with retries for transient faults."""

    def __init__(
        self,
        call: JsonRpcCall,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        submit_retry: RetryPolicy = SUBMIT_RETRY,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._call = call
        self.retry = retry
        self.submit_retry = submit_retry
        self._sleep = sleep

    def request(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """One round trip, no retry: the ``result`` or the translated error."""
        return codec.result_of(self._call(method, params), method)

    def _query(
        self, method: str, params: Mapping[str, Any] | None, parse: Callable[[Any], T]
    ) -> T:
        return self.retry.run(
            lambda: parse(self.request(method, params)), sleep=self._sleep
        )

    def network_tip(self) -> Tip:
        return self._query("queryNetwork/tip", None, codec.parse_tip)

    def ledger_tip(self) -> Tip:
        return self._query("queryLedgerState/tip", None, codec.parse_tip)

    def epoch(self) -> int:
        return self._query("queryLedgerState/epoch", None, codec.parse_epoch)

    def protocol_parameters(self) -> ProtocolParameters:
        return self._query(
            "queryLedgerState/protocolParameters", None, codec.parse_protocol_parameters
        )

    def era_summaries(self) -> tuple[EraSummary, ...]:
        return self._query(
            "queryLedgerState/eraSummaries", None, codec.parse_era_summaries
        )

    def genesis_configuration(self, era: str) -> GenesisConfiguration:
        return self._query(
            "queryNetwork/genesisConfiguration",
            {"era": era},
            codec.parse_genesis_configuration,
        )

    def start_time(self) -> datetime:
        return self._query("queryNetwork/startTime", None, codec.parse_start_time)

    def utxos_at(self, addresses: Sequence[str]) -> list[Utxo]:
        return self._query(
            "queryLedgerState/utxo", {"addresses": list(addresses)}, codec.parse_utxos
        )

    def utxos_by_refs(self, refs: Sequence[OutputReference]) -> list[Utxo]:
        params = {"outputReferences": [codec.encode_output_reference(r) for r in refs]}
        return self._query("queryLedgerState/utxo", params, codec.parse_utxos)

    def reward_accounts(
        self, *, scripts: Sequence[str] = (), keys: Sequence[str] = ()
    ) -> list[RewardAccount]:
        """Summaries of the registered ones among these stake credentials (hex hashes);
        the answer is checked (runner/chain/ogmios_rewards.py)."""
        asked = {(True, c) for c in scripts} | {(False, c) for c in keys}
        if not asked:
            return []
        params = {"scripts": list(scripts), "keys": list(keys)}
        return self._query(
            "queryLedgerState/rewardAccountSummaries",
            params,
            lambda result: parse_reward_account_summaries(result, asked=asked),
        )

    def block_height_at(self, slot: int, block_hash: str) -> int | None:
        """The height of the block at (slot, hash); None when it is not on the chain
        (chain synchronization on this connection; runner/chain/ogmios_blocks.py)."""
        return self.retry.run(
            lambda: height_at(self._call, slot, block_hash), sleep=self._sleep
        )

    def evaluate(
        self, tx_cbor: bytes, additional_utxo: Sequence[Utxo] = ()
    ) -> Evaluation:
        """Budgets per redeemer. Safe to retry: evaluation changes nothing."""
        params: dict[str, Any] = {"transaction": {"cbor": tx_cbor.hex()}}
        if additional_utxo:
            params["additionalUtxo"] = codec.encode_utxos(additional_utxo)
        return self._query("evaluateTransaction", params, codec.parse_evaluation)

    def submit(self, tx_cbor: bytes) -> SubmitResult:
        """Submit signed CBOR. Retried only when the request provably never left."""
        params = {"transaction": {"cbor": tx_cbor.hex()}}
        return self.submit_retry.run(
            lambda: codec.parse_submit(self.request("submitTransaction", params)),
            sleep=self._sleep,
        )

    def in_mempool(self, tx_id: str) -> bool:
        """Is ``tx_id`` in the node's mempool right now? (acquire, ask, release)."""
        return self.retry.run(lambda: self._ask_mempool(tx_id), sleep=self._sleep)

    def _ask_mempool(self, tx_id: str) -> bool:
        codec.parse_acquire_mempool(self.request("acquireMempool"))
        try:
            return codec.parse_has_transaction(
                self.request("hasTransaction", {"id": tx_id})
            )
        finally:
            try:
                codec.parse_release_mempool(self.request("releaseMempool"))
            except ChainUnavailable:  # the snapshot dies with the connection anyway
                pass
