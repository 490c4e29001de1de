"""One writer per data directory: ``lock.json`` with owner, pid, host and time.

Taken with ``O_CREAT | O_EXCL`` (atomic on local file systems).  A lock is *stale* when
its host is this host and its pid no longer runs: then it is taken over and the takeover
is reported.  A lock held by a live process, or by another host (whose processes we
cannot see), is refused with a hint to ``milestones lock break`` once the user is sure.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runner.errors import StateError

LOCK_NAME = "lock.json"


@dataclass(frozen=True)
class LockInfo:
    owner: str
    pid: int
    host: str
    time: float
    command: str = ""

    @property
    def stale(self) -> bool:
        return self.host == socket.gethostname() and not _alive(self.pid)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"stale": self.stale,
                               "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time))}


def _alive(pid: int) -> bool:
    """Does process ``pid`` run on this host?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _me(command: str) -> LockInfo:
    try:
        owner = getpass.getuser()
    except (KeyError, OSError):
        owner = str(os.getuid())
    return LockInfo(owner, os.getpid(), socket.gethostname(), time.time(), command)


def read_lock(root: Path) -> LockInfo | None:
    path = Path(root) / LOCK_NAME
    try:
        raw = json.loads(path.read_text())
        return LockInfo(str(raw["owner"]), int(raw["pid"]), str(raw["host"]), float(raw["time"]),
                        str(raw.get("command", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return LockInfo("?", -1, "?", 0.0, "unreadable lock file")


def break_lock(root: Path) -> LockInfo | None:
    """Remove the lock whatever holds it (``milestones lock break``)."""
    info = read_lock(root)
    (Path(root) / LOCK_NAME).unlink(missing_ok=True)
    return info


@contextlib.contextmanager
def hold(root: Path, command: str = "") -> Iterator[LockInfo | None]:
    """Hold the lock for the block; yields the stale lock that was taken over, if any."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    me = _me(command)
    taken_over: LockInfo | None = None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = read_lock(root)
            if holder is not None and holder.stale and taken_over is None:
                taken_over = holder
                path.unlink(missing_ok=True)
                continue
            raise StateError(
                f"the data directory is locked by {holder.owner if holder else '?'} "
                f"(pid {holder.pid if holder else '?'} on {holder.host if holder else '?'}, "
                f"{holder.command if holder else ''})", location=str(path),
                hint="wait for that command to finish; if it is gone, `milestones lock break`") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(asdict(me)))
            handle.flush()
            os.fsync(handle.fileno())
        break
    try:
        yield taken_over
    finally:
        current = read_lock(root)
        if current is not None and current.pid == me.pid and current.host == me.host:
            path.unlink(missing_ok=True)
