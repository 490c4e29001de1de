"""How long `milestones validate` takes on a plan with 10,000 allocations.

Generates a devnet plan with N inline allocations (1,000 beneficiaries x 10 milestones;
every vesting time a template, the worst case for rendering) in a temporary directory,
then times ``check_plan`` in process and ``python -m runner validate`` as a cold
process; prints the median of several runs.

    PYTHONPATH=$PWD python3 bench/bench_validate.py [--allocations 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(path: Path, allocations: int) -> None:
    milestones = 10
    beneficiaries = max(1, allocations // milestones)
    lines = ["version: 1", "name: bench", "network: devnet", "variables:", "  t0: 0", "keys:",
             "  owner: {devnet_wallet: owner}", "  payer: {devnet_wallet: payer}"]
    lines += [f'  o{i}: {{devnet_test_key: "oracle {i}"}}' for i in range(3)]
    lines += [f'  b{i}: {{devnet_test_key: "b {i}"}}' for i in range(beneficiaries)]
    lines += ["schedule:", "  token: {policy_id: devnet-faucet, name: GRANT}", "  owner: owner",
              "  oracles: [o0, o1, o2]", "  quorum: 2", '  expiry: "{{ t0 + days(365) }}"', "  allocations:"]
    count = 0
    for m in range(milestones):
        for b in range(beneficiaries):
            if count == allocations:
                break
            lines.append(f'    - {{beneficiary: b{b}, amount: {1000 + b}, milestone: m{m}, '
                         f'vesting: "{{{{ t0 + days({m + 1}) }}}}"}}')
            count += 1
    lines += ["steps:", "  - id: init", "    init: {}", "  - id: deploy", "    deploy: {payer: payer}",
              "  - id: register", "    register: {}", "  - id: release", "    release: {all: true, payer: payer}"]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from runner.plan import check_plan

    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "bench.yaml"
        generate(plan, args.allocations)
        size = plan.stat().st_size
        in_process = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result, problems = check_plan(plan)
            in_process.append(time.perf_counter() - started)
            assert result is not None and not problems, problems[:3]
            assert len(result.schedule.allocations) == args.allocations
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cold = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "runner", "validate", str(plan)], env=env, check=False,
                                  capture_output=True, text=True)
            cold.append(time.perf_counter() - started)
            assert done.returncode == 0, done.stderr[-2000:]
    print(f"plan: {args.allocations:,} allocations, {size:,} bytes")
    print(f"check_plan in process: median {statistics.median(in_process):.3f} s "
          f"(min {min(in_process):.3f}, max {max(in_process):.3f}, {args.runs} runs)")
    print(f"`python -m runner validate` cold process: median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f}, max {max(cold):.3f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
