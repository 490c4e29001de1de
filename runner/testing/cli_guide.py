"""The quick-start guide as a user walks it: key files, allocations.json, and each of the
guide's commands run in process (``milestones ... --output json``). No test framework is
needed: ``capsys`` is anything with ``readouterr()`` (pytest's fixture, or
:class:`ModuleCapture` for a module-scoped fixture)."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pycardano as pc

from runner.cli import main

__all__ = ["SENTINEL", "Capture", "Guide", "ModuleCapture", "Result", "milestones"]


class Capture(Protocol):
    def readouterr(self) -> Any: ...


#: A recognisable signing key: its bytes must appear in no output and no file.
SENTINEL = hashlib.sha256(b"sentinel owner key").digest()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def milestones(capsys: Capture, data: Path, *args: str) -> Result:
    """One command in process, with a devnet config of its own (the repo's offchain/config.yaml
    names a testnet)."""
    config = data.parent / "config.yaml"
    if not config.exists():
        config.write_text("network: devnet\n")
    capsys.readouterr()
    try:
        main(["--config", str(config), "--data-dir", str(data), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return Result(code, out, err)


class Guide:
    """Files as a user has them: keys, allocations.json, and the guide's commands."""

    def __init__(self, folder: Path, capsys: Capture) -> None:
        self.folder, self.capsys, self.data = folder, capsys, folder / "data"
        self.addr = {n: self._key(n) for n in ("owner", "payer", "o1", "o2", "o3", "b1", "b2")}

    def _key(self, name: str) -> str:
        payload = SENTINEL if name == "owner" else hashlib.sha256(f"guide {name}".encode()).digest()
        sk = pc.PaymentSigningKey(payload)
        sk.save(str(self.folder / f"{name}.skey"))
        return str(pc.Address(sk.to_verification_key().hash(), network=pc.Network.TESTNET))

    def run(self, *args: str, data: Path | None = None) -> Result:
        return milestones(self.capsys, data or self.data, "--output", "json", *args)

    def allocations(self, entries: list[dict[str, Any]] | None = None, name: str = "allocations.json") -> Path:
        path = self.folder / name
        path.write_text(json.dumps(entries if entries is not None else [
            {"beneficiary_address": self.addr["b1"], "token_amount": 1_000_000,
             "milestone_identifier": "milestone-001", "vesting_timestamp": 100_000},
            {"beneficiary_address": self.addr["b2"], "token_amount": 2_000_000,
             "milestone_identifier": "milestone-002", "vesting_timestamp": 200_000},
            {"beneficiary_address": self.addr["b2"], "token_amount": 500_000,
             "milestone_identifier": "milestone-001", "vesting_timestamp": 100_000}]))
        return path

    def fund(self) -> str:
        policy = self.run("fund", "--address", self.addr["owner"], "--lovelace", "50000000",
                          "--tokens", "GRANT:3500000").json()["token_policy_id"]
        self.run("fund", "--address", self.addr["owner"], "--lovelace", "20000000")
        for _ in range(3):
            self.run("fund", "--address", self.addr["payer"], "--lovelace", "100000000")
        return str(policy)

    def register(self, policy: str, allocations: Path, *extra: str) -> Result:
        return self.run("register-milestone", "--token-policy-id", policy, "--token-name", "GRANT",
                        "--beneficiary-allocations", str(allocations),
                        "--oracle-addresses", ",".join(self.addr[o] for o in ("o1", "o2", "o3")),
                        "--quorum-threshold", "2", "--owner-key", str(self.folder / "owner.skey"),
                        "--funding-key", str(self.folder / "payer.skey"), *extra)

    def sign(self, contract: str, milestone: str, oracle: str) -> Result:
        return self.run("sign-milestone", "--contract-address", contract, "--milestone-identifier", milestone,
                        "--oracle-key", str(self.folder / f"{oracle}.skey"),
                        "--signatures", str(self.folder / f"sigs-{milestone}.json"))

    def commit(self, milestone: str, *extra: str) -> Result:
        return self.run("commit-milestone", "--milestone-identifier", milestone,
                        "--oracle-signatures", str(self.folder / f"sigs-{milestone}.json"),
                        "--quorum-threshold", "2", "--total-oracles", "3",
                        "--funding-key", str(self.folder / "payer.skey"), *extra)

    def release(self, contract: str, *extra: str, data: Path | None = None) -> Result:
        return self.run("submit-release", "--contract-address", contract,
                        "--signing-key-path", str(self.folder / "payer.skey"), *extra, data=data)


class ModuleCapture:
    """capsys for a module-scoped fixture: swap sys.stdout/stderr around each command."""

    def readouterr(self) -> tuple[str, str]:
        import io

        out, err = getattr(self, "_out", None), getattr(self, "_err", None)
        text = (out.getvalue() if out else "", err.getvalue() if err else "")
        self._out, self._err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = self._out, self._err
        return text
