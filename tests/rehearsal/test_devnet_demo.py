"""``milestones devnet demo`` as a user runs it: a subprocess, its exit code and what it says.

The demo rehearses a schedule on the embedded devnet through the project's own client
path; the facts checked here come from the ledger's answers the demo prints (a refusal
code, a batch release, balances equal to the allocations), not from timings.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "devnet", "demo", "--seed", "demo-test"],
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_demo_succeeds_and_numbers_every_step(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr[-2000:]
    steps = re.findall(r"^\[(\d+)/(\d+)\]", demo.stdout, re.MULTILINE)
    total = int(steps[0][1])
    assert sorted({int(n) for n, _ in steps}) == list(range(1, total + 1))


def test_the_demo_goes_through_ogmios_and_kupo_on_loopback(demo: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"Ogmios on ws://127\.0\.0\.1:\d+ and Kupo on http://127\.0\.0\.1:\d+", demo.stdout)


def test_every_transaction_is_reported_with_its_id_and_fee(demo: subprocess.CompletedProcess[str]) -> None:
    txs = re.findall(r": ([0-9a-f]{64}) \(fee (\d+\.\d+) ADA", demo.stdout)
    assert len(txs) == 5  # deploy, stake registration, register, certify, release
    assert len({t for t, _ in txs}) == 5
    assert all(0.15 < float(fee) < 2 for _, fee in txs)  # the Conway fixed term alone is 0.155 ADA


def test_release_before_vesting_is_refused_by_the_ledger(demo: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"release before vesting .* refused by the ledger: code 3118", demo.stdout)


def test_the_batch_pays_every_beneficiary_exactly(demo: subprocess.CompletedProcess[str]) -> None:
    received = re.findall(r"received (\d+) GRANT \(expected (\d+)\)", demo.stdout)
    assert len(received) >= 3
    assert all(got == want for got, want in received)
    released = re.search(r"released (\d+) allocations of milestone m1 in one batch.*?([\d.]+) ADA per release",
                         demo.stdout)
    assert released and int(released.group(1)) == len(received)
    assert re.search(r"(\d+) allocations of milestone m2 stay locked", demo.stdout)


def test_no_signing_key_is_printed(demo: subprocess.CompletedProcess[str]) -> None:
    from runner.devnet.ledger.ledger import Ledger
    from runner.rehearsal.demo import ORACLES, demo_key

    ledger = Ledger.create(seed="demo-test", wallets=("owner", "payer"))
    keys = [ledger.wallet(n).signing_key for n in ("owner", "payer")]
    keys += [demo_key("demo-test", f"oracle {i}") for i in range(ORACLES)]
    output = (demo.stdout + demo.stderr).lower()
    for k in keys:
        assert k.payload.hex() not in output
    assert "ed25519_sk" not in output
