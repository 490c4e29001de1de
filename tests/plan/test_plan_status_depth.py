"""``milestones status PLAN`` shows each step's transactions with their confirmation depth,
read from the chain (embedded devnet, real ledger): found from chain state even with an
empty data directory, growing with every block, 0 while in the mempool, "not found" for
a transaction only the journal knows; the same in ``--output json`` (PlanStep
``confirmations``, format minor version 1).

One data directory, in order:
  apply, killed right after journaling the register transaction (never submitted)
  status: deploy on chain (depth >= 1); register in doubt, "not found"
  two empty blocks (devnet tick) -> every depth + 2; an empty data directory sees the same
  the journaled register transaction sent to a devnet in block mode "tick" -> "in mempool", depth 0
  one more block -> register on chain at depth 1
  the same devnet served (`milestones devnet up`), status from an empty data directory over the wire
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.devnet import save_ledger
from runner.devnet.ledger.genesis import derive_wallet
from runner.engine.backends import DEVNET_SEED

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
version: 1
name: depth
network: devnet
keys:
  owner: {devnet_wallet: owner}
  payer: {devnet_wallet: payer}
  o1: {devnet_test_key: "oracle 1"}
  ben: {devnet_test_key: "ben"}
schedule:
  token: {policy_id: devnet-faucet, name: DEPTH}
  owner: owner
  oracles: [o1]
  quorum: 1
  expiry: 86400000
  allocations:
    - {beneficiary: ben, amount: 100, milestone: m1, vesting: 3600000}
steps:
  - id: init
    init: {}
  - id: fund-owner
    fund: {to: owner, lovelace: "{{ ada(100) }}", tokens: 100}
  - id: deploy
    deploy: {payer: payer}
  - id: register
    register: {funding: owner}
"""


def cli(data: Path, *args: str, output: str = "json", crash_at: str | None = None,
        wire: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    env.update(wire or {})
    if crash_at:
        env["MILESTONES_TEST_PLAN_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(data), "--output", output, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def status(data: Path, plan: Path, wire: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    done = cli(data, "status", str(plan), wire=wire)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert events[0]["event"] == "PlanFormat" and events[0]["version"] == 1 and events[0]["minor"] >= 1
    return {e["step"]: e for e in events if e["event"] == "PlanStep"}


def txs(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["tx_id"]: c for c in step["confirmations"]}


def on_ledger(data: Path, change: Callable[[Any], None]) -> None:
    """Change the devnet the plan runs on, as `milestones devnet tick` would (no command running)."""
    from runner.engine.backends import open_ledger

    (data / "devnet").mkdir(parents=True, exist_ok=True)

    ledger = open_ledger(data / "devnet")
    change(ledger)
    save_ledger(ledger, data / "devnet")


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("depth")
    plan, data = tmp / "plan.yaml", tmp / "data"
    plan.write_text(PLAN)
    out: dict[str, Any] = {}
    # the payer is funded outside the plan: a fund step would be pending again once deploy spent from it
    payer = str(derive_wallet(DEVNET_SEED, "payer").address)
    on_ledger(data, lambda ledger: ledger.fund(payer, 500_000_000))
    out["killed"] = cli(data, "apply", str(plan), crash_at="register:journaled")
    out["first"] = status(data, plan)
    on_ledger(data, lambda ledger: (ledger.tick(), ledger.tick()))
    out["after two blocks"] = status(data, plan)
    empty = tmp / "empty"
    empty.mkdir()
    shutil.copytree(data / "devnet", empty / "devnet")
    out["empty"] = status(empty, plan)
    [entry] = [json.loads(p.read_text()) for p in (data / "journal").glob("*.json")
               if json.loads(p.read_text())["step"].startswith("register:")]
    out["register tx"] = entry["tx_id"]

    def send(ledger: Any) -> None:
        ledger.block_mode = "tick"
        ledger.submit(bytes.fromhex(entry["cbor_hex"]))

    on_ledger(data, send)
    out["mempool"] = status(data, plan)
    out["mempool text"] = cli(data, "status", str(plan), output="text")
    on_ledger(data, lambda ledger: ledger.tick())
    out["landed"] = status(data, plan)
    out["wire"] = served_status(data / "devnet", tmp / "wire", plan)
    return out


def served_status(devnet: Path, data: Path, plan: Path) -> dict[str, dict[str, Any]]:
    """status from an empty data directory against `milestones devnet up` (Ogmios + Kupo over loopback)."""
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "runner", "devnet", "up", "--data-dir", str(devnet),
                               "--ogmios-port", str(ports[0]), "--kupo-port", str(ports[1])], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", ports[1])) == 0:
                    break
            assert server.poll() is None, "`milestones devnet up` exited"
            time.sleep(0.2)
        return status(data, plan, wire={"OGMIOS_URL": f"ws://127.0.0.1:{ports[0]}",
                                        "KUPO_URL": f"http://127.0.0.1:{ports[1]}"})
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_after_apply_every_transaction_of_a_done_step_has_depth_at_least_1(seen: dict[str, Any]):
    assert seen["killed"].returncode == -signal.SIGKILL, seen["killed"].stderr[-2000:]
    deploy = seen["first"]["deploy"]
    assert deploy["status"] == "noop" and len(deploy["confirmations"]) == 2  # the scripts and the stake registration
    for tx in deploy["confirmations"]:
        assert tx["state"] == "on chain" and tx["depth"] >= 1 and tx["block_height"] >= 1, tx
    kinds = {tx["kind"]: tx["found_by"] for tx in deploy["confirmations"]}
    assert kinds == {"deploy": "chain and journal", "stake": "journal"}


def test_a_journaled_transaction_the_chain_does_not_know_is_not_found(seen: dict[str, Any]):
    register = seen["first"]["register"]
    assert register["status"] == "in doubt"
    [tx] = register["confirmations"]
    assert tx == {"tx_id": seen["register tx"], "kind": "register", "found_by": "journal", "state": "not found",
                  "depth": None, "block_height": None, "slot": None}


def test_each_new_block_adds_one_to_the_depth(seen: dict[str, Any]):
    before, after = txs(seen["first"]["deploy"]), txs(seen["after two blocks"]["deploy"])
    assert before.keys() == after.keys()
    for tx_id, tx in before.items():
        assert after[tx_id]["depth"] == tx["depth"] + 2
        assert after[tx_id]["block_height"] == tx["block_height"]


def test_an_empty_data_directory_finds_the_transactions_from_the_chain(seen: dict[str, Any]):
    full, empty = txs(seen["after two blocks"]["deploy"]), txs(seen["empty"]["deploy"])
    [(tx_id, tx)] = empty.items()  # the stake registration is known to the journal only
    assert tx["found_by"] == "chain" and tx["depth"] == full[tx_id]["depth"] and tx["kind"] == "deploy"
    assert seen["empty"]["register"]["confirmations"] == []  # nothing on chain, no journal


def test_a_transaction_in_the_mempool_has_depth_0(seen: dict[str, Any]):
    [tx] = seen["mempool"]["register"]["confirmations"]
    assert (tx["tx_id"], tx["state"], tx["depth"], tx["found_by"]) == (seen["register tx"], "in mempool", 0, "journal")
    text = seen["mempool text"]
    assert text.returncode == 0 and "Traceback" not in text.stderr
    flat = " ".join(text.stderr.split())
    assert f"tx {seen['register tx']} register: in mempool (depth 0)" in flat, flat[-2000:]
    assert "depth" in flat and "(block " in flat  # the deploy lines carry their block


def test_once_in_a_block_the_step_is_done_on_chain_at_depth_1(seen: dict[str, Any]):
    [tx] = seen["landed"]["register"]["confirmations"]
    assert (tx["state"], tx["depth"], tx["found_by"]) == ("on chain", 1, "chain and journal")
    for before in txs(seen["after two blocks"]["deploy"]).values():
        assert txs(seen["landed"]["deploy"])[before["tx_id"]]["depth"] == before["depth"] + 1


def test_over_the_wire_from_an_empty_data_directory_the_depths_are_the_same(seen: dict[str, Any]):
    wire, local = seen["wire"], seen["landed"]
    for step in ("deploy", "register"):
        chain = {t: c for t, c in txs(local[step]).items() if "chain" in c["found_by"]}
        assert chain and txs(wire[step]) == {t: {**c, "found_by": "chain"} for t, c in chain.items()}, step
