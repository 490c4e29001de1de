"""Shared fixtures: fresh devnet ledgers and a hand-made transaction builder.

``ledger_factory`` (session scope) makes a fresh :class:`Ledger` in ~2 ms, so tests
take a new one each instead of sharing state. Only fixtures live here: the helpers tests
import by name (``HandTx``, ``accepted``, ``rejected``, the attack and engine kits...) are
shipped in :mod:`runner.testing`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.storage.store import attach
from runner.testing.ledger import HandTx

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture(autouse=True)
def _restore_streams() -> Iterator[None]:
    """The in-process CLI runs (runner.testing.cli_guide) swap sys.stdout/stderr: put them back."""
    saved = sys.stdout, sys.stderr
    yield
    sys.stdout, sys.stderr = saved


@pytest.fixture(scope="session")
def ledger_factory() -> Callable[..., Ledger]:
    """``make(data_dir=None, **Ledger.create kwargs)`` -> a fresh ledger (seed "tests",
    alice/bob/carol), kept in step with ``data_dir`` when one is given."""

    def make(data_dir: Path | None = None, **kwargs: Any) -> Ledger:
        kwargs.setdefault("seed", "tests")
        kwargs.setdefault("wallets", ("alice", "bob", "carol"))
        ledger = Ledger.create(**kwargs)
        if data_dir is not None:  # saved there after every change (the storage listens)
            attach(ledger, data_dir)
        return ledger

    return make


@pytest.fixture
def ledger(ledger_factory: Callable[..., Ledger]) -> Ledger:
    return ledger_factory()


@pytest.fixture
def hand(ledger: Ledger) -> HandTx:
    return HandTx(ledger)


@pytest.fixture(scope="session")
def opshin_cache_dir(pytestconfig: pytest.Config) -> Path:
    """Where compiled test scripts are cached (by source hash); works without the cache plugin."""
    cache = getattr(pytestconfig, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("opshin-test-scripts"))
    import tempfile

    folder = Path(tempfile.gettempdir()) / "milestones-opshin-test-scripts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
