"""``advance-time: {by: ...}`` is idempotent: ``by`` counts from the previous advance-time
step's target (or the chain's start), never from "now", so a finished plan stays finished:
a second apply moves nothing and ``plan --detailed-exitcode`` exits 0 (embedded devnet)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
version: 1
name: by
network: devnet
keys:
  owner: {devnet_wallet: owner}
  o1: {devnet_test_key: "oracle 1"}
  ben: {devnet_test_key: "ben"}
schedule:
  token: {policy_id: devnet-faucet, name: BY}
  owner: owner
  oracles: [o1]
  quorum: 1
  expiry: 86400000
  allocations:
    - {beneficiary: ben, amount: 100, milestone: m1, vesting: 3600000}
steps:
  - id: init
    init: {}
  - id: first
    advance-time: {by: "{{ hours(2) }}"}
  - id: second
    advance-time: {by: "{{ hours(1) }}"}
"""


def cli(data: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    done = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(data), "--output", "json", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.strip()], done.stderr


def steps(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["step"]: e for e in events if e["event"] == "PlanStep"}


def test_by_counts_from_the_previous_target_and_a_second_apply_moves_nothing(tmp_path: Path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    data = tmp_path / "data"
    code, events, err = cli(data, "apply", str(plan))
    assert code == 0, err[-2000:]
    first = steps(events)
    start = first["init"]["outputs"]["system_start_ms"]
    assert first["first"]["status"] == "changed" and first["first"]["outputs"]["target_ms"] == start + 7_200_000
    assert first["second"]["status"] == "changed" and first["second"]["outputs"]["target_ms"] == start + 10_800_000
    assert first["second"]["outputs"]["tip_time_ms"] >= start + 10_800_000
    code, events, err = cli(data, "apply", str(plan))
    assert code == 0, err[-2000:]
    again = steps(events)
    assert {s["status"] for s in again.values()} == {"noop"}, again
    assert again["second"]["outputs"]["tip_time_ms"] == first["second"]["outputs"]["tip_time_ms"]  # not moved
    assert events[-1]["changes"] == 0
    code, _, err = cli(data, "plan", str(plan), "--detailed-exitcode")
    assert code == 0, err[-2000:]


def test_a_target_known_only_after_apply_is_shown_as_such_by_plan(tmp_path: Path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN + '  - id: third\n    advance-time: {to: "{{ steps.first.outputs.tip_slot * 1000 }}"}\n')
    code, events, err = cli(tmp_path / "data", "plan", str(plan), "--detailed-exitcode")
    assert code == 2 and "Traceback" not in err, err[-2000:]
    planned = steps(events)
    assert [planned[s]["status"] for s in ("first", "second", "third")] == ["planned", "planned", "unknown"]
    assert planned["second"]["outputs"]["target_ms"] == planned["first"]["outputs"]["target_ms"] + 3_600_000
