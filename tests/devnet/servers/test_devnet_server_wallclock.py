"""Wall-clock mode: chain time follows (a fake) real time, blocks form on a period, time travel
keeps its lead, and a "valid from now" transaction built by a third-party client lands.

The clock is injected: no test depends on how fast this machine is."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest
from pycardano import TransactionBuilder, TransactionOutput
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet.ledger.clock import SlotConfig
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.devnet.servers.wallclock import WallClock, check_block_period, following_real_time, start_near_now
from runner.errors import UserInputError

START_MS = 1_700_000_000_000


class FakeTime:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def rpc(running: Any, method: str, params: Any = None) -> dict[str, Any]:
    with connect(running.ogmios_url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
        return json.loads(ws.recv())  # type: ignore[no-any-return]


def valid_from_now(running: Any) -> Any:
    """A payment whose validity starts at the slot of the (fake) current time, as libraries
    that convert the wall clock to a slot build it (from the era summaries and start time)."""
    ledger = running.ledger
    context = KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                       kupo_url=running.kupo_url)
    builder = TransactionBuilder(context)
    builder.add_input_address(ledger.wallet("alice").address)
    builder.add_output(TransactionOutput(ledger.wallet("bob").address, 2_000_000))
    builder.validity_start = ledger.slot_config.posix_ms_to_slot(running.now())
    builder.ttl = builder.validity_start + 600
    return builder.build_and_sign([ledger.wallet("alice").signing_key],
                                  change_address=ledger.wallet("alice").address)


@pytest.fixture()
def devnet():
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="wall-clock", slot_config=SlotConfig(START_MS))
    with serving(ledger) as running:
        running.now = FakeTime(START_MS + 3_600_000)  # an hour after slot 0
        yield running


def test_a_valid_from_now_transaction_lands_only_when_the_chain_follows_real_time(devnet):
    tx = valid_from_now(devnet)
    refused = rpc(devnet, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert refused["error"]["code"] == 3118  # the twin: the chain's clock is still at slot ~0
    clock = WallClock(devnet.guard, block_period_s=3600, clock=devnet.now).start()
    try:
        assert devnet.ledger.current_slot == 3600
        devnet.now.ms += 30_000
        tx = valid_from_now(devnet)
        accepted = rpc(devnet, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        assert accepted["result"]["transaction"]["id"] == str(tx.id), accepted
        assert devnet.ledger.tip.slot == 3630
    finally:
        clock.stop()


def test_time_travel_keeps_its_lead_and_the_clock_never_goes_back(devnet):
    clock = WallClock(devnet.guard, block_period_s=3600, clock=devnet.now).start()
    try:
        moved = rpc(devnet, "devnet/advance", {"slots": 1000})["result"]
        assert moved["slot"] == 3600 + 1000
        devnet.now.ms += 10_000
        rpc(devnet, "devnet/fund", {"address": str(devnet.ledger.wallet("bob").address), "lovelace": 2_000_000})
        assert devnet.ledger.tip.slot == 3610 + 1000
        devnet.now.ms -= 60_000  # the host's clock stepped back
        devnet.guard.write(lambda ledger: ledger.tick())
        assert devnet.ledger.tip.slot == 3611 + 1000  # the next slot, never an earlier one
    finally:
        clock.stop()
    assert devnet.guard.before_write == [] and devnet.guard.wall_clock is None


def test_blocks_form_on_the_period(devnet):
    height = devnet.ledger.tip.height
    with following_real_time(devnet.guard, True, 0.05):
        deadline = time.monotonic() + 30
        while devnet.ledger.tip.height < height + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert devnet.ledger.tip.height >= height + 3
    assert devnet.guard.before_write == []


def test_a_follower_sees_the_periodic_blocks(devnet):
    tip = devnet.ledger.tip
    with connect(devnet.ogmios_url) as ws, following_real_time(devnet.guard, True, 0.05):
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "findIntersection",
                            "params": {"points": [{"slot": tip.slot, "id": tip.block_hash}]}, "id": 1}))
        ws.recv()
        for _ in range(3):
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "nextBlock", "id": 2}))
            json.loads(ws.recv(timeout=30))
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "nextBlock", "id": 3}))
        step = json.loads(ws.recv(timeout=30))["result"]
    assert step["direction"] == "forward" and step["block"]["height"] > tip.height


@pytest.mark.parametrize("period", [0, -1, float("nan"), float("inf"), 1e9])
def test_a_bad_block_period_is_refused_with_its_flag(period):
    with pytest.raises(UserInputError) as info:
        check_block_period(period)
    assert info.value.location == "--block-period"


def test_a_new_devnet_for_third_party_tools_starts_at_the_current_second():
    assert start_near_now(FakeTime(1_700_000_123_456)) == 1_700_000_123_000
    SlotConfig(start_near_now())  # a valid system start (whole seconds)


# --- `milestones devnet up --wall-clock` ----------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_with_a_wall_clock_starts_near_now_and_forms_blocks(tmp_path):
    import os
    import signal
    import subprocess

    port = _free_port()
    before_ms = int(time.time()) * 1000
    command = [sys.executable, "-m", "runner", "devnet", "up", "--data-dir", str(tmp_path / "devnet"),
               "--ogmios-port", str(port), "--kupo-port", "0", "--wall-clock", "--block-period", "0.1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
        try:
            lines = []
            for line in process.stdout:  # type: ignore[union-attr]
                lines.append(line)
                if line.rstrip() == "}":
                    break
            announced = json.loads("".join(lines))
            url = announced["ogmios"]

            def ask(method: str) -> Any:
                with connect(url) as ws:
                    ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}))
                    return json.loads(ws.recv())["result"]

            start = ask("queryNetwork/startTime")
            from datetime import datetime

            start_ms = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000)
            assert before_ms <= start_ms <= int(time.time()) * 1000  # slot 0 is (about) when it started
            first = ask("queryNetwork/blockHeight")
            deadline = time.monotonic() + 60
            while ask("queryNetwork/blockHeight") < first + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ask("queryNetwork/blockHeight") >= first + 2
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def test_up_refuses_a_bad_block_period_before_creating_anything(tmp_path, capsys):
    from runner.cli import main

    with pytest.raises(SystemExit) as info:
        main(["devnet", "up", "--data-dir", str(tmp_path / "devnet"), "--wall-clock", "--block-period", "0"])
    assert info.value.code == 2
    assert "--block-period" in capsys.readouterr().err
    assert not (tmp_path / "devnet").exists()
