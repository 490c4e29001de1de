"""Review: provider URLs carry credentials (http://user:token@host, hosted Ogmios/Kupo
API keys); DESIGN.md §5.7 "secrets never appear in output, logs". The chain clients put
the whole URL in every ChainUnavailable message and location (printed on stderr, and in
CI logs)."""

from __future__ import annotations

import httpx
import pytest

from runner.chain.kupo import KupoClient
from runner.chain.ogmios import WebSocketJsonRpc
from runner.errors import ChainUnavailable

SECRET = "REVIEWs3cretTOKEN"


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def kupo_error(url: str) -> str:
    client = KupoClient(url, transport=httpx.MockTransport(refused), sleep=lambda s: None)
    with pytest.raises(ChainUnavailable) as caught:
        client.get_json("/health")
    return str(caught.value) + repr(caught.value.to_dict())


def ogmios_error(url: str) -> str:
    rpc = WebSocketJsonRpc(url, timeout=2, open_timeout=2)
    with pytest.raises(ChainUnavailable) as caught:
        rpc.call("queryNetwork/tip", None)
    return str(caught.value) + str(caught.value.location)


def test_an_unreachable_kupo_is_named_in_the_error():
    text = kupo_error("http://127.0.0.1:1")
    assert "127.0.0.1:1" in text


def test_an_unreachable_ogmios_is_named_in_the_error():
    assert "127.0.0.1:1" in ogmios_error("ws://127.0.0.1:1")


def test_kupo_credentials_in_the_url_are_not_echoed():
    assert SECRET not in kupo_error(f"http://user:{SECRET}@127.0.0.1:1/?api-key={SECRET}")


def test_ogmios_credentials_in_the_url_are_not_echoed():
    assert SECRET not in ogmios_error(f"ws://user:{SECRET}@127.0.0.1:1")


def test_a_shown_url_keeps_the_server_and_drops_the_credentials():
    from runner.chain.urls import shown_url

    assert shown_url(f"https://user:{SECRET}@kupo.example:443/v1/?api-key={SECRET}#x") \
        == "https://***@kupo.example:443/v1/"
    assert shown_url("ws://127.0.0.1:1337") == "ws://127.0.0.1:1337"
    assert SECRET not in shown_url(f"http://[::1{SECRET}")
