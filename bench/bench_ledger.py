"""Devnet ledger throughput: validated plain payments per second (median of several runs).

Each run takes a fresh ledger whose wallet "payer" has ``--count`` genesis UTxOs, builds
and signs one payment per UTxO (outside the timing), then times ``Ledger.submit`` for all
of them: CBOR parsing, every phase-1 rule, signature checks, UTxO update, block formation.

    python bench/bench_ledger.py [--count 300] [--runs 5] [--persist]

``--persist`` gives the ledger a data directory, so every submission also saves the whole
state atomically (fsync included), as ``devnet up`` does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from pycardano import TransactionOutput

from runner.chain.devnet.ledger import Ledger
from runner.chain.devnet.ledger_faucet import balanced_payment


def one_run(count: int, persist: bool = False) -> float:
    data_dir = tempfile.mkdtemp(prefix="bench-ledger-") if persist else None
    ledger = Ledger.create(seed="bench", wallets=("payer", "payee"), initial_lovelace=count * 10_000_000,
                           utxos_per_wallet=count, data_dir=data_dir)
    payer, payee = ledger.wallet("payer"), ledger.wallet("payee")
    txs = [
        balanced_payment(ledger.params, [(ref, out)], [TransactionOutput(payee.address, 2_000_000)],
                         payer.address, [payer.signing_key]).to_cbor()
        for ref, out in ledger.utxos_at(payer.address)
    ]
    start = time.perf_counter()
    for raw in txs:
        ledger.submit(raw)
    elapsed = time.perf_counter() - start
    assert ledger.tip.height == count
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="payments per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--persist", action="store_true", help="save to a data directory after each submit")
    args = parser.parse_args()
    rates = [one_run(args.count, args.persist) for _ in range(args.runs)]
    mode = ", saved after each" if args.persist else ""
    print(f"devnet ledger: {statistics.median(rates):.0f} validated plain payments/s "
          f"(median of {args.runs} runs x {args.count}{mode}; min {min(rates):.0f}, max {max(rates):.0f})")


if __name__ == "__main__":
    main()
