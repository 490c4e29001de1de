"""The typed plan: what the engine runs, built only from a rendered, schema-valid document.

A value only apply can know is :data:`KNOWN_AFTER_APPLY` (type :class:`KnownAfterApply`);
:meth:`runner.plan.loader.PlanSource.render` renders the plan again with the outputs of
the steps that ran, so each step sees real values by the time it runs.

``STEP_KINDS`` is the registry of step kinds (checked against the schema's list by a
test): what each kind outputs, and whether it exists only on the devnet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

from runner.plan.templating import KNOWN_AFTER_APPLY, KnownAfterApply

Unknown = KnownAfterApply
Millis = Union[int, KnownAfterApply]  # noqa: UP007  # readable in dataclass fields


@dataclass(frozen=True)
class StepKind:
    name: str
    outputs: frozenset[str]
    devnet_only: bool = False
    uses_schedule: bool = True


STEP_KINDS: dict[str, StepKind] = {k.name: k for k in (
    StepKind("init", frozenset({"network", "tip_slot", "tip_time_ms", "system_start_ms", "faucet_policy_id"}),
             uses_schedule=False),
    StepKind("fund", frozenset({"address", "output_ref"}), devnet_only=True, uses_schedule=False),
    StepKind("advance-time", frozenset({"target_ms", "tip_slot", "tip_time_ms"}), devnet_only=True, uses_schedule=False),
    StepKind("deploy", frozenset({"allocation_address", "certificate_address", "policy_id", "tx_ids"})),
    StepKind("register", frozenset({"allocations", "tx_ids"})),
    StepKind("sign", frozenset({"signatures", "signatures_file"})),
    StepKind("commit", frozenset({"certified", "tx_id"})),
    StepKind("check", frozenset()),
    StepKind("release", frozenset({"fees", "released", "tx_ids"})),
    StepKind("reclaim", frozenset({"reclaimed", "tx_ids"})),
)}

KEY_SOURCES = ("skey_file", "vkey_file", "vkey_hash", "devnet_wallet", "devnet_test_key")
SIGNING_SOURCES = ("skey_file", "devnet_wallet", "devnet_test_key")


@dataclass(frozen=True)
class Key:
    """A named key; ``value`` is a path, a hash or a devnet label - never key material."""

    name: str
    source: str
    value: str

    @property
    def can_sign(self) -> bool:
        return self.source in SIGNING_SOURCES


@dataclass(frozen=True)
class Token:
    policy_id: str  # 56 hex digits, or "devnet-faucet"
    name: str

    @property
    def name_hex(self) -> str:
        return self.name.encode().hex()


@dataclass(frozen=True)
class Allocation:
    """One beneficiary x milestone; ``beneficiary`` is a bech32 address or a key name."""

    beneficiary: str
    amount: int
    milestone: str
    vesting_ms: Millis
    location: str = ""


@dataclass(frozen=True)
class Schedule:
    token: Token
    owner: str
    oracles: tuple[str, ...]
    quorum: int
    expiry_ms: Millis
    allocations: tuple[Allocation, ...]
    allocations_file: str | None = None

    @property
    def milestones(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.milestone for a in self.allocations))

    @property
    def total_amount(self) -> int:
        return sum(a.amount for a in self.allocations)


@dataclass(frozen=True)
class Expectations:
    certified: Mapping[str, bool] = field(default_factory=dict)
    released: int | None = None
    locked: int | None = None
    reclaimed: int | None = None
    claimable: int | None = None
    balances: tuple[tuple[str, int], ...] = ()
    remaining_tokens: int | None = None


@dataclass(frozen=True)
class ReleaseSelector:
    """Exactly one of: all, a milestone, a beneficiary, one allocation (beneficiary + milestone)."""

    all: bool = False
    milestone: str | None = None
    beneficiary: str | None = None

    @property
    def describe(self) -> str:
        if self.all:
            return "all claimable allocations"
        if self.milestone and self.beneficiary:
            return f"allocation {self.beneficiary} x {self.milestone}"
        return f"milestone {self.milestone}" if self.milestone else f"beneficiary {self.beneficiary}"


@dataclass(frozen=True)
class Step:
    """One step: ``options`` holds the kind's typed settings (see the ``*Options`` classes)."""

    id: str
    kind: str
    index: int
    location: str
    options: Any
    description: str = ""


@dataclass(frozen=True)
class InitOptions:
    pass


@dataclass(frozen=True)
class FundOptions:
    to: str
    lovelace: int
    tokens: int = 0


@dataclass(frozen=True)
class AdvanceTimeOptions:
    to_ms: Millis | None = None
    by_ms: int | None = None


@dataclass(frozen=True)
class DeployOptions:
    payer: str


@dataclass(frozen=True)
class RegisterOptions:
    funding: str


@dataclass(frozen=True)
class SignOptions:
    milestone: str
    oracles: tuple[str, ...]
    out: str


@dataclass(frozen=True)
class CommitOptions:
    milestone: str
    signatures: str
    payer: str | None = None


@dataclass(frozen=True)
class CheckOptions:
    expect: Expectations


@dataclass(frozen=True)
class ReleaseOptions:
    select: ReleaseSelector
    payer: str | None = None


@dataclass(frozen=True)
class ReclaimOptions:
    milestone: str | None = None
    payer: str | None = None


@dataclass(frozen=True)
class Backend:
    ogmios_url: str | None = None
    kupo_url: str | None = None
    confirmations: int | None = None


@dataclass(frozen=True)
class Plan:
    """A checked plan. Paths (key files, signatures, allocations) are relative to ``base_dir``."""

    file: str
    base_dir: str
    name: str
    network: str
    backend: Backend
    keys: Mapping[str, Key]
    schedule: Schedule
    steps: tuple[Step, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def unknowns(self) -> bool:
        """True while some value is known only after apply."""
        return _has_unknown(self.schedule) or any(_has_unknown(s.options) for s in self.steps)


def _has_unknown(value: Any) -> bool:
    if isinstance(value, KnownAfterApply):
        return True
    if hasattr(value, "__dataclass_fields__"):
        return any(_has_unknown(getattr(value, f)) for f in value.__dataclass_fields__)
    if isinstance(value, (tuple, list)):
        return any(_has_unknown(v) for v in value)
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    return False


def to_millis(value: Any) -> Millis:
    """POSIX ms from an int, an ISO-8601 string (validated by the schema), or unknown."""
    if isinstance(value, KnownAfterApply) or value is None:
        return KNOWN_AFTER_APPLY
    if isinstance(value, str):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return int(value)
