"""--no-submit (signed cardano-cli envelopes, nothing sent), the one-writer lock from the CLI,
and a clear exit code when Ogmios/Kupo are down."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pycardano as pc
import pytest

from runner.devnet.storage.store import load_ledger
from runner.store import lock
from runner.testing.cli_guide import Guide
from runner.testing.cli_guide import ModuleCapture as _ModuleCapture

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    guide = Guide(tmp_path_factory.mktemp("edges"), _ModuleCapture())  # type: ignore[arg-type]
    policy = guide.fund()
    planned = guide.register(policy, guide.allocations(), "--no-submit", str(guide.folder / "unsigned"))
    contract = guide.register(policy, guide.allocations()).json()["contract_address"]
    for oracle in ("o1", "o2"):
        guide.sign(contract, "milestone-001", oracle)
    assert guide.commit("milestone-001").code == 0
    guide.run("advance-time", "--to-ms", "100001000")
    return {"guide": guide, "contract": contract, "planned": planned, "policy": policy}


def tip(guide: Guide) -> Any:
    return json.loads(guide.run("init").out)["services"]["cardano_node"]["tip_slot"]


def test_register_no_submit_writes_the_first_transaction_and_says_the_rest_is_known_after_apply(certified):
    planned = certified["planned"].json()
    assert planned["status"] == "planned" and len(planned["envelopes"]) == 1
    envelope = json.loads(Path(planned["envelopes"][0]).read_text())
    assert envelope["type"] == "Tx ConwayEra" and pc.Transaction.from_cbor(envelope["cborHex"])
    kinds = [t["kind"] for t in planned["transactions"]]
    assert kinds == ["deploy"] and "contract_address" not in planned  # stake, register: known after apply


def test_release_no_submit_writes_a_signed_envelope_the_ledger_accepts_later(certified, tmp_path):
    guide: Guide = certified["guide"]
    before = tip(guide)
    result = guide.release(certified["contract"], "--all", "--no-submit", str(tmp_path))
    value = result.json()
    assert result.code == 0 and value["status"] == "planned" and tip(guide) == before
    [path] = value["envelopes"]
    envelope = json.loads(Path(path).read_text())
    ledger = load_ledger(guide.data / "devnet")
    assert ledger.submit(bytes.fromhex(envelope["cborHex"])) == value["transaction_hash"]


def test_a_held_lock_refuses_a_second_writer_and_can_be_listed_and_broken(certified):
    guide: Guide = certified["guide"]
    with lock.hold(guide.data, "another submit-release"):
        refused = guide.release(certified["contract"], "--all")
        assert refused.code == 5 and "locked by" in refused.err
        listed = guide.run("lock", "list").json()["locks"][0]
        assert listed["command"] == "another submit-release" and not listed["stale"]
        assert guide.run("lock", "break").code == 0
    assert guide.run("lock", "list").json() == {"locks": []}
    assert guide.run("lock", "break").code == 5


def test_init_with_ogmios_down_exits_3_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("OGMIOS_URL", "ws://127.0.0.1:9")
    monkeypatch.setenv("KUPO_URL", "http://127.0.0.1:9")
    guide = Guide(tmp_path, _ModuleCapture())  # type: ignore[arg-type]
    result = guide.run("init")
    assert result.code == 3
    error = json.loads(result.err.strip().splitlines()[-1])["error"]
    assert error["hint"] and "Traceback" not in result.err
