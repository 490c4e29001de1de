"""SIGKILL at each phase of a release, then the same command again: the chain ends exactly as
after a crash-free run (each allocation paid once), and the journal has nothing left open."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.devnet.storage.store import load_ledger
from runner.store.journal import Journal
from runner.testing.cli_guide import Guide
from runner.testing.cli_guide import ModuleCapture as _ModuleCapture

REPO = Path(__file__).resolve().parents[2]
PHASES = ("cache-write", "built", "journaled", "sent", "submitted", "confirming", "confirmed")
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data directory (with its embedded devnet) where milestone-001 is certified and vested."""
    guide = Guide(tmp_path_factory.mktemp("crash"), _ModuleCapture())  # type: ignore[arg-type]
    policy = guide.fund()
    contract = guide.register(policy, guide.allocations()).json()["contract_address"]
    guide.sign(contract, "milestone-001", "o1")
    guide.sign(contract, "milestone-001", "o2")
    assert guide.commit("milestone-001").code == 0
    assert guide.run("advance-time", "--to-ms", "100001000").code == 0
    return {"guide": guide, "contract": contract}


def release(template: dict[str, Any], data: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    guide: Guide = template["guide"]
    env = {k: v for k, v in os.environ.items() if k not in ("OGMIOS_URL", "KUPO_URL")}
    env["PYTHONPATH"] = str(REPO)
    if crash_at:
        env["MILESTONES_TEST_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "runner", "--config", str(guide.folder / "config.yaml"),
                           "--data-dir", str(data), "--output", "json", "submit-release", "--contract-address",
                           template["contract"], "--all", "--signing-key-path", str(guide.folder / "payer.skey")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


def chain_state(data: Path, template: dict[str, Any]) -> tuple[Any, ...]:
    ledger = load_ledger(data / "devnet")
    guide: Guide = template["guide"]
    locked = sorted(o.amount.coin for _, o in ledger.utxos_at(template["contract"]))
    tokens = [sum(sum(a.values()) for a in o.amount.multi_asset.values()) for b in ("b1", "b2")
              for _, o in ledger.utxos_at(guide.addr[b])]
    return (locked, sorted(tokens))


@pytest.fixture(scope="module")
def crash_free(template, tmp_path_factory) -> tuple[Any, ...]:
    data = tmp_path_factory.mktemp("clean") / "data"
    shutil.copytree(template["guide"].data, data)
    done = release(template, data)
    assert done.returncode == 0, done.stderr
    return chain_state(data, template)


#: the default suite kills the release right after submission; `-m slow` kills it at every phase
@pytest.mark.parametrize("phase", [pytest.param(p, marks=() if p == "submitted" else pytest.mark.slow) for p in PHASES])
def test_a_release_killed_at_any_phase_ends_like_a_crash_free_one(template, crash_free, phase, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(template["guide"].data, data)
    killed = release(template, data, crash_at=phase)
    assert killed.returncode == -signal.SIGKILL, (phase, killed.stderr[-2000:])
    again = release(template, data)
    assert again.returncode == 0, again.stderr[-2000:]
    assert chain_state(data, template) == crash_free
    assert Journal(data / "journal").open_entries() == []
    third = release(template, data)
    assert third.returncode == 0 and '"transactions": []' in third.stdout
