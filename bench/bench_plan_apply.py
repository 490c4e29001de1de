"""Wall time of `milestones apply` on a generated devnet plan with N allocations, end to end.

N/2 beneficiaries x 2 milestones (both certified 2-of-3), fund, deploy, register, sign,
commit, time travel, release all, final check; a fresh data directory (embedded devnet),
cold process.  Then the same apply again (no changes).  Prints both wall times.

    PYTHONPATH=$PWD python3 bench/bench_plan_apply.py [--allocations 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, allocations: int) -> int:
    beneficiaries = max(1, allocations // 2)
    lines = ["version: 1", "name: bench-apply", "network: devnet", "variables:",
             '  t0: "{{ steps.init.outputs.system_start_ms }}"', "keys:",
             "  owner: {devnet_wallet: owner}", "  payer: {devnet_wallet: payer}"]
    lines += [f'  o{i}: {{devnet_test_key: "oracle {i}"}}' for i in range(3)]
    lines += [f'  b{i}: {{devnet_test_key: "bench {i}"}}' for i in range(beneficiaries)]
    lines += ["schedule:", "  token: {policy_id: devnet-faucet, name: GRANT}", "  owner: owner",
              "  oracles: [o0, o1, o2]", "  quorum: 2", '  expiry: "{{ t0 + days(365) }}"', "  allocations:"]
    total = 0
    for m in (1, 2):
        for b in range(beneficiaries):
            amount = 100 + b
            total += amount
            lines.append(f'    - {{beneficiary: b{b}, amount: {amount}, milestone: m{m}, vesting: "{{{{ t0 + days({m}) }}}}"}}')
    lines += ["steps:", "  - id: init", "    init: {}",
              f'  - id: fund-owner\n    fund: {{to: owner, lovelace: "{{{{ ada({50 + allocations}) }}}}", tokens: {total}}}',
              '  - id: fund-payer\n    fund: {to: payer, lovelace: "{{ ada(5000) }}"}',
              "  - id: deploy\n    deploy: {payer: payer}", "  - id: register\n    register: {}",
              "  - id: sign-m1\n    sign: {milestone: m1, oracles: [o0, o1], out: sig/m1.json}",
              "  - id: sign-m2\n    sign: {milestone: m2, oracles: [o1, o2], out: sig/m2.json}",
              "  - id: commit-m1\n    commit: {milestone: m1, signatures: \"{{ steps['sign-m1'].outputs.signatures_file }}\", payer: payer}",
              "  - id: commit-m2\n    commit: {milestone: m2, signatures: \"{{ steps['sign-m2'].outputs.signatures_file }}\", payer: payer}",
              '  - id: later\n    advance-time: {to: "{{ t0 + days(3) }}"}',
              "  - id: release\n    release: {all: true, payer: payer}",
              f"  - id: final\n    check: {{expect: {{allocations: {{released: {2 * beneficiaries}, locked: 0}}}}}}"]
    path.write_text("\n".join(lines) + "\n")
    return 2 * beneficiaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocations", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.yaml"
        count = generate(plan, args.allocations)
        for label in ("first apply (empty data directory)", "second apply (no changes)"):
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(Path(tmp) / "data"), "apply",
                                   str(plan)], env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr[-4000:])
                raise SystemExit(f"{label} failed with exit {done.returncode}")
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
            print(f"{label}: {count:,} allocations, {elapsed:.1f} s wall, {cpu:.1f} s CPU; "
                  f"{done.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
