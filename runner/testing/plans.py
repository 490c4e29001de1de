"""A small devnet plan to template (tests of plan rendering and of the reviews)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["BASE", "write"]

BASE = """\
version: 1
network: devnet
variables: {vars}
environment: [ALLOWED]
keys:
  owner: {{devnet_wallet: owner}}
  payer: {{devnet_wallet: payer}}
  o1: {{devnet_test_key: "oracle 1"}}
  ben: {{devnet_test_key: "ben"}}
schedule:
  token: {{policy_id: devnet-faucet, name: {name}}}
  owner: owner
  oracles: [o1]
  quorum: 1
  expiry: {expiry}
  allocations:
    - {{beneficiary: ben, amount: {amount}, milestone: m1, vesting: {vesting}}}
steps:
  - id: init
    init: {{}}
  - id: deploy
    deploy: {{payer: payer}}
  - id: later
    advance-time: {{to: {advance}}}
"""


def write(tmp_path: Path, **fields: str) -> Path:
    """``plan.yaml`` in ``tmp_path``: BASE with ``fields`` in place of the defaults."""
    values = {"vars": "{}", "name": "GRANT", "expiry": "86400000", "amount": "100", "vesting": "3600000",
              "advance": "7200000"} | fields
    path = tmp_path / "plan.yaml"
    path.write_text(BASE.format(**values))
    return path
