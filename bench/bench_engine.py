"""Figures for the engine (issue 7): cold-process command times, full cycles, engine overhead.

    python bench/bench_engine.py --cold                 # wall time of each command, fresh process
    python bench/bench_engine.py --sizes 10 100         # register -> commit -> release-all cycles
    python bench/bench_engine.py --sizes 100 --overhead # the same cycle without the engine, ratio

Cycles run in process on the embedded devnet's ledger (mainnet epoch-616 parameters,
phase 2 evaluated for real), through the same in-process Ogmios/Kupo client path the CLI
uses.  Every beneficiary is different and has a stake credential; two milestones, both
certified (3 of 5 oracles) and vested before the release.  "direct" = the contract's
builder and submit only (no discovery, observation, journal, confirmation): the engine's
overhead is engine / direct.  Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

import pycardano as pc

from runner.devnet import FAUCET, Ledger, LedgerGuard, faucet_policy_id
from runner.domain.problems import Problems
from runner.domain.schedule import Allocation, ScheduleDefinition, parse_oracles
from runner.domain.signatures import sign_message
from runner.engine import (
    CertifyStep,
    Context,
    DeployStep,
    Engine,
    KeyRing,
    RegisterStep,
    ReleaseStep,
    ScheduleTarget,
    Settings,
    StakeStep,
    Where,
    adapter,
    events,
)
from runner.engine.backends import embedded
from runner.engine.chainview import ChainView
from runner.store.datadir import DataDir

TOKEN = b"GRANT"
MILESTONES = ("m1", "m2")


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(f"bench {name}".encode()).digest())


def addr(k: pc.PaymentSigningKey, stake: pc.PaymentSigningKey | None = None) -> str:
    staking = stake.to_verification_key().hash() if stake is not None else None
    return str(pc.Address(k.to_verification_key().hash(), staking, network=pc.Network.TESTNET))


class World:
    """A fresh ledger with an owner holding the tokens, a payer with many UTxOs, N beneficiaries."""

    def __init__(self, n: int) -> None:
        self.ledger = Ledger.create(seed=f"bench-{n}")
        self.guard = LedgerGuard(self.ledger)
        self.owner, self.payer = key("owner"), key("payer")
        self.oracles = [key(f"oracle {i}") for i in range(5)]
        per_milestone = max(1, n // len(MILESTONES))
        self.ledger.fund(addr(self.owner), 200_000_000 + 3_000_000 * n, {TOKEN: 10 * n + 10})
        self.ledger.fund(addr(self.owner), 20_000_000)
        for _ in range(4 + n // 60):
            self.ledger.fund(addr(self.payer), 500_000_000)
        now = self.ledger.slot_config.slot_to_posix_ms(self.ledger.tip.slot)
        self.vesting = now + 60_000
        bens = [addr(key(f"ben {i}"), key(f"stake {i}")) for i in range(n)]
        allocations = tuple(Allocation(b, 10, MILESTONES[i // per_milestone % len(MILESTONES)], self.vesting)
                            for i, b in enumerate(bens))
        oracles = tuple(parse_oracles([addr(o) for o in self.oracles], "devnet", Problems()))
        policy = bytes(faucet_policy_id(self.ledger.wallet(FAUCET)))
        self.definition = ScheduleDefinition("devnet", allocations, oracles, 3,
                                             bytes(self.owner.to_verification_key().hash()), policy, TOKEN,
                                             now + 86_400_000)
        self.target = ScheduleTarget(self.definition, addr(self.owner), addr(self.payer))

    def context(self, folder: Path) -> Context:
        """One client connection for the whole cycle (as one plan run has), a fresh context per command."""
        if not hasattr(self, "_connection"):
            self._connection = embedded(self.guard)
        chain = ChainView(self._connection.backend, pc.Network.TESTNET)
        return Context(chain, DataDir(folder), KeyRing([self.owner, self.payer]), "devnet", Settings())

    def signatures(self, message: bytes) -> dict[bytes, bytes]:
        return dict(sign_message(o.payload, message) for o in self.oracles[:3])

    def vest(self) -> None:
        self.ledger.advance_to_posix_ms(self.vesting + 1000)
        self.ledger.tick()


def engine_cycle(world: World, folder: Path) -> dict[str, Any]:
    fees: list[int] = []
    t0 = time.perf_counter()

    def run(steps: list[Any]) -> Engine:
        engine = Engine(world.context(folder))
        for event in engine.run(steps):
            if isinstance(event, events.Planned):
                fees.extend(t.fee for t in event.txs)
        return engine

    engine = run([DeployStep(target=world.target, id="deploy"), StakeStep(target=world.target, id="stake"),
                  RegisterStep(target=world.target, id="register")])
    t_register = time.perf_counter() - t0
    contract = str(engine.results["register"]["contract_address"])
    where = Where(contract_address=contract)
    from runner.engine import discovery

    schedule = discovery.by_address(world.context(folder), contract).schedule
    run([CertifyStep(where=where, milestone=m, signatures=world.signatures(schedule.message(m)),
                     payer_address=world.target.payer_address, id=f"certify:{m}") for m in MILESTONES])
    t_commit = time.perf_counter() - t0 - t_register
    world.vest()
    t1 = time.perf_counter()
    run([ReleaseStep(where=where, payer_address=world.target.payer_address, id="release")])
    t_release = time.perf_counter() - t1
    return {"wall_s": round(time.perf_counter() - t0 - 0, 2), "register_s": round(t_register, 2),
            "commit_s": round(t_commit, 2), "release_s": round(t_release, 2), "transactions": len(fees),
            "fees_ada": round(sum(fees) / 1e6, 4)}


def direct_cycle(world: World) -> dict[str, Any]:
    """The same transactions from the builder and submit alone."""
    chain = ChainView(embedded(world.guard).backend, pc.Network.TESTNET)
    keys = [world.owner, world.payer]
    fees: list[int] = []

    def submit(txs: list[Any]) -> None:
        for tx in txs:
            fees.append(tx.fee)
            chain.submit(adapter.sign(tx, keys).to_cbor())

    t0 = time.perf_counter()
    owner_utxos = chain.utxos(world.target.owner_address)
    from runner.engine.steps_schedule import choose_seed

    seed = choose_seed(owner_utxos, world.definition)
    schedule = adapter.schedule_for(adapter.parameters(world.definition, adapter_ref(seed)), "devnet")
    deploy = adapter.build_deploy(schedule, chain.utxos(world.target.payer_address), chain.snapshot())
    submit([deploy])
    dep = schedule.deployment(chain.utxos(schedule.certificate_address))
    assert dep is not None
    submit(adapter.build_stake(dep, chain.utxos(world.target.payer_address), chain.snapshot(), chain.evaluator()))
    owned = chain.utxos(world.target.owner_address)
    seed_utxo = next(u for u in owned if u.input == seed.input)
    submit(adapter.build_register(dep, world.definition, seed_utxo, owned, chain.snapshot()))
    t_register = time.perf_counter() - t0
    for m in MILESTONES:
        submit([adapter.build_certify(dep, m, world.signatures(schedule.message(m)),
                                      chain.utxos(world.target.payer_address), chain.snapshot(), chain.evaluator())])
    t_commit = time.perf_counter() - t0 - t_register
    world.vest()
    t1 = time.perf_counter()
    certs = adapter.certificates(dep, chain.utxos(schedule.certificate_address))
    txs, _ = adapter.build_release(dep, chain.utxos(schedule.allocation_address), certs,
                                   chain.utxos(world.target.payer_address), chain.snapshot(), chain.evaluator())
    submit(txs)
    t_release = time.perf_counter() - t1
    return {"wall_s": round(t_register + t_commit + t_release, 2), "register_s": round(t_register, 2),
            "commit_s": round(t_commit, 2), "release_s": round(t_release, 2), "transactions": len(fees),
            "fees_ada": round(sum(fees) / 1e6, 4)}


def adapter_ref(u: pc.UTxO) -> str:
    return f"{u.input.transaction_id.payload.hex()}#{u.input.index}"


def one(n: int, mode: str) -> dict[str, Any]:
    """One cycle in THIS process (a fresh one per measurement: no warm caches shared)."""
    world = World(n)
    if mode == "direct":
        return direct_cycle(world)
    with tempfile.TemporaryDirectory() as folder:
        return engine_cycle(world, Path(folder))


def cycles(sizes: list[int], overhead: bool) -> None:
    for n in sizes:
        row: dict[str, Any] = {"allocations": n}
        for mode in ("engine", "direct") if overhead else ("engine",):
            done = subprocess.run([sys.executable, __file__, "--one", str(n), mode], capture_output=True,
                                  text=True, check=True)
            row[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        if overhead:
            row["engine_over_direct"] = round(row["engine"]["wall_s"] / row["direct"]["wall_s"], 3)
        print(json.dumps(row), flush=True)


# ---------------------------------------------------------------- cold processes


def cold(repeats: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    (folder / "config.yaml").write_text("network: devnet\n")
    names = ("owner", "payer", "o1", "o2", "o3", "b1", "b2")
    address = {}
    for name in names:
        k = key(f"cold {name}")
        k.save(str(folder / f"{name}.skey"))
        address[name] = addr(k)
    (folder / "allocations.json").write_text(json.dumps([
        {"beneficiary_address": address["b1"], "token_amount": 1000, "milestone_identifier": "milestone-001",
         "vesting_timestamp": 100_000},
        {"beneficiary_address": address["b2"], "token_amount": 2000, "milestone_identifier": "milestone-001",
         "vesting_timestamp": 100_000}]))
    env = {**{k: v for k, v in os.environ.items() if k not in ("OGMIOS_URL", "KUPO_URL")}, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "runner", "--config", str(folder / "config.yaml"), "--data-dir",
            str(folder / "data"), "--output", "json"]

    def timed(label: str, *args: str, times: int = 1) -> Any:
        walls, out = [], None
        for _ in range(times):
            t0 = time.perf_counter()
            done = subprocess.run([*base, *args], capture_output=True, text=True, env=env, cwd=folder, check=False)
            walls.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise SystemExit(f"{label} failed: {done.stderr[-500:]}")
            out = done.stdout
        print(json.dumps({"command": label, "wall_s_median": round(statistics.median(walls), 2), "runs": times}),
              flush=True)
        return json.loads(out) if out else None

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import runner.cli"], env=env, check=True)
    print(json.dumps({"command": "(python -c 'import runner.cli')", "wall_s_median":
                      round(time.perf_counter() - t0, 2), "runs": 1}))
    timed("init", "init", times=repeats)
    policy = timed("fund", "fund", "--address", address["owner"], "--lovelace", "50000000",
                   "--tokens", "GRANT:3000")["token_policy_id"]
    for _ in range(3):
        subprocess.run([*base, "fund", "--address", address["payer"], "--lovelace", "100000000"], env=env,
                       check=True, capture_output=True)
    subprocess.run([*base, "fund", "--address", address["owner"], "--lovelace", "20000000"], env=env, check=True,
                   capture_output=True)
    register = ["register-milestone", "--token-policy-id", policy, "--token-name", "GRANT",
                "--beneficiary-allocations", str(folder / "allocations.json"), "--oracle-addresses",
                ",".join(address[o] for o in ("o1", "o2", "o3")), "--quorum-threshold", "2",
                "--owner-key", str(folder / "owner.skey"), "--funding-key", str(folder / "payer.skey")]
    contract = timed("register-milestone (deploy, stake, lock)", *register)["contract_address"]
    timed("register-milestone again (no-op)", *register, times=repeats)
    for oracle in ("o1", "o2"):
        timed(f"sign-milestone ({oracle})", "sign-milestone", "--contract-address", contract,
              "--milestone-identifier", "milestone-001", "--oracle-key", str(folder / f"{oracle}.skey"),
              "--signatures", str(folder / "sigs.json"))
    commit = ["commit-milestone", "--milestone-identifier", "milestone-001", "--oracle-signatures",
              str(folder / "sigs.json"), "--funding-key", str(folder / "payer.skey")]
    timed("commit-milestone", *commit)
    timed("commit-milestone again (no-op)", *commit, times=repeats)
    timed("check-status", "check-status", "--contract-address", contract, times=repeats)
    timed("calculate-distribution", "calculate-distribution", "--contract-address", contract,
          "--beneficiary-address", address["b1"], times=repeats)
    timed("advance-time", "advance-time", "--to-ms", "100001000")
    release = ["submit-release", "--contract-address", contract, "--all", "--signing-key-path",
               str(folder / "payer.skey")]
    timed("submit-release --all", *release)
    timed("submit-release --all again (no-op)", *release, times=repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="cold-process wall time of each command")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[])
    parser.add_argument("--overhead", action="store_true", help="also run the cycle without the engine")
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1])))
        return
    if args.cold:
        cold(args.repeats)
    if args.sizes:
        cycles(args.sizes, args.overhead)


if __name__ == "__main__":
    main()
