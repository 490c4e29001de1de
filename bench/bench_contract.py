"""Fees, sizes and execution units of the schedule's transactions, as the builder makes them
and the devnet ledger (phase 1 + phase 2, mainnet epoch-616 parameters) accepts them.

    python bench/bench_contract.py            # table on stdout
    python bench/bench_contract.py --json     # the same figures as JSON

Every figure comes from a transaction ``runner.contract`` built (exact minimum fee, 2 %
ex-unit margin, real collateral, change output, signature) and the ledger accepted; no size
mock.  Worst case for a release: every beneficiary has a stake credential (the largest
outputs), one beneficiary per entry.  ``release/enterprise``: beneficiaries without a
stake credential; ``release/pots``: many 3-entry pots (one per vesting time) packed into
one transaction.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import pycardano as pc

from runner.contract import transactions as T
from runner.contract import tx_release as R
from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
from runner.contract.datums import PotDatum, certificate_message
from runner.contract.tx_core import ChainSnapshot, UnsignedTx, sign
from runner.devnet import FAUCET, Ledger, faucet_policy_id
from runner.errors import ScriptFailure

NET = pc.Network.TESTNET
TOKEN = b"GRANT"


@dataclass(frozen=True)
class Figure:
    what: str
    count: int  # allocations (entries) the transaction handles
    memory: int
    steps: int
    tx_bytes: int
    fee_lovelace: int

    @property
    def fee_per_item(self) -> float:
        return self.fee_lovelace / max(self.count, 1) / 1e6


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(b"bench contract " + name.encode()).digest())


def addr(k: pc.SigningKey, stake: pc.SigningKey | None = None) -> pc.Address:
    return pc.Address(k.to_verification_key().hash(), stake.to_verification_key().hash() if stake else None,
                      network=NET)


class Bench:
    def __init__(self) -> None:
        self.ledger = Ledger.create(seed="bench contract", wallets=("alice",))
        self.payer, self.owner = key("payer"), key("owner")
        self.oracles = [key(f"oracle {i}") for i in range(5)]
        self.policy = bytes(faucet_policy_id(self.ledger.wallet(FAUCET)))
        for _ in range(4):
            self.ledger.fund(addr(self.payer), 2_000_000_000)
        self.n = 0
        self.evaluations = 0
        self.build_times: list[tuple[int, float, int]] = []  # (entries, seconds, evaluations) per release call

    def snap(self) -> ChainSnapshot:
        lg = self.ledger
        return ChainSnapshot(lg.params.to_pycardano(), NET, lg.current_slot, lg.slot_config.system_start_ms,
                             lg.slot_config.slot_length_ms)

    def utxos(self, a: pc.Address) -> list[pc.UTxO]:
        return [pc.UTxO(r, o) for r, o in self.ledger.utxos_at(a)]

    def evaluate(self, tx: pc.Transaction) -> dict[tuple[str, int], pc.ExecutionUnits]:
        self.evaluations += 1
        results = self.ledger.evaluate(tx)
        failed = [r for r in results if not r.ok]
        if failed:
            raise ScriptFailure("; ".join(f"{r.tag}:{r.index} {r.error}" for r in failed), ogmios_code=3010)
        return {(r.tag, r.index): pc.ExecutionUnits(r.memory, r.cpu) for r in results}

    def submit(self, tx: UnsignedTx, *keys: pc.SigningKey) -> UnsignedTx:
        self.ledger.submit(sign(tx, keys))
        return tx

    def schedule(self, specs_for: Callable[[int], Sequence[T.AllocationSpec]]) -> tuple[T.Deployment, list[UnsignedTx]]:
        """A fresh schedule with the allocations ``specs_for(now_ms)``, registered and m1 certified."""
        self.n += 1
        now_ms = self.snap().now_ms
        specs = list(specs_for(now_ms))
        tokens = sum(s.amount for s in specs)
        seed_ref = self.ledger.fund(addr(self.owner), 2_000_000_000, {TOKEN: tokens})
        params = ScheduleParameters(
            SeedRef(seed_ref.transaction_id.payload, seed_ref.index), bytes(self.owner.to_verification_key().hash()),
            tuple(bytes(k.to_verification_key().hash()) for k in self.oracles), 3, now_ms + 10**9, self.policy, TOKEN)
        result = T.deploy(params, schedule_scripts(params), self.utxos(addr(self.payer)), self.snap())
        self.submit(result.tx, self.payer)
        dep = result.deployment
        stake = T.register_stake(dep, self.utxos(addr(self.payer)), self.snap(), self.evaluate)
        assert stake is not None
        self.submit(stake, self.payer)
        seed = next(u for u in self.utxos(addr(self.owner)) if u.input == seed_ref)
        regs = [self.submit(r, self.owner) for r in T.register_schedule(dep, specs, seed, [seed], self.snap())]
        return dep, regs

    def certify(self, dep: T.Deployment, signers: int) -> UnsignedTx:
        message = certificate_message(dep.policy_id, b"m1")
        sigs = {k.to_verification_key().payload: k.sign(message) for k in self.oracles[:signers]}
        return self.submit(T.certify(dep, b"m1", sigs, self.utxos(addr(self.payer)), self.snap(), self.evaluate),
                           self.payer)

    def release(self, dep: T.Deployment) -> list[UnsignedTx]:
        certs = R.certificates_at(dep, self.utxos(dep.certificate_address))
        evaluations = self.evaluations
        started = time.perf_counter()
        txs = R.release(dep, self.utxos(dep.allocation_address), certs, self.utxos(addr(self.payer)), self.snap(),
                        self.evaluate)
        self.build_times.append((sum(len(t.body.outputs) - 1 for t in txs), time.perf_counter() - started,
                                 self.evaluations - evaluations))
        return [self.submit(t, self.payer) for t in txs]


def figure(what: str, tx: UnsignedTx, count: int) -> Figure:
    return Figure(what, count, tx.memory, tx.steps, tx.size, tx.fee)


def entries(tx: UnsignedTx) -> int:
    return len(tx.body.outputs) - 1  # one output per entry, then the change


def run() -> tuple[dict[str, int], list[Figure], list[tuple[int, float, int]]]:
    b = Bench()
    figures: list[Figure] = []

    def staked(n: int, label: str = "b") -> Callable[[int], list[T.AllocationSpec]]:
        return lambda now: [T.AllocationSpec(addr(key(f"{label} {b.n} {i}"), key(f"{label} stake {b.n} {i}")),
                                             1000 + i, b"m1", now) for i in range(n)]

    for n in (1, 10, 60):
        dep, regs = b.schedule(staked(n))
        b.certify(dep, 3)
        [tx] = b.release(dep)
        figures.append(figure("release", tx, entries(tx)))
    dep, regs = b.schedule(staked(300))
    registered = sum(len(PotDatum.from_cbor(u.output.datum.to_cbor()).entries) for u in T.pots_in(dep, regs[:1]))
    figures.append(figure("register", regs[0], registered))  # the first register transaction
    figures.append(figure("certify/3", b.certify(dep, 3), 3))
    txs = b.release(dep)
    best = max(txs, key=entries)
    figures.append(figure("release (max, worst case)", best, entries(best)))
    dep, _ = b.schedule(lambda now: [T.AllocationSpec(addr(key(f"e {i}")), 1000 + i, b"m1", now) for i in range(260)])
    b.certify(dep, 3)
    best = max(b.release(dep), key=entries)
    figures.append(figure("release/enterprise (max)", best, entries(best)))
    dep, _ = b.schedule(lambda now: [T.AllocationSpec(addr(key(f"p {i}"), key(f"ps {i}")), 10 + i, b"m1", now - i // 3)
                                     for i in range(180)])
    figures.append(figure("certify/5", b.certify(dep, 5), 5))
    best = max(b.release(dep), key=entries)
    figures.append(figure("release/pots of 3 (max)", best, entries(best)))
    s = dep.scripts
    sizes = {"certificate_policy": len(s.certificate_policy), "batch_release": len(s.batch_release),
             "spend_forwarder": len(s.spend_forwarder)}
    return sizes, figures, b.build_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    sizes, figures, build_times = run()
    p = Ledger.create(seed="limits", wallets=("alice",)).params
    if args.json:
        print(json.dumps({"script_bytes": sizes,
                          "figures": [asdict(f) | {"fee_per_item_ada": f.fee_per_item} for f in figures],
                          "builder": [{"entries": n, "seconds": t, "evaluations": e} for n, t, e in build_times]},
                         indent=2))
        return
    print("script sizes (bytes, applied, 5 oracles):", sizes)
    print(f"limits: mem {p.max_tx_ex_mem}, steps {p.max_tx_ex_steps}, size {p.max_tx_size}")
    print(f"{'what':26} {'n':>4} {'memory':>10} {'steps':>14} {'bytes':>6} {'fee ADA':>9} {'ADA/item':>9}"
          "  share of the limits (mem/steps/size)")
    for f in figures:
        shares = (f.memory / p.max_tx_ex_mem, f.steps / p.max_tx_ex_steps, f.tx_bytes / p.max_tx_size)
        print(f"{f.what:26} {f.count:>4} {f.memory:>10} {f.steps:>14} {f.tx_bytes:>6} {f.fee_lovelace / 1e6:>9.4f} "
              f"{f.fee_per_item:>9.4f}  {shares[0]:>4.0%} {shares[1]:>4.0%} {shares[2]:>4.0%}")
    print("builder (wall clock of release(), this machine; PYCARDANO_NO_TYPE_CHECK="
          f"{os.environ.get('PYCARDANO_NO_TYPE_CHECK', 'unset')}):")
    for n, seconds, evaluations in build_times:
        print(f"  {n:>4} entries: {seconds:6.2f} s, {evaluations} evaluations")


if __name__ == "__main__":
    main()
