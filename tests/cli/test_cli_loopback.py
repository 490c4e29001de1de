"""The commands against a served devnet (Ogmios over WebSocket, Kupo over HTTP, on loopback)
through OGMIOS_URL/KUPO_URL: the production client path.  Every later command starts from an
EMPTY data directory and finds the schedule, its certificates and releases on the chain."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from runner.devnet.ledger.ledger import Ledger
from runner.devnet.servers.serve import serving
from runner.testing.cli_guide import Guide
from runner.testing.cli_guide import ModuleCapture as _ModuleCapture

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Any:
    ledger = Ledger.create(seed="loopback")
    with serving(ledger) as running:
        monkeypatch.setenv("OGMIOS_URL", running.ogmios_url)
        monkeypatch.setenv("KUPO_URL", running.kupo_url)
        yield running


def test_the_guide_over_loopback_from_empty_data_directories(served, tmp_path: Path):
    guide = Guide(tmp_path, _ModuleCapture())  # type: ignore[arg-type]
    fresh = iter(tmp_path / f"empty-{i}" for i in range(20))
    init = guide.run("init", data=next(fresh)).json()
    assert init["backend"].startswith("Ogmios ws://127.0.0.1") and init["services"]["kupo"]["connected"]
    from runner.devnet.ledger.genesis import FAUCET, faucet_policy_id

    def fund(ledger: Any) -> str:
        ledger.fund(guide.addr["owner"], 50_000_000, {b"GRANT": 3_500_000})
        ledger.fund(guide.addr["owner"], 20_000_000)
        for _ in range(3):
            ledger.fund(guide.addr["payer"], 100_000_000)
        return bytes(faucet_policy_id(ledger.wallet(FAUCET))).hex()

    policy = served.guard.write(fund)
    first = guide.register(policy, guide.allocations())
    assert first.code == 0, first.err
    contract = first.json()["contract_address"]
    again = guide.run("register-milestone", "--token-policy-id", policy, "--token-name", "GRANT",
                      "--beneficiary-allocations", str(guide.folder / "allocations.json"),
                      "--oracle-addresses", ",".join(guide.addr[o] for o in ("o1", "o2", "o3")),
                      "--quorum-threshold", "2", "--owner-key", str(guide.folder / "owner.skey"),
                      "--funding-key", str(guide.folder / "payer.skey"), data=next(fresh))
    assert again.code == 0 and again.json()["transactions"] == [] and again.json()["contract_address"] == contract
    for oracle in ("o1", "o2"):
        assert guide.run("sign-milestone", "--contract-address", contract, "--milestone-identifier",
                         "milestone-001", "--oracle-key", str(guide.folder / f"{oracle}.skey"), "--signatures",
                         str(guide.folder / "sigs-milestone-001.json"), data=next(fresh)).code == 0
    # no --contract-address: the schedule is found from the signed data alone
    commit = guide.run("commit-milestone", "--milestone-identifier", "milestone-001", "--oracle-signatures",
                       str(guide.folder / "sigs-milestone-001.json"), "--funding-key",
                       str(guide.folder / "payer.skey"), data=next(fresh))
    assert commit.code == 0 and commit.json()["certified"], commit.err
    served.guard.write(lambda ledger: (ledger.advance_to_posix_ms(100_001_000), ledger.tick()))
    released = guide.release(contract, "--all", data=next(fresh)).json()
    assert released["status"] == "confirmed"
    status = guide.run("check-status", "--contract-address", contract, data=next(fresh)).json()
    assert status["contract_state"] == {"total_token_amount": 3_500_000, "remaining_token_amount": 2_000_000,
                                        "claimed_count": 2, "unclaimed_count": 1}
    assert status["milestones"][0]["verified"] and status["milestones"][0]["signature_count"] == 2
    assert guide.release(contract, "--all", data=next(fresh)).json()["transactions"] == []
