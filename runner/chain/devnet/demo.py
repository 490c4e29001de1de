"""``milestones devnet demo``: a short tour of the devnet through its wire protocols.

Until the plan runner exists this is the project's main job: it shows, end to end, that
a third-party client (pycardano's own ``KupoOgmiosV6ChainContext``, unmodified) can
query, pay, lock funds to a Plutus V3 script and spend them on the devnet, with phase 2
evaluated for real. Everything runs on a throwaway in-memory ledger on free loopback
ports; nothing is written to disk.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

#: A hand-written Plutus V3 validator: succeeds iff the redeemer is the integer 42.
#: (V3 scripts take the whole ScriptContext = Constr 0 [txInfo, redeemer, scriptInfo].)
ANSWER_42_SOURCE = """(program 1.1.0
 (lam ctx
  (force
   [(force (builtin ifThenElse))
    [(builtin equalsData)
     [(force (builtin headList))
      [(force (builtin tailList)) [(force (force (builtin sndPair))) [(builtin unConstrData) ctx]]]]
     (con data (I 42))]
    (delay (con unit ()))
    (delay (error))])))"""


def answer_42_script() -> Any:
    from pycardano import PlutusV3Script
    from uplc import flatten, parse

    return PlutusV3Script(flatten(parse(ANSWER_42_SOURCE)))


def _context(running: Any) -> Any:
    """A fresh pycardano context per step: its UTxO cache is keyed by slot and lives 10 s."""
    from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext

    return KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                    kupo_url=running.kupo_url)


def _pay(running: Any, sender: Any, receiver: Any, lovelace: int, **output: Any) -> str:
    from pycardano import TransactionBuilder, TransactionOutput

    builder = TransactionBuilder(_context(running))
    builder.add_input_address(sender.address)
    builder.add_output(TransactionOutput(receiver, lovelace, **output))
    tx = builder.build_and_sign([sender.signing_key], change_address=sender.address)
    _context(running).submit_tx(tx)
    return str(tx.id)


def _spend(running: Any, owner: Any, script: Any, script_address: Any, redeemer: int) -> str:
    from pycardano import Redeemer, TransactionBuilder, TransactionOutput

    context = _context(running)
    [locked] = context.utxos(script_address)
    builder = TransactionBuilder(context)
    builder.add_script_input(locked, script=script, redeemer=Redeemer(redeemer))
    builder.add_input_address(owner.address)
    builder.add_output(TransactionOutput(owner.address, 2_000_000))
    tx = builder.build_and_sign([owner.signing_key], change_address=owner.address)
    context.submit_tx(tx)
    return str(tx.id)


def run_demo(seed: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the tour, reporting each step with ``say``; returns what happened."""
    from pycardano import Address, Network, plutus_script_hash

    from runner.chain.devnet.cli import serving
    from runner.chain.devnet.ledger import Ledger

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    logging.getLogger("PyCardano").setLevel(logging.ERROR)  # it dumps the builder on failures
    started = time.perf_counter()
    ledger = Ledger.create(seed=seed, wallets=("alice", "bob"))
    say(f"[1/6] devnet ledger created (seed {seed!r}): {len(ledger.utxo)} genesis outputs, "
        f"mainnet epoch-616 protocol parameters")
    with serving(ledger) as running:
        say(f"[2/6] serving Ogmios on {running.ogmios_url} and Kupo on {running.kupo_url}")
        alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
        funded = ledger.fund(alice.address, 50_000_000)
        say(f"[3/6] faucet funded alice with 50 ADA: {funded.transaction_id.payload.hex()}#{funded.index}")
        paid = _pay(running, alice, bob.address, 12_000_000)
        say(f"[4/6] alice paid bob 12 ADA through Ogmios: {paid}")
        script = answer_42_script()
        script_address = Address(plutus_script_hash(script), network=Network.TESTNET)
        locked = _pay(running, alice, script_address, 10_000_000, datum=7)
        say(f"[5/6] alice locked 10 ADA at the Plutus V3 script {script_address}: {locked}")
        spent = _spend(running, alice, script, script_address, 42)
        say(f"[6/6] alice spent it with redeemer 42 (phase 2 evaluated by the devnet): {spent}")
        tip = ledger.tip
    say(f"tip: slot {tip.slot}, height {tip.height}, block {tip.block_hash} "
        f"({time.perf_counter() - started:.1f} s)")
    return {"paid": paid, "locked": locked, "spent": spent, "tip_slot": tip.slot,
            "tip_height": tip.height}
