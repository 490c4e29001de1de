"""Checks the schema cannot express: names that must exist, rules across fields.

Runs on the rendered, schema-valid document (so every problem keeps its line, column and
JSON path) and never touches the network: unknown keys and step ids, duplicate step ids
and allocations, quorum larger than the oracles, devnet-only steps and keys on a real
network, addresses of the wrong network, milestones no allocation has, files that do not
exist, vesting after the expiry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from runner.plan.model import SIGNING_SOURCES, STEP_KINDS, to_millis
from runner.plan.problems import Path, Problem
from runner.plan.templating import KnownAfterApply
from runner.plan.yaml_source import Marks

_ADDRESS = re.compile(r"^(addr|addr_test)1[02-9ac-hj-np-z]{20,}$")
MAX_SUPPLY = 2**63 - 1


@dataclass
class Semantics:
    """One pass over a rendered plan; ``problems`` collects what is wrong."""

    doc: Mapping[str, Any]
    marks: Marks
    base_dir: FsPath
    allocations: list[tuple[Path, Mapping[str, Any], Marks]]
    check_key_files: bool = True
    templated: frozenset[Path] = frozenset()  # values made by templates: files made at run time

    def __post_init__(self) -> None:
        self.problems: list[Problem] = []
        self.network = str(self.doc.get("network"))
        self.keys: Mapping[str, Mapping[str, Any]] = self.doc.get("keys") or {}
        self.schedule: Mapping[str, Any] = self.doc.get("schedule") or {}
        self.steps: list[Mapping[str, Any]] = list(self.doc.get("steps") or [])

    def run(self) -> list[Problem]:
        for check in (self._keys, self._schedule, self._allocations, self._step_ids, self._steps):
            check()
        return self.problems

    def _add(self, path: Path, code: str, message: str, hint: str = "", marks: Marks | None = None) -> None:
        self.problems.append((marks or self.marks).problem(path, code, message, hint))

    # -- keys ---------------------------------------------------------------------------

    def _keys(self) -> None:
        for name, key in self.keys.items():
            source, value = next(iter(key.items()))
            path: Path = ("keys", name, source)
            if source.startswith("devnet_") and self.network != "devnet":
                self._add(path, "devnet-only", f"key '{name}' uses {source}, which exists only on the devnet",
                          "use skey_file (a cardano-cli envelope) on a real network")
            if source in ("skey_file", "vkey_file") and self.check_key_files and isinstance(value, str):
                self._file_exists(path, value, "key file")

    def _key(self, path: Path, name: Any, *, signing: bool, role: str) -> None:
        if isinstance(name, KnownAfterApply) or not isinstance(name, str):
            return
        key = self.keys.get(name)
        if key is None:
            hint = "define it under keys:" + (f" (known: {', '.join(sorted(self.keys))})" if self.keys else "")
            if name.startswith("addr"):
                hint = "this looks like an address but is not valid bech32; check it, or define a key"
            self._add(path, "unknown-key-name", f"no key named '{name}' ({role})", hint)
        elif signing and next(iter(key)) not in SIGNING_SOURCES:
            self._add(path, "not-a-signing-key", f"key '{name}' cannot sign, but the {role} must sign",
                      f"give '{name}' a skey_file (or a devnet key on the devnet)")

    def _holder(self, path: Path, value: Any, marks: Marks | None = None) -> None:
        if not isinstance(value, str):
            return
        if _ADDRESS.match(value):
            mainnet = value.startswith("addr1")
            if mainnet != (self.network == "mainnet"):
                self._add(path, "wrong-network", f"a {'mainnet' if mainnet else 'test network'} address on "
                          f"network {self.network}", "use an addr1... address on mainnet, addr_test1... elsewhere",
                          marks)
        elif value not in self.keys:
            hint = ("this looks like an address but is not valid bech32" if value.startswith("addr")
                    else "write a bech32 address or define the name under keys:")
            self._add(path, "unknown-key-name", f"'{value}' is neither an address nor a key name", hint, marks)

    def _file_exists(self, path: Path, relative: str, what: str) -> None:
        target = self.base_dir / relative
        if not target.is_file():
            self._add(path, "missing-file", f"{what} '{relative}' does not exist (looked at {target})",
                      "paths are relative to the plan file's directory")

    # -- schedule ----------------------------------------------------------------------

    def _schedule(self) -> None:
        s = self.schedule
        self._key(("schedule", "owner"), s.get("owner"), signing=False, role="owner")
        oracles = s.get("oracles") or []
        for i, oracle in enumerate(oracles):
            self._key(("schedule", "oracles", i), oracle, signing=False, role="oracle")
        quorum = s.get("quorum")
        if isinstance(quorum, int) and quorum > len(oracles):
            self._add(("schedule", "quorum"), "quorum-too-large",
                      f"quorum {quorum} is more than the {len(oracles)} oracle(s)", "lower the quorum or add oracles")
        token = s.get("token") or {}
        if token.get("policy_id") == "devnet-faucet" and self.network != "devnet":
            self._add(("schedule", "token", "policy_id"), "devnet-only",
                      "devnet-faucet is the devnet's policy", "give the token's 56-hex-digit policy id")
        name = token.get("name")
        if isinstance(name, str) and len(name.encode()) > 32:
            self._add(("schedule", "token", "name"), "token-name-too-long",
                      f"the token name is {len(name.encode())} bytes in UTF-8; the ledger allows 32",
                      "shorten the name")

    def _allocations(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        total = 0
        expiry = _millis(self.schedule.get("expiry"))
        for path, alloc, marks in self.allocations:
            self._holder((*path, "beneficiary"), alloc.get("beneficiary"), marks)
            pair = (self._wallet(alloc.get("beneficiary")), str(alloc.get("milestone")))
            where = marks.problem(path, "", "").location
            if pair in seen:
                self._add(path, "duplicate-allocation",
                          f"a second allocation for {alloc.get('beneficiary')} x milestone {pair[1]}",
                          f"the first is at {seen[pair]}; merge the amounts into one", marks)
            seen.setdefault(pair, where)
            amount = alloc.get("amount")
            total += amount if isinstance(amount, int) else 0
            vesting = _millis(alloc.get("vesting"))
            if isinstance(vesting, int) and isinstance(expiry, int) and vesting >= expiry:
                self._add((*path, "vesting"), "vesting-after-expiry",
                          "vesting is at or after the schedule's expiry: this allocation could never be released",
                          "move the vesting time before schedule.expiry", marks)
        if total > MAX_SUPPLY:
            self._add(("schedule",), "over-supply", f"the allocations add up to {total}, more than a token "
                      f"amount can be ({MAX_SUPPLY})", "reduce the amounts")

    def _wallet(self, holder: Any) -> str:
        """What a beneficiary resolves to: two key names with the same key spec are one wallet."""
        key = self.keys.get(holder) if isinstance(holder, str) else None
        if not isinstance(key, dict) or len(key) != 1:
            return str(holder)
        source, value = next(iter(key.items()))
        if source in ("skey_file", "vkey_file") and isinstance(value, str):
            value = (self.base_dir / value).resolve()
        return f"{source}={str(value).lower() if source == 'vkey_hash' else value}"

    # -- steps -------------------------------------------------------------------------

    def _step_ids(self) -> None:
        first: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            step_id = step.get("id")
            if isinstance(step_id, str) and step_id in first:
                self._add(("steps", i, "id"), "duplicate-step-id",
                          f"step id '{step_id}' is already used by step {first[step_id]}", "give every step its own id")
            elif isinstance(step_id, str):
                first[step_id] = i

    def _steps(self) -> None:
        milestones = {str(a.get("milestone")) for _, a, _ in self.allocations}
        signed_files: set[str] = set()
        for i, step in enumerate(self.steps):
            kind = next((k for k in step if k in STEP_KINDS), None)
            if kind is None:
                continue
            options = step.get(kind) or {}
            base: Path = ("steps", i, kind)
            if STEP_KINDS[kind].devnet_only and self.network != "devnet":
                self._add(("steps", i, kind), "devnet-only", f"the step {kind} exists only on the devnet",
                          "remove it from plans for real networks")
            for path, value in _walk_milestones(options, base):
                if isinstance(value, str) and milestones and value not in milestones:
                    self._add(path, "unknown-milestone", f"no allocation has milestone '{value}'",
                              f"milestones of this schedule: {', '.join(sorted(milestones))}")
            if kind in CHECKS:
                CHECKS[kind](self, base, options, signed_files)


def _walk_milestones(options: Any, base: Path) -> Iterator[tuple[Path, Any]]:
    """Every milestone a step names (its own, an allocation's, an expectation's)."""
    if not isinstance(options, dict):
        return
    if "milestone" in options:
        yield (*base, "milestone"), options["milestone"]
    allocation = options.get("allocation")
    if isinstance(allocation, dict) and "milestone" in allocation:
        yield (*base, "allocation", "milestone"), allocation["milestone"]
    expect = options.get("expect")
    if isinstance(expect, dict):
        for name in (expect.get("milestones") or {}):
            yield (*base, "expect", "milestones", name), name


def _millis(value: Any) -> Any:
    try:
        return to_millis(value) if isinstance(value, (int, str)) else None
    except ValueError:
        return None


def _fund(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    sem._holder((*base, "to"), options.get("to"))


def _payer(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    if "payer" in options:
        sem._key((*base, "payer"), options["payer"], signing=True, role="payer")


def _register(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    if "funding" in options:
        sem._key((*base, "funding"), options["funding"], signing=True, role="funding key")
    else:
        _owner_signs(sem, "owner (register signs by default)")


def _owner_signs(sem: Semantics, role: str) -> None:
    if sem.schedule.get("owner") in sem.keys:  # an unknown owner is reported once, at the schedule
        sem._key(("schedule", "owner"), sem.schedule.get("owner"), signing=True, role=role)


def _sign(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    schedule_oracles = set(sem.schedule.get("oracles") or [])
    for j, oracle in enumerate(options.get("oracles") or []):
        sem._key((*base, "oracles", j), oracle, signing=True, role="signing oracle")
        if isinstance(oracle, str) and oracle not in schedule_oracles:
            sem._add((*base, "oracles", j), "not-an-oracle", f"'{oracle}' is not one of the schedule's oracles",
                     "list it under schedule.oracles, or sign with an oracle")
    if isinstance(options.get("out"), str):
        signed.add(str(FsPath(options["out"])))


def _commit(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    _payer(sem, base, options, signed)
    path = options.get("signatures")
    if (*base, "signatures") in sem.templated:
        return  # e.g. an earlier sign step's output: the file exists only once that step ran
    if isinstance(path, str) and str(FsPath(path)) not in signed:
        sem._file_exists((*base, "signatures"), path, "signatures file")


def _check(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    for j, balance in enumerate((options.get("expect") or {}).get("balances") or []):
        sem._holder((*base, "expect", "balances", j, "holder"), balance.get("holder"))


def _release(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    _payer(sem, base, options, signed)
    if "beneficiary" in options:
        sem._holder((*base, "beneficiary"), options["beneficiary"])
    if isinstance(options.get("allocation"), dict):
        sem._holder((*base, "allocation", "beneficiary"), options["allocation"].get("beneficiary"))


def _reclaim(sem: Semantics, base: Path, options: Mapping[str, Any], signed: set[str]) -> None:
    _payer(sem, base, options, signed)
    _owner_signs(sem, "owner (reclaim signs)")


CHECKS: dict[str, Callable[[Semantics, Path, Mapping[str, Any], set[str]], None]] = {
    "fund": _fund, "deploy": _payer, "register": _register, "sign": _sign, "commit": _commit,
    "check": _check, "release": _release, "reclaim": _reclaim,
}
