"""Confirmation depth counts blocks from the block that HOLDS the transaction (Kupo's
``created_at`` of its outputs, then that block's height through Ogmios chain sync), not from
when the engine first saw it: blocks made between submission and the first look count.  On
the devnet's real ledger; the chain-sync answer is tampered at the transport only for the
refusal test."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pytest

from runner.chain.ogmios import OgmiosClient
from runner.devnet.servers import ogmios_call
from runner.engine import Engine
from runner.errors import ProtocolError
from runner.testing.engine_world import World

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


def deploy_with_blocks_before_the_first_look(world: World, tmp_path: Any, blocks: int, confirmations: int
                                             ) -> tuple[list[Any], list[int]]:
    slept: list[int] = []

    def sleep(seconds: float) -> None:  # waiting: the chain moves on by one block
        slept.append(world.ledger.tick().height)

    ctx = world.context(tmp_path)
    ctx.settings = type(ctx.settings)(confirmations=confirmations, sleep=sleep, poll_interval=0)

    def phase(name: str) -> None:
        if name == "submitted":  # accepted and in a block; before the engine looks for it
            for _ in range(blocks):
                world.ledger.tick()

    found = list(Engine(ctx, on_phase=phase).run(world.schedule_steps()[:1]))
    return found, slept


def test_blocks_made_before_the_first_look_count_toward_the_depth(tmp_path):
    world = World.create()
    found, slept = deploy_with_blocks_before_the_first_look(world, tmp_path, blocks=2, confirmations=2)
    [confirmed] = [e for e in found if e.name == "Confirmed"]
    assert confirmed.depth == 2 and slept == []  # type: ignore[attr-defined]  # no extra wait


def test_the_reported_depth_is_the_blocks_on_top_of_the_transactions_block(tmp_path):
    world = World.create()
    found, slept = deploy_with_blocks_before_the_first_look(world, tmp_path, blocks=5, confirmations=2)
    [confirmed] = [e for e in found if e.name == "Confirmed"]
    held_at = world.ledger.blocks[-6].height  # the deploy's block, five below the tip
    assert world.ledger.has_transaction(confirmed.tx_id)  # type: ignore[attr-defined]
    assert confirmed.depth == world.ledger.tip.height - held_at == 5 and slept == []  # type: ignore[attr-defined]


def test_with_too_few_blocks_it_still_waits_for_the_rest(tmp_path):
    world = World.create()
    found, slept = deploy_with_blocks_before_the_first_look(world, tmp_path, blocks=1, confirmations=3)
    [confirmed] = [e for e in found if e.name == "Confirmed"]
    assert confirmed.depth == 3 and len(slept) == 2  # type: ignore[attr-defined]


def test_the_client_reads_every_blocks_height_and_none_for_a_point_not_on_chain():
    world = World.create()
    for _ in range(3):
        world.ledger.tick()
    client = OgmiosClient(ogmios_call(world.guard))
    for block in world.ledger.blocks[-4:]:
        assert client.block_height_at(int(block.slot), str(block.block_hash)) == block.height
    tip = world.ledger.blocks[-1]
    assert client.block_height_at(int(tip.slot), "00" * 32) is None


@pytest.mark.parametrize(("method", "change", "says"), [
    ("nextBlock", lambda r: r["result"].get("block", {}).update(ancestor="11" * 32), "after the intersection"),
    ("findIntersection", lambda r: r["result"].update(intersection={"slot": 1, "id": "22" * 32}), "asked for"),
    ("findIntersection", lambda r: r["result"]["tip"].update(height=-1), "tip.height"),
])
def test_a_tampered_chain_sync_answer_is_refused(method, change, says):
    world = World.create()
    for _ in range(2):
        world.ledger.tick()
    real = ogmios_call(world.guard)

    def call(name: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        reply = dict(real(name, params))
        if name == method:
            change(reply)
        return reply

    block = world.ledger.blocks[-3]
    with pytest.raises(ProtocolError) as raised:
        OgmiosClient(call).block_height_at(int(block.slot), str(block.block_hash))
    assert says in str(raised.value)
