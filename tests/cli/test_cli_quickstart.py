"""The quick-start guide's commands, as a user runs them, on the embedded devnet in the data
directory (its real ledger): every command twice does the work once, bad input names the
file/entry/field with exit 2 and writes nothing, keys never leak, broken files are repaired."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pycardano as pc
import pytest

from runner.testing.cli_guide import SENTINEL, Guide, Result, milestones  # noqa: F401
from runner.testing.cli_guide import ModuleCapture as _ModuleCapture

REPO = Path(__file__).resolve().parents[2]
@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The guide from init to release, each transaction command run twice."""
    capsys = _ModuleCapture()
    guide = Guide(tmp_path_factory.mktemp("guide"), capsys)  # type: ignore[arg-type]
    out: dict[str, Any] = {"guide": guide}
    out["init"] = guide.run("init", "--network", "devnet")
    policy = guide.fund()
    out["register"] = [guide.register(policy, guide.allocations()) for _ in range(2)]
    contract = out["register"][0].json()["contract_address"]
    out["contract"] = contract
    guide.sign(contract, "milestone-001", "o1")
    out["sign"] = guide.sign(contract, "milestone-001", "o3")
    out["commit"] = [guide.commit("milestone-001") for _ in range(2)]
    out["status"] = guide.run("check-status", "--contract-address", contract, "--milestone-identifier",
                              "milestone-001")
    out["advance"] = guide.run("advance-time", "--to-ms", "100001000")
    out["distribution"] = guide.run("calculate-distribution", "--contract-address", contract,
                                    "--beneficiary-address", guide.addr["b2"])
    out["release"] = [guide.release(contract, "--beneficiary-address", guide.addr["b2"], "--beneficiary-index", "0",
                                    "--milestone-identifier", "milestone-001") for _ in range(2)]
    out["release_all"] = [guide.release(contract, "--all") for _ in range(2)]
    return out


def test_init_prints_the_guides_shape(walked):
    value = walked["init"].json()
    assert walked["init"].code == 0 and value["status"] == "success"
    assert value["services"]["kupo"]["sync_status"] == "synced" and value["services"]["ogmios"]["connected"]


def test_register_deploys_and_locks_once_and_prints_datums(walked):
    first, second = (r.json() for r in walked["register"])
    assert [t["status"] for t in first["transactions"]] == ["confirmed"] * 3
    assert second["transactions"] == [] and second["contract_address"] == first["contract_address"]
    assert len(first["datums"]) == 2 and all(d["datum_cbor"] for d in first["datums"])  # pots
    assert first["datums"][0]["vesting_time_ms"] == 100_000_000  # the guide's seconds, in ms
    assert len(first["datums"][0]["entries"]) == 2


def test_commit_certifies_once_and_records_the_milestone_file(walked):
    first, second = (r.json() for r in walked["commit"])
    assert first["certified"] and first["transactions"][0]["status"] == "confirmed"
    assert second["transactions"] == [] and second["certified"]
    record = json.loads((walked["guide"].data / "milestones/milestone-001.json").read_text())
    assert record["certificate"] == first["certificate"] and len(record["signatures"]) == 2


def test_check_status_and_distribution_follow_the_guide(walked):
    status = walked["status"].json()
    assert status["milestones"] == [{"milestone_identifier": "milestone-001", "verified": True,
                                     "quorum_status": "met", "signature_count": 2, "quorum_threshold": 2,
                                     "vesting_passed": False}]
    assert status["contract_state"]["total_token_amount"] == 3_500_000
    dist = walked["distribution"].json()
    assert dist["claimable_amount"] == 500_000
    assert [a["reason"] for a in dist["allocations"]] == ["claimable", "not certified"]


def test_release_pays_once_then_reports_already_released(walked):
    first, second = (r.json() for r in walked["release"])
    assert first["status"] == "confirmed" and first["fee_estimate"] > 0 and first["collateral_amount"] > 0
    assert second["status"] == "already released" and second["transaction_hash"] is None
    all_first, all_second = (r.json() for r in walked["release_all"])
    assert [a["reason"] for a in all_first["allocations"]].count("already released") == 2
    assert all_second["transactions"] == []


def test_no_command_printed_or_stored_the_signing_key(walked):
    guide = walked["guide"]
    secrets = [SENTINEL.hex(), pc.PaymentSigningKey(SENTINEL).to_cbor_hex()]
    outputs = [r for v in walked.values() if isinstance(v, (Result, list)) for r in (v if isinstance(v, list) else [v])]
    for result in outputs:
        assert not any(s in result.out or s in result.err for s in secrets)
    for path in guide.data.rglob("*"):
        if path.is_file() and "devnet" not in path.parts:
            text = path.read_bytes()
            assert not any(s.encode() in text or bytes.fromhex(s[-64:]) in text for s in secrets), path


def test_a_corrupt_cache_and_a_deleted_milestone_file_are_repaired_from_the_chain(walked):
    guide = walked["guide"]
    milestone = guide.data / "milestones/milestone-001.json"
    original = json.loads(milestone.read_text())
    milestone.unlink()
    cache = next((guide.data / "cache").glob("contract_*.json"))
    cache.write_text("{garbage")
    result = guide.run("check-status", "--contract-address", walked["contract"])
    value = result.json()
    assert result.code == 0
    assert {r["path"]: r["problem"] for r in value["repairs"]} == {
        "milestones/milestone-001.json": "missing", f"cache/{cache.name}": "corrupt"}
    assert json.loads(milestone.read_text()) == original and value["rebuilt_from_chain"]
    assert list((guide.data / "quarantine").iterdir())


def test_python_cli_py_runs_as_the_guide_says(tmp_path):
    done = subprocess.run([sys.executable, "cli.py", "--data-dir", str(tmp_path), "lock", "list"], cwd=REPO,
                          capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "no lock"
