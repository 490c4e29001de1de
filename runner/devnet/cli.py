"""``milestones devnet ...``: run the embedded devnet, inspect it, move its clock.

``up`` serves the ledger over Ogmios (WebSocket JSON-RPC) and Kupo (HTTP) on loopback,
persisting it to ``<data-dir>/devnet`` after every change. ``advance``, ``fund`` and
``rollback`` go to the running ``up`` (its lock file names its URL) through devnet-only
``devnet/...`` methods, or work on the persisted state when nothing serves it; ``reset``
refuses while a server holds the directory. ``demo`` runs a full schedule rehearsal
(deploy, register, certify, release) through the devnet's own Ogmios and Kupo endpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from runner.app import state
from runner.devnet.cli_options import GenesisOptions, check_host, check_port
from runner.devnet.storage import lockfile
from runner.devnet.storage.lockfile import LOCK_NAME
from runner.errors import StateError, UserInputError

devnet_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="The embedded devnet: a validating Conway ledger served as Ogmios + Kupo.")

DEFAULT_SEED = "milestones-devnet"


# --- state in the data directory ---------------------------------------------------------

def _data_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return Path(state.config().data_directory) / "devnet"


def _note(note: str) -> None:
    typer.echo(f"note: {note}", err=True)


def _has_state(directory: Path) -> bool:
    from runner.devnet.home import has_state  # the ledger loads only when a command needs it

    return has_state(directory)


def _open(directory: Path, seed: str, params_file: Path | None, clock: GenesisOptions | None = None) -> Any:
    from runner.devnet.home import open_home

    return open_home(directory, seed, params_file, clock, _note)


def _load(directory: Path) -> Any:
    from runner.devnet.home import load_home

    return load_home(directory, _note)


@contextlib.contextmanager
def _locked(directory: Path, owner: str) -> Iterator[Path]:
    """One owner at a time per devnet directory (see :mod:`lockfile`); ``up`` holds it while
    serving and records its Ogmios URL in it, so the other commands can ask it instead."""
    with lockfile.locked(directory, owner, lambda note: typer.echo(f"note: {note}", err=True)) as lock:
        yield lock


def _emit(value: dict[str, Any]) -> None:
    typer.echo(json.dumps(value, indent=2))


def _status(ledger: Any) -> dict[str, Any]:
    from runner.devnet.servers.ogmios.control import status_of

    return status_of(ledger)


# --- commands ----------------------------------------------------------------------------

DataDirOption = typer.Option(None, "--data-dir", help="Devnet state directory (default <data dir>/devnet).")
ParamsOption = typer.Option(None, "--params", help="Protocol parameters JSON (new devnets only; "
                                                   "default mainnet epoch 616).")
SystemStartOption = typer.Option(0, "--system-start-ms", help="POSIX time (ms, whole seconds) of slot 0 "
                                                              "(new devnets only).")
SlotLengthOption = typer.Option(1000, "--slot-length-ms", help="Slot length in ms (new devnets only).")
EpochLengthOption = typer.Option(432_000, "--epoch-length", help="Slots per epoch (new devnets only).")
StartSlotOption = typer.Option(0, "--start-slot", help="Slot of the genesis block (new devnets only).")
BlockModeOption = typer.Option("submit", "--block-mode", help="submit: a block per transaction; tick: "
                                                           "blocks form on `devnet tick` (new devnets only).")
UtxoFileOption = typer.Option(None, "--utxo-file", help="Start from this UTxO set (Ogmios queryLedgerState/utxo "
                                                        "JSON) besides the seeded wallets (new devnets only).")

# protocol helper: the wall clock and the near-now start of `up` (see wallclock.py)
UpSystemStartOption = typer.Option(None, "--system-start-ms", help="POSIX time (ms, whole seconds) of slot 0 "
                                   "(new devnets only; default: now, for third-party tools).")
WallClockOption = typer.Option(False, "--wall-clock", help="Chain time follows real time: the clock moves to "
                               "now before every change and a block forms every --block-period seconds.")
BlockPeriodOption = typer.Option(5.0, "--block-period", help="Seconds between blocks with --wall-clock.")


@devnet_app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    ogmios_port: int = typer.Option(1337, help="Ogmios JSON-RPC WebSocket port."),
    kupo_port: int = typer.Option(1442, help="Kupo HTTP port."),
    seed: str = typer.Option(DEFAULT_SEED, help="Seed of the deterministic genesis (new devnets only)."),
    params_file: Path | None = ParamsOption,
    data_dir: Path | None = DataDirOption,
    allow_remote: bool = typer.Option(False, help="Allow a non-loopback --host."),
    system_start_ms: int | None = UpSystemStartOption,
    slot_length_ms: int = SlotLengthOption,
    epoch_length: int = EpochLengthOption,
    start_slot: int = StartSlotOption,
    utxo_file: Path | None = UtxoFileOption,
    block_mode: str = BlockModeOption,
    wall_clock: bool = WallClockOption,
    block_period: float = BlockPeriodOption,
) -> None:
    """Serve the devnet as Ogmios (ws://HOST:1337) and Kupo (http://HOST:1442) until Ctrl-C."""
    from runner.devnet.home import discard_state
    from runner.devnet.servers.serve import serving
    from runner.devnet.servers.wallclock import check_block_period, following_real_time, start_near_now
    from runner.devnet.storage.store import save_ledger

    check_host(host, allow_remote)
    check_port(ogmios_port, "--ogmios-port")
    check_port(kupo_port, "--kupo-port")
    check_block_period(block_period)
    directory = _data_dir(data_dir)
    start_ms = start_near_now() if system_start_ms is None else system_start_ms  # new devnets: near now
    clock = GenesisOptions(start_ms, slot_length_ms, epoch_length, start_slot, utxo_file, block_mode)
    clock.slot_config()  # bad options are refused even when the devnet exists (they would be ignored)
    _exit_on_sigterm(directory)
    with _locked(directory, "devnet up") as lock:
        new, started = not _has_state(directory), False
        ledger = _open(directory, seed, params_file, clock)
        try:
            with serving(ledger, host=host, ogmios_port=ogmios_port, kupo_port=kupo_port) as running, \
                    following_real_time(running.guard, wall_clock, block_period):
                started = True
                lockfile.update(lock, ogmios=running.ogmios_url)
                stop = _stop_on_signal()  # before announcing: a SIGTERM from then on stops cleanly
                _emit({"status": "serving", "ogmios": running.ogmios_url, "kupo": running.kupo_url,
                       "data_dir": str(directory), **_status(ledger)})
                while not stop.wait(0.5):
                    pass
        except BaseException:
            if new and not started:  # a devnet that never served is not left behind
                discard_state(directory)
            raise
        save_ledger(ledger, directory)


def _exit_on_sigterm(directory: Path) -> None:
    """SIGTERM before serving starts: remove our lock file and exit at once. (Raising into a
    half-started server could leave a thread that keeps the process alive; a save cut short
    is a torn last record, which loading tolerates.)"""

    def terminate(signum: int, _frame: Any) -> None:
        if lockfile.read_info(directory).pid == os.getpid():
            (directory / LOCK_NAME).unlink(missing_ok=True)
        os._exit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread (in-process tests)
        signal.signal(signal.SIGTERM, terminate)


def _stop_on_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _require_state(directory: Path) -> None:
    """Commands that act on an existing devnet never create one as a side effect."""
    lockfile.check_usable(directory)
    if not _has_state(directory):
        raise StateError(f"no devnet in {directory}", location=str(directory),
                         hint="start one with `milestones devnet up` (or `devnet reset`)")


@devnet_app.command()
def status(data_dir: Path | None = DataDirOption) -> None:
    """Print the devnet's slot, tip and UTxO count."""
    directory = _data_dir(data_dir)
    _require_state(directory)
    holder = lockfile.live_holder(directory)
    if holder is not None and holder.ogmios is not None:  # served: ask it (its files are in motion)
        _emit({"data_dir": str(directory), **_remote(directory, holder.ogmios, "devnet/status", {})})
        return
    _emit({"data_dir": str(directory), **_status(_load(directory))})


@devnet_app.command()
def repair(data_dir: Path | None = DataDirOption) -> None:
    """Keep what a damaged journal still holds, set the damaged file aside, save afresh."""
    from runner.devnet.ledger.ledger import Ledger
    from runner.devnet.storage.store import repair_ledger

    directory = _data_dir(data_dir)
    _require_state(directory)
    with _locked(directory, "devnet repair"):
        ledger, notes = repair_ledger(Ledger, directory)
    _emit({"status": "repaired" if notes else "intact", "data_dir": str(directory), "notes": notes,
           **_status(ledger)})


@devnet_app.command()
def reset(
    seed: str = typer.Option(DEFAULT_SEED, help="Seed of the new genesis."),
    params_file: Path | None = ParamsOption,
    data_dir: Path | None = DataDirOption,
    system_start_ms: int = SystemStartOption,
    slot_length_ms: int = SlotLengthOption,
    epoch_length: int = EpochLengthOption,
    start_slot: int = StartSlotOption,
    utxo_file: Path | None = UtxoFileOption,
    block_mode: str = BlockModeOption,
) -> None:
    """Throw the devnet's state away and start again from genesis."""
    directory = _data_dir(data_dir)
    clock = GenesisOptions(system_start_ms, slot_length_ms, epoch_length, start_slot, utxo_file, block_mode)
    clock.slot_config()  # bad options are refused before the old state is thrown away
    from runner.devnet.home import create_home, discard_state

    with _locked(directory, "devnet reset"):
        discard_state(directory)
        ledger = create_home(seed, params_file, directory, clock)
    _emit({"status": "reset", "data_dir": str(directory), "seed": seed, **_status(ledger)})


def _control(data_dir: Path | None, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a ``devnet/...`` method: on the running ``devnet up`` if there is one, else on
    the persisted state (the same code, through the same :mod:`control` functions)."""
    directory = _data_dir(data_dir)
    holder = lockfile.live_holder(directory)
    if holder is not None and holder.ogmios is not None:
        return _remote(directory, holder.ogmios, method, params)
    _require_state(directory)
    from runner.devnet.servers.ogmios.control import control
    from runner.devnet.servers.ogmios.methods import BadParams, LedgerGuard

    with _locked(directory, f"devnet {method.removeprefix('devnet/')}"):
        ledger = _open(directory, DEFAULT_SEED, None)
        try:
            return control(LedgerGuard(ledger), method, params)
        except BadParams as exc:
            raise UserInputError(str(exc).removeprefix("Invalid request: "), location=method,
                                 hint="see `milestones devnet --help`") from exc


def _remote(directory: Path, url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    request = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": "cli"})
    try:
        with connect(url, open_timeout=5) as ws:
            ws.send(request)
            reply = json.loads(ws.recv(timeout=120))
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise StateError(f"`devnet up` holds {directory} but does not answer at {url}: {exc}",
                         location=str(directory / LOCK_NAME),
                         hint="it may be busy or stuck: stop it (Ctrl-C, or kill its pid) and retry") from exc
    if "error" in reply:
        error = reply["error"]
        raise UserInputError(str(error.get("message", error)).removeprefix("Invalid request: "),
                             location=f"{url} {method}", hint="see `milestones devnet --help`")
    return dict(reply["result"])


@devnet_app.command()
def advance(
    slots: int | None = typer.Option(None, "--slots", help="Move the clock forward N slots."),
    to_posix_ms: int | None = typer.Option(None, "--to-posix-ms", help="Move the clock to POSIX time T (ms)."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Move the devnet's clock forward (time travel for rehearsals)."""
    if (slots is None) == (to_posix_ms is None):
        raise UserInputError("give exactly one of --slots N or --to-posix-ms T", location="devnet advance",
                             hint="e.g. `milestones devnet advance --slots 3600`")
    if slots is not None and slots < 0:
        raise UserInputError("--slots must be >= 0: the clock never goes back", location="--slots",
                             hint="use `devnet rollback N` to drop blocks")
    params = {"slots": slots} if slots is not None else {"posixMs": to_posix_ms}
    _emit(_control(data_dir, "devnet/advance", params))


@devnet_app.command()
def fund(
    address: str = typer.Argument(..., help="Bech32 address to fund."),
    lovelace: int = typer.Option(..., "--lovelace", help="Amount in lovelace."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Pay ADA from the devnet's faucet to ADDRESS."""
    from runner.devnet.servers.ogmios.methods import BadParams, parse_address

    try:
        parse_address(address, "ADDRESS")
    except BadParams as exc:
        raise UserInputError(str(exc).removeprefix("Invalid request: "), location="ADDRESS",
                             hint="give a bech32 address such as addr_test1...") from exc
    if lovelace <= 0:
        raise UserInputError("--lovelace must be positive", location="--lovelace", hint="e.g. 10000000")
    _emit(_control(data_dir, "devnet/fund", {"address": address, "lovelace": lovelace}))


@devnet_app.command()
def tick(data_dir: Path | None = DataDirOption) -> None:
    """Form a block from the mempool now (an empty block if it is empty)."""
    _emit(_control(data_dir, "devnet/tick", {}))


@devnet_app.command()
def rollback(
    blocks: int = typer.Argument(..., help="How many of the newest blocks to drop."),
    to_mempool: bool = typer.Option(True, help="Return their transactions to the mempool (else drop them)."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Drop the newest N blocks (to rehearse a chain rollback)."""
    if blocks <= 0:
        raise UserInputError("N must be a positive number of blocks", location="N", hint="e.g. 1")
    _emit(_control(data_dir, "devnet/rollback", {"blocks": blocks, "toMempool": to_mempool}))


@devnet_app.command()
def demo(
    seed: str = typer.Option("milestones-demo", help="Seed of the demo's throwaway devnet (and of its keys)."),
    ogmios_url: str | None = typer.Option(None, envvar="OGMIOS_URL",
                                          help="Rehearse against this Ogmios instead of a throwaway devnet."),
    kupo_url: str | None = typer.Option(None, envvar="KUPO_URL", help="The Kupo that goes with --ogmios-url."),
) -> None:
    """A full schedule rehearsal on a throwaway devnet served as Ogmios + Kupo (or on the
    Ogmios/Kupo given: another devnet, or a test network whose demo addresses are funded).

    Deploys the contract, registers a schedule, certifies a milestone with M of N oracle
    signatures, shows a release before vesting refused, advances the clock, releases the
    batch and checks the balances.
    """
    from runner.rehearsal.demo import run_demo

    run_demo(seed, typer.echo, ogmios_url=ogmios_url, kupo_url=kupo_url)
