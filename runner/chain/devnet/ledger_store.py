"""Persistence of the devnet in its data directory: a CBOR snapshot written atomically,
plus an append-only journal of the changes since (``ledger_journal``).

A crash leaves either the old state or the new one, never a UTxO set from one moment
and blocks from another. Everything is kept: parameters, clock,
genesis spec, UTxO set, stake accounts, blocks with their transactions and undo
records (so rollback works after a reload), mempool, datum and script indexes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cbor2
from pycardano import Network, TransactionInput, TransactionOutput

from runner.chain.devnet import ledger_journal as journal
from runner.chain.devnet.clock import SlotConfig
from runner.chain.devnet.ledger_index import ChainIndex
from runner.chain.devnet.ledger_json import utxo_from_json
from runner.chain.devnet.ledger_types import AppliedTx, Block, StakeAccount, Undo
from runner.chain.devnet.ledger_utxo import UtxoSet
from runner.chain.devnet.params import LedgerParams
from runner.errors import StateError, UserInputError
from runner.store.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from runner.chain.devnet.ledger import Ledger

STATE_FILE = "ledger.cbor"
FORMAT_VERSION = 1


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


def save_ledger(ledger: Ledger, data_dir: Path) -> None:
    """Append the changes to the journal, or write a snapshot (first save, another
    directory, after a reset or a damaged journal, or when the journal has grown large)."""
    tracked = ledger._journal
    if tracked is not None and tracked.matches(ledger, data_dir) and not tracked.wants_snapshot():
        journal.append(tracked, journal.record(ledger, tracked, _tx_dump, _ref))
        return
    generation = os.urandom(16)
    data = cbor2.dumps({**dump_state(ledger), "generation": generation})
    write_bytes_atomic(data_dir / STATE_FILE, data)
    if data_dir == ledger.data_dir:
        ledger._journal = journal.start(ledger, data_dir, generation, len(data))


def load_ledger(cls: type[Ledger], data_dir: Path) -> Ledger:
    path = data_dir / STATE_FILE
    try:
        raw = path.read_bytes()
        state = cbor2.loads(raw)
    except FileNotFoundError:
        raise StateError(f"no devnet state in {data_dir}", location=str(path),
                         hint="create one with Ledger.create(..., data_dir=...)") from None
    except (OSError, ValueError, cbor2.CBORDecodeError) as exc:
        raise StateError(f"devnet state unreadable: {exc}", location=str(path),
                         hint="delete the data directory's devnet state and start again") from exc
    if not isinstance(state, dict) or state.get("version") != FORMAT_VERSION:
        version = state.get("version") if isinstance(state, dict) else None
        raise StateError(f"devnet state format {version!r} is not {FORMAT_VERSION}",
                         location=str(path), hint="reset the devnet (delete ledger.cbor)")
    try:
        ledger = _restore(cls, data_dir, state)
        _replay_journal(ledger, data_dir, state.get("generation"), len(raw))
        return ledger
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise StateError(f"devnet state is damaged: {exc!r}", location=str(path),
                         hint="reset the devnet (delete ledger.cbor)") from exc


def _restore(cls: type[Ledger], data_dir: Path, state: dict[str, Any]) -> Ledger:
    from runner.chain.devnet.ledger import GenesisSpec

    g = state["genesis"]
    spec = GenesisSpec(g[0], tuple(g[1]), g[2], g[3], g[4], g[5], tuple(_unpair(p) for p in g[6]))
    params = LedgerParams.from_dict(state["params"]["raw"], source=state["params"]["source"])
    ledger = cls(params, SlotConfig.from_dict(state["slot_config"]), spec,
                 network=Network(state["network"]), block_mode=state["block_mode"], data_dir=data_dir)
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


def _replay_journal(ledger: Ledger, data_dir: Path, generation: Any, snapshot_bytes: int) -> None:
    """Apply the journal written after the snapshot; keep appending to it if it is whole."""
    if not isinstance(generation, bytes):
        return  # a snapshot from before the journal existed: the next save writes a new one
    records, size, complete = journal.read(data_dir, generation)
    journal.replay(ledger, records, _unpair, _tx_load, StakeAccount.from_list)
    ledger._confirmed = {t.tx_id: b.height for b in ledger._blocks for t in b.txs}
    if complete:
        ledger._utxo.dirty = {}
        ledger._journal = journal.JournalState(
            data_dir, generation, snapshot_bytes, size, ledger._utxo, ledger.index,
            [b.block_hash for b in ledger._blocks], len(ledger.index.datums), len(ledger.index.scripts))


def read_utxo_file(path: str | Path) -> list[tuple[TransactionInput, TransactionOutput]]:
    """An Ogmios ``queryLedgerState/utxo`` result (a JSON list, or ``{"result": [...]}``)."""
    try:
        raw = json.loads(Path(path).read_text())
        entries = raw["result"] if isinstance(raw, dict) else raw
        return [utxo_from_json(e) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(f"cannot read the UTxO file: {exc!r}", location=str(path),
                             hint="give a JSON list of Ogmios UTxO entries "
                                  "({transaction:{id}, index, address, value, ...})") from exc
