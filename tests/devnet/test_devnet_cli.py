"""`milestones devnet ...`: the commands a user types, run as they would run them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from runner.cli import main
from runner.devnet.ledger.ledger import Ledger
from runner.devnet.storage.store import load_ledger


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """(exit code, parsed JSON stdout or raw text, stderr) of one in-process invocation."""
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "devnet"


def test_status_without_a_devnet_says_how_to_start_one(capsys, data_dir):
    code, _, err = run(capsys, "devnet", "status", "--data-dir", str(data_dir))
    assert code == 5 and "no devnet" in err and "devnet up" in err


def test_reset_creates_a_genesis_that_status_reads_back(capsys, data_dir):
    code, created, _ = run(capsys, "devnet", "reset", "--seed", "cli", "--data-dir", str(data_dir))
    assert code == 0 and created["status"] == "reset" and created["slot"] == 0
    code, status, _ = run(capsys, "devnet", "status", "--data-dir", str(data_dir))
    assert code == 0
    assert status["utxo_count"] == created["utxo_count"] == len(load_ledger(data_dir).utxo)


def test_reset_takes_the_clock_and_start_slot_of_the_new_devnet(capsys, data_dir):
    code, created, err = run(capsys, "devnet", "reset", "--data-dir", str(data_dir), "--system-start-ms",
                             "1700000000000", "--slot-length-ms", "200", "--epoch-length", "100",
                             "--start-slot", "250")
    assert code == 0, err
    assert created["slot"] == 250 and created["posix_ms"] == 1_700_000_000_000 + 250 * 200
    ledger = load_ledger(data_dir)
    assert (ledger.slot_config.slot_length_ms, ledger.slot_config.epoch_length) == (200, 100)
    assert ledger.epoch == 3 and ledger.tip.slot == 250


def test_reset_can_start_from_an_ogmios_utxo_file(capsys, data_dir, tmp_path):
    from pycardano import TransactionId, TransactionInput, TransactionOutput

    from runner.devnet.ledger.json_codec import utxo_entry

    ref = TransactionInput(TransactionId(b"\x07" * 32), 3)
    owner = Ledger.create(seed="other").wallet("alice").address
    utxo_file = tmp_path / "utxo.json"
    utxo_file.write_text(json.dumps([utxo_entry(ref, TransactionOutput(owner, 9_000_000))]))
    code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(data_dir), "--utxo-file", str(utxo_file))
    assert code == 0, err
    assert load_ledger(data_dir).utxo[ref].amount.coin == 9_000_000


def test_reset_refuses_a_sub_second_system_start_and_keeps_the_old_state(capsys, data_dir):
    run(capsys, "devnet", "reset", "--seed", "kept", "--data-dir", str(data_dir))
    code, _, err = run(capsys, "devnet", "reset", "--system-start-ms", "1500", "--data-dir", str(data_dir))
    assert code == 2 and "whole second" in err
    assert load_ledger(data_dir).genesis.seed == "kept"


def test_a_tick_mode_devnet_forms_blocks_only_on_devnet_tick(capsys, data_dir):
    run(capsys, "devnet", "reset", "--block-mode", "tick", "--data-dir", str(data_dir))
    bob = str(load_ledger(data_dir).wallet("bob").address)
    code, funded, err = run(capsys, "devnet", "fund", bob, "--lovelace", "3000000", "--data-dir", str(data_dir))
    assert code == 0, err
    tx_id = funded["output"].split("#")[0]
    assert load_ledger(data_dir).in_mempool(tx_id) and funded["tip"]["height"] == 0
    code, ticked, err = run(capsys, "devnet", "tick", "--data-dir", str(data_dir))
    assert code == 0 and ticked["tip"]["height"] == 1, err
    assert load_ledger(data_dir).has_transaction(tx_id)
    code, _, err = run(capsys, "devnet", "reset", "--block-mode", "sometimes", "--data-dir", str(data_dir))
    assert code == 2 and "--block-mode" in err
    assert load_ledger(data_dir).has_transaction(tx_id)  # the refused reset kept the old state


def test_root_data_dir_flag_places_the_devnet_under_it(capsys, tmp_path):
    code, created, _ = run(capsys, "--data-dir", str(tmp_path), "devnet", "reset")
    assert code == 0 and Path(created["data_dir"]) == tmp_path / "devnet"
    assert load_ledger(tmp_path / "devnet").tip.height == 0


def test_advance_moves_the_persisted_clock_by_slots_and_to_a_posix_time(capsys, data_dir):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    code, moved, _ = run(capsys, "devnet", "advance", "--slots", "120", "--data-dir", str(data_dir))
    assert code == 0 and moved["slot"] == 120 == load_ledger(data_dir).current_slot
    target = load_ledger(data_dir).slot_config.slot_to_posix_ms(500)
    code, moved, _ = run(capsys, "devnet", "advance", "--to-posix-ms", str(target), "--data-dir", str(data_dir))
    assert code == 0 and load_ledger(data_dir).current_slot == 500


@pytest.mark.parametrize("args", [[], ["--slots", "1", "--to-posix-ms", "5"], ["--slots", "-3"]])
def test_advance_needs_exactly_one_forward_move(capsys, data_dir, args):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    code, _, err = run(capsys, "devnet", "advance", *args, "--data-dir", str(data_dir))
    assert code == 2 and "hint" in err
    assert load_ledger(data_dir).current_slot == 0


def test_fund_pays_the_address_from_the_faucet(capsys, data_dir):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    bob = load_ledger(data_dir).wallet("bob").address
    code, funded, _ = run(capsys, "devnet", "fund", str(bob), "--lovelace", "12345678", "--data-dir", str(data_dir))
    assert code == 0
    tx_id, index = funded["output"].split("#")
    ledger = load_ledger(data_dir)
    [(ref, output)] = [(r, o) for r, o in ledger.utxos_at(bob) if r.transaction_id.payload.hex() == tx_id]
    assert int(ref.index) == int(index) and output.amount.coin == 12_345_678


@pytest.mark.parametrize("address,lovelace", [("addr_test1nonsense", "5"), ("", "5")])
def test_fund_refuses_a_bad_address(capsys, data_dir, address, lovelace):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    code, _, err = run(capsys, "devnet", "fund", address, "--lovelace", lovelace, "--data-dir", str(data_dir))
    assert code == 2 and "ADDRESS" in err


def test_rollback_drops_the_newest_block(capsys, data_dir):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    bob = str(load_ledger(data_dir).wallet("bob").address)
    run(capsys, "devnet", "fund", bob, "--lovelace", "5000000", "--data-dir", str(data_dir))
    assert load_ledger(data_dir).tip.height == 1
    code, rolled, _ = run(capsys, "devnet", "rollback", "1", "--no-to-mempool", "--data-dir", str(data_dir))
    assert code == 0 and rolled["returned_to_mempool"] == []
    assert load_ledger(data_dir).tip.height == 0


def test_rollback_past_genesis_is_refused_with_the_ledgers_reason(capsys, data_dir):
    run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
    code, _, err = run(capsys, "devnet", "rollback", "3", "--data-dir", str(data_dir))
    assert code == 2 and "cannot roll back 3 blocks" in err
    assert load_ledger(data_dir).tip.height == 0


def test_up_refuses_a_non_loopback_host_without_consent(capsys, data_dir):
    code, _, err = run(capsys, "devnet", "up", "--host", "0.0.0.0", "--data-dir", str(data_dir))
    assert code == 2 and "--allow-remote" in err


def _ask(url: str, method: str) -> Any:
    with connect(url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}))
        return json.loads(ws.recv())["result"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_json_document(stream: Any) -> dict[str, Any]:
    lines = []
    for line in stream:
        lines.append(line)
        if line.rstrip() == "}":
            return json.loads("".join(lines))
    raise AssertionError("`devnet up` exited before announcing its endpoints: " + "".join(lines))


def test_up_serves_ogmios_and_kupo_persists_and_locks_its_directory(capsys, data_dir):
    ogmios_port, kupo_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "runner", "devnet", "up", "--data-dir", str(data_dir),
               "--ogmios-port", str(ogmios_port), "--kupo-port", str(kupo_port), "--seed", "up-test"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
        try:
            announced = _read_json_document(process.stdout)
            assert announced["ogmios"] == f"ws://127.0.0.1:{ogmios_port}"
            assert announced["seed"] == "up-test"
            assert httpx.get(f"http://127.0.0.1:{ogmios_port}/health").json()["connectionStatus"] == "connected"
            assert httpx.get(f"http://127.0.0.1:{kupo_port}/health").status_code == 200
            with connect(announced["ogmios"]) as ws:
                ws.send(json.dumps({"jsonrpc": "2.0", "method": "queryLedgerState/epoch", "id": 1}))
                assert json.loads(ws.recv())["result"] == 1
            code, moved, err = run(capsys, "devnet", "advance", "--slots", "5", "--data-dir", str(data_dir))
            assert code == 0, err
            assert moved["slot"] == announced["slot"] + 5  # the served ledger moved
            ws_status = _ask(announced["ogmios"], "devnet/status")
            assert ws_status["slot"] == moved["slot"]
            code, _, err = run(capsys, "devnet", "reset", "--data-dir", str(data_dir))
            assert code == 5 and "in use" in err
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert load_ledger(data_dir).genesis.seed == "up-test"
    assert load_ledger(data_dir).current_slot == announced["slot"] + 5  # persisted by the server
    assert not (data_dir / "devnet.lock").exists()


def test_demo_rehearses_a_schedule_in_process_with_the_given_seed(capsys):
    code, out, err = run(capsys, "devnet", "demo", "--seed", "demo-test")
    assert code == 0, err
    assert "(seed 'demo-test')" in out
    assert "[11/11] balances checked" in out
    assert "refused by the ledger" in out


def test_up_on_a_busy_port_says_which_flag_to_change(capsys, data_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "devnet", "up", "--ogmios-port", str(port), "--kupo-port", "0",
                           "--data-dir", str(data_dir))
    assert code == 2 and "--ogmios-port" in err and str(port) in err
    assert not (data_dir / "devnet.lock").exists()


@pytest.mark.parametrize("args", [["advance", "--slots", "5"], ["tick"], ["rollback", "1"]])
def test_commands_on_a_missing_devnet_refuse_instead_of_creating_one(capsys, tmp_path, args):
    empty = tmp_path / "nothing-here"
    code, _, err = run(capsys, "devnet", *args, "--data-dir", str(empty))
    assert code == 5, err
    assert "no devnet in" in err
    assert not empty.exists() or not any(empty.iterdir())
