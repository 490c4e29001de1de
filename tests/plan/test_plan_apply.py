"""plans/rehearsal.yaml applied end to end on the embedded devnet, the way CI runs it
(.github/workflows/plans.yml): each job gets a FRESH data directory and only the chain
(the devnet's own folder, standing in for the network) carries over between jobs.

One module-scoped sequence, then one behaviour per test:
  PR job      validate; plan --detailed-exitcode --out --report       (exit 2, nothing applied)
  merge job   apply SAVED --output json --report                      (applies exactly that)
  re-run      apply SAVED                                             (stale: refused, exit 5)
  next merge  apply PLAN --output json (fresh data dir)               (no changes, no transaction)
  later PR    plan --detailed-exitcode (fresh data dir); status       (exit 0: the chain has it all)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "rehearsal.yaml"


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def job(tmp: Path, name: str, chain_from: Path | None) -> Path:
    """A fresh data directory for a CI job; the chain (devnet folder) copied from the last job."""
    data = tmp / name
    data.mkdir()
    if chain_from is not None:
        shutil.copytree(chain_from / "devnet", data / "devnet")
    return data


def run(data: Path, *args: str, output: str = "text") -> Ran:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OGMIOS_URL", None)
    env.pop("KUPO_URL", None)
    done = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(data), "--output", output, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ci")
    seen: dict[str, Any] = {"tmp": tmp}
    pr = job(tmp, "pr", None)
    seen["validate"] = run(pr, "validate", str(PLAN))
    seen["plan"] = run(pr, "plan", str(PLAN), "--detailed-exitcode", "--out", str(tmp / "saved.json"),
                       "--report", str(tmp / "plan.md"))
    merge = pr  # the saved plan is anchored to this chain: apply it where it was made
    seen["apply"] = run(merge, "apply", str(tmp / "saved.json"), "--report", str(tmp / "report.md"), output="json")
    seen["stale"] = run(merge, "apply", str(tmp / "saved.json"))
    again = job(tmp, "again", merge)
    seen["again"] = run(again, "apply", str(PLAN), output="json")
    later = job(tmp, "later", again)
    seen["later"] = run(later, "plan", str(PLAN), "--detailed-exitcode")
    seen["status"] = run(job(tmp, "status", again), "status", str(PLAN), output="json")
    return seen


def test_the_pull_request_job_validates_and_plans_changes_without_applying(ci: dict[str, Any]):
    assert ci["validate"].code == 0, ci["validate"].stderr
    plan = ci["plan"]
    assert plan.code == 2, plan.stderr  # --detailed-exitcode: changes pending
    assert "known after apply" in plan.stderr or "?" in plan.stderr
    summary = (ci["tmp"] / "plan.md").read_text()
    assert summary.startswith("# rehearsal: plan") and "| `deploy` | deploy |" in summary
    saved = json.loads((ci["tmp"] / "saved.json").read_text())
    assert saved["format"] == "milestones.saved-plan" and saved["steps"][0]["id"] == "init"
    assert "skey" not in json.dumps(saved) and "signing" not in json.dumps(saved)


def test_apply_runs_the_whole_life_cycle_and_every_check_holds(ci: dict[str, Any]):
    applied = ci["apply"]
    assert applied.code == 0, applied.stderr[-3000:]
    events = applied.events()
    assert events[0]["event"] == "PlanFormat" and events[0]["version"] == 1
    assert all("v" in e for e in events)
    steps = {e["step"]: e for e in events if e["event"] == "PlanStep"}
    assert [s["status"] for s in steps.values()].count("changed") >= 10
    assert {steps[c]["status"] for c in ("certified", "released", "final")} == {"noop"}  # checks passed
    assert steps["release-all"]["outputs"]["released"] == 40
    finished = events[-1]
    assert finished["event"] == "PlanFinished" and finished["transactions"] >= 6


def test_the_report_says_who_got_what_in_which_transaction(ci: dict[str, Any]):
    report = (ci["tmp"] / "report.md").read_text()
    assert "## Distribution" in report and "## Transactions" in report
    assert "| ben01 | m1 | 1010 | already released |" in report
    assert "| ben05 | m3 | 5050 | reclaimed |" in report
    assert "Released: 40 allocation(s)" in report


def test_a_saved_plan_is_refused_once_the_chain_moved_on(ci: dict[str, Any]):
    stale = ci["stale"]
    assert stale.code == 5, stale.stderr
    assert "stale" in stale.stderr and "Traceback" not in stale.stderr


def test_a_second_apply_from_an_empty_data_directory_submits_nothing(ci: dict[str, Any]):
    again = ci["again"]
    assert again.code == 0, again.stderr[-3000:]
    events = again.events()
    assert not [e for e in events if e["event"] in ("Submitted", "Journaled", "Planned")]
    assert {e["status"] for e in events if e["event"] == "PlanStep"} == {"noop"}
    assert events[-1]["changes"] == 0 and events[-1]["transactions"] == 0


def test_plan_from_an_empty_data_directory_after_a_finished_apply_exits_0(ci: dict[str, Any]):
    later = ci["later"]
    assert later.code == 0, later.stderr[-3000:]
    assert "no changes" in later.stdout


def test_status_reports_every_step_done_with_its_reason(ci: dict[str, Any]):
    status = ci["status"]
    assert status.code == 0, status.stderr[-2000:]
    steps = [e for e in status.events() if e["event"] == "PlanStep"]
    assert len(steps) == 16 and {s["status"] for s in steps} == {"noop"}
    assert any("certified on chain" in s["reason"] for s in steps)
    # from the chain alone (empty data directory): deploy, register, 2 certify, release, reclaim; each in a block
    found = [c for s in steps for c in s["confirmations"]]
    assert len(found) == 6 and {c["found_by"] for c in found} == {"chain"}
    assert all(c["state"] == "on chain" and c["depth"] >= 1 for c in found), found


def test_no_signing_key_appears_in_any_output_report_saved_plan_or_data_file(ci: dict[str, Any]):
    from runner.commands.plans_keys import TEST_KEY_PREFIX
    from runner.devnet.ledger.genesis import derive_wallet
    from runner.engine.backends import DEVNET_SEED

    secrets = []
    for label in ["owner", "payer", *(f"{TEST_KEY_PREFIX}oracle {i}" for i in (1, 2, 3))]:
        key = derive_wallet(DEVNET_SEED, label).signing_key
        secrets += [bytes(key.payload).hex(), key.to_cbor_hex()[4:]]
    texts = [r.stdout + r.stderr for r in ci.values() if isinstance(r, Ran)]
    for path in ci["tmp"].rglob("*"):
        if path.is_file() and "devnet" not in path.parts:
            texts.append(path.read_bytes().hex() + path.read_text(errors="replace"))
    assert len(texts) > 10
    for secret in secrets:
        assert not any(secret in text for text in texts)
