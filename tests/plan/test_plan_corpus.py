"""Every broken plan of the corpus (tests/plan_corpus/corpus.py, >= 300 cases) is refused with its
expected problem code at its expected line, without an exception; through the CLI all of them
exit 2 in one run, without a traceback, writing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.plan import Inputs, check_plan

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "plan_corpus"))
import corpus

CASES = corpus.cases()


def test_the_corpus_is_large_and_the_base_plan_is_valid(tmp_path: Path):
    assert len(CASES) >= 300
    plan = tmp_path / "plan.yaml"
    plan.write_text(corpus.BASE)
    assert check_plan(plan) [1] == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_broken_plan_gives_its_problem_at_its_line(case: corpus.Case, tmp_path: Path):
    plan = corpus.write(case, tmp_path)
    result, problems = check_plan(plan, Inputs(environ=case.environ))
    assert result is None
    found = [(p.code, p.line) for p in problems]
    assert case.code in [code for code, _ in found], found
    if case.line is not None:
        assert (case.code, case.line) in found, found
    assert all(p.file and p.line >= 1 and p.column >= 1 and p.path.startswith("$") and p.message for p in problems)


def test_the_cli_refuses_the_whole_corpus_in_one_run_without_traceback_or_writes(tmp_path: Path):
    corpus.main(tmp_path / "corpus")
    plans = sorted(str(p) for p in (tmp_path / "corpus").glob("*/plan.yaml"))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OGMIOS_URL": "ws://127.0.0.1:9", "KUPO_URL": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(tmp_path / "data"), "validate", *plans],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    for folder in {Path(p).parent.name for p in plans}:
        assert f"/corpus/{folder}/" in done.stderr, folder


def test_the_fast_allocation_path_reports_exactly_what_jsonschema_reports(tmp_path: Path, monkeypatch):
    """The schema check skips allocations that plainly match; on every corpus case both ways agree."""
    from runner.plan import schema_check

    cases = [c for c in CASES if len(c.text) < 1_000_000]
    fast = []
    for i, case in enumerate(cases):
        fast.append(check_plan(corpus.write(case, tmp_path / str(i)), Inputs(environ=case.environ))[1])
    monkeypatch.setattr(schema_check, "_drop_plain_allocations", lambda data: (data, None))
    for i, case in enumerate(cases):
        assert check_plan(tmp_path / str(i) / "plan.yaml", Inputs(environ=case.environ))[1] == fast[i], case.name
