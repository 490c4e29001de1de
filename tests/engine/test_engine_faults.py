"""Faults between the engine and Ogmios/Kupo (drops, timeouts, 503s, a lost submit answer):
the engine retries only transient faults, never a ledger rejection, and ends with the same
chain as without faults.  The ledger is real; only the transport is wrapped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from runner.chain.kupo import KupoClient
from runner.chain.ogmios import OgmiosClient
from runner.chain.ogmios_kupo import OgmiosKupoBackend
from runner.devnet.servers import kupo_transport, ogmios_call
from runner.errors import ChainUnavailable, LedgerRejection
from runner.testing.engine_world import World, names, run

sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))


class Faults:
    """Every ``every``-th request to each server fails (Ogmios: connection dropped; Kupo: 503
    or timeout); with ``lose_submit``, the first submission reaches the ledger but its answer
    is lost.  One count per server, so both get faults however the calls interleave."""

    def __init__(self, every: int, *, lose_submit: bool = False) -> None:
        self.every, self.lose_submit = every, lose_submit
        self.counts = {"ogmios": 0, "kupo": 0}
        self.injected: list[str] = []
        self.submits = 0
        self.kupo_faults = 0

    def _due(self, server: str) -> bool:
        self.counts[server] += 1
        return self.every > 0 and self.counts[server] % self.every == 0

    def ogmios(self, inner: Callable[[str, Mapping[str, Any] | None], Mapping[str, Any]]) -> Any:
        def call(method: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
            if method == "submitTransaction":
                self.submits += 1
                if self.lose_submit and self.submits == 1:
                    inner(method, params)  # the node got it ...
                    self.injected.append("lost submit answer")
                    raise ChainUnavailable("connection closed before the answer")  # ... we never hear back
            elif self._due("ogmios"):
                self.injected.append(f"ogmios drop {method}")
                raise ChainUnavailable(f"connection dropped during {method}")
            return inner(method, params)
        return call

    def kupo(self, inner: httpx.MockTransport) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if self._due("kupo"):
                self.kupo_faults += 1
                if self.kupo_faults % 2:
                    self.injected.append("kupo timeout")
                    raise httpx.ReadTimeout("injected", request=request)
                self.injected.append("kupo 503")
                return httpx.Response(503, content=json.dumps({"hint": "injected"}).encode())
            return inner.handle_request(request)
        return httpx.MockTransport(handle)


def faulty_backend(world: World, faults: Faults) -> OgmiosKupoBackend:
    ogmios = OgmiosClient(faults.ogmios(ogmios_call(world.guard)), sleep=lambda s: None)
    kupo = KupoClient("http://faulty", transport=faults.kupo(kupo_transport(world.guard)), sleep=lambda s: None)
    return OgmiosKupoBackend(ogmios, kupo)


def full_cycle(world: World, ctx_factory: Callable[[], Any]) -> tuple[list[Any], str]:
    found, engine = run(ctx_factory(), world.schedule_steps())
    contract = engine.results["register"]["contract_address"]
    from runner.engine import discovery

    message = discovery.by_address(ctx_factory(), contract).schedule.message("m1")
    found += run(ctx_factory(), [world.certify_step(contract, "m1", message)])[0]
    world.advance_past(min(a.vesting_ms for a in world.definition.allocations))  # type: ignore[union-attr]
    found += run(ctx_factory(), [world.release_step(contract)])[0]
    return found, contract


def test_drops_timeouts_and_503s_are_retried_and_change_nothing(tmp_path):
    world = World.create()
    faults = Faults(every=5)
    backend = faulty_backend(world, faults)
    found, _ = full_cycle(world, lambda: world.context(tmp_path, backend=backend))
    assert {"ogmios drop", "kupo timeout", "kupo 503"} <= {" ".join(i.split()[:2]) for i in faults.injected}
    assert names(found).count("Confirmed") == 5  # deploy, stake, register, certify, release
    assert [world.tokens_of(b) for b in world.beneficiaries] == [100, 200, 300]


def test_a_lost_submit_answer_is_resolved_from_the_chain_not_resubmitted_blindly(tmp_path):
    world = World.create()
    faults = Faults(every=0, lose_submit=True)
    backend = faulty_backend(world, faults)
    found, _ = run(world.context(tmp_path, backend=backend), world.schedule_steps()[:1])
    assert faults.injected == ["lost submit answer"]
    assert names(found).count("Confirmed") == 1 and faults.submits == 1


def test_a_ledger_rejection_is_explained_and_never_retried(tmp_path):
    world = World.create()
    faults = Faults(every=0)
    backend = faulty_backend(world, faults)
    _, registered = run(world.context(tmp_path, backend=backend), world.schedule_steps())
    contract = registered.results["register"]["contract_address"]
    from runner.engine import discovery

    message = discovery.by_address(world.context(tmp_path), contract).schedule.message("m1")
    before = faults.submits

    def too_late(phase: str) -> None:  # the clock passes the deadline between build and submit
        if phase == "journaled":
            world.ledger.advance_slots(10_000)

    from runner.engine import Engine

    engine = Engine(world.context(tmp_path, backend=backend), on_phase=too_late)
    with pytest.raises(LedgerRejection) as caught:
        list(engine.run([world.certify_step(contract, "m1", message)]))
    assert caught.value.ogmios_code == 3118 and caught.value.exit_code == 4 and caught.value.hint
    assert faults.submits == before + 1  # one attempt, no blind retry
    from runner.store.journal import Journal

    [entry] = [e for e in Journal(tmp_path / "journal").entries() if e.step == "certify:m1"]
    assert entry.status == "dead" and "3118" in entry.note
