"""Test minting policy: mints exactly `redeemer` units of token b"ms" under its own policy.

It also checks where V3 puts things: the ScriptInfo is `Minting policy`, the mint value
has no ada entry, and the TxInfo's redeemer map holds this redeemer under its purpose."""
from opshin.prelude import *


def validator(context: ScriptContext) -> None:
    purpose = context.purpose
    assert isinstance(purpose, Minting), "not minting"
    amount: int = context.redeemer
    mint = context.transaction.mint
    assert b"" not in mint.keys(), "mint has an ada entry"  # noqa: SIM118 -- OpShin dicts
    assert mint[purpose.policy_id][b"ms"] == amount, "wrong amount"
    assert context.transaction.redeemers[purpose] == context.redeemer, "redeemer map"
