"""Execution units, sizes and fees of the schedule scripts under mainnet epoch-616 parameters.

    python bench/bench_contract.py            # table on stdout
    python bench/bench_contract.py --json     # the same figures as JSON

Transactions are assembled by hand like a release builder would make them: scripts as
CIP-33 reference scripts (not in the witness set), one certificate reference input per
milestone, one fee-paying key input (+ one vkey witness), one output per beneficiary,
every allocation a different beneficiary (the worst case: one output per release);
``release/2`` rows: two allocations (two milestones) per beneficiary, one output each.
Scripts run through the devnet's phase 2 (exact V3 ScriptContext, uplc, mainnet cost
models); the fee is the Conway formula (size, ex units, tiered reference-script fee).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pycardano as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from contract_world import (
    ALLOCATION_LOVELACE,
    PARAMS,
    TxParts,
    World,
    evaluate,
    failures,
    release_parts,
    tx_in,
    wallet,
)

from runner.chain.devnet.ledger_fees import min_fee

MILESTONE = b"milestone-1"
VESTING, NOW = 5_000_000, 6_000_000
FAKE_WITNESS = pc.VerificationKeyWitness(pc.PaymentVerificationKey(bytes(32)), bytes(64))


@dataclass(frozen=True)
class Figure:
    what: str
    count: int
    memory: int
    steps: int
    tx_bytes: int
    fee_lovelace: int

    @property
    def fee_per_item(self) -> float:
        return self.fee_lovelace / max(self.count, 1) / 1e6


def _with_reference_scripts(world: World, parts: TxParts, scripts: list[pc.PlutusV3Script]) -> int:
    """Move the scripts into reference inputs; return the reference-script bytes counted in the fee."""
    for i, script in enumerate(scripts):
        holder = pc.TransactionOutput(wallet("deployer"), 30_000_000, script=script)
        parts.reference_inputs.append((tx_in("deployed script", i), holder))
    parts.scripts = []
    return sum(len(s) for s in scripts)


def _measure(what: str, count: int, parts: TxParts, ref_bytes: int) -> Figure:
    results = evaluate(parts)
    if not all(r.ok for r in results):
        raise SystemExit(f"{what} x{count} failed: {failures(results)[:2]}")
    tx, _ = parts.build()
    for r, res in zip(_redeemers(tx), results):
        r.ex_units = pc.ExecutionUnits(res.memory, res.cpu)
    tx.transaction_witness_set.vkey_witnesses = [FAKE_WITNESS]
    tx.transaction_body.script_data_hash = pc.ScriptDataHash(bytes(32))
    tx.transaction_body.collateral = [tx_in("collateral")]
    size = len(tx.to_cbor())
    mem, steps = sum(r.memory for r in results), sum(r.cpu for r in results)
    fee = min_fee(PARAMS, size + 8, mem, steps, ref_bytes)  # +8: the fee field itself grows
    return Figure(what, count, mem, steps, size, fee)


def _redeemers(tx: pc.Transaction) -> list[pc.Redeemer]:
    return sorted(tx.transaction_witness_set.redeemer, key=lambda r: (r.tag.value, r.index))


def release(world: World, n: int, per: int = 1) -> Figure:
    """n allocations, ``per`` consecutive ones (of two milestones) per beneficiary."""
    allocations, outputs = [], []
    milestones = [MILESTONE, MILESTONE + b"-b"][: min(per, 2)]
    for b in range((n + per - 1) // per):
        beneficiary = wallet(f"beneficiary {b}", f"stake {b}")
        group = [i for i in range(b * per, min(n, (b + 1) * per))]
        for i in group:
            allocations.append(
                world.allocation(
                    "register", beneficiary, 1000, milestones[i % len(milestones)], VESTING, index=i
                )
            )
        outputs.append(
            pc.TransactionOutput(
                beneficiary, world.tokens(1000 * len(group), ALLOCATION_LOVELACE * len(group))
            )
        )
    parts = release_parts(world, allocations, outputs, milestones, NOW)
    ref_bytes = _with_reference_scripts(
        world, parts, [world.scripts.spend_forwarder, world.scripts.batch_release]
    )
    return _measure("release" if per == 1 else f"release/{per}", n, parts, ref_bytes)


def certify(world: World, signers: int) -> Figure:
    cert = world.sign_certificate(MILESTONE, list(range(signers)))
    policy = world.scripts.certificate_policy_id
    mint = world.certificate_token(MILESTONE)
    parts = TxParts(
        inputs=[(tx_in("oracle payer"), pc.TransactionOutput(wallet("payer"), 50_000_000))],
        outputs=[pc.TransactionOutput(world.certificate_address, pc.Value(2_000_000, mint), datum=cert)],
        mint=mint,
        mint_redeemers={policy: cert},
        scripts=[world.scripts.certificate_policy],
    )
    ref_bytes = _with_reference_scripts(world, parts, [world.scripts.certificate_policy])
    return _measure("certify", signers, parts, ref_bytes)


def register(world: World, n: int) -> Figure:
    """Locking n allocations: a plain payment (no script runs); the fee is size only."""
    outputs = [
        world.allocation("x", wallet(f"beneficiary {i}", f"stake {i}"), 1000, MILESTONE, VESTING)[1]
        for i in range(n)
    ]
    body = pc.TransactionBody(inputs=[tx_in("treasury")], outputs=outputs, fee=1_000_000)
    tx = pc.Transaction(body, pc.TransactionWitnessSet(vkey_witnesses=[FAKE_WITNESS]))
    size = len(tx.to_cbor())
    return Figure("register", n, 0, 0, size, min_fee(PARAMS, size + 8))


def fits(f: Figure, margin: float) -> bool:
    return (
        f.memory <= PARAMS.max_tx_ex_mem * margin
        and f.steps <= PARAMS.max_tx_ex_steps * margin
        and f.tx_bytes <= PARAMS.max_tx_size
    )


def max_release(world: World, margin: float, per: int = 1) -> Figure:
    lo, hi = 1, 200
    best = release(world, 1, per)
    while lo <= hi:
        mid = (lo + hi) // 2
        try:
            f = release(world, mid, per)
        except SystemExit:
            hi = mid - 1
            continue
        if fits(f, margin):
            best, lo = f, mid + 1
        else:
            hi = mid - 1
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--margin", type=float, default=0.95, help="share of the ex-unit limits a batch may use"
    )
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    world = World.create()
    s = world.scripts
    sizes = {
        "certificate_policy": len(s.certificate_policy),
        "batch_release": len(s.batch_release),
        "spend_forwarder": len(s.spend_forwarder),
    }
    figures = [register(world, 1), register(world, 50)]
    figures += [certify(world, k) for k in (3, 4, 5)]
    figures += [release(world, n) for n in (1, 10, 60)]
    figures.append(max_release(world, args.margin))
    figures.append(max_release(world, args.margin, per=2))
    if args.json:
        print(
            json.dumps(
                {
                    "script_bytes": sizes,
                    "margin": args.margin,
                    "figures": [asdict(f) | {"fee_per_item_ada": f.fee_per_item} for f in figures],
                },
                indent=2,
            )
        )
        return
    print("script sizes (bytes, applied):", sizes)
    print(
        f"limits: mem {PARAMS.max_tx_ex_mem}, steps {PARAMS.max_tx_ex_steps}, size {PARAMS.max_tx_size}; batch margin {args.margin}"
    )
    print(
        f"{'what':10} {'n':>4} {'memory':>10} {'steps':>14} {'bytes':>6} {'fee ADA':>9} {'ADA/item':>9}"
        "  share of the limits (mem/steps/size)"
    )
    for f in figures:
        shares = (
            f.memory / PARAMS.max_tx_ex_mem,
            f.steps / PARAMS.max_tx_ex_steps,
            f.tx_bytes / PARAMS.max_tx_size,
        )
        print(
            f"{f.what:10} {f.count:>4} {f.memory:>10} {f.steps:>14} {f.tx_bytes:>6} {f.fee_lovelace / 1e6:>9.4f} {f.fee_per_item:>9.4f}"
            f"  {shares[0]:>4.0%} {shares[1]:>4.0%} {shares[2]:>4.0%}"
        )


if __name__ == "__main__":
    main()
