"""One owner at a time per devnet data directory: ``devnet.lock``.

The lock is a file that records who holds it (owner command, pid, host, start time and,
for ``devnet up``, its Ogmios URL) and an exclusive ``flock`` on that file, held for as
long as the owner runs. The kernel drops the ``flock`` when the process dies however it
dies (``kill -9``, SIGTERM during start-up, a crash), so a lock file whose ``flock`` can be
taken is stale: the new owner takes it over and says so. A lock written by another host
(a shared directory) is never taken over: its pid means nothing here.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import StateError, UserInputError

LOCK_NAME = "devnet.lock"


@dataclass(frozen=True)
class LockInfo:
    """What a lock file says about its holder (any field may be missing in a damaged file)."""

    owner: str | None = None
    pid: int | None = None
    host: str | None = None
    started: str | None = None
    ogmios: str | None = None

    @classmethod
    def from_dict(cls, raw: Any) -> LockInfo:
        if not isinstance(raw, dict):
            return cls()

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        pid = raw.get("pid")
        return cls(text("owner"), pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                   text("host"), text("started"), text("ogmios"))

    def describe(self) -> str:
        who = f"pid {self.pid if self.pid is not None else '?'}"
        if self.host:
            who += f" on {self.host}"
        if self.owner:
            who = f"{self.owner} ({who})"
        return who + (f", since {self.started}" if self.started else "")


def read_info(directory: Path) -> LockInfo:
    try:
        return LockInfo.from_dict(json.loads((directory / LOCK_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return LockInfo()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OverflowError, ValueError):
        return False
    return True


def live_holder(directory: Path) -> LockInfo | None:
    """The holder of the directory's lock if it is alive, else None (no lock, or stale)."""
    path = directory / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        info = read_info(directory)
        if _foreign(info):
            return info
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return info  # held: its owner is running
        return info if _legacy_alive(info) else None
    finally:
        os.close(fd)


def _foreign(info: LockInfo) -> bool:
    return info.host is not None and info.host != socket.gethostname()


def _legacy_alive(info: LockInfo) -> bool:
    """A lock from before flock was used (no host recorded) is alive iff its pid is."""
    return info.host is None and info.pid is not None and info.pid != os.getpid() and pid_alive(info.pid)


@contextlib.contextmanager
def locked(directory: Path, owner: str, notify: Callable[[str], None]) -> Iterator[Path]:
    """Hold the directory's lock for the block; ``notify`` hears about a stale lock taken over."""
    _make_directory(directory)
    path = directory / LOCK_NAME
    fd = _acquire(path, directory, notify)
    try:
        _write_info(fd, {"owner": owner})
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def update(path: Path, **fields: str) -> None:
    """Add fields (the Ogmios URL once ``up`` listens) to the lock this process holds."""
    info = json.loads(path.read_text(encoding="utf-8"))
    info.update(fields)
    fd = os.open(path, os.O_WRONLY)
    try:
        _write_info(fd, info)
    finally:
        os.close(fd)


def _acquire(path: Path, directory: Path, notify: Callable[[str], None]) -> int:
    for _ in range(20):  # another process may take it over between our steps: try again
        fd = _open_lock(path)
        if not _try_flock(fd):
            os.close(fd)
            raise _in_use(directory, path, read_info(directory))
        if not _same_file(fd, path):
            os.close(fd)  # unlinked by its previous holder after we opened it
            continue
        previous = read_info(directory) if os.fstat(fd).st_size else None
        if previous is not None and (_foreign(previous) or _legacy_alive(previous)):
            os.close(fd)
            raise _in_use(directory, path, previous)
        if previous is not None:
            notify(f"taking over the stale lock {path}: its holder, {previous.describe()}, is no longer "
                   "running")
        return fd
    raise StateError(f"cannot take the lock {path}: it keeps changing hands", location=str(path),
                     hint="another command is starting on this devnet; try again")


def _try_flock(fd: int, attempts: int = 5) -> bool:
    """Take the exclusive flock; a few short retries ride out another command's brief
    shared look (``live_holder``)."""
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            if attempt + 1 < attempts:
                time.sleep(0.02)
    return False


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except IsADirectoryError as exc:
        raise StateError(f"{LOCK_NAME} is a directory", location=str(path),
                         hint=f"remove the directory {path}") from exc
    except OSError as exc:
        raise unusable_directory(path.parent, exc) from exc


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _write_info(fd: int, extra: dict[str, Any]) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **extra}
    data = json.dumps(info).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _in_use(directory: Path, path: Path, info: LockInfo) -> StateError:
    if _foreign(info):
        return StateError(f"the devnet in {directory} is locked by {info.describe()}", location=str(path),
                          hint="stop it on that host; if it is gone, delete the lock file")
    return StateError(f"the devnet in {directory} is in use by {info.describe()}", location=str(path),
                      hint="stop that `milestones devnet up` (Ctrl-C) or wait for the command to finish")


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unusable_directory(directory, exc) from exc
    if not directory.is_dir():
        raise unusable_directory(directory, NotADirectoryError(errno.ENOTDIR, "not a directory"))


def check_usable(directory: Path) -> None:
    """Refuse a data directory that is a file or lies below one (before saying "no devnet")."""
    for path in (directory, *directory.parents):
        if path.exists():
            if not path.is_dir():
                raise unusable_directory(directory, NotADirectoryError(errno.ENOTDIR, "not a directory"))
            return


def unusable_directory(directory: Path, exc: OSError) -> UserInputError:
    """A data directory that cannot hold the devnet is the user's to fix (exit 2)."""
    reason = {errno.ENOTDIR: "it (or a folder above it) is a file, not a directory",
              errno.EEXIST: "it is a file, not a directory",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only",
              errno.ENOSPC: "the disk is full"}.get(exc.errno or 0, exc.strerror or str(exc))
    return UserInputError(f"cannot use {directory} as the devnet's data directory: {reason}",
                          location=str(directory),
                          hint="choose a writable directory with --data-dir (or data_directory in the config)")
