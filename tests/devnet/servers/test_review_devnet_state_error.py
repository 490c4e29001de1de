"""Review: a devnet save that fails (StateError: disk full, permissions) is answered as a
clean JSON-RPC error carrying the message and hint, never a traceback in the server's terminal."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

from runner.devnet.servers.ogmios.methods import Session
from runner.devnet.servers.ogmios.server import try_answer
from runner.errors import StateError


def failing_save(_: Any) -> Any:
    raise StateError("could not save the devnet to /d: No space left on device; the change was not made",
                     location="/d/journal", hint="free disk space or fix the directory's permissions")


def test_a_failed_durable_save_is_a_clean_rpc_error_without_a_traceback(caplog):
    guard = SimpleNamespace(write=failing_save, read=failing_save)
    request = {"jsonrpc": "2.0", "method": "submitTransaction", "id": 7,
               "params": {"transaction": {"cbor": "84a0a0f5f6"}}}
    with caplog.at_level(logging.DEBUG):
        reply = json.loads(try_answer(guard, Session(), json.dumps(request)) or "null")
    error = reply["error"]
    assert reply["id"] == 7 and "result" not in reply and error["code"] == -32603
    assert "No space left on device" in error["message"] and "Traceback" not in error["message"]
    assert error["data"]["hint"].startswith("free disk space")
    assert caplog.records and all(r.exc_info is None for r in caplog.records)
    assert "No space left on device" in caplog.text
