"""The runner's overhead: `milestones apply PLAN` vs a plain pycardano script making the same transactions.

    PYTHONPATH=$PWD python3 bench/bench_plan_overhead.py --allocations 100 1000 --runs 3
    PYTHONPATH=$PWD python3 bench/bench_plan_overhead.py --allocations 1000 --runs 1 --profile /tmp/bench-prof
    PYTHONPATH=$PWD python3 bench/bench_plan_overhead.py --allocations 100 --runs 1 --reclaim --payer-utxos 4

Each side runs in a fresh process (what a user experiences: interpreter start, imports,
the work, exit) on a fresh embedded devnet in its own temporary directory, created the
same way (seed ``milestones-devnet``, genesis clock at 0, mainnet epoch-616 parameters,
a block per submission, the ledger saved after every change).  Both reach the ledger
through the SAME chain client: the project's ``OgmiosClient`` + ``KupoClient`` over the
devnet's in-process Ogmios ``answer`` / Kupo ``route`` (the path ``apply`` uses for an
embedded devnet), so the ratio measures the runner, not the transport.

* runner: ``python -m runner --data-dir D --output json apply plan.yaml`` on a generated
  plan (N/2 beneficiaries x 2 milestones, 2-of-3 oracles): init, fund owner and payer,
  deploy (+ stake registration), register, sign m1/m2, commit m1/m2, advance time,
  release all; ``--reclaim`` adds a milestone m3 (a tenth of the beneficiaries) that is
  never certified, a move past the expiry and a reclaim.  No ``check`` step (it makes no
  transaction and the plain script has no counterpart).
* plain: this file with ``--plain``: pycardano's ``TransactionBuilder`` (UTxO selection,
  balancing, fees, collateral, execution units from ``ChainContext.evaluate_tx``) with the
  contract's blueprint scripts (``schedule_scripts``) and its pure datum/redeemer encoders
  (``runner.contract.datums``, the pot layout ``pots.layout_pots``); no engine, plan
  runner, data directory or journal.  Same faucet funding and time moves (the devnet's
  own controls).  pycardano's execution-unit buffers are set to the runner's 2 % margin
  (its default 20 % would pay more fees and could push a full release over the limits).

  Its release packs pots by serialised size (enough for this workload; the runner's
  builder also fits ex-unit limits); its reclaim is one transaction (all that is left).

Then both ledgers are loaded and compared: the same number of transactions, the same
lovelace and tokens at every beneficiary (and at the owner's reclaim address), no token
left at a script address, total fees within ``FEE_TOLERANCE`` (pycardano's fees differ by
a few hundred lovelace a transaction: it counts a reference script once per input using
it, and adds the payer as a required signer).  Any difference fails loudly (exit 1).

Prints, per run: wall time, the child's CPU time (user + system: steadier than wall on a
shared machine, but blind to fsync waits), fees, the 1-minute load before the run; then
per size: min / median of each, the ratios runner / plain, the per-phase split (medians;
from the events each side streams, timestamped by this process: the runner's PlanStep
events, the plain script's phase lines) and the load.  ``--profile DIR``: one more run of
each side under cProfile (top 15 by cumulative time, the runner's own modules, fsync).
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from runner.devnet import load_ledger

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
DEVNET_SEED = "milestones-devnet"  # the embedded devnet's seed (runner.engine.backends.DEVNET_SEED)
TEST_KEY_PREFIX = "plan test key "  # how a plan's `devnet_test_key` is derived (runner.commands.plans_keys)
TOKEN = b"GRANT"
QUORUM = 2
SIGNERS = {"m1": (0, 1), "m2": (1, 2)}  # oracle indexes signing each certified milestone
EXPIRY_DAYS = 30
#: Set from the command line (and passed on to the plain script's process).
SETTINGS = {"payer_utxos": 1}
FEE_TOLERANCE = 0.02  # relative difference of the total fees the comparison accepts
PHASES = ("setup", "deploy", "register", "certify", "release", "reclaim")
RUNNER_PHASE = {"init": "setup", "fund-owner": "setup", "fund-payer": "setup", "deploy": "deploy",
                "register": "register", "sign-m1": "certify", "sign-m2": "certify", "commit-m1": "certify",
                "commit-m2": "certify", "later": "release", "release": "release", "past-expiry": "reclaim",
                "reclaim": "reclaim"}


# ---------------------------------------------------------------- the workload (both sides)


def allocations(n: int, reclaim: bool) -> list[tuple[int, int, str, int]]:
    """(beneficiary index, amount, milestone, vesting day): N/2 beneficiaries x m1, m2 (+ m3)."""
    count = max(1, n // 2)
    rows = [(b, 100 + b, f"m{m}", m) for m in (1, 2) for b in range(count)]
    if reclaim:
        rows += [(b, 50 + b, "m3", 4) for b in range(max(1, count // 10))]
    return rows


def payer_fundings() -> list[int]:
    """ADA of each payment to the payer: doubling, so that each fund step of the plan pays
    (a fund step is skipped when the address already holds the amount)."""
    return [5000 * 2**k for k in range(SETTINGS["payer_utxos"])]


def generate(path: Path, n: int, reclaim: bool) -> int:
    """The plan; returns its number of allocations."""
    rows = allocations(n, reclaim)
    count = max(1, n // 2)
    lines = ["version: 1", "name: bench-overhead", "network: devnet", "variables:",
             '  t0: "{{ steps.init.outputs.system_start_ms }}"', "keys:",
             "  owner: {devnet_wallet: owner}", "  payer: {devnet_wallet: payer}"]
    lines += [f'  o{i}: {{devnet_test_key: "oracle {i}"}}' for i in range(3)]
    lines += [f'  b{i}: {{devnet_test_key: "bench {i}"}}' for i in range(count)]
    lines += ["schedule:", "  token: {policy_id: devnet-faucet, name: GRANT}", "  owner: owner",
              "  oracles: [o0, o1, o2]", f"  quorum: {QUORUM}",
              f'  expiry: "{{{{ t0 + days({EXPIRY_DAYS}) }}}}"', "  allocations:"]
    lines += [f'    - {{beneficiary: b{b}, amount: {a}, milestone: {m}, vesting: "{{{{ t0 + days({d}) }}}}"}}'
              for b, a, m, d in rows]
    total = sum(a for _, a, _, _ in rows)
    lines += ["steps:", "  - id: init\n    init: {}",
              (f'  - id: fund-owner\n    fund: {{to: owner, lovelace: "{{{{ ada({50 + len(rows)}) }}}}", '
               f"tokens: {total}}}"),
              *(f'  - id: fund-payer{"" if k == 0 else f"-{k}"}\n'
                f'    fund: {{to: payer, lovelace: "{{{{ ada({ada}) }}}}"}}'
                for k, ada in enumerate(payer_fundings())),
              "  - id: deploy\n    deploy: {payer: payer}", "  - id: register\n    register: {}"]
    for m, (i, j) in SIGNERS.items():
        lines += [f"  - id: sign-{m}\n    sign: {{milestone: {m}, oracles: [o{i}, o{j}], out: sig/{m}.json}}"]
    for m in SIGNERS:
        lines += [(f"  - id: commit-{m}\n    commit: {{milestone: {m}, signatures: "
                   f"\"{{{{ steps['sign-{m}'].outputs.signatures_file }}}}\", payer: payer}}")]
    lines += ['  - id: later\n    advance-time: {to: "{{ t0 + days(5) }}"}',
              "  - id: release\n    release: {all: true, payer: payer}"]
    if reclaim:
        expiry = f"t0 + days({EXPIRY_DAYS}) + minutes(1)"
        lines += [f'  - id: past-expiry\n    advance-time: {{to: "{{{{ {expiry} }}}}"}}',
                  "  - id: reclaim\n    reclaim: {milestone: m3, payer: payer}"]
    path.write_text("\n".join(lines) + "\n")
    return len(rows)


def run_streaming(cmd: list[str], env: dict[str, str], phase_of: Callable[[dict[str, Any]], str | None]
                  ) -> tuple[float, dict[str, float], list[dict[str, Any]]]:
    """Run ``cmd``; wall time, seconds per phase (a phase ends at its event's arrival; the
    child's CPU seconds, user + system, under ``"cpu"``), events."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    phases: dict[str, float] = {}
    events: list[dict[str, Any]] = []
    last = started
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        events.append(event)
        phase = phase_of(event)
        if phase is not None:
            now = time.perf_counter()
            phases[phase] = phases.get(phase, 0.0) + now - last
            last = now
    stderr = proc.stderr.read() if proc.stderr else ""
    code = proc.wait()
    wall = time.perf_counter() - started
    if code != 0:
        print(stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{' '.join(cmd[:6])}... failed with exit {code}")
    if wall > last - started:
        phases["exit"] = wall - (last - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, phases, events


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OGMIOS_URL", "KUPO_URL")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def runner_side(plan: Path, data: Path, profile: Path | None = None) -> tuple[float, dict[str, float]]:
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    cmd = [*prefix, "-m", "runner", "--data-dir", str(data), "--output", "json", "apply", str(plan)]

    def phase(event: dict[str, Any]) -> str | None:
        if event.get("event") != "PlanStep":
            return None
        step = str(event.get("step", ""))
        return "setup" if step.startswith("fund-") else RUNNER_PHASE.get(step)

    wall, phases, _ = run_streaming(cmd, base_env(), phase)
    return wall, phases


def plain_side(folder: Path, n: int, reclaim: bool, profile: Path | None = None
               ) -> tuple[float, dict[str, float]]:
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    cmd = [*prefix, str(Path(__file__).resolve()), "--plain", str(folder), "--allocations", str(n)]
    cmd += ["--reclaim"] if reclaim else []
    cmd += ["--payer-utxos", str(SETTINGS["payer_utxos"])]
    wall, phases, _ = run_streaming(cmd, base_env(), lambda e: e.get("phase"))
    return wall, phases


# ---------------------------------------------------------------- the plain pycardano script


class Plain:
    """What a user would write with pycardano alone (one method per phase), against the
    devnet in ``folder``.  Imports inside: the parent process never needs pycardano's."""

    def __init__(self, folder: Path, n: int, reclaim: bool) -> None:
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # as the runner does for the devnet
        import pycardano as pc

        from runner.devnet import FAUCET, derive_wallet, faucet_policy_id

        self.pc, self.net = pc, pc.Network.TESTNET
        self.guard, self.ogmios, self.ctx = open_devnet(folder)
        wallet = functools.partial(derive_wallet, DEVNET_SEED, network=self.net)
        self.owner, self.payer = wallet("owner"), wallet("payer")
        self.oracles = [wallet(f"{TEST_KEY_PREFIX}oracle {i}") for i in range(3)]
        keys = [wallet(f"{TEST_KEY_PREFIX}bench {i}").verification_key for i in range(max(1, n // 2))]
        self.beneficiaries = [pc.Address(k.hash(), network=self.net) for k in keys]
        self.rows = allocations(n, reclaim)
        self.policy = bytes(faucet_policy_id(wallet(FAUCET)))
        self.t0 = self.ctx.genesis_param.system_start * 1000

    def builder(self) -> Any:
        return self.pc.TransactionBuilder(self.ctx, execution_memory_buffer=0.02, execution_step_buffer=0.02)

    def submit(self, builder: Any, signer: Any) -> Any:
        tx = builder.build_and_sign([signer.signing_key], change_address=signer.address)
        self.ctx.submit_tx(tx)
        return tx

    def setup(self) -> None:
        """The same faucet payments as the plan's fund steps."""
        tokens = {TOKEN: sum(r[1] for r in self.rows)}
        owner_ada = (50 + len(self.rows)) * 10**6
        self.guard.write(lambda ledger: ledger.fund(str(self.owner.address), owner_ada, tokens))
        for ada in payer_fundings():
            self.guard.write(lambda ledger, ada=ada: ledger.fund(str(self.payer.address), ada * 10**6))

    def deploy(self) -> None:
        """The three applied scripts as reference scripts at the certificate address; the
        batch validator's stake credential registered (its script runs for the certificate)."""
        from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
        from runner.contract.datums import Release

        pc = self.pc
        token = (pc.ScriptHash(self.policy), pc.AssetName(TOKEN))
        self.seed = max(self.ctx.utxos(self.owner.address),
                        key=lambda u: u.output.amount.multi_asset.get(token[0], {}).get(token[1], 0))
        seed_ref = SeedRef(self.seed.input.transaction_id.payload, self.seed.input.index)
        oracles = tuple(bytes(o.verification_key.hash()) for o in self.oracles)
        self.params = ScheduleParameters(seed_ref, bytes(self.owner.verification_key.hash()), oracles, QUORUM,
                                         self.t0 + EXPIRY_DAYS * DAY_MS, self.policy, TOKEN)
        self.scripts = scripts = schedule_scripts(self.params)
        b = self.builder()
        b.add_input_address(self.payer.address)
        for script in (scripts.certificate_policy, scripts.batch_release, scripts.spend_forwarder):
            out = pc.TransactionOutput(scripts.certificate_address(self.net), 0, script=script)
            out.amount = pc.Value(min_ada(out, self.ctx))
            b.add_output(out)
        tx = self.submit(b, self.payer)
        self.refs = [pc.UTxO(pc.TransactionInput(tx.id, i), tx.transaction_body.outputs[i]) for i in range(3)]
        b = self.builder()
        b.add_input_address(self.payer.address)
        b.certificates = [pc.StakeRegistrationConway(pc.StakeCredential(pc.ScriptHash(scripts.batch_hash)),
                                                     self.ctx.protocol_param.key_deposit)]
        b.add_certificate_script(self.refs[1], pc.Redeemer(Release()))
        self.submit(b, self.payer)

    def register(self) -> None:
        """The pots (inline PotDatum, the contract's layout), as many per transaction as the
        size allows; the first transaction spends the seed."""
        from runner.contract.datums import from_plutus_address
        from runner.contract.pots import layout_pots
        from runner.contract.transactions import AllocationSpec

        pc = self.pc
        specs = [AllocationSpec(self.beneficiaries[i], a, m.encode(), self.t0 + d * DAY_MS)
                 for i, a, m, d in self.rows]
        outputs = []
        for datum in layout_pots(specs, (self.policy, TOKEN), self.net):
            entries = [(from_plutus_address(e.beneficiary, self.net), int(e.amount)) for e in datum.entries]
            payouts = sum(self.release_output(address, amount).amount.coin for address, amount in entries)
            tokens = pc.MultiAsset.from_primitive({self.policy: {TOKEN: sum(a for _, a in entries)}})
            pot_address = self.scripts.allocation_address(self.net)
            out = pc.TransactionOutput(pot_address, pc.Value(0, tokens), datum=datum)
            out.amount.coin = max(payouts, min_ada(out, self.ctx))
            outputs.append(out)
        room = self.ctx.protocol_param.max_tx_size - REGISTER_HEADROOM
        for k, chunk in enumerate(packed(outputs, room, lambda out: len(out.to_cbor()))):
            b = self.builder()
            if k == 0:
                b.add_input(self.seed)
            b.add_input_address(self.owner.address)
            for out in chunk:
                b.add_output(out)
            self.submit(b, self.owner)

    def certify(self) -> None:
        """Mint each milestone's certificate with its oracles' signatures."""
        from runner.contract.datums import certificate_datum, certificate_message

        pc, policy_id = self.pc, self.scripts.certificate_policy_id
        for m, signers in SIGNERS.items():
            message = certificate_message(policy_id, m.encode())
            signatures = {self.oracles[i].verification_key.payload: self.oracles[i].signing_key.sign(message)
                          for i in signers}
            datum = certificate_datum(m.encode(), signatures, self.params.oracles)
            mint = pc.MultiAsset.from_primitive({policy_id: {m.encode(): 1}})
            b = self.builder()
            b.add_input_address(self.payer.address)
            b.mint = mint
            b.add_minting_script(self.refs[0], pc.Redeemer(datum))
            home = self.scripts.certificate_address(self.net)
            out = pc.TransactionOutput(home, pc.Value(0, mint), datum=datum)
            out.amount.coin = min_ada(out, self.ctx)
            b.add_output(out)
            self.submit(b, self.payer)

    def release(self) -> None:
        """After the vesting times: every certified pot, as many per transaction as the size
        allows, pots in the ledger's input order, each entry paid by consecutive outputs."""
        from runner.contract.datums import PotDatum, Release, from_plutus_address

        pc = self.pc
        self.advance(self.t0 + 5 * DAY_MS)
        policy = pc.ScriptHash(self.scripts.certificate_policy_id)
        certificates = {name.payload: u for u in self.ctx.utxos(self.scripts.certificate_address(self.net))
                        for name in u.output.amount.multi_asset.get(policy, {})}
        items = []
        for u in self.pot_utxos():
            datum = PotDatum.from_cbor(u.output.datum.cbor if isinstance(u.output.datum, pc.RawCBOR)
                                       else u.output.datum.to_cbor())
            if bytes(datum.milestone_id) not in certificates:
                continue
            outs = [self.release_output(from_plutus_address(e.beneficiary, self.net), int(e.amount))
                    for e in datum.entries]
            outs[0].amount.coin += u.output.amount.coin - sum(o.amount.coin for o in outs)
            items.append((u, datum, outs))
        room = self.ctx.protocol_param.max_tx_size - RELEASE_HEADROOM
        for batch in packed(items, room, lambda item: sum(len(o.to_cbor()) for o in item[2])):
            milestones = sorted({bytes(d.milestone_id) for _, d, _ in batch})
            self.spend_pots([u for u, _, _ in batch], [o for _, _, outs in batch for o in outs], Release(),
                            max(int(d.vesting_time) for _, d, _ in batch),
                            [certificates[m] for m in milestones], self.payer)

    def reclaim(self) -> None:
        """After the expiry, the owner takes back what is left at the pot address."""
        from runner.contract.datums import Reclaim

        pc = self.pc
        self.advance(self.params.expiry_ms + 60_000)
        left = self.pot_utxos()
        total = functools.reduce(lambda a, b: a + b, (u.output.amount for u in left))
        home = pc.Address(self.owner.verification_key.hash(), network=self.net)
        self.spend_pots(left, [pc.TransactionOutput(home, total)], Reclaim(), self.params.expiry_ms, [],
                        self.owner, required=[self.owner.verification_key.hash()])

    def spend_pots(self, pots: list[Any], outs: list[Any], redeemer: Any, start_ms: int, refs: list[Any],
                   signer: Any, required: list[Any] | None = None) -> None:
        """Pots spent through the forwarder, the batch validator run by a zero withdrawal."""
        from runner.contract.datums import Forward

        pc = self.pc
        b = self.builder()
        for u in pots:
            b.add_script_input(u, script=self.refs[2], redeemer=pc.Redeemer(Forward()))
        for out in outs:
            b.add_output(out)
        for ref in refs:
            b.reference_inputs.add(ref)
        b.withdrawals = pc.Withdrawals({bytes(self.scripts.batch_reward_address(self.net).to_primitive()): 0})
        b.add_withdrawal_script(self.refs[1], pc.Redeemer(redeemer))
        b.validity_start = -(-(start_ms - self.t0) // 1000)  # first slot at or after (1 s slots)
        b.add_input_address(signer.address)
        if required:
            b.required_signers = required
        self.submit(b, signer)

    def pot_utxos(self) -> list[Any]:
        utxos = self.ctx.utxos(self.scripts.allocation_address(self.net))
        return sorted(utxos, key=lambda u: (u.input.transaction_id.payload, u.input.index))

    def release_output(self, address: Any, amount: int) -> Any:
        pc = self.pc
        tokens = pc.MultiAsset.from_primitive({self.policy: {TOKEN: amount}})
        out = pc.TransactionOutput(address, pc.Value(0, tokens))
        out.amount.coin = min_ada(out, self.ctx)
        return out

    def advance(self, posix_ms: int) -> None:
        self.ogmios.request("devnet/advance", {"posixMs": posix_ms})
        self.ogmios.request("devnet/tick", {})


def plain(folder: Path, n: int, reclaim: bool) -> None:
    """Run the plain script; one JSON line per finished phase (the parent timestamps them)."""
    script = Plain(folder, n, reclaim)
    phases = [("setup", script.setup), ("deploy", script.deploy), ("register", script.register),
              ("certify", script.certify), ("release", script.release)]
    for name, phase in [*phases, *([("reclaim", script.reclaim)] if reclaim else [])]:
        phase()
        print(json.dumps({"phase": name}), flush=True)


Item = TypeVar("Item")


def packed(items: list[Item], room: int, size: Callable[[Item], int]) -> list[list[Item]]:
    """Consecutive groups of ``items`` whose sizes add up to at most ``room`` (one item never splits)."""
    groups: list[list[Item]] = [[]]
    used = 0
    for item in items:
        if groups[-1] and used + size(item) > room:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += size(item)
    return groups


#: Bytes kept free below the size limit when packing outputs: register (inputs, fee, change,
#: witness; the runner keeps the same) and release (pot inputs, references, withdrawal,
#: redeemers, collateral, change, a signature: ~700-900 bytes measured).
REGISTER_HEADROOM = 1_200
RELEASE_HEADROOM = 1_300


def min_ada(out: Any, ctx: Any) -> int:
    """The ledger's min-UTxO, (160 + size) x coinsPerUTxOByte, on the output as it is sent
    (pycardano's ``min_lovelace_post_alonzo`` measures the map format, 2 bytes more than the
    array format a datum-less output is sent in: 8,620 lovelace more per beneficiary output)."""
    import pycardano as pc

    coin = out.amount.coin
    for _ in range(3):
        probe = pc.TransactionOutput(out.address, pc.Value(coin, out.amount.multi_asset), datum=out.datum,
                                     script=out.script)
        need = (160 + len(probe.to_cbor())) * ctx.protocol_param.coins_per_utxo_byte
        if coin >= need:
            return int(need)
        coin = need
    return int(need)


def open_devnet(folder: Path) -> tuple[Any, Any, Any]:
    """A new devnet saved in ``folder`` (as the embedded one is created) and the project's
    Ogmios/Kupo clients wired to it in process (as ``runner.engine.backends.embedded`` does)."""
    from runner.chain.kupo import KupoClient
    from runner.chain.ogmios import OgmiosClient
    from runner.chain.ogmios_kupo import OgmiosKupoBackend
    from runner.chain.pycardano_context import OgmiosKupoContext
    from runner.devnet import LedgerGuard
    from runner.devnet.cli_options import GenesisOptions
    from runner.devnet.home import create_home
    from runner.devnet.servers import kupo_transport, ogmios_call

    folder.mkdir(parents=True, exist_ok=True)
    genesis = GenesisOptions()  # the defaults `apply` creates its embedded devnet with
    ledger = create_home(DEVNET_SEED, None, folder, genesis)  # saved after every change, as apply's
    guard = LedgerGuard(ledger)
    ogmios = OgmiosClient(ogmios_call(guard))
    kupo = KupoClient("http://embedded-devnet", transport=kupo_transport(guard))
    return guard, ogmios, OgmiosKupoContext(OgmiosKupoBackend(ogmios, kupo, closers=(kupo,)))


# ---------------------------------------------------------------- the comparison


def outcome(folder: Path, n: int, reclaim: bool) -> dict[str, Any]:
    """What a finished run left on its devnet: transactions, fees, beneficiary balances."""
    import pycardano as pc

    from runner.devnet import FAUCET, derive_wallet, faucet_policy_id

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = load_ledger(folder)
    txs = [pc.Transaction.from_cbor(t.cbor) for block in ledger.blocks for t in block.txs]
    net = pc.Network.TESTNET
    owner = derive_wallet(DEVNET_SEED, "owner", net)
    token_policy = faucet_policy_id(derive_wallet(DEVNET_SEED, FAUCET, net))
    holders = {f"b{i}": pc.Address(derive_wallet(DEVNET_SEED, f"{TEST_KEY_PREFIX}bench {i}", net)
                                   .verification_key.hash(), network=net) for i in range(max(1, n // 2))}
    if reclaim:
        holders["owner (reclaim)"] = pc.Address(owner.verification_key.hash(), network=net)
    balances = {}
    for name, address in holders.items():
        coin, tokens = 0, 0
        for _, out in ledger.utxos_at(str(address)):
            coin += out.amount.coin
            tokens += sum(q for assets in out.amount.multi_asset.values() for q in assets.values())
        balances[name] = (coin, tokens)
    at_scripts = sum(q for out in ledger.utxo.values() if isinstance(out.address.payment_part, pc.ScriptHash)
                     for p, assets in out.amount.multi_asset.items() if p == token_policy
                     for q in assets.values())
    return {"transactions": len(txs), "fees": sum(t.transaction_body.fee for t in txs), "balances": balances,
            "tokens_left_at_scripts": at_scripts}


def compare(runner: dict[str, Any], plain_: dict[str, Any]) -> list[str]:
    problems = []
    if runner["transactions"] != plain_["transactions"]:
        problems.append(f"transactions: runner {runner['transactions']}, plain {plain_['transactions']}")
    diff = [k for k in runner["balances"] if runner["balances"][k] != plain_["balances"].get(k)]
    if diff:
        k = diff[0]
        problems.append(f"{len(diff)} beneficiary balances differ, e.g. {k}: runner {runner['balances'][k]}, "
                        f"plain {plain_['balances'].get(k)} (lovelace, tokens)")
    if not runner["balances"] or not all(t > 0 for _, t in runner["balances"].values()):
        problems.append("a beneficiary received no tokens: the runs did not release everything")
    for side, state in (("runner", runner), ("plain", plain_)):
        if state["tokens_left_at_scripts"]:
            problems.append(f"{side}: {state['tokens_left_at_scripts']} tokens left at script addresses")
    if abs(runner["fees"] - plain_["fees"]) > FEE_TOLERANCE * runner["fees"]:
        problems.append(f"fees: runner {runner['fees']}, plain {plain_['fees']} (over {FEE_TOLERANCE:.0%})")
    return problems


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_run(side: str, n: int, reclaim: bool) -> tuple[float, dict[str, float], dict[str, Any]]:
    """One run of one side in a fresh temporary directory: wall, phases (+ cpu), outcome."""
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        if side == "runner":
            plan = Path(tmp) / "plan.yaml"
            generate(plan, n, reclaim)
            wall, split = runner_side(plan, Path(tmp) / "data")
            return wall, split, outcome(Path(tmp) / "data" / "devnet", n, reclaim)
        wall, split = plain_side(Path(tmp) / "devnet", n, reclaim)
        return wall, split, outcome(Path(tmp) / "devnet", n, reclaim)


def measure(n: int, runs: int, reclaim: bool) -> None:
    """``runs`` runs of each side (order alternated), each pair checked for the same outcome."""
    walls: dict[str, list[float]] = {"runner": [], "plain": []}
    phases: dict[str, list[dict[str, float]]] = {"runner": [], "plain": []}
    states: dict[str, dict[str, Any]] = {}
    loads = []
    for run in range(runs):
        for side in ("runner", "plain") if run % 2 == 0 else ("plain", "runner"):
            loads.append(os.getloadavg()[0])
            wall, split, states[side] = one_run(side, n, reclaim)
            walls[side].append(wall)
            phases[side].append(split)
            print(json.dumps({"allocations": n, "run": run + 1, "side": side, "wall_s": round(wall, 2),
                              "cpu_s": round(split["cpu"], 2), "transactions": states[side]["transactions"],
                              "fees_lovelace": states[side]["fees"],
                              "load_1min_before": round(loads[-1], 2)}),
                  flush=True)
        problems = compare(states["runner"], states["plain"])
        if problems:
            raise SystemExit(f"the two runs did not end in the same chain state ({n} allocations): "
                             + "; ".join(problems))
    summary: dict[str, Any] = {"allocations": len(allocations(n, reclaim)), "runs": runs,
                               "payer_utxos": SETTINGS["payer_utxos"],
                               "runner_command": "python -m runner --data-dir D --output json apply PLAN"}
    for side in ("runner", "plain"):
        median = {p: round(statistics.median(x.get(p, 0.0) for x in phases[side]), 2)
                  for p in (*PHASES, "exit", "cpu") if any(p in x for x in phases[side])}
        summary[side] = {"wall_s_min": round(min(walls[side]), 2),
                         "wall_s_median": round(statistics.median(walls[side]), 2),
                         "cpu_s_min": round(min(x["cpu"] for x in phases[side]), 2),
                         "transactions": states[side]["transactions"],
                         "fees_ada": round(states[side]["fees"] / 1e6, 6), "phases_s_median": median}
    summary["ratio_wall_min"] = round(min(walls["runner"]) / min(walls["plain"]), 3)
    medians = {side: statistics.median(walls[side]) for side in walls}
    summary["ratio_wall_median"] = round(medians["runner"] / medians["plain"], 3)
    summary["ratio_cpu_min"] = round(summary["runner"]["cpu_s_min"] / summary["plain"]["cpu_s_min"], 3)
    summary["same_chain_state"] = True
    summary["load_1min_before_runs"] = [round(min(loads), 2), round(max(loads), 2)]
    summary["uptime_after"] = load()
    print(json.dumps(summary), flush=True)


def profiled(n: int, reclaim: bool, folder: Path, top: int = 15) -> None:
    """One run of each side under cProfile (slower than unprofiled; pure-Python-heavy code
    more so): the top functions by cumulative time, then the runner's own modules, then
    the time in fsync and sleep.  The .prof files stay in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-overhead-prof-") as tmp:
        plan = Path(tmp) / "plan.yaml"
        generate(plan, n, reclaim)
        for side in ("runner", "plain"):
            out = folder / f"{side}-{n}.prof"
            if side == "runner":
                wall, _ = runner_side(plan, Path(tmp) / "data", profile=out)
            else:
                wall, _ = plain_side(Path(tmp) / "devnet", n, reclaim, profile=out)
            stats = pstats.Stats(str(out), stream=sys.stdout)
            profiled_s = getattr(stats, "total_tt", 0.0)
            print(f"# {side} under cProfile, {n} allocations: {wall:.1f} s wall, {profiled_s:.1f} s profiled "
                  f"({load()}); {out}", flush=True)
            stats.sort_stats("cumulative").print_stats(top)
            if side == "runner":
                stats.print_stats(r"runner/(engine|commands|store|plan|domain)/", 2 * top)
            stats.print_stats(r"fsync|time.sleep|select", 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocations", type=int, nargs="+", default=[100])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reclaim", action="store_true",
                        help="add an uncertified milestone, reclaimed after expiry")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="then profile one run of each side (top 15 cumulative); .prof files kept in DIR")
    parser.add_argument("--payer-utxos", type=int, default=1,
                        help="fund the payer this many times (1 as in bench_plan_apply: a release per round)")
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    SETTINGS["payer_utxos"] = max(1, args.payer_utxos)
    if args.plain is not None:
        plain(args.plain, args.allocations[0], args.reclaim)
        return
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {load()} cpus {os.cpu_count()}", flush=True)
    for n in args.allocations:
        measure(n, args.runs, args.reclaim)
        if args.profile is not None:
            profiled(n, args.reclaim, args.profile)


if __name__ == "__main__":
    main()
