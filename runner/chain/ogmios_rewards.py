"""Reading Ogmios' ``queryLedgerState/rewardAccountSummaries`` answer, as untrusted input.

The answer decides how much a release withdraws from the batch validator's reward account
(the ledger wants the exact balance) and whether the stake credential still needs
registering, so every field is checked: the shape (v6.14), that each summary is about a
credential we asked for and appears once, and that the amounts are possible (no negative
balance, nothing above the 45 billion ADA that can ever exist).  Anything else is a
``ProtocolError`` naming the field, never a wrong withdrawal.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from runner.chain.backend import RewardAccount
from runner.chain.ogmios_shapes import as_list, as_obj, hex_str, lovelace_of, parsing, text

#: 45 000 000 000 ADA: the maximum supply; a balance or deposit above it is a lie
MAX_LOVELACE = 45_000_000_000 * 1_000_000
_KINDS = {"script": True, "verificationKey": False}


def _amount(summary: Any, name: str, path: str) -> int:
    value = lovelace_of(as_obj(summary[name], f"{path}.{name}"), f"{path}.{name}")
    if value > MAX_LOVELACE:
        raise ValueError(f"{path}.{name}: {value} lovelace is more than all the ADA there can be")
    return value


@parsing("reward account summaries")
def parse_reward_account_summaries(result: Any, *, asked: Collection[tuple[bool, str]]
                                   ) -> list[RewardAccount]:
    """``asked``: (is_script, credential hex) pairs of the request."""
    found: list[RewardAccount] = []
    seen: set[tuple[bool, str]] = set()
    for i, raw in enumerate(as_list(result, "$")):
        path = f"$[{i}]"
        summary = as_obj(raw, path)
        kind = text(summary["from"], f"{path}.from")
        if kind not in _KINDS:
            raise ValueError(f"{path}.from: expected 'script' or 'verificationKey', got {kind[:40]!r}")
        credential = hex_str(summary["credential"], f"{path}.credential", 28)
        key = (_KINDS[kind], credential)
        if key not in asked:
            raise ValueError(f"{path}.credential: {credential} is not a credential we asked about")
        if key in seen:
            raise ValueError(f"{path}.credential: {credential} is summarised twice")
        seen.add(key)
        pool = summary.get("stakePool")
        pool_id = None if pool is None else text(as_obj(pool, f"{path}.stakePool")["id"], f"{path}.stakePool.id")
        found.append(RewardAccount(credential, key[0], _amount(summary, "rewards", path),
                                   _amount(summary, "deposit", path), pool_id))
    return found
