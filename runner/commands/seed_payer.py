"""Which key pays ``commit-milestone``'s fee when the guide's command names none.

The guide's ``commit-milestone`` has no key flag.  ``register-milestone`` (which has
``--funding-key``, or pays with ``--owner-key``) remembers the PATH of the key that paid, in
the data directory's checksummed ``cache/payer.json`` (never the key itself); a later
``commit-milestone`` without ``--funding-key`` loads that file.  ``--funding-key`` overrides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import UserInputError
from runner.store.datadir import DataDir

RECORD = "cache/payer.json"
SHOWN = f"{RECORD} (remembered by register-milestone)"


def remember(data: DataDir, key_path: Path, address: str) -> None:
    """After a register-milestone that paid with ``key_path``: its path and address, no key."""
    data.write_json(RECORD, {"funding_key_path": str(key_path.resolve()), "payer_address": address,
                             "recorded_by": "register-milestone"})


def remembered(data: DataDir) -> Path:
    """The remembered key path, or a user error saying how to give one."""
    value: Any = data.read_json(RECORD)
    hint = ("give --funding-key PATH (a cardano-cli .skey with ADA), or run register-milestone with this "
            "--data-dir first: it remembers the key that paid")
    if value is None:
        problem = "it is set aside as damaged" if data.repairs else "there is none"
        raise UserInputError("commit-milestone needs a key to pay its fee: no --funding-key was given and this "
                             f"data directory remembers no register-milestone payer ({problem})",
                             location=f"--funding-key / {data.path(RECORD)}", hint=hint)
    path = value.get("funding_key_path") if isinstance(value, dict) else None
    if not isinstance(path, str) or not path:
        raise UserInputError("the remembered payer record names no key file", location=str(data.path(RECORD)),
                             hint=hint)
    return Path(path)
