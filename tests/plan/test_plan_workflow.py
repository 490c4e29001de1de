"""The GitHub workflow example runs the commands tests/plan/test_plan_apply.py runs on the devnet,
and reads as intended (its `on:` key stays a key: the plan loader never turns it into true)."""

from __future__ import annotations

from pathlib import Path

from runner.plan.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "plans.yml"


def commands(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflow_loads_without_yaml_traps():
    doc = load_yaml(WORKFLOW.read_bytes(), str(WORKFLOW))
    assert doc.problems == []
    assert set(doc.data) >= {"on", "jobs", "permissions"} and set(doc.data["on"]) == {"pull_request", "push"}


def test_pull_requests_validate_and_plan_with_the_plan_as_job_summary():
    job = load_yaml(WORKFLOW.read_bytes(), "w").data["jobs"]["plan"]
    text = commands(job)
    assert "milestones validate plans/*.yaml --no-key-files" in text
    assert "milestones plan" in text and "--detailed-exitcode" in text and "--out plan.out.json" in text
    assert "--report plan.md" in text and 'cat plan.md >> "$GITHUB_STEP_SUMMARY"' in text
    assert "[ $code -eq 0 ] || [ $code -eq 2 ]" in text  # 2 = changes pending is not a failure


def test_merges_apply_and_keep_the_journal_and_the_report():
    job = load_yaml(WORKFLOW.read_bytes(), "w").data["jobs"]["apply"]
    text = commands(job)
    assert "milestones --output json apply" in text and "--report report.md" in text
    artifact = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "report.md" in artifact["with"]["path"] and "/journal" in artifact["with"]["path"]


def test_keys_come_from_secrets_and_are_never_echoed():
    script = (ROOT / ".github" / "write-keys.sh").read_text()
    assert "umask 077" in script and "echo \"$value\"" not in script
