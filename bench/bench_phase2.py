"""Phase-2 throughput: evaluations per second of a small OpShin spend validator, and what
``runner.devnet.plutus.uplc_speed`` buys (median of several runs, same budgets checked).

Columns: all patches (the default); the ``ex_mem`` memo alone (uplc's machine, decoding
every run); plain uplc (no patch). The budget column must agree across the three.

Run: ``python bench/bench_phase2.py [--runs 7] [--inputs 0 16 128]``
The validator walks the inputs to find its own, so the context size drives the cost.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.devnet.plutus import evaluate_scripts, uplc_speed
from runner.testing.phase2_kit import CLOCK, COST_MODELS, MAX_UNITS, Spend, compile_script


def _time_one(tx: object, resolved: dict, runs: int) -> tuple[float, tuple[int, int]]:
    times, budget = [], (0, 0)
    for _ in range(runs):
        start = time.perf_counter()
        [result] = evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets="max", max_ex_units=MAX_UNITS)
        times.append(time.perf_counter() - start)
        assert result.ok, result.error
        budget = (result.memory, result.cpu)
    return statistics.median(times), budget


MODES = {  # column → which patches are switched off
    "all patches": None,
    "memo only": {"memo": False, "machine": True},
    "plain uplc": {"memo": True, "machine": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--inputs", type=int, nargs="*", default=[0, 16, 128])
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "milestones-bench-scripts"
    cache.mkdir(exist_ok=True)
    script = compile_script("lock_validator", cache)
    print("median ms per evaluation (tx id computed from the body, as without the ledger's tx_id)")
    print(f"{'inputs':>6} " + " ".join(f"{m:>12}" for m in MODES) + f" {'speed-up':>9} {'eval/s':>7}  budget")
    for fillers in args.inputs:
        tx, resolved = Spend(script, fillers=fillers).build()
        times, budgets = [], set()
        for off in MODES.values():
            with uplc_speed.disabled(**off) if off else contextlib.nullcontext():
                median, budget = _time_one(tx, resolved, args.runs)
            times.append(median)
            budgets.add(budget)
        if len(budgets) != 1:
            raise SystemExit(f"budgets differ with {fillers + 1} inputs: {budgets}")
        cells = " ".join(f"{t * 1e3:>12.1f}" for t in times)
        print(f"{fillers + 1:>6} {cells} {times[-1] / times[0]:>8.1f}x {1 / times[0]:>7.1f}  {budgets.pop()}")


if __name__ == "__main__":
    main()
