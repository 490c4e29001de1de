"""A schedule as its owner defines it: allocations, oracles, quorum, owner, token, expiry.

Pure: parses and checks what the user wrote (the quick-start's ``allocations.json`` and
flags) and collects every problem with file, entry and field (:mod:`.problems`).
Nothing here knows the chain; :func:`check_against_clock` takes "now" as an argument.

Vesting times: the quick-start's ``vesting_timestamp`` is POSIX **seconds**; the chain
uses milliseconds.  An entry gives exactly one of ``vesting_timestamp`` (seconds) or
``vesting_time_ms`` (milliseconds); a ``vesting_timestamp`` that looks like milliseconds
(>= 10^11, i.e. after year 5138 in seconds) is refused with a hint, never guessed.

Networks: devnet, preview, preprod, mainnet.  ``testnet`` (the quick-start's word, whose
magic 1097911063 is the retired legacy testnet) is an alias of ``preprod``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pycardano as pc

from runner.domain.problems import Problems

NETWORKS = ("devnet", "preview", "preprod", "mainnet")
ALIASES = {"testnet": "preprod"}
MAX_QUANTITY = 2**63 - 1  # ledger limit of one asset quantity
MS_THRESHOLD = 10**11  # a "seconds" timestamp this large is really milliseconds
MAX_MILESTONE_BYTES = 32


def canonical_network(name: str) -> str:
    """``testnet`` -> ``preprod``; unknown names are left for the config check."""
    return ALIASES.get(name, name)


def ledger_network(name: str) -> pc.Network:
    return pc.Network.MAINNET if canonical_network(name) == "mainnet" else pc.Network.TESTNET


@dataclass(frozen=True)
class Allocation:
    """``amount`` tokens for ``beneficiary`` once ``milestone`` is certified and
    ``vesting_ms`` (POSIX ms) has passed."""

    beneficiary: str  # bech32
    amount: int
    milestone: str
    vesting_ms: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.beneficiary, self.milestone)

    def to_json(self) -> dict[str, Any]:
        return {"beneficiary_address": self.beneficiary, "token_amount": self.amount,
                "milestone_identifier": self.milestone, "vesting_time_ms": self.vesting_ms}


@dataclass(frozen=True)
class Oracle:
    address: str
    key_hash: bytes


@dataclass(frozen=True)
class ScheduleDefinition:
    """Everything the owner decides; with the one-shot seed it fixes the contract."""

    network: str
    allocations: tuple[Allocation, ...]
    oracles: tuple[Oracle, ...]
    quorum: int
    owner: bytes  # payment key hash
    token_policy: bytes
    token_name: bytes
    expiry_ms: int

    @property
    def milestones(self) -> tuple[str, ...]:
        return tuple(sorted({a.milestone for a in self.allocations}))

    @property
    def total_amount(self) -> int:
        return sum(a.amount for a in self.allocations)

    def fingerprint(self) -> str:
        """A stable id of the definition (not of the deployment): cache file names."""
        text = json.dumps({
            "network": self.network, "allocations": sorted(
                [a.beneficiary, a.amount, a.milestone, a.vesting_ms] for a in self.allocations),
            "oracles": sorted(o.key_hash.hex() for o in self.oracles), "quorum": self.quorum,
            "owner": self.owner.hex(), "token": [self.token_policy.hex(), self.token_name.hex()],
            "expiry_ms": self.expiry_ms}, sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def milestone_bytes(milestone: str) -> bytes:
    return milestone.encode("utf-8")


# ---------------------------------------------------------------- addresses


def parse_key_address(text: Any, network: str, problems: Problems, where: str, *,
                      entry: str | None = None, field: str | None = None) -> pc.Address | None:
    """A bech32 Shelley address on ``network`` whose payment part is a key."""
    if not isinstance(text, str) or not text:
        problems.add(where, "expected a bech32 address (text)", entry=entry, field=field,
                     hint="e.g. addr_test1... (testnets, devnet) or addr1... (mainnet)")
        return None
    try:
        address = pc.Address.from_primitive(text.strip())
    except Exception:  # noqa: BLE001  # pycardano raises several types for a bad string
        problems.add(where, f"not a valid bech32 address: {text[:40]!r}", entry=entry, field=field,
                     hint="copy the address again; bech32 has a checksum, one wrong character breaks it")
        return None
    want = ledger_network(network)
    if address.network != want:
        problems.add(where, f"address is for {address.network.name.lower()}, the network is {network}",
                     entry=entry, field=field,
                     hint="use addr_test1... on devnet/preview/preprod, addr1... on mainnet")
        return None
    if not isinstance(address.payment_part, pc.VerificationKeyHash):
        problems.add(where, "a script address where a key address is required", entry=entry, field=field,
                     hint="give the address of a payment key (its owner must be able to sign)")
        return None
    return address


# ---------------------------------------------------------------- allocations file


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _vesting_ms(raw: dict[str, Any], problems: Problems, where: str, entry: str) -> int | None:
    has_s, has_ms = "vesting_timestamp" in raw, "vesting_time_ms" in raw
    if has_s == has_ms:
        problems.add(where, "give exactly one of vesting_timestamp (POSIX seconds) or vesting_time_ms",
                     entry=entry, field="vesting_timestamp",
                     hint="the quick-start's vesting_timestamp is in seconds, e.g. 1735689600")
        return None
    name = "vesting_timestamp" if has_s else "vesting_time_ms"
    value = _integer(raw[name])
    if value is None or value < 0:
        problems.add(where, f"{name} must be a non-negative integer", entry=entry, field=name)
        return None
    if has_s and value >= MS_THRESHOLD:
        problems.add(where, f"vesting_timestamp {value} looks like milliseconds, it must be seconds",
                     entry=entry, field=name, hint="divide by 1000, or write it as vesting_time_ms")
        return None
    return value * 1000 if has_s else value


def _allocation(raw: Any, index: int, network: str, problems: Problems, where: str) -> Allocation | None:
    entry = f"$[{index}]"
    if not isinstance(raw, dict):
        problems.add(where, "each allocation must be a JSON object", entry=entry)
        return None
    before = len(problems.items)
    address = parse_key_address(raw.get("beneficiary_address"), network, problems, where, entry=entry,
                                field="beneficiary_address")
    amount = _integer(raw.get("token_amount"))
    if amount is None or amount <= 0:
        problems.add(where, f"token_amount must be a positive whole number, got {raw.get('token_amount')!r}",
                     entry=entry, field="token_amount", hint="amounts are in the token's smallest unit")
    elif amount > MAX_QUANTITY:
        problems.add(where, f"token_amount {amount} is over the ledger's maximum {MAX_QUANTITY}",
                     entry=entry, field="token_amount")
    milestone = raw.get("milestone_identifier")
    if not isinstance(milestone, str) or not 1 <= len(milestone.encode()) <= MAX_MILESTONE_BYTES:
        problems.add(where, "milestone_identifier must be text of 1 to 32 bytes", entry=entry,
                     field="milestone_identifier", hint='e.g. "milestone-001"')
    vesting = _vesting_ms(raw, problems, where, entry)
    unknown = sorted(set(raw) - {"beneficiary_address", "token_amount", "milestone_identifier",
                                 "vesting_timestamp", "vesting_time_ms"})
    if unknown:
        problems.add(where, f"unknown field(s) {', '.join(unknown)}", entry=entry, field=unknown[0])
    if len(problems.items) != before or address is None or amount is None or vesting is None:
        return None
    return Allocation(str(address), amount, str(milestone), vesting)


def parse_allocations(text: str, where: str, network: str, problems: Problems) -> list[Allocation]:
    """The quick-start's ``allocations.json``; every problem is collected."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(where, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                     hint="check commas and quotes")
        return []
    if not isinstance(raw, list) or not raw:
        problems.add(where, "expected a non-empty JSON list of allocations", entry="$")
        return []
    found: list[Allocation] = []
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(raw):
        allocation = _allocation(item, index, network, problems, where)
        if allocation is None:
            continue
        if allocation.key in seen:
            problems.add(where, f"duplicate (beneficiary, milestone): also at $[{seen[allocation.key]}]",
                         entry=f"$[{index}]", field="milestone_identifier",
                         hint="merge the two entries into one amount")
            continue
        seen[allocation.key] = index
        found.append(allocation)
    if sum(a.amount for a in found) > MAX_QUANTITY:
        problems.add(where, "the total of token_amount is over the ledger's maximum quantity", entry="$")
    return found


# ---------------------------------------------------------------- oracles, quorum


def parse_oracles(addresses: Sequence[str], network: str, problems: Problems,
                  where: str = "--oracle-addresses") -> list[Oracle]:
    oracles: list[Oracle] = []
    for index, text in enumerate(addresses):
        address = parse_key_address(text, network, problems, where, entry=f"[{index}]")
        if address is None:
            continue
        key_hash = bytes(address.payment_part)
        if any(o.key_hash == key_hash for o in oracles):
            problems.add(where, "duplicate oracle (same payment key as an earlier one)", entry=f"[{index}]",
                         hint="list each oracle once")
            continue
        oracles.append(Oracle(str(address), key_hash))
    if not addresses:
        problems.add(where, "at least one oracle address is needed")
    return oracles


def check_quorum(quorum: int, oracles: int, problems: Problems, where: str = "--quorum-threshold") -> None:
    if quorum < 1 or quorum > oracles:
        problems.add(where, f"quorum {quorum} must be between 1 and the number of oracles ({oracles})",
                     hint="e.g. --quorum-threshold 2 with three oracles")


def check_against_clock(definition: ScheduleDefinition, now_ms: int, problems: Problems,
                        where: str) -> None:
    """Vesting times in the past and an expiry before the last vesting time are refused."""
    for index, allocation in enumerate(definition.allocations):
        if allocation.vesting_ms <= now_ms:
            problems.add(where, f"vesting time {allocation.vesting_ms} ms is in the past (chain time is "
                                f"{now_ms} ms)", entry=f"$[{index}]", field="vesting_timestamp",
                         hint="a schedule locks future vesting times; pick a later time")
    latest = max((a.vesting_ms for a in definition.allocations), default=0)
    if definition.expiry_ms <= latest:
        problems.add("--expiry", f"expiry {definition.expiry_ms} ms is not after the last vesting time "
                                 f"{latest} ms", hint="the owner reclaims only after every allocation could vest")
