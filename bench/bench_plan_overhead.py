"""The runner's overhead: `milestones apply PLAN` against a plain pycardano script making the same transactions.

    PYTHONPATH=$PWD python3 bench/bench_plan_overhead.py --allocations 100 1000 --runs 3 [--reclaim] [--profile]

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

Then both ledgers are loaded and compared: the same number of transactions, the same
lovelace and tokens at every beneficiary (and at the owner's reclaim address), nothing
left at the pot address, total fees within ``FEE_TOLERANCE``.  Any difference fails
loudly (exit 1).  Prints wall times (min / median of ``--runs``), the ratio, the
per-phase split (from the events each side streams, timestamped by this process) and
the machine load.  ``--profile``: one more runner run under cProfile, top 15 cumulative.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000
DEVNET_SEED = "milestones-devnet"  # the embedded devnet's seed (runner.engine.backends.DEVNET_SEED)
TEST_KEY_PREFIX = "plan test key "  # how a plan's `devnet_test_key` is derived (runner.commands.plans_keys)
TOKEN = b"GRANT"
QUORUM = 2
SIGNERS = {"m1": (0, 1), "m2": (1, 2)}  # oracle indexes signing each certified milestone
EXPIRY_DAYS = 30
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
              "  oracles: [o0, o1, o2]", f"  quorum: {QUORUM}", f'  expiry: "{{{{ t0 + days({EXPIRY_DAYS}) }}}}"',
              "  allocations:"]
    lines += [f'    - {{beneficiary: b{b}, amount: {a}, milestone: {m}, vesting: "{{{{ t0 + days({d}) }}}}"}}'
              for b, a, m, d in rows]
    total = sum(a for _, a, _, _ in rows)
    lines += ["steps:", "  - id: init\n    init: {}",
              f'  - id: fund-owner\n    fund: {{to: owner, lovelace: "{{{{ ada({50 + len(rows)}) }}}}", tokens: {total}}}',
              '  - id: fund-payer\n    fund: {to: payer, lovelace: "{{ ada(5000) }}"}',
              "  - id: deploy\n    deploy: {payer: payer}", "  - id: register\n    register: {}"]
    for m, (i, j) in SIGNERS.items():
        lines += [f"  - id: sign-{m}\n    sign: {{milestone: {m}, oracles: [o{i}, o{j}], out: sig/{m}.json}}"]
    for m in SIGNERS:
        lines += [(f"  - id: commit-{m}\n    commit: {{milestone: {m}, signatures: "
                   f"\"{{{{ steps['sign-{m}'].outputs.signatures_file }}}}\", payer: payer}}")]
    lines += ['  - id: later\n    advance-time: {to: "{{ t0 + days(5) }}"}',
              "  - id: release\n    release: {all: true, payer: payer}"]
    if reclaim:
        lines += [f'  - id: past-expiry\n    advance-time: {{to: "{{{{ t0 + days({EXPIRY_DAYS}) + minutes(1) }}}}"}}',
                  "  - id: reclaim\n    reclaim: {milestone: m3, payer: payer}"]
    path.write_text("\n".join(lines) + "\n")
    return len(rows)


def run_streaming(cmd: list[str], env: dict[str, str], phase_of: Callable[[dict[str, Any]], str | None]
                  ) -> tuple[float, dict[str, float], list[dict[str, Any]]]:
    """Run ``cmd``; wall time, seconds per phase (a phase ends at its event's arrival), events."""
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
    return wall, phases, events


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OGMIOS_URL", "KUPO_URL")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def runner_side(plan: Path, data: Path, profile: Path | None = None) -> tuple[float, dict[str, float]]:
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    cmd = [*prefix, "-m", "runner", "--data-dir", str(data), "--output", "json", "apply", str(plan)]

    def phase(event: dict[str, Any]) -> str | None:
        return RUNNER_PHASE.get(event.get("step", "")) if event.get("event") == "PlanStep" else None

    wall, phases, _ = run_streaming(cmd, base_env(), phase)
    return wall, phases


def plain_side(folder: Path, n: int, reclaim: bool) -> tuple[float, dict[str, float]]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--plain", str(folder), "--allocations", str(n)]
    cmd += ["--reclaim"] if reclaim else []
    wall, phases, _ = run_streaming(cmd, base_env(), lambda e: e.get("phase"))
    return wall, phases


# ---------------------------------------------------------------- the plain pycardano script


def plain(folder: Path, n: int, reclaim: bool) -> None:  # one script, top to bottom
    """What a user would write with pycardano alone; prints one JSON line per phase."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # as the runner does for the devnet
    import pycardano as pc

    from runner.chain.devnet.genesis import FAUCET, derive_wallet, faucet_policy_id
    from runner.contract.blueprint import ScheduleParameters, SeedRef, schedule_scripts
    from runner.contract.datums import (
        Forward,
        PotDatum,
        Reclaim,
        Release,
        certificate_datum,
        certificate_message,
        from_plutus_address,
    )
    from runner.contract.pots import layout_pots
    from runner.contract.transactions import AllocationSpec

    def done(phase: str) -> None:
        print(json.dumps({"phase": phase}), flush=True)

    guard, ogmios, ctx = open_devnet(folder)
    net = pc.Network.TESTNET
    owner, payer = derive_wallet(DEVNET_SEED, "owner", net), derive_wallet(DEVNET_SEED, "payer", net)
    oracles = [derive_wallet(DEVNET_SEED, f"{TEST_KEY_PREFIX}oracle {i}", net) for i in range(3)]
    bens = [derive_wallet(DEVNET_SEED, f"{TEST_KEY_PREFIX}bench {i}", net) for i in range(max(1, n // 2))]
    ben_address = [pc.Address(w.verification_key.hash(), network=net) for w in bens]
    rows = allocations(n, reclaim)
    policy = bytes(faucet_policy_id(derive_wallet(DEVNET_SEED, FAUCET, net)))
    t0 = ctx.genesis_param.system_start * 1000
    guard.write(lambda ledger: ledger.fund(str(owner.address), (50 + len(rows)) * 1_000_000,
                                           {TOKEN: sum(r[1] for r in rows)}))
    guard.write(lambda ledger: ledger.fund(str(payer.address), 5000 * 1_000_000))
    done("setup")

    def submit(builder: pc.TransactionBuilder, signer: Any, change: pc.Address) -> pc.Transaction:
        tx = builder.build_and_sign([signer.signing_key], change_address=change)
        ctx.submit_tx(tx)
        return tx

    def builder() -> pc.TransactionBuilder:
        return pc.TransactionBuilder(ctx, execution_memory_buffer=0.02, execution_step_buffer=0.02)

    # deploy: the three applied scripts as reference scripts at the certificate address
    policy_asset = (pc.ScriptHash(policy), pc.AssetName(TOKEN))
    seed = max(ctx.utxos(owner.address),
               key=lambda u: u.output.amount.multi_asset.get(policy_asset[0], {}).get(policy_asset[1], 0))
    params = ScheduleParameters(SeedRef(seed.input.transaction_id.payload, seed.input.index),
                                bytes(owner.verification_key.hash()),
                                tuple(bytes(o.verification_key.hash()) for o in oracles), QUORUM,
                                t0 + EXPIRY_DAYS * DAY_MS, policy, TOKEN)
    scripts = schedule_scripts(params)
    cert_address = scripts.certificate_address(net)
    b = builder()
    b.add_input_address(payer.address)
    for script in (scripts.certificate_policy, scripts.batch_release, scripts.spend_forwarder):
        out = pc.TransactionOutput(cert_address, 0, script=script)
        out.amount = pc.Value(min_ada(out, ctx))
        b.add_output(out)
    tx = submit(b, payer, payer.address)
    cert_ref, batch_ref, forwarder_ref = (pc.UTxO(pc.TransactionInput(tx.id, i), tx.transaction_body.outputs[i])
                                          for i in range(3))
    b = builder()
    b.add_input_address(payer.address)
    b.certificates = [pc.StakeRegistrationConway(pc.StakeCredential(pc.ScriptHash(scripts.batch_hash)),
                                                 ctx.protocol_param.key_deposit)]
    b.add_certificate_script(batch_ref, pc.Redeemer(Release()))
    submit(b, payer, payer.address)
    done("deploy")

    # register: the pots (inline PotDatum), as many per transaction as the size allows
    specs = [AllocationSpec(ben_address[i], a, m.encode(), t0 + d * DAY_MS) for i, a, m, d in rows]
    pot_address = scripts.allocation_address(net)
    outputs = []
    for datum in layout_pots(specs, (policy, TOKEN), net):
        payouts = sum(release_out(pc, from_plutus_address(e.beneficiary, net), int(e.amount), policy, ctx).amount.coin
                      for e in datum.entries)
        tokens = pc.MultiAsset.from_primitive({policy: {TOKEN: sum(int(e.amount) for e in datum.entries)}})
        out = pc.TransactionOutput(pot_address, pc.Value(0, tokens), datum=datum)
        out.amount.coin = max(payouts, min_ada(out, ctx))
        outputs.append(out)
    room, chunk, used = ctx.protocol_param.max_tx_size - 1200, [], 0
    chunks: list[list[pc.TransactionOutput]] = []
    for out in outputs:
        size = len(out.to_cbor())
        if chunk and used + size > room:
            chunks.append(chunk)
            chunk, used = [], 0
        chunk.append(out)
        used += size
    chunks.append(chunk)
    for k, chunk in enumerate(chunks):
        b = builder()
        if k == 0:
            b.add_input(seed)
        b.add_input_address(owner.address)
        for out in chunk:
            b.add_output(out)
        submit(b, owner, owner.address)
    done("register")

    # certify: mint each milestone's certificate with its oracles' signatures
    oracle_hashes = params.oracles
    for m, signers in SIGNERS.items():
        message = certificate_message(scripts.certificate_policy_id, m.encode())
        sigs = {oracles[i].verification_key.payload: oracles[i].signing_key.sign(message) for i in signers}
        datum = certificate_datum(m.encode(), sigs, oracle_hashes)
        mint = pc.MultiAsset.from_primitive({scripts.certificate_policy_id: {m.encode(): 1}})
        b = builder()
        b.add_input_address(payer.address)
        b.mint = mint
        b.add_minting_script(cert_ref, pc.Redeemer(datum))
        out = pc.TransactionOutput(cert_address, pc.Value(0, mint), datum=datum)
        out.amount.coin = min_ada(out, ctx)
        b.add_output(out)
        submit(b, payer, payer.address)
    done("certify")

    # release: every pot, as many per transaction as the size allows, pots in ledger order
    ogmios.request("devnet/advance", {"posixMs": t0 + 5 * DAY_MS})
    ogmios.request("devnet/tick", {})
    certificates = {name.payload: u for u in ctx.utxos(cert_address)
                    for name in u.output.amount.multi_asset.get(pc.ScriptHash(scripts.certificate_policy_id), {})}
    reward = bytes(scripts.batch_reward_address(net).to_primitive())
    pots = []
    for u in sorted(ctx.utxos(pot_address), key=lambda u: (u.input.transaction_id.payload, u.input.index)):
        datum = PotDatum.from_cbor(u.output.datum.cbor if isinstance(u.output.datum, pc.RawCBOR)
                                   else u.output.datum.to_cbor())
        if bytes(datum.milestone_id) in certificates:
            pots.append((u, datum))
    slot_ms = 1000

    def spend_pots(batch: list[Any], outs: list[pc.TransactionOutput], redeemer: Any, start_ms: int,
                   refs: list[pc.UTxO], signer: Any) -> None:
        b = builder()
        for u in batch:
            b.add_script_input(u, script=forwarder_ref, redeemer=pc.Redeemer(Forward()))
        for out in outs:
            b.add_output(out)
        for ref in refs:
            b.reference_inputs.add(ref)
        b.withdrawals = pc.Withdrawals({reward: 0})
        b.add_withdrawal_script(batch_ref, pc.Redeemer(redeemer))
        b.validity_start = -(-(start_ms - t0) // slot_ms)
        b.add_input_address(signer.address)
        if redeemer.CONSTR_ID == Reclaim.CONSTR_ID:
            b.required_signers = [owner.verification_key.hash()]
        submit(b, signer, signer.address)

    def release_batch(batch: list[tuple[pc.UTxO, Any, list[pc.TransactionOutput]]]) -> None:
        milestones = sorted({bytes(d.milestone_id) for _, d, _ in batch})
        spend_pots([u for u, _, _ in batch], [o for _, _, outs in batch for o in outs], Release(),
                   max(int(d.vesting_time) for _, d, _ in batch), [certificates[m] for m in milestones], payer)

    batch: list[tuple[pc.UTxO, Any, list[pc.TransactionOutput]]] = []
    for u, datum in pots:
        outs = [release_out(pc, from_plutus_address(e.beneficiary, net), int(e.amount), policy, ctx)
                for e in datum.entries]
        outs[0].amount.coin += u.output.amount.coin - sum(o.amount.coin for o in outs)
        size = sum(len(o.to_cbor()) for _, _, os_ in batch for o in os_) + sum(len(o.to_cbor()) for o in outs)
        if batch and size > ctx.protocol_param.max_tx_size - RELEASE_HEADROOM:
            release_batch(batch)
            batch = []
        batch.append((u, datum, outs))
    if batch:
        release_batch(batch)
    done("release")

    if reclaim:  # after the expiry, the owner takes back what is left at the pot address
        ogmios.request("devnet/advance", {"posixMs": params.expiry_ms + 60_000})
        ogmios.request("devnet/tick", {})
        left = sorted(ctx.utxos(pot_address), key=lambda u: (u.input.transaction_id.payload, u.input.index))
        total = left[0].output.amount
        for u in left[1:]:
            total = total + u.output.amount
        home = pc.Address(owner.verification_key.hash(), network=net)
        spend_pots(left, [pc.TransactionOutput(home, total)], Reclaim(), params.expiry_ms, [], owner)
        done("reclaim")


#: Bytes kept free below the size limit when packing release outputs (inputs, references,
#: withdrawal, redeemers, collateral, change, a signature): measured, ~700-900.
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


def release_out(pc: Any, address: Any, amount: int, policy: bytes, ctx: Any) -> Any:
    out = pc.TransactionOutput(address, pc.Value(0, pc.MultiAsset.from_primitive({policy: {TOKEN: amount}})))
    out.amount.coin = min_ada(out, ctx)
    return out


def open_devnet(folder: Path) -> tuple[Any, Any, Any]:
    """A new devnet saved in ``folder`` (as the embedded one is created) and the project's
    Ogmios/Kupo clients wired to it in process (as ``runner.engine.backends.embedded`` does)."""
    import itertools

    import httpx

    from runner.chain.devnet.clock import SlotConfig
    from runner.chain.devnet.kupo_server import HttpFailure, IndexCache, route
    from runner.chain.devnet.ledger import Ledger
    from runner.chain.devnet.ogmios_methods import LedgerGuard, Session
    from runner.chain.devnet.ogmios_server import answer
    from runner.chain.devnet.params import LedgerParams
    from runner.chain.kupo import KupoClient
    from runner.chain.ogmios import OgmiosClient
    from runner.chain.ogmios_kupo import OgmiosKupoBackend
    from runner.chain.pycardano_context import OgmiosKupoContext

    folder.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.create(seed=DEVNET_SEED, params=LedgerParams.mainnet(), slot_config=SlotConfig(0, 1000, 432_000),
                           data_dir=folder, block_mode="submit", start_slot=0)
    guard = LedgerGuard(ledger)
    session, ids = Session(), itertools.count()

    def call(method: str, params: Any) -> Any:
        request = {"jsonrpc": "2.0", "method": method, "id": next(ids), **({"params": dict(params)} if params else {})}
        return json.loads(answer(guard, session, json.dumps(request)))

    cache = IndexCache(guard)

    def handle(request: httpx.Request) -> httpx.Response:
        index = cache.current()
        try:
            reply = route(index, str(request.url.raw_path, "ascii"), request.headers.get("Accept", ""))
            status, body, ctype = int(reply.status), reply.body, reply.content_type
        except HttpFailure as failure:
            status, body, ctype = int(failure.status), {"hint": failure.hint}, "application/json"
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={
            "Content-Type": ctype, "X-Most-Recent-Checkpoint": str(index.checkpoint_slot)})

    ogmios = OgmiosClient(call)
    kupo = KupoClient("http://embedded-devnet", transport=httpx.MockTransport(handle))
    return guard, ogmios, OgmiosKupoContext(OgmiosKupoBackend(ogmios, kupo, closers=(kupo,)))


# ---------------------------------------------------------------- the comparison


def outcome(folder: Path, n: int, reclaim: bool) -> dict[str, Any]:
    """What a finished run left on its devnet: transactions, fees, beneficiary balances."""
    import pycardano as pc

    from runner.chain.devnet.genesis import FAUCET, derive_wallet, faucet_policy_id
    from runner.chain.devnet.ledger import Ledger

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.load(folder)
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
    at_scripts = sum(q for _, out in ledger.utxo.items() if isinstance(out.address.payment_part, pc.ScriptHash)
                     for p, assets in out.amount.multi_asset.items() if p == token_policy for q in assets.values())
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


def measure(n: int, runs: int, reclaim: bool, profile: bool) -> None:
    walls: dict[str, list[float]] = {"runner": [], "plain": []}
    phases: dict[str, list[dict[str, float]]] = {"runner": [], "plain": []}
    loads = []
    checked: dict[str, Any] = {}
    for run in range(runs):
        for side in ("runner", "plain") if run % 2 == 0 else ("plain", "runner"):  # alternate the order
            with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
                loads.append(os.getloadavg()[0])
                if side == "runner":
                    plan = Path(tmp) / "plan.yaml"
                    count = generate(plan, n, reclaim)
                    wall, split = runner_side(plan, Path(tmp) / "data")
                    state = outcome(Path(tmp) / "data" / "devnet", n, reclaim)
                else:
                    wall, split = plain_side(Path(tmp) / "devnet", n, reclaim)
                    state = outcome(Path(tmp) / "devnet", n, reclaim)
            walls[side].append(wall)
            phases[side].append(split)
            checked.setdefault(side, state)
            print(json.dumps({"allocations": n, "run": run + 1, "side": side, "wall_s": round(wall, 2),
                              "transactions": state["transactions"], "fees_lovelace": state["fees"],
                              "load_1min": round(loads[-1], 2)}), flush=True)
        problems = compare(checked["runner"], checked["plain"])
        if problems:
            raise SystemExit(f"the two runs did not end in the same chain state ({n} allocations): "
                             + "; ".join(problems))
    summary: dict[str, Any] = {"allocations": count, "runs": runs, "command": "apply (subprocess, --output json)"}
    for side in ("runner", "plain"):
        summary[side] = {"wall_s_min": round(min(walls[side]), 2), "wall_s_median": round(statistics.median(walls[side]), 2),
                         "transactions": checked[side]["transactions"],
                         "fees_ada": round(checked[side]["fees"] / 1e6, 6),
                         "phases_s_median": {p: round(statistics.median(s.get(p, 0.0) for s in phases[side]), 2)
                                             for p in (*PHASES, "exit") if any(p in s for s in phases[side])}}
    summary["ratio_min"] = round(min(walls["runner"]) / min(walls["plain"]), 3)
    summary["ratio_median"] = round(statistics.median(walls["runner"]) / statistics.median(walls["plain"]), 3)
    summary["same_chain_state"] = True
    summary["load_1min_during"] = [round(min(loads), 2), round(max(loads), 2)]
    summary["uptime_after"] = load()
    print(json.dumps(summary), flush=True)
    if profile:
        profiled(n, reclaim)


def profiled(n: int, reclaim: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-overhead-prof-") as tmp:
        plan = Path(tmp) / "plan.yaml"
        generate(plan, n, reclaim)
        out = Path(tmp) / "runner.prof"
        wall, _ = runner_side(plan, Path(tmp) / "data", profile=out)
        print(f"# runner under cProfile: {wall:.1f} s wall ({load()}); top 15 by cumulative time")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocations", type=int, nargs="+", default=[100])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reclaim", action="store_true", help="add an uncertified milestone, reclaimed after expiry")
    parser.add_argument("--profile", action="store_true", help="then profile one runner run (top 15 cumulative)")
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain is not None:
        plain(args.plain, args.allocations[0], args.reclaim)
        return
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {load()} cpus {os.cpu_count()}", flush=True)
    for n in args.allocations:
        measure(n, args.runs, args.reclaim, args.profile)


if __name__ == "__main__":
    main()
