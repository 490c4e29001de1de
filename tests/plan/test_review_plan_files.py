"""Review: files a plan names (``schedule.allocations_file``) are read by `validate`
(run on every pull request by the GitOps workflow) wherever they are and however big.

runner/plan/loader.py:162 joins ``base_dir / relative`` (an absolute path or ``..``
escapes the plan's folder) and :52-54 ``read_bytes`` reads the whole file before the
16 MiB limit of load_yaml applies (/dev/zero, a FIFO: unbounded).  A type error then
echoes the start of the file's content into the problem message (CI logs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.plan import check_plan

HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
SECRET = "5eC12e7" + "ab" * 28 + "c0ffee1"


def plan_with(tmp_path: Path, allocations_file: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        network: devnet
        keys:
          owner: {{devnet_test_key: owner}}
          o1: {{devnet_test_key: "oracle 1"}}
        schedule:
          token: {{policy_id: {HEX}, name: GRANT}}
          owner: owner
          oracles: [o1]
          quorum: 1
          expiry: 86400000
          allocations_file: {allocations_file}
        steps:
          - id: init
            init: {{}}
        """))
    return path


def messages(path: Path) -> str:
    _, found = check_plan(path, None)
    return "\n".join(f"{p.code} {p.message} {p.hint}" for p in found)


def test_a_missing_allocations_file_is_reported(tmp_path: Path):
    assert "missing-file" in messages(plan_with(tmp_path, "nope.json"))


def test_an_oversized_allocations_file_is_refused(tmp_path: Path):
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    assert messages(plan_with(tmp_path, "big.json"))


def test_a_plan_cannot_make_validate_print_a_file_outside_its_folder(tmp_path: Path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "key.hex").write_text(SECRET + "\n")
    plans_dir = tmp_path / "repo"
    plans_dir.mkdir()
    text = messages(plan_with(plans_dir, "../secrets/key.hex"))
    assert SECRET[:12] not in text, text


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_allocations_file_is_refused_quickly(tmp_path: Path):
    plan = plan_with(tmp_path, "/dev/zero")
    code = textwrap.dedent(f"""\
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_200_000_000, 1_200_000_000))
        from runner.plan import check_plan
        _, found = check_plan({str(plan)!r}, None)
        print("PROBLEMS", len(found))
        """)
    try:
        ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    except subprocess.TimeoutExpired:
        pytest.fail("validate did not finish within 60 s on allocations_file: /dev/zero")
    assert ran.returncode == 0 and "PROBLEMS" in ran.stdout, ran.stderr[-500:]
