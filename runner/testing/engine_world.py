"""Test kit for the engine: one devnet ledger, keys, a schedule definition, and contexts
over any number of data directories (so "empty data directory" tests share one chain);
and a payment made outside the engine (the review tests' planted journal entries).
No test framework is needed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycardano as pc

from runner.devnet import FAUCET, DevnetChainContext, Ledger, LedgerGuard, faucet_policy_id
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
    events,
)
from runner.engine.backends import Connection, embedded
from runner.engine.chainview import ChainView, Retry
from runner.store.datadir import DataDir

__all__ = ["OTHER", "TOKEN", "World", "address", "key", "lovelace_of", "names", "refs", "run", "signed_payment"]

TOKEN = b"GRANT"


def key(name: str) -> pc.PaymentSigningKey:
    return pc.PaymentSigningKey(hashlib.sha256(f"engine test {name}".encode()).digest())


def address(k: pc.PaymentSigningKey) -> str:
    return str(pc.Address(k.to_verification_key().hash(), network=pc.Network.TESTNET))


@dataclass
class World:
    ledger: Any
    guard: Any
    connection: Connection
    owner: pc.PaymentSigningKey = field(default_factory=lambda: key("owner"))
    payer: pc.PaymentSigningKey = field(default_factory=lambda: key("payer"))
    oracles: list[pc.PaymentSigningKey] = field(default_factory=lambda: [key(f"oracle {i}") for i in range(3)])
    beneficiaries: list[pc.PaymentSigningKey] = field(default_factory=lambda: [key(f"ben {i}") for i in range(3)])
    definition: ScheduleDefinition | None = None

    @classmethod
    def create(cls, ledger: Any = None, *, payer_utxos: int = 3) -> World:
        ledger = ledger or Ledger.create(seed="engine-tests")
        guard = LedgerGuard(ledger)
        world = cls(ledger, guard, embedded(guard))
        world.fund(payer_utxos)
        world.definition = world.make_definition()
        return world

    def fund(self, payer_utxos: int) -> None:
        total = sum(100 * (i + 1) * 2 for i in range(len(self.beneficiaries)))
        self.ledger.fund(address(self.owner), 50_000_000, {TOKEN: total})
        self.ledger.fund(address(self.owner), 20_000_000)
        for _ in range(payer_utxos):
            self.ledger.fund(address(self.payer), 100_000_000)

    @property
    def policy(self) -> bytes:
        return bytes(faucet_policy_id(self.ledger.wallet(FAUCET)))

    def now_ms(self) -> int:
        return int(self.ledger.slot_config.slot_to_posix_ms(self.ledger.tip.slot))

    def make_definition(self) -> ScheduleDefinition:
        now = self.now_ms()
        allocations = tuple(Allocation(address(b), 100 * (i + 1), m, now + 60_000 * (j + 1))
                            for i, b in enumerate(self.beneficiaries) for j, m in enumerate(("m1", "m2")))
        oracles = tuple(parse_oracles([address(o) for o in self.oracles], "devnet", Problems()))
        return ScheduleDefinition("devnet", allocations, oracles, 2, bytes(self.owner.to_verification_key().hash()),
                                  self.policy, TOKEN, now + 3_600_000)

    def context(self, data_dir: Path, *, plan_mode: bool = False, retry: Retry | None = None,
                backend: Any = None, **settings: Any) -> Context:
        chain = ChainView(backend or self.connection.backend, pc.Network.TESTNET,
                          retry or Retry(sleep=lambda s: None))
        return Context(chain, DataDir(data_dir), KeyRing([self.owner, self.payer]), "devnet",
                       Settings(sleep=lambda s: None, poll_interval=0, **settings), plan_mode)

    @property
    def target(self) -> ScheduleTarget:
        assert self.definition is not None
        return ScheduleTarget(self.definition, address(self.owner), address(self.payer))

    def schedule_steps(self) -> list[Any]:
        t = self.target
        return [DeployStep(target=t, id="deploy"), StakeStep(target=t, id="stake"), RegisterStep(target=t, id="register")]

    def signatures(self, message: bytes, count: int = 2) -> dict[bytes, bytes]:
        return dict(sign_message(o.payload, message) for o in self.oracles[:count])

    def certify_step(self, contract: str, milestone: str, message: bytes) -> CertifyStep:
        return CertifyStep(where=Where(contract_address=contract), milestone=milestone,
                           signatures=self.signatures(message), payer_address=address(self.payer),
                           id=f"certify:{milestone}")

    def release_step(self, contract: str, **selection: Any) -> ReleaseStep:
        from runner.engine import Selection

        return ReleaseStep(where=Where(contract_address=contract), selection=Selection(**selection),
                           payer_address=address(self.payer), id="release")

    def advance_past(self, posix_ms: int) -> None:
        self.ledger.advance_to_posix_ms(posix_ms + 1000)
        self.ledger.tick()

    def tokens_of(self, k: pc.PaymentSigningKey) -> int:
        policy, name = pc.ScriptHash(self.policy), pc.AssetName(TOKEN)
        return sum(o.amount.multi_asset.get(policy, {}).get(name, 0) for _, o in self.ledger.utxos_at(address(k)))


def run(ctx: Context, steps: Sequence[Any]) -> tuple[list[events.Event], Engine]:
    engine = Engine(ctx)
    return list(engine.run(steps)), engine


def names(found: Sequence[events.Event]) -> list[str]:
    return [e.name for e in found]


OTHER = key("review journal other")


def signed_payment(world: World) -> pc.Transaction:
    """A valid, signed, never-journaled transaction: the owner pays OTHER 2 ADA."""
    builder = pc.TransactionBuilder(DevnetChainContext(world.ledger))
    builder.add_input_address(pc.Address.from_primitive(address(world.owner)))
    builder.add_output(pc.TransactionOutput(pc.Address.from_primitive(address(OTHER)), 2_000_000))
    return builder.build_and_sign([world.owner], change_address=pc.Address.from_primitive(address(world.owner)))


def refs(tx: pc.Transaction) -> tuple[str, ...]:
    return tuple(f"{i.transaction_id.payload.hex()}#{i.index}" for i in tx.transaction_body.inputs)


def lovelace_of(world: World, k: pc.PaymentSigningKey) -> int:
    return sum(o.amount.coin for _, o in world.ledger.utxos_at(address(k)))
