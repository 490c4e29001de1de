"""Round-trip latency of `devnet up`, per query, over loopback.

Usage: python bench/bench_server.py [--calls N] [--payments M]

Starts the devnet's Ogmios and Kupo servers in this process on free ports (as
`milestones devnet up` does), makes M payments so the UTxO set and the Kupo index are not
trivial, then times N sequential round trips per query on one open connection (Ogmios) /
one keep-alive HTTP client (Kupo), a new connection per HTTP POST to Ogmios, and chain sync
from the origin to the tip (per message). Prints median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import httpx
from pycardano import TransactionBuilder, TransactionOutput
from pycardano.backend.ogmios_v6 import KupoOgmiosV6ChainContext
from websockets.sync.client import connect

from runner.devnet import Ledger, serving


def timed(call: Callable[[], object], calls: int) -> list[float]:
    call()  # warm-up (first Kupo index build, imports)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def make_payments(running, ledger: Ledger, count: int) -> None:
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    for _ in range(count):
        context = KupoOgmiosV6ChainContext(running.ogmios.host, running.ogmios.port, "", False,
                                           kupo_url=running.kupo_url)
        builder = TransactionBuilder(context)
        builder.add_input_address(alice.address)
        builder.add_output(TransactionOutput(bob.address, 1_500_000))
        context.submit_tx(builder.build_and_sign([alice.signing_key], change_address=alice.address))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--payments", type=int, default=20)
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    ledger = Ledger.create(seed="bench-server")
    with serving(ledger) as running:
        make_payments(running, ledger, args.payments)
        bob = str(ledger.wallet("bob").address)
        with connect(running.ogmios_url) as ws, httpx.Client(base_url=running.kupo_url) as kupo:
            def rpc(method: str, params: object = None) -> Callable[[], object]:
                request = {"jsonrpc": "2.0", "method": method, "id": 1}
                if params is not None:
                    request["params"] = params
                text = json.dumps(request)

                def call() -> object:
                    ws.send(text)
                    reply = json.loads(ws.recv())
                    assert "result" in reply, reply
                    return reply
                return call

            def get(path: str) -> Callable[[], object]:
                def call() -> object:
                    reply = kupo.get(path)
                    assert reply.status_code == 200, reply.text
                    return reply.json()
                return call

            http_url = running.ogmios_url.replace("ws://", "http://")

            def post(method: str) -> Callable[[], object]:
                text = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1})

                def call() -> object:
                    reply = kupo.post(http_url, content=text, headers={"Content-Type": "application/json"})
                    assert reply.status_code == 200, reply.text
                    return reply.json()
                return call

            def follow() -> object:
                """Chain sync from the origin to the tip: findIntersection, then every block."""
                rpc("findIntersection", {"points": ["origin"]})()
                for _ in range(len(ledger.blocks) + 1):
                    rpc("nextBlock")()
                return None

            queries = {
                "ogmios queryNetwork/tip": rpc("queryNetwork/tip"),
                "ogmios queryLedgerState/protocolParameters": rpc("queryLedgerState/protocolParameters"),
                "ogmios queryLedgerState/utxo (1 address)": rpc("queryLedgerState/utxo", {"addresses": [bob]}),
                "kupo GET /matches/{address}?unspent": get(f"/matches/{bob}?unspent"),
                "kupo GET /health": get("/health"),
                "ogmios queryNetwork/tip over HTTP POST (new connection)": post("queryNetwork/tip"),
            }
            print(f"devnet up round trips over loopback: {args.calls} calls each, "
                  f"{len(ledger.utxo)} UTxOs, {ledger.tip.height} blocks, "
                  f"{len(get(f'/matches/{bob}?unspent')())} matches for the address")
            print(f"{'query':<48} {'median ms':>10} {'p95 ms':>10}")
            for name, call in queries.items():
                samples = timed(call, args.calls)
                print(f"{name:<48} {statistics.median(samples):>10.2f} {p95(samples):>10.2f}")
            blocks = len(ledger.blocks)
            samples = [ms / (blocks + 2) for ms in timed(follow, max(1, args.calls // 20))]
            print(f"{'ogmios chain sync, per message (' + str(blocks) + ' blocks)':<48} "
                  f"{statistics.median(samples):>10.2f} {p95(samples):>10.2f}")


if __name__ == "__main__":
    main()
