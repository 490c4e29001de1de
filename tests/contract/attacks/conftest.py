"""The attack suites: each module builds its own ``world`` (module scope); every test starts
from it, the blocks it added rolled back after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.testing.attack_kit import World, restore


@pytest.fixture(autouse=True)
def fresh(world: World) -> Iterator[None]:
    height = world.ledger.tip.height
    yield
    restore(world.ledger, height)
