"""``milestones devnet demo`` against an external Ogmios/Kupo (issue 6 §3): here a devnet
served in-process, reached only through its URLs (funding and time through its
``devnet/...`` methods, the demo's token minted under the owner's native-script policy)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.errors import UserInputError
from runner.rehearsal.demo import run_demo


def test_the_demo_rehearses_against_an_external_ogmios_and_kupo(ledger_factory: Callable[..., Ledger]) -> None:
    lines: list[str] = []
    with serving(ledger_factory(seed="external demo", wallets=("alice",))) as running:
        result = run_demo("external", lines.append, ogmios_url=running.ogmios_url, kupo_url=running.kupo_url)
    text = "\n".join(lines)
    assert "rehearsing against Ogmios" in text and "native-script policy" in text
    assert "release before vesting time" in text and "code 3118" in text
    assert result["released"] == 4 and result["locked"] == 4


def test_an_external_rehearsal_needs_both_urls() -> None:
    with pytest.raises(UserInputError, match="both an Ogmios and a Kupo URL"):
        run_demo("x", print, ogmios_url="ws://127.0.0.1:1")


def test_without_devnet_controls_the_demo_asks_for_funded_addresses(
        ledger_factory: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch) -> None:
    """A real test network has no ``devnet/...`` methods: the demo names the addresses to fund."""
    from runner.chain import ogmios

    real_call = ogmios.WebSocketJsonRpc.call

    def no_devnet(self: ogmios.WebSocketJsonRpc, method: str, params: object) -> object:
        if method.startswith("devnet/"):
            return {"jsonrpc": "2.0", "error": {"code": -32601, "message": "unknown method"}}
        return real_call(self, method, params)  # type: ignore[arg-type]

    monkeypatch.setattr(ogmios.WebSocketJsonRpc, "call", no_devnet)
    lines: list[str] = []
    with serving(ledger_factory(seed="external demo 2", wallets=("alice",))) as running, \
            pytest.raises(UserInputError, match="fund the demo's addresses first") as err:
        run_demo("unfunded", lines.append, ogmios_url=running.ogmios_url, kupo_url=running.kupo_url)
    assert "needs 130 ADA" in err.value.message and "needs 210 ADA" in err.value.message
    assert any("no devnet controls" in line for line in lines)
