"""Test kit for the engine: one devnet ledger, keys, a schedule definition, and contexts
over any number of data directories (so "empty data directory" tests share one chain)."""

from __future__ import annotations

from runner.testing.engine_world import TOKEN, World, address, key, names, run  # noqa: F401


def test_the_kit_builds_a_world():
    world = World.create()
    assert world.tokens_of(world.owner) == 1200 and world.definition is not None
