"""Kupo v2 HTTP client: matches (UTxO and history), datums, scripts, index progress.

Kupo lags the node: each answer carries ``X-Most-Recent-Checkpoint``, the slot it is
accurate as of. The client records it on every response (``most_recent_checkpoint``)
and offers ``wait_for_checkpoint(slot, deadline)`` so a caller can read its own
writes. HTTP goes through ``httpx`` (tests pass ``httpx.MockTransport``); connection
failures, timeouts and 5xx become ``ChainUnavailable`` and are retried, 4xx and
unreadable bodies become ``ProtocolError`` and are not. Clock and sleep are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from runner.chain.backend import OutputReference, Script, Utxo, Value
from runner.chain.ogmios_shapes import (
    as_list,
    as_obj,
    hex_bytes,
    hex_str,
    integer,
    parsing,
    text,
)
from runner.chain.retry import DEFAULT_RETRY, LOST, UNREACHABLE, RetryPolicy, Sleep
from runner.chain.urls import shown_url
from runner.errors import ChainUnavailable, ProtocolError

CHECKPOINT_HEADER = "X-Most-Recent-Checkpoint"
HINT_DOWN = "is Kupo running and KUPO_URL right? (devnet: `milestones devnet up`)"


@dataclass(frozen=True)
class KupoPoint:
    slot: int
    header_hash: str


@dataclass(frozen=True)
class KupoSpent:
    """Where an output was spent; ``tx_id``/``input_index``/``redeemer`` may be unknown."""

    slot: int
    header_hash: str
    tx_id: str | None
    input_index: int | None
    redeemer: bytes | None


@dataclass(frozen=True)
class KupoMatch:
    """One output Kupo has indexed, with when it was created and (maybe) spent."""

    utxo: Utxo
    created_at: KupoPoint
    spent_at: KupoSpent | None


@dataclass(frozen=True)
class KupoHealth:
    connection_status: str
    most_recent_checkpoint: int | None
    most_recent_node_tip: int | None


# ---------------------------------------------------------------- shapes


def _point(raw: Any, path: str) -> KupoPoint:
    obj = as_obj(raw, path)
    return KupoPoint(
        integer(obj["slot_no"], f"{path}.slot_no"),
        hex_str(obj["header_hash"], f"{path}.header_hash", 32),
    )


def _spent(raw: Any, path: str) -> KupoSpent | None:
    if raw is None:
        return None
    obj = as_obj(raw, path)
    point = _point({"slot_no": obj["slot_no"], "header_hash": obj["header_hash"]}, path)
    tx_id, index, redeemer = (
        obj.get("transaction_id"),
        obj.get("input_index"),
        obj.get("redeemer"),
    )
    return KupoSpent(
        slot=point.slot,
        header_hash=point.header_hash,
        tx_id=None if tx_id is None else hex_str(tx_id, f"{path}.transaction_id", 32),
        input_index=None if index is None else integer(index, f"{path}.input_index"),
        redeemer=None if redeemer is None else hex_bytes(redeemer, f"{path}.redeemer"),
    )


def _value(raw: Any, path: str) -> Value:
    obj = as_obj(raw, path)
    assets: dict[str, dict[str, int]] = {}
    for asset_id, qty in as_obj(obj.get("assets", {}), f"{path}.assets").items():
        policy, _, name = text(asset_id, f"{path}.assets key").partition(".")
        hex_str(policy, f"{path}.assets key", 28)
        assets.setdefault(policy, {})[hex_str(name, f"{path}.assets key", None)] = (
            integer(qty, f"{path}.assets.{asset_id}")
        )
    return Value(lovelace=integer(obj["coins"], f"{path}.coins"), assets=assets)


def _script(raw: Any, path: str) -> Script:
    obj = as_obj(raw, path)
    return Script(
        language=text(obj["language"], f"{path}.language"),
        cbor=hex_bytes(obj["script"], f"{path}.script"),
    )


def _match(raw: Any, path: str) -> KupoMatch:
    obj = as_obj(raw, path)
    datum_hash = obj.get("datum_hash")
    inline = obj.get("datum_type") == "inline"
    datum: bytes | None = None
    if datum_hash is not None and inline:
        if obj.get("datum") is None:
            raise ValueError(
                f"{path}.datum: inline datum not resolved (query with ?resolve_hashes)"
            )
        datum = hex_bytes(obj["datum"], f"{path}.datum")
    script = (
        _script(obj["script"], f"{path}.script")
        if obj.get("script") is not None
        else None
    )
    if obj.get("script_hash") is not None and script is None:
        raise ValueError(
            f"{path}.script: reference script not resolved (query with ?resolve_hashes)"
        )
    utxo = Utxo(
        ref=OutputReference(
            hex_str(obj["transaction_id"], f"{path}.transaction_id", 32),
            integer(obj["output_index"], f"{path}.output_index"),
        ),
        address=text(obj["address"], f"{path}.address"),
        value=_value(obj["value"], f"{path}.value"),
        datum_hash=None
        if datum_hash is None or inline
        else hex_str(datum_hash, f"{path}.datum_hash", 32),
        datum=datum,
        script=script,
    )
    return KupoMatch(
        utxo,
        _point(obj["created_at"], f"{path}.created_at"),
        _spent(obj.get("spent_at"), f"{path}.spent_at"),
    )


@parsing("Kupo matches")
def parse_matches(body: Any) -> list[KupoMatch]:
    return [_match(item, f"$[{i}]") for i, item in enumerate(as_list(body, "$"))]


@parsing("Kupo datum")
def parse_datum(body: Any) -> bytes | None:
    return None if body is None else hex_bytes(as_obj(body, "$")["datum"], "$.datum")


@parsing("Kupo script")
def parse_script(body: Any) -> Script | None:
    return None if body is None else _script(body, "$")


@parsing("Kupo checkpoints")
def parse_checkpoints(body: Any) -> list[KupoPoint]:
    return [_point(item, f"$[{i}]") for i, item in enumerate(as_list(body, "$"))]


@parsing("Kupo health")
def parse_health(body: Any) -> KupoHealth:
    obj = as_obj(body, "$")
    cp, tip = obj["most_recent_checkpoint"], obj["most_recent_node_tip"]
    return KupoHealth(
        connection_status=text(obj["connection_status"], "$.connection_status"),
        most_recent_checkpoint=None
        if cp is None
        else integer(cp, "$.most_recent_checkpoint"),
        most_recent_node_tip=None
        if tip is None
        else integer(tip, "$.most_recent_node_tip"),
    )


def parse_checkpoint_header(headers: httpx.Headers) -> int | None:
    """The slot Kupo's answer is accurate as of, or None if the header is absent."""
    raw = headers.get(CHECKPOINT_HEADER)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise ProtocolError(
            f"Kupo sent an unreadable {CHECKPOINT_HEADER} header: {raw[:40]!r}"
        )
    return int(raw.strip())


# ---------------------------------------------------------------- client


class KupoClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown_url = shown_url(self.base_url)  # for messages: no credentials
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self.poll_interval = poll_interval
        self.most_recent_checkpoint: int | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KupoClient:  # noqa: PYI034 (typing.Self needs 3.11)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_json(self, path: str, *, ok: tuple[int, ...] = (200,)) -> Any:
        """GET ``path`` (retried on transient faults); the decoded JSON body."""
        return self.retry.run(lambda: self._get_once(path, ok), sleep=self._sleep)

    def _get_once(self, path: str, ok: tuple[int, ...]) -> Any:
        url = f"{self.shown_url}{path}"
        try:
            response = self._http.get(path)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ChainUnavailable(
                f"cannot connect to Kupo at {self.shown_url}: {exc}",
                code=UNREACHABLE,
                location=url,
                hint=HINT_DOWN,
            ) from exc
        except httpx.TransportError as exc:
            raise ChainUnavailable(
                f"Kupo request failed: {type(exc).__name__}: {exc}",
                code=LOST,
                location=url,
                hint=HINT_DOWN,
            ) from exc
        if response.status_code >= 500:
            raise ChainUnavailable(
                f"Kupo answered HTTP {response.status_code}",
                code=LOST,
                location=url,
                hint="Kupo or its node is having trouble; retry later",
            )
        if response.status_code not in ok:
            raise ProtocolError(
                f"Kupo answered HTTP {response.status_code}: {_hint_of(response)}",
                location=url,
                hint="check the pattern / hash in the request",
            )
        checkpoint = parse_checkpoint_header(response.headers)
        if checkpoint is not None:
            self.most_recent_checkpoint = checkpoint
        try:
            return response.json()
        except ValueError as exc:
            raise ProtocolError(
                "Kupo answered with something that is not JSON", location=url
            ) from exc

    def matches(
        self,
        pattern: str,
        *,
        status: Literal["unspent", "spent"] | None = "unspent",
        created_after: int | None = None,
    ) -> list[KupoMatch]:
        """Outputs matching a Kupo pattern (address, ``policy.*``, ``index@txid``...), datums resolved."""
        flags = ["resolve_hashes"] + ([status] if status else [])
        if created_after is not None:
            flags.append(f"created_after={int(created_after)}")
        return parse_matches(
            self.get_json(f"/matches/{quote(pattern, safe='*@.:')}?{'&'.join(flags)}")
        )

    def utxos_at(self, address: str) -> list[Utxo]:
        return [m.utxo for m in self.matches(address, status="unspent")]

    def datum(self, datum_hash: str) -> bytes | None:
        return parse_datum(self.get_json(f"/datums/{quote(datum_hash, safe='')}"))

    def script(self, script_hash: str) -> Script | None:
        return parse_script(self.get_json(f"/scripts/{quote(script_hash, safe='')}"))

    def checkpoints(self) -> list[KupoPoint]:
        return parse_checkpoints(self.get_json("/checkpoints"))

    def health(self) -> KupoHealth:
        return parse_health(self.get_json("/health", ok=(200, 202)))

    def indexed_slot(self) -> int | None:
        """The slot Kupo has indexed up to, from ``/health`` (header first, then body)."""
        health = self.health()
        return (
            self.most_recent_checkpoint
            if self.most_recent_checkpoint is not None
            else health.most_recent_checkpoint
        )

    def wait_for_checkpoint(self, slot: int, deadline: float) -> int:
        """Poll until Kupo has indexed ``slot``; ``deadline`` is on this client's clock."""
        while True:
            self.most_recent_checkpoint = None
            indexed = self.indexed_slot()
            if indexed is not None and indexed >= slot:
                return indexed
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ChainUnavailable(
                    f"Kupo has indexed up to slot {indexed}, not yet slot {slot}",
                    code=LOST,
                    location=f"{self.shown_url}/health",
                    hint="Kupo lags the node; retry later, or check that Kupo follows the same node",
                )
            self._sleep(min(self.poll_interval, remaining))


def _hint_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or "(empty body)"
    hint = body.get("hint") if isinstance(body, dict) else None
    if isinstance(hint, str):
        return hint
    return repr(body)[:200]
