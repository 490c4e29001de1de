"""Devnet persistence cost vs chain length: median latency of ``Ledger.submit`` with a data
directory (validate + apply + journal append, fsync included), measured after the chain
has grown to each length, and the cost of the periodic full snapshot (``storage.journal``).

The chain is grown without a data directory (fast), then the directory is attached and
``--samples`` further payments are timed one by one; a submission without persistence at
the same length is timed too, so the difference is the save.

    python bench/bench_persist.py [--lengths 1000 5000] [--samples 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pycardano import TransactionOutput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.devnet import Ledger, attach, load_ledger, save_ledger
from runner.devnet.ledger import balanced_payment


def _payments(ledger: Ledger, count: int) -> list[bytes]:
    payer, payee = ledger.wallet("payer"), ledger.wallet("payee")
    return [balanced_payment(ledger.params, [(ref, out)], [TransactionOutput(payee.address, 2_000_000)],
                             payer.address, [payer.signing_key]).to_cbor()
            for ref, out in ledger.utxos_at(payer.address)[:count]]


def _median_ms(ledger: Ledger, txs: list[bytes]) -> float:
    times = []
    for raw in txs:
        start = time.perf_counter()
        ledger.submit(raw)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(length: int, samples: int) -> tuple[float, float, int, float, int]:
    """(median ms per submit without, with persistence; data dir bytes; ms of one full
    snapshot; journal bytes per submit) at ``length`` blocks."""
    ledger = Ledger.create(seed="bench-persist", wallets=("payer", "payee"),
                           initial_lovelace=(length + 2 * samples) * 10_000_000,
                           utxos_per_wallet=length + 2 * samples)
    txs = _payments(ledger, length + 2 * samples)
    for raw in txs[:length]:
        ledger.submit(raw)
    plain = _median_ms(ledger, txs[length:length + samples])
    data_dir = Path(tempfile.mkdtemp(prefix="bench-persist-"))
    home = attach(ledger, data_dir)
    log = data_dir / "ledger.log"
    log_before = log.stat().st_size
    persisted = _median_ms(ledger, txs[length + samples:])
    per_submit = (log.stat().st_size - log_before) // samples
    size = sum(f.stat().st_size for f in data_dir.iterdir())
    reloaded = load_ledger(data_dir)
    assert reloaded.tip == ledger.tip and len(reloaded.utxo) == len(ledger.utxo)
    home.journal = None  # force the periodic full snapshot, to time it
    start = time.perf_counter()
    save_ledger(ledger)
    snapshot_ms = (time.perf_counter() - start) * 1000
    return plain, persisted, size, snapshot_ms, per_submit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    for length in args.lengths:
        plain, persisted, size, snapshot_ms, per_submit = measure(length, args.samples)
        every = max(256 * 1024, size) // max(1, per_submit)
        print(f"chain of {length:>6} blocks: submit {plain:6.2f} ms without persistence, {persisted:6.2f} ms "
              f"with it (median of {args.samples}; journal {per_submit} B/submit); full snapshot "
              f"{snapshot_ms:.0f} ms once every ~{every} submits (+{snapshot_ms / every:.2f} ms amortized); "
              f"data dir {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
