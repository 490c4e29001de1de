"""Phase-2 throughput: evaluations per second of a small OpShin spend validator, and what
``runner.chain.devnet.uplc_speed`` buys (median of several runs, same budgets checked).

Run: ``python bench/bench_phase2.py [--runs 7] [--inputs 0 16 128]``
The validator walks the inputs to find its own, so the context size drives the cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from scripts.phase2_kit import CLOCK, COST_MODELS, MAX_UNITS, Spend, compile_script

from runner.chain.devnet import uplc_speed
from runner.chain.devnet.phase2 import evaluate_scripts


def _time_one(tx: object, resolved: dict, runs: int) -> tuple[float, tuple[int, int]]:
    times, budget = [], (0, 0)
    for _ in range(runs):
        start = time.perf_counter()
        [result] = evaluate_scripts(tx, resolved, CLOCK, COST_MODELS, budgets="max", max_ex_units=MAX_UNITS)
        times.append(time.perf_counter() - start)
        assert result.ok, result.error
        budget = (result.memory, result.cpu)
    return statistics.median(times), budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--inputs", type=int, nargs="*", default=[0, 16, 128])
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "milestones-bench-scripts"
    cache.mkdir(exist_ok=True)
    script = compile_script("lock_validator", cache)
    print(
        f"{'inputs':>6} {'patched ms':>11} {'plain ms':>9} {'speed-up':>8} {'eval/s':>7}  budget (mem, cpu)"
    )
    for fillers in args.inputs:
        tx, resolved = Spend(script, fillers=fillers).build()
        fast, fast_budget = _time_one(tx, resolved, args.runs)
        with uplc_speed.disabled():
            plain, plain_budget = _time_one(tx, resolved, max(3, args.runs // 2))
        if fast_budget != plain_budget:
            raise SystemExit(f"budgets differ with {fillers} inputs: {fast_budget} vs {plain_budget}")
        print(
            f"{fillers + 1:>6} {fast * 1e3:>11.1f} {plain * 1e3:>9.1f} {plain / fast:>7.1f}x "
            f"{1 / fast:>7.1f}  {fast_budget}"
        )


if __name__ == "__main__":
    main()
