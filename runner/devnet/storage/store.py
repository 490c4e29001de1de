"""Persistence of the devnet in its data directory: a CBOR snapshot written atomically,
plus an append-only journal of the changes since (``storage.journal``).

A crash leaves either the old state or the new one, never a UTxO set from one moment
and blocks from another. Everything is kept: parameters, clock,
genesis spec, UTxO set, stake accounts, blocks with their transactions and undo
records (so rollback works after a reload), mempool, datum and script indexes.

The store is a listener on the ledger: :func:`attach` subscribes an :class:`Autosave`
(which knows its directory and what the files there already hold) and the ledger calls
it after every change; the ledger itself knows nothing of files. A failed save raises
out of the change that caused it, with the ledger put back to what the directory holds.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from pycardano import Network, TransactionInput, TransactionOutput

from runner.devnet.ledger.clock import SlotConfig
from runner.devnet.ledger.index import ChainIndex
from runner.devnet.ledger.ledger import GenesisSpec, Ledger
from runner.devnet.ledger.params import LedgerParams
from runner.devnet.ledger.types import AppliedTx, Block, StakeAccount, Undo
from runner.devnet.ledger.utxo import UtxoSet
from runner.devnet.storage import journal
from runner.errors import StateError, UserInputError
from runner.store.atomic import write_bytes_atomic

__all__ = ["STATE_FILE", "Autosave", "attach", "home_of", "load_ledger", "load_ledger_reporting",
           "repair_ledger", "save_ledger"]

STATE_FILE = "ledger.cbor"
FORMAT_VERSION = 1
#: the snapshot file: MAGIC | crc32 of the body (u32) | CBOR body (older files: the CBOR body alone)
SNAPSHOT_MAGIC = b"MLS\x02"
_SNAPSHOT_HEAD = struct.Struct(">4sI")
#: an :class:`Autosave`'s journal after a failed save whose state could not be read back: saves refuse
OUT_OF_STEP: Any = object()
BLOCK_MODES = ("submit", "tick")
log = logging.getLogger(__name__)


@dataclass(eq=False)
class Autosave:
    """The listener that keeps ``directory`` in step with a ledger: after every change it
    appends the change to the journal (or writes a snapshot). ``journal`` is what the files
    there already hold (None: the next save writes a snapshot)."""

    directory: Path
    journal: Any = None

    def __call__(self, ledger: Ledger) -> None:
        save_ledger(ledger, self.directory)


def home_of(ledger: Ledger) -> Autosave | None:
    """The ledger's own directory's listener, if it has one."""
    return next((x for x in ledger.listeners if isinstance(x, Autosave)), None)


def attach(ledger: Ledger, directory: str | Path, *, save: bool = True) -> Autosave:
    """Keep ``directory`` in step with ``ledger`` from now on, and save it there now (unless
    ``save`` is false or it is the ledger's directory already). A ledger has one directory:
    attaching it elsewhere moves it."""
    directory = Path(directory)
    home = home_of(ledger)
    if home is not None and home.directory == directory:
        return home
    if home is not None:
        ledger.unsubscribe(home)
    home = Autosave(directory)
    ledger.subscribe(home)
    if save:
        save_ledger(ledger, directory)
    return home


def _ref(ref: TransactionInput) -> bytes:
    """CBOR of an output reference ``[h'<32 bytes>', index]``, encoded by hand: this runs
    for every UTxO on every save, and both pycardano's and cbor2's encoders are slower."""
    index = ref.index
    if index < 24:
        tail = bytes([index])
    elif index < 0x100:
        tail = b"\x18" + bytes([index])
    elif index < 0x10000:
        tail = b"\x19" + index.to_bytes(2, "big")
    else:
        tail = b"\x1a" + index.to_bytes(4, "big")
    return b"\x82\x58\x20" + bytes(ref.transaction_id.payload) + tail


def _pair(ref: TransactionInput, out: TransactionOutput, raw: bytes | None = None) -> list[bytes]:
    return [_ref(ref), raw if raw is not None else bytes(out.to_cbor())]


def _unpair(raw: list[bytes]) -> tuple[TransactionInput, TransactionOutput]:
    return TransactionInput.from_cbor(raw[0]), TransactionOutput.from_cbor(raw[1])


def _undo_dump(undo: Undo) -> list[Any]:
    raws = undo.consumed_raw if len(undo.consumed_raw) == len(undo.consumed) else [None] * len(undo.consumed)
    return [[_pair(r, o, raw) for (r, o), raw in zip(undo.consumed, raws)], [_ref(r) for r in undo.produced],
            {k: (v.to_list() if v else None) for k, v in undo.stake_before.items()}]


def _undo_load(raw: list[Any]) -> Undo:
    return Undo([_unpair(p) for p in raw[0]], [TransactionInput.from_cbor(r) for r in raw[1]],
                {k: (StakeAccount.from_list(v) if v else None) for k, v in raw[2].items()},
                [p[1] for p in raw[0]])


def _tx_dump(t: AppliedTx) -> list[Any]:
    if t.persisted is None:
        t.persisted = [t.tx_id, t.cbor, _undo_dump(t.undo), t.valid]
    return t.persisted


def _tx_load(raw: list[Any]) -> AppliedTx:
    return AppliedTx(raw[0], raw[1], _undo_load(raw[2]), raw[3], persisted=list(raw))


def dump_state(ledger: Ledger) -> dict[str, Any]:
    spec = ledger.genesis
    return {
        "version": FORMAT_VERSION,
        "params": {"raw": dict(ledger.params.raw), "source": ledger.params.source},
        "slot_config": ledger.slot_config.to_dict(),
        "network": ledger.network.value,
        "block_mode": ledger.block_mode,
        "genesis": [spec.seed, list(spec.wallets), spec.initial_lovelace, spec.utxos_per_wallet,
                    spec.faucet_lovelace, spec.start_slot, [_pair(r, o) for r, o in spec.extra_utxo]],
        "current_slot": ledger._current_slot,
        "utxo": [[_ref(r), raw] for r, raw in ledger._utxo.raw_items()],
        "stake": {k: v.to_list() for k, v in ledger._stake.items()},
        "blocks": [[b.slot, b.block_hash, b.height, [_tx_dump(t) for t in b.txs]] for b in ledger._blocks],
        "mempool": [_tx_dump(t) for t in ledger._mempool],
        "datums": ledger.index.datums,
        "scripts": {k: [lang, raw] for k, (lang, raw) in ledger.index.scripts.items()},
    }


def save_ledger(ledger: Ledger, data_dir: str | Path | None = None) -> None:
    """Append the changes to the journal, or write a snapshot (first save, another
    directory, after a reset or a damaged journal, or when the journal has grown large).

    A save that fails (disk full, permissions) raises :class:`StateError`; when it was the
    ledger's own directory, the ledger is first put back to what the directory holds, so
    memory and disk stay in step and the change that could not be saved is not made.
    Without ``data_dir``: the ledger's own directory (see :func:`attach`)."""
    home = home_of(ledger)
    if data_dir is None:
        if home is None:
            raise UserInputError("no data directory to save the devnet to",
                                 hint="pass a directory: save_ledger(ledger, path)")
        data_dir = home.directory
    data_dir = Path(data_dir)
    if home is not None and home.journal is OUT_OF_STEP:
        raise StateError("the devnet's state in memory is no longer the one on disk (a save failed "
                         "and the saved state could not be read back)", location=str(data_dir),
                         hint="restart it: stop `milestones devnet up` and start it again")
    try:
        _save(ledger, data_dir, home if home is not None and home.directory == data_dir else None)
    except OSError as exc:
        raise _save_failed(ledger, data_dir, exc) from exc


def _save(ledger: Ledger, data_dir: Path, home: Autosave | None) -> None:
    tracked = home.journal if home is not None else None
    if tracked is not None and tracked.matches(ledger, data_dir) and not tracked.wants_snapshot():
        journal.append(tracked, journal.record(ledger, tracked, _tx_dump, _ref))
        return
    generation = os.urandom(16)
    data = encode_snapshot({**dump_state(ledger), "generation": generation})
    if home is None:  # a copy: its own snapshot and an empty journal to match
        write_bytes_atomic(data_dir / STATE_FILE, data)
        write_bytes_atomic(data_dir / journal.JOURNAL_FILE, journal.header(generation))
        return
    if not (data_dir / STATE_FILE).exists():  # nothing to lose yet: the journal comes first, so
        write_bytes_atomic(data_dir / journal.JOURNAL_FILE, journal.header(generation))  # never missing
    write_bytes_atomic(data_dir / STATE_FILE, data)
    try:
        home.journal = journal.start(ledger, data_dir, generation, len(data))
    except OSError as exc:  # the snapshot holds the change: it is durable; the next save retries
        home.journal = None
        log.warning("devnet: could not start a new journal in %s (%s); the next save writes a snapshot",
                    data_dir, exc)


def _save_failed(ledger: Ledger, data_dir: Path, exc: OSError) -> StateError:
    reason = exc.strerror or str(exc)
    outcome = "nothing was written there"
    home = home_of(ledger)
    if home is not None and home.directory == data_dir:
        try:
            fresh, _ = load_ledger_reporting(type(ledger), data_dir)
        except (StateError, OSError):
            home.journal = OUT_OF_STEP
            outcome = "and the saved state could not be read back: restart the devnet"
        else:
            block_mode, listeners = ledger.block_mode, ledger._listeners  # kept: not the saved state
            fresh_home = home_of(fresh)
            vars(ledger).update(vars(fresh))
            ledger.block_mode, ledger._listeners = block_mode, listeners
            home.journal = fresh_home.journal if fresh_home is not None else None
            outcome = "the change was not made: the devnet is as it was before it"
    return StateError(f"could not save the devnet to {data_dir}: {reason}; {outcome}",
                      location=str(getattr(exc, "filename", None) or data_dir),
                      hint="free disk space or fix the directory's permissions, then try again")


def encode_snapshot(state: dict[str, Any]) -> bytes:
    body = cbor2.dumps(state)
    return _SNAPSHOT_HEAD.pack(SNAPSHOT_MAGIC, zlib.crc32(body)) + body


def load_ledger(data_dir: str | Path, cls: type[Ledger] = Ledger) -> Ledger:
    """The ledger saved in ``data_dir``, attached to it (it saves itself there after every
    change); what was ignored (a torn last record) is logged."""
    data_dir = Path(data_dir)
    ledger, notes = load_ledger_reporting(cls, data_dir)
    for note in notes:
        log.warning("devnet %s: %s", data_dir, note)
    return ledger


def load_ledger_reporting(cls: type[Ledger], data_dir: Path, *, repair: bool = False) -> tuple[Ledger, list[str]]:
    """The ledger saved in ``data_dir`` and notes on what was ignored (a torn last record).

    Damage is a :class:`StateError` that says what is lost and how to recover; with
    ``repair`` the state up to the damage is returned instead (the caller sets the damaged
    journal aside and saves)."""
    path = data_dir / STATE_FILE
    raw, state = _read_snapshot(path, data_dir)
    ledger = _restore_checked(cls, data_dir, state, path)
    home = attach(ledger, data_dir, save=False)  # what the files hold: the journal, set below
    generation = state.get("generation")
    if not isinstance(generation, bytes):
        return ledger, []  # a snapshot from before the journal existed: the next save writes a new one
    try:
        found = journal.read(data_dir, generation)
    except journal.JournalDamaged as exc:
        return ledger, _damaged_journal(ledger, data_dir, exc.detail, exc.good, exc.later, repair)
    except OSError as exc:
        return ledger, _damaged_journal(ledger, data_dir, _unreadable(exc), [], None, repair)
    _replay_checked(ledger, data_dir, found.records)
    if found.complete:
        ledger._utxo.dirty = {}
        home.journal = journal.JournalState(
            data_dir, generation, len(raw), found.size, ledger._utxo, ledger.index,
            [b.block_hash for b in ledger._blocks], len(ledger.index.datums), len(ledger.index.scripts))
    return ledger, [found.note] if found.note else []


def _read_snapshot(path: Path, data_dir: Path) -> tuple[bytes, dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StateError(f"no devnet state in {data_dir}", location=str(path),
                         hint="create one with `milestones devnet up` or `devnet reset`") from None
    except OSError as exc:
        raise _snapshot_damaged(path, _unreadable(exc)) from exc
    body = raw
    if raw.startswith(SNAPSHOT_MAGIC):
        body = raw[_SNAPSHOT_HEAD.size:]
        if len(raw) < _SNAPSHOT_HEAD.size or zlib.crc32(body) != _SNAPSHOT_HEAD.unpack_from(raw)[1]:
            raise _snapshot_damaged(path, "its checksum does not match its contents")
    try:
        state = cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several kinds on damaged input
        raise _snapshot_damaged(path, f"it is not readable CBOR ({exc})") from exc
    if not isinstance(state, dict):
        raise _snapshot_damaged(path, f"it holds a {type(state).__name__}, not a devnet state")
    if state.get("version") != FORMAT_VERSION:
        raise StateError(f"the devnet snapshot's format {state.get('version')!r} is not {FORMAT_VERSION}",
                         location=str(path), hint="start again with `milestones devnet reset`")
    return raw, state


def _restore_checked(cls: type[Ledger], data_dir: Path, state: dict[str, Any], path: Path) -> Ledger:
    try:
        return _restore(cls, data_dir, state)
    except Exception as exc:  # pycardano and cbor2 raise many kinds on a damaged entry
        raise _snapshot_damaged(path, f"{type(exc).__name__}: {exc}") from exc


def _restore(cls: type[Ledger], data_dir: Path, state: dict[str, Any]) -> Ledger:
    if state["block_mode"] not in BLOCK_MODES:
        raise ValueError(f"block_mode {state['block_mode']!r} is neither 'submit' nor 'tick'")
    if not isinstance(state["current_slot"], int) or state["current_slot"] < 0:
        raise ValueError(f"current_slot {state['current_slot']!r} is not a slot")
    g = state["genesis"]
    spec = GenesisSpec(g[0], tuple(g[1]), g[2], g[3], g[4], g[5], tuple(_unpair(p) for p in g[6]))
    params = LedgerParams.from_dict(state["params"]["raw"], source=state["params"]["source"])
    ledger = cls(params, SlotConfig.from_dict(state["slot_config"]), spec,
                 network=Network(state["network"]), block_mode=state["block_mode"])
    ledger._current_slot = state["current_slot"]
    ledger._utxo = UtxoSet()
    for pair in state["utxo"]:
        ref, out = _unpair(pair)
        ledger._utxo.add(ref, out, pair[1])
    ledger._stake = {k: StakeAccount.from_list(v) for k, v in state["stake"].items()}
    ledger._blocks = [Block(b[0], b[1], b[2], [_tx_load(t) for t in b[3]]) for b in state["blocks"]]
    ledger._mempool = [_tx_load(t) for t in state["mempool"]]
    ledger._confirmed = {t.tx_id: b.height for b in ledger._blocks for t in b.txs}
    ledger.index = ChainIndex(dict(state["datums"]), {k: (v[0], v[1]) for k, v in state["scripts"].items()})
    return ledger


def _replay_checked(ledger: Ledger, data_dir: Path, records: list[dict[str, Any]]) -> None:
    try:
        journal.replay(ledger, records, _unpair, _tx_load, StakeAccount.from_list)
    except Exception as exc:  # a record with a good checksum but a bad entry: written by a bug
        raise StateError(f"ledger.log holds a change that cannot be applied: {type(exc).__name__}: {exc}",
                         location=str(data_dir / journal.JOURNAL_FILE), hint=_RECOVER) from exc
    ledger._confirmed = {t.tx_id: b.height for b in ledger._blocks for t in b.txs}


def _snapshot_damaged(path: Path, why: str) -> StateError:
    return StateError(f"the devnet snapshot is damaged: {why}; the devnet cannot be loaded", location=str(path),
                      hint="start again with `milestones devnet reset` (copy the directory first to keep "
                           "the damaged files)")


def _unreadable(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "ledger.log is missing"
    if isinstance(exc, IsADirectoryError):
        return "ledger.log is a directory, not the journal"
    return f"ledger.log cannot be read ({exc.strerror or exc})"


_RECOVER = ("`milestones devnet repair` keeps that state and sets the damaged journal aside; "
            "`milestones devnet reset` starts again from genesis")


def _damaged_journal(ledger: Ledger, data_dir: Path, detail: str, good: list[dict[str, Any]],
                     later: int | None, repair: bool) -> list[str]:
    """Replay what is intact; then either report the loss (StateError) or, repairing, note it."""
    _replay_checked(ledger, data_dir, good)
    lost = ("every change saved after the snapshot is lost" if later is None else
            f"the damaged change and the {later} intact one(s) after it cannot be replayed")
    kept = (f"the state after {len(good)} of the journal's changes (tip height {ledger.tip.height}, "
            f"slot {ledger.tip.slot}, clock slot {ledger.current_slot}) is intact")
    if repair:
        return [f"{detail}: {lost}; kept {kept.removeprefix('the ')}"]
    raise StateError(f"the devnet journal is damaged: {detail}; {lost}; {kept}",
                     location=str(data_dir / journal.JOURNAL_FILE), hint=_RECOVER)


def repair_ledger(cls: type[Ledger], data_dir: Path) -> tuple[Ledger, list[str]]:
    """Keep the intact state, set a damaged journal aside (``ledger.log.damaged-<time>``) and
    write a new snapshot. A damaged snapshot cannot be repaired (StateError)."""
    ledger, notes = load_ledger_reporting(cls, data_dir, repair=True)
    log_path = data_dir / journal.JOURNAL_FILE
    if notes and (log_path.exists() or log_path.is_symlink()):
        aside = log_path.with_name(f"{log_path.name}.damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        log_path.rename(aside)
        notes.append(f"the damaged journal was moved to {aside}")
    attach(ledger, data_dir, save=False).journal = None  # the next save is a new snapshot
    save_ledger(ledger, data_dir)
    return ledger, notes
