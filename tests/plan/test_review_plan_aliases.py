"""Review: the plan's duplicate-allocation check compares key *names*, not addresses.

runner/plan/semantics.py ``_allocations`` keys the check on (beneficiary name, milestone);
two key names for the same wallet pass, and runner/commands/plans_keys.py
``schedule_target`` builds a ScheduleDefinition with two allocations of one
(address, milestone) -- which the seed commands' ``parse_allocations`` refuses
(runner/domain/schedule.py:207) and which the engine merges (adapter.Locked.key and
observe.ScheduleFacts.allocations are keyed by (beneficiary, milestone))."""

from __future__ import annotations

from pathlib import Path

from runner.commands.plans_keys import load_keys, schedule_target
from runner.plan import check_plan

HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
PLAN = """\
version: 1
network: devnet
keys:
  owner: {{devnet_test_key: owner}}
  o1: {{devnet_test_key: "oracle 1"}}
  ben: {{devnet_test_key: "ben"}}
  ben_again: {{devnet_test_key: "ben"}}
schedule:
  token: {{policy_id: %s, name: GRANT}}
  owner: owner
  oracles: [o1]
  quorum: 1
  expiry: 86400000
  allocations:
    - {{beneficiary: ben, amount: 100, milestone: m1, vesting: 3600000}}
    - {{beneficiary: {second}, amount: 50, milestone: m1, vesting: 7200000}}
steps:
  - id: init
    init: {{}}
""".replace("%s", HEX)


def check(tmp_path: Path, second: str):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(second=second))
    return check_plan(path, None)


def test_the_same_key_name_twice_for_one_milestone_is_refused(tmp_path: Path):
    _, found = check(tmp_path, "ben")
    assert "duplicate-allocation" in [p.code for p in found]


def test_two_key_names_for_one_wallet_are_a_duplicate_allocation(tmp_path: Path):
    plan, found = check(tmp_path, "ben_again")
    if not found:
        definition = schedule_target(plan, load_keys(plan), None).definition
        pairs = [(a.beneficiary, a.milestone) for a in definition.allocations]
        assert len(set(pairs)) == len(pairs), f"validate passed a duplicate (address, milestone): {pairs}"
