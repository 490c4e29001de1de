"""Applying a validated transaction to the ledger state, all or nothing.

Every change is recorded in the transaction's :class:`Undo` *before* it is made, so
that whatever fails half-way (a bug, a fault injected by a test, memory) can be undone
before the error propagates: the UTxO set and stake accounts are then exactly as they
were. The same record undoes the transaction on rollback. (The datum/script index only
grows, like Kupo's: an entry left by a failed apply names the same bytes forever.)
"""

from __future__ import annotations

from collections.abc import Mapping

from pycardano import TransactionId, TransactionInput, TransactionOutput

from runner.devnet.ledger.index import ChainIndex
from runner.devnet.ledger.types import AppliedTx, StakeAccount, Undo
from runner.devnet.ledger.utxo import UtxoSet
from runner.devnet.rules.registry import Validation

Produced = list[tuple[TransactionInput, TransactionOutput, "bytes | None"]]


def apply_validated(utxo: UtxoSet, stake: dict[str, StakeAccount], index: ChainIndex,
                    validation: Validation) -> AppliedTx:
    """Spend and produce (or, for a transaction whose scripts failed as declared, take the
    collateral and create the collateral return); undone entirely if anything fails."""
    ptx = validation.ptx
    body = ptx.tx.transaction_body
    tx_id = TransactionId(ptx.tx_id)
    valid = ptx.is_valid and validation.scripts_ok
    expected = len(body.outputs) + (body.collateral_return is not None)
    raws: list[bytes | None] = list(ptx.spans.outputs)
    if len(raws) != expected:
        raws = [None] * expected
    changes: Mapping[str, StakeAccount | None] = {}
    produced: Produced = []
    if valid:
        spent = list(body.inputs)
        produced = [(TransactionInput(tx_id, i), o, raws[i]) for i, o in enumerate(body.outputs)]
        changes = validation.certs.changes
    else:
        spent = list(body.collateral or [])
        if body.collateral_return is not None:
            produced = [(TransactionInput(tx_id, len(body.outputs)), body.collateral_return, raws[-1])]
    applied = AppliedTx(ptx.tx_id_hex, ptx.spans.raw, Undo(), valid)
    try:
        _change_state(utxo, stake, applied.undo, spent, produced, changes)
        for _, out, _ in produced:
            index.add_output(out)
        index.add_witnesses(ptx)
    except BaseException:
        undo_applied(utxo, stake, applied)
        raise
    return applied


def _change_state(utxo: UtxoSet, stake: dict[str, StakeAccount], undo: Undo, spent: list[TransactionInput],
                  produced: Produced, changes: Mapping[str, StakeAccount | None]) -> None:
    for key, account in changes.items():
        undo.stake_before[key] = stake.get(key)
        if account is None:
            stake.pop(key, None)
        else:
            stake[key] = account
    for ref in spent:
        raw = utxo.raw(ref)
        undo.consumed.append((ref, utxo[ref]))
        undo.consumed_raw.append(raw)
        utxo.pop(ref)
    for ref, out, out_raw in produced:
        undo.produced.append(ref)
        utxo.add(ref, out, out_raw)


def undo_applied(utxo: UtxoSet, stake: dict[str, StakeAccount], applied: AppliedTx) -> None:
    """Put back what ``applied`` consumed and remove what it produced (rollback, or a
    failed apply: then only the changes already recorded are undone)."""
    undo = applied.undo
    for ref in undo.produced:
        if ref in utxo:
            utxo.pop(ref)
    raws = undo.consumed_raw if len(undo.consumed_raw) == len(undo.consumed) else [None] * len(undo.consumed)
    for (ref, out), raw in zip(undo.consumed, raws):
        if ref not in utxo:
            utxo.add(ref, out, raw)
    for key, before in undo.stake_before.items():
        if before is None:
            stake.pop(key, None)
        else:
            stake[key] = before
