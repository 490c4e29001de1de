"""The rehearsal against a running `milestones devnet up` (Ogmios + Kupo over loopback), the way
separate machines share a real network: every runner has its own EMPTY data directory.

- two applies race from two data directories: never both spend the same thing; the chain
  ends exactly as one crash-free apply leaves it (a third apply changes nothing and every
  check holds);
- `plan --detailed-exitcode` from an empty data directory afterwards exits 0.

The faucet over the wire pays ADA only, so the owner's test tokens are paid first by the
embedded devnet (the same plan cut after its fund steps), then that devnet is served.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "plans" / "rehearsal.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    if "OGMIOS_URL" not in extra:
        out.pop("OGMIOS_URL", None)
        out.pop("KUPO_URL", None)
    return out


def runner(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "--data-dir", str(data), *args]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("served")
    text = PLAN.read_text()
    funding = tmp / "funding.yaml"
    funding.write_text(text[:text.index("  - id: deploy")])
    funded = subprocess.run(runner(tmp / "x", "apply", str(funding)), cwd=ROOT, env=env(), capture_output=True,
                            text=True, timeout=600, check=False)
    assert funded.returncode == 0, funded.stderr[-3000:]
    ogmios, kupo = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "runner", "devnet", "up", "--data-dir", str(tmp / "x" / "devnet"),
                               "--ogmios-port", str(ogmios), "--kupo-port", str(kupo)], cwd=ROOT, env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", kupo)) == 0:
                    break
            assert server.poll() is None, "`milestones devnet up` exited"
            time.sleep(0.2)
        yield tmp, env(OGMIOS_URL=f"ws://127.0.0.1:{ogmios}", KUPO_URL=f"http://127.0.0.1:{kupo}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def raced(served):
    tmp, wire = served
    racers = [subprocess.Popen(runner(tmp / name, "apply", str(PLAN)), cwd=ROOT, env=wire, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=900)
        results.append((racer.returncode, out, err))
    third = subprocess.run(runner(tmp / "c", "apply", str(PLAN)), cwd=ROOT, env=wire, capture_output=True,
                           text=True, timeout=900, check=False)
    planned = subprocess.run(runner(tmp / "empty", "plan", str(PLAN), "--detailed-exitcode"), cwd=ROOT, env=wire,
                             capture_output=True, text=True, timeout=900, check=False)
    return results, third, planned


def test_after_two_racing_applies_the_chain_is_complete_and_nothing_was_paid_twice(raced):
    results, third, _ = raced
    for _code, _out, err in results:
        assert "Traceback" not in err, err[-3000:]
    assert third.returncode == 0, third.stderr[-3000:]
    assert "no changes" in third.stdout  # the racers between them did everything
    # the final check compares released/reclaimed counts, nothing left locked and exact balances
    assert "final check: every expectation holds on chain" in third.stderr.replace("\n", " ")


def test_both_racers_finish_with_success_or_already_done(raced):
    results, _, _ = raced
    assert [code for code, _, _ in results] == [0, 0], [err[-1500:] for _, _, err in results]


def test_plan_from_an_empty_data_directory_against_the_served_devnet_exits_0(raced):
    _, _, planned = raced
    assert planned.returncode == 0, planned.stderr[-3000:]
