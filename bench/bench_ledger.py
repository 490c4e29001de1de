"""Devnet ledger throughput: validated plain payments and validated Plutus V3 spends per
second (median of several runs), both through ``Ledger.submit``.

Each run takes a fresh ledger, builds and signs every transaction outside the timing,
then times ``Ledger.submit`` for all of them: CBOR parsing, every phase-1 rule, signature
checks, phase 2 (for the Plutus spends: a real V3 ScriptContext evaluated with uplc under
the declared budget), UTxO update, block formation (one block per transaction).

Plain payment: one key-locked input, a payment and a change output.
Plutus spend: one script-locked input (inline datum) spent with a redeemer, a key-locked
collateral input, the owner's signature, a validity start, the script in the witness set.
``--script opshin`` (default) is ``tests/scripts/lock_validator.py`` compiled by OpShin
(checks secret, signatory, validity range and datum: a realistic small validator);
``--script answer42`` is the hand-written UPLC validator of ``devnet demo`` (near-minimal).

    python bench/bench_ledger.py [--count 300] [--plutus-count 100] [--runs 5] [--persist]
                                 [--script opshin|answer42]

``--persist`` gives the ledger a data directory, so every submission is also saved
atomically (fsync included), as ``devnet up`` does.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pycardano import (
    Address,
    CostModels,
    ExecutionUnits,
    Network,
    PlutusV3Script,
    Redeemer,
    RedeemerTag,
    Transaction,
    TransactionBody,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
    VerificationKeyWitness,
    plutus_script_hash,
)
from pycardano.utils import script_data_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

from runner.devnet import Ledger, Wallet, attach
from runner.devnet.ledger import balanced_payment, min_fee


def _ledger(count: int, persist: bool, extra: list[tuple[TransactionInput, TransactionOutput]] = ()) -> Ledger:
    ledger = Ledger.create(seed="bench", wallets=("payer", "payee"), initial_lovelace=count * 10_000_000,
                           utxos_per_wallet=count, extra_utxo=extra, start_slot=100)
    if persist:
        attach(ledger, tempfile.mkdtemp(prefix="bench-ledger-"))
    return ledger


def _timed(ledger: Ledger, txs: list[bytes]) -> float:
    height = ledger.tip.height
    start = time.perf_counter()
    for raw in txs:
        ledger.submit(raw)
    elapsed = time.perf_counter() - start
    assert ledger.tip.height == height + len(txs)
    return len(txs) / elapsed


def payments_run(count: int, persist: bool = False) -> float:
    ledger = _ledger(count, persist)
    payer, payee = ledger.wallet("payer"), ledger.wallet("payee")
    txs = [
        balanced_payment(ledger.params, [(ref, out)], [TransactionOutput(payee.address, 2_000_000)],
                         payer.address, [payer.signing_key]).to_cbor()
        for ref, out in ledger.utxos_at(payer.address)
    ]
    return _timed(ledger, txs)


# --- Plutus V3 spends -------------------------------------------------------------------

def _script(kind: str) -> tuple[PlutusV3Script, Any, Any]:
    """(script, datum for an owner key hash -> Any, redeemer)."""
    if kind == "answer42":
        from runner.rehearsal import answer_42_script

        return answer_42_script(), lambda owner: 0, 42
    from runner.testing.phase2_kit import Lock, compile_script

    cache = Path(tempfile.gettempdir()) / "milestones-bench-scripts"
    cache.mkdir(exist_ok=True)
    return compile_script("lock_validator", cache), lambda owner: Lock(42, owner, 0), 42


def _spend(ledger: Ledger, script: PlutusV3Script, locked: tuple[TransactionInput, TransactionOutput],
           collateral: TransactionInput, payer: Wallet, redeemer_data: Any) -> bytes:
    """A signed spend at the exact min fee, declaring exactly the units the script uses."""
    params = ledger.params
    v3 = CostModels({2: {f"{i:03d}": x for i, x in enumerate(params.cost_model("PlutusV3"))}})
    units, fee = ExecutionUnits(params.max_tx_ex_mem // 2, params.max_tx_ex_steps // 2), 0
    for _ in range(4):
        redeemer = Redeemer(redeemer_data, units)
        redeemer.tag, redeemer.index = RedeemerTag.SPEND, 0
        body = TransactionBody(
            inputs=[locked[0]], collateral=[collateral], fee=fee, validity_start=ledger.current_slot,
            outputs=[TransactionOutput(payer.address, locked[1].amount.coin - fee)],
            required_signers=[payer.verification_key.hash()],
            script_data_hash=script_data_hash([redeemer], None, v3))
        key = payer.signing_key
        tx = Transaction(body, TransactionWitnessSet(
            vkey_witnesses=[VerificationKeyWitness(key.to_verification_key(), key.sign(body.hash()))],
            plutus_v3_script=[script], redeemer=[redeemer]))
        [evaluation] = ledger.evaluate(tx)
        assert evaluation.ok, evaluation.error
        needed = min_fee(params, len(tx.to_cbor()), evaluation.memory, evaluation.cpu)
        if (units.mem, units.steps) == (evaluation.memory, evaluation.cpu) and fee >= needed:
            return tx.to_cbor()
        units, fee = ExecutionUnits(evaluation.memory, evaluation.cpu), needed + 200
    raise AssertionError("spend did not converge")


def plutus_run(count: int, kind: str, persist: bool = False) -> float:
    script, datum_for, redeemer_data = _script(kind)
    address = Address(plutus_script_hash(script), network=Network.TESTNET)
    probe = _ledger(1, False)
    payer_pkh = probe.wallet("payer").verification_key.hash().payload
    locked = [(TransactionInput(TransactionId(hashlib.blake2b(f"bench-lock-{n}".encode(), digest_size=32).digest()), 0),
               TransactionOutput(address, 5_000_000, datum=datum_for(payer_pkh))) for n in range(count)]
    ledger = _ledger(count, persist, locked)
    payer = ledger.wallet("payer")
    collaterals = [ref for ref, _ in ledger.utxos_at(payer.address)]
    txs = [_spend(ledger, script, lock, coll, payer, redeemer_data) for lock, coll in zip(locked, collaterals)]
    return _timed(ledger, txs)


def _line(label: str, rates: list[float], runs: int, count: int, extra: str) -> str:
    return (f"devnet ledger: {statistics.median(rates):8.0f} {label}/s "
            f"(median of {runs} runs x {count}{extra}; min {min(rates):.0f}, max {max(rates):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="payments per run")
    parser.add_argument("--plutus-count", type=int, default=100, help="Plutus spends per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--script", choices=("opshin", "answer42"), default="opshin")
    parser.add_argument("--persist", action="store_true", help="save to a data directory after each submit")
    args = parser.parse_args()
    mode = ", saved after each" if args.persist else ""
    payments = [payments_run(args.count, args.persist) for _ in range(args.runs)]
    print(_line("validated plain payments", payments, args.runs, args.count, mode))
    spends = [plutus_run(args.plutus_count, args.script, args.persist) for _ in range(args.runs)]
    print(_line(f"validated Plutus V3 spends ({args.script}, phase 2 included)", spends, args.runs,
                args.plutus_count, mode))


if __name__ == "__main__":
    main()
