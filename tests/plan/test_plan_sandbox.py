"""The template sandbox's allowlist and budgets (runner/plan/sandbox.py): every construct that
would build gigabytes or loop for hours (tests/plan_corpus/corpus.py HUGE) is a template error
at its line, with a hint, and ``validate`` refuses them all in one run inside a memory and CPU
limit; what plans do use keeps working; the character budget is the whole document's."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from runner.plan import check_plan
from runner.plan.sandbox import FILTERS, MAX_DOCUMENT, METHODS, TESTS
from runner.testing.plans import write

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "plan_corpus"))
import corpus

NAME_LINE = 11  # the token name's line in tests/plan/test_plan_render.py's plan


def quoted(template: str) -> str:
    return '"' + template.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("template", corpus.HUGE, ids=[t[:60] for t in corpus.HUGE])
def test_each_huge_construct_is_a_template_error_at_its_line(template: str, tmp_path: Path):
    plan, found = check_plan(write(tmp_path, name=quoted(template)), None)
    assert plan is None
    assert [(p.code, p.line, p.path) for p in found] == [("template-error", NAME_LINE, "$.schedule.token.name")], found
    [problem] = found
    assert any(word in problem.message for word in ("not available in plans", "limit", "more than", "too deeply")), \
        problem.message
    assert problem.hint and problem.file.endswith("plan.yaml") and problem.column >= 1


def _limits() -> None:  # in the child: 512 MiB of address space, 120 s of CPU
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))


def test_validate_refuses_every_huge_construct_within_a_memory_and_cpu_limit(tmp_path: Path):
    plans = []
    for i, template in enumerate(corpus.HUGE):
        folder = tmp_path / f"{i:02d}"
        folder.mkdir()
        plans.append(str(write(folder, name=quoted(template))))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "runner", "--data-dir", str(tmp_path / "data"), "validate", *plans],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
                          preexec_fn=_limits)
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])  # killed by a limit: negative
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    for plan in plans:
        assert f"{plan}:{NAME_LINE}:" in done.stderr, plan
    assert done.stderr.count("[template-error]") == len(plans)


@pytest.mark.parametrize("template, value", [
    ("{{ ['a', 'b', 'c'] | join('-') }}", "a-b-c"),
    ("{{ 'grant-2027'.replace('-', '_').upper() }}", "GRANT_2027"),
    ("{{ 'G' ~ 7 ~ 'x'.ljust(3, '.') }}", "G7x.."),
    ("{% for i in range(3) %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}", "0,1,2"),
    ("{{ {'a': 'x'}.get('a') ~ (range(4) | list | length) ~ (' t ' | trim) }}", "x4t"),
    ("{{ 'ab' * 3 }}{{ '-'.join(['p', 'q']) }}", "abababp-q"),
    ("{% set n = 2 %}{{ 'y' if n is even else 'n' }}{{ [3, 1, 2] | sort | first }}", "y1"),
    ("{% for i in [1, 2] %}{{ 'ab'.replace('a', 'c') }}{% endfor %}", "cbcb"),  # Jinja passes loop variables
    ("{{ [[1], [2]] | sum(start=[]) | length }}{{ [1, 2] | sum }}", "23"),
])
def test_what_plans_use_keeps_working(template: str, value: str, tmp_path: Path):
    plan, found = check_plan(write(tmp_path, name=quoted(template)), None)
    assert found == [] and plan is not None and plan.schedule.token.name == value


def test_the_character_budget_counts_the_whole_document_while_rendering(tmp_path: Path):
    each = MAX_DOCUMENT * 9 // 40  # 4 fields fit, a 5th does not
    loop = f"{{% for i in range({each // 1000}) %}}{{{{ 'b' * 1000 }}}}{{% endfor %}}"
    fields = {"name": quoted(loop + "N"), "amount": quoted(loop + "A"), "expiry": quoted(loop + "E"),
              "vesting": quoted(loop + "V")}
    _, found = check_plan(write(tmp_path, **fields), None)
    assert not [p for p in found if p.code == "template-error"], found  # each too long for its field, no more
    _, found = check_plan(write(tmp_path, advance=quoted(loop + "T"), **fields), None)
    budget = [p for p in found if p.code == "template-error"]
    assert len(budget) == 1 and "characters in all" in budget[0].message, found


def test_the_allowlist_is_documented():
    docs = (ROOT / "docs" / "plans.md").read_text()
    section = docs[docs.index("## Templates"):docs.index("## YAML without surprises")]
    names = set(FILTERS) | {t for t in TESTS if t.isidentifier()} | {m for ms in METHODS.values() for m in ms}
    missing = sorted(n for n in names if f"`{n}`" not in section)
    assert missing == [], missing


@pytest.mark.parametrize("template, says", [
    ("{{ 'x'.encode }}", "'str.encode' is not available in plans"),
    ("{{ 'a{}'.format(1) }}", "'str.format' is not available in plans"),
    ("{{ ().__class__ }}", "'__class__' is not available in plans"),
    ("{{ 'x'.upper }}", "is a function (upper), not a value"),
    ("{{ 'x' | attr('upper') }}", "the filter 'attr' is not available in plans"),
    ("{{ 3 is callable }}", "the test 'callable' is not available in plans"),
    ("{% with a = 1 %}{{ a }}{% endwith %}", "the statement 'with' is not available in plans"),
])
def test_a_refused_name_says_what_is_not_available(template: str, says: str, tmp_path: Path):
    plan, found = check_plan(write(tmp_path, name=quoted(template)), None)
    assert plan is None and [p.code for p in found] == ["template-error"], found
    assert says in found[0].message and found[0].line == NAME_LINE, found[0].message
