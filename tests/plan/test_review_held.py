"""Review probes that held up on main: kept so a regression fails.

- YAML 1.1 traps, tags and merge keys in a plan are refused, each with its code;
- `validate` (check_plan) on the shipped plans opens no socket and writes no file;
- a bad signing-key file is named, never quoted (KeyRing.load);
- --var values and allocation data are inserted as data, never rendered."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from runner.engine.context import KeyRing
from runner.errors import UserInputError
from runner.plan import Inputs, check_plan
from runner.plan.yaml_source import load_yaml
from runner.testing.plans import write

ROOT = Path(__file__).resolve().parents[2]
SECRET = "7e57" * 16


@pytest.mark.parametrize("text, code", [
    ("a: yes", "yaml-trap"), ("a: on", "yaml-trap"), ("a: NO", "yaml-trap"), ("a: 012", "yaml-trap"),
    ("a: 0x1F", "yaml-trap"), ("a: 1_000", "yaml-trap"), ("a: 1:20", "yaml-trap"), ("a: 1e3", "yaml-trap"),
    ("a: .inf", "yaml-trap"), ("a: !!python/object:os.system x", "yaml-tag"), ("a: !!binary aGk=", "yaml-tag"),
    ("b: &x {c: 1}\na: {<<: *x}", "yaml-merge-key"), ("a: 1\na: 2", None),
])
def test_yaml_11_traps_are_refused(text: str, code: str | None):
    found = load_yaml(text.encode(), "probe.yaml").problems
    assert found, text
    if code is not None:
        assert code in [p.code for p in found], (text, found)


def test_a_billion_laughs_plan_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    assert load_yaml("\n".join(lines).encode(), "laughs.yaml").problems


@pytest.mark.parametrize("name", ["rehearsal.yaml", "preprod.yaml", "preview.yaml"])
def test_validate_opens_no_socket_and_writes_no_file(name: str, tmp_path: Path, monkeypatch):
    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", folder)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    def refuse(*args, **kwargs):
        raise AssertionError(f"validate touched the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.chdir(tmp_path)
    check_plan(folder / name, Inputs(check_key_files=False))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("content", [
    json.dumps({"type": "PaymentSigningKeyShelley_ed25519", "cborHex": "5821" + SECRET + "00"}),
    json.dumps({"type": "Nonsense", "cborHex": "5820" + SECRET}),
    SECRET,
])
def test_a_bad_signing_key_file_is_named_never_quoted(content: str, tmp_path: Path):
    path = tmp_path / "owner.skey"
    path.write_text(content)
    with pytest.raises(UserInputError) as caught:
        KeyRing().load(path, "--owner-key")
    text = str(caught.value) + json.dumps(caught.value.to_dict()) + repr(caught.value.__cause__) \
        + repr(caught.value.__context__)
    assert "owner.skey" in text and SECRET not in text and SECRET[:16] not in text


def test_a_var_that_looks_like_a_template_stays_data(tmp_path: Path):
    path = write(tmp_path, name='"{{ token }}"')
    plan, found = check_plan(path, Inputs(variables={"token": "{{ 7 * 7 }}"}))
    assert plan is None or plan.schedule.token.name == "{{ 7 * 7 }}"
    assert not any("49" in p.message for p in found)


@pytest.mark.parametrize("expr", [
    '"{{ self }}"',
    '"{{ \'{0.__class__}\'.format(1) }}"',
    '"{{ \'{a.__class__}\'.format_map({\'a\': 1}) }}"',
    '"{{ (\'a\' | attr(\'__class__\')) }}"',
    '"{{ ().__class__.__base__.__subclasses__() }}"',
    '"{{ cycler.__init__.__globals__ }}"',
])
def test_sandbox_escapes_are_problems(expr: str, tmp_path: Path):
    plan, found = check_plan(write(tmp_path, amount=expr), Inputs())
    assert plan is None and found, expr
