"""The broken-plan corpus: a table of ways to break tests/plan_corpus/base.yaml, one per case.

Each :class:`Case` is the base plan with one edit (a YAML trap in a field, a wrong type,
an unknown key, a missing key, a template mistake, a bad reference, a missing file, a
huge or deeply nested file, bad UTF-8, a duplicate key, a cross-field mistake, a syntax
error) plus the problem it must produce: its code and, where the edit pins it, its line.
``python tests/plan_corpus/corpus.py OUT`` writes every case to OUT/<name>/plan.yaml (with
its extra files) and OUT/expected.json; tests/plan/test_plan_corpus.py checks every case.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

BASE = (Path(__file__).resolve().parent / "base.yaml").read_text()
LINES = BASE.splitlines()


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    code: str
    line: int | None  # None: the problem's line is not pinned by the edit
    files: dict[str, str | bytes] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)


def line_of(anchor: str, nth: int = 0) -> int:
    """1-based number of the nth line that equals ``anchor`` exactly."""
    found = [i for i, line in enumerate(LINES) if line == anchor]
    return found[nth] + 1


def replace(anchor: str, new: str, nth: int = 0) -> tuple[str, int]:
    number = line_of(anchor, nth)
    lines = list(LINES)
    lines[number - 1] = new
    return "\n".join(lines) + "\n", number


def set_value(anchor: str, value: str, nth: int = 0) -> tuple[str, int]:
    head = anchor.split(": ", 1)[0] if ": " in anchor else anchor.split("- ", 1)[0] + "-"
    sep = ": " if ": " in anchor else " "
    return replace(anchor, f"{head}{sep}{value}", nth)


def insert_after(anchor: str, new: str, nth: int = 0) -> tuple[str, int]:
    number = line_of(anchor, nth)
    lines = list(LINES)
    lines.insert(number, new)
    return "\n".join(lines) + "\n", number + 1


def delete(anchor: str, nth: int = 0) -> str:
    number = line_of(anchor, nth)
    return "\n".join(LINES[:number - 1] + LINES[number:]) + "\n"


TRAPS = ["0x1F", "no", "yes", "on", "off", "0755", "1e6", "1:30", "1_000", "0b11", ".inf", "True", "NULL",
         "0o17", "12e3"]
TRAP_FIELDS = ["version: 1", "  quorum: 2", "  expiry: 86400000", "      amount: 100", "      lovelace: 100000000",
               "      tokens: 300", "          released: 1", "      vesting: 3600000"]

BAD_INTEGERS = {'"100"': "wrong-type", "1.5": "wrong-type", "[1]": "wrong-type", "{a: 1}": "wrong-type",
                "true": "wrong-type", "-5": "schema-minimum", "0": "schema-minimum", "~": "wrong-type"}
INTEGER_FIELDS = {"  quorum: 2": {"65": "schema-maximum"}, "      amount: 100": {"9223372036854775808": "schema-maximum"},
                  "      lovelace: 100000000": {}, "      tokens: 300": {}}
NONNEGATIVE_FIELDS = ["          released: 1", "            tokens: 100"]
TIME_FIELDS = ["  expiry: 86400000", "      vesting: 3600000"]
BAD_TIMES = {'"soon"': "schema-pattern", '"2027-01-01"': "schema-pattern", "1.5": "wrong-type", "-1": "schema-minimum",
             "[1]": "wrong-type", "true": "wrong-type", "{a: 1}": "wrong-type"}
BAD_NAMES = {"[a]": "wrong-type", "{a: 1}": "wrong-type", "12": "wrong-type", "true": "wrong-type",
             '"bad name!"': "schema-pattern"}
NAME_FIELDS = [("  owner: owner", 0), ("      payer: payer", 0), ("      payer: payer", 1), ("      payer: payer", 2),
               ("    - o1", 0), ("    - beneficiary: ben1", 0), ("      to: owner", 0), ("          - holder: ben1", 0)]
BAD_MILESTONES = {'"m 1"': "schema-pattern", "12": "wrong-type", '""': "schema-pattern", "[m1]": "wrong-type",
                  '"' + "m" * 33 + '"': "schema-pattern"}
MILESTONE_FIELDS = [("      milestone: m1", 0), ("      milestone: m1", 1), ("      milestone: m2", 0),
                    ("      milestone: m1", 2)]
OTHER_VALUES = [("version: 1", "2", "schema-const"), ("version: 1", '"1"', "schema-const"),
                ("network: devnet", "moon", "schema-enum"), ("network: devnet", "12", "schema-enum"),
                ("network: devnet", "[devnet]", "schema-enum"), ("    policy_id: devnet-faucet", "xyz", "schema-pattern"),
                ("    policy_id: devnet-faucet", "12", "schema-anyof"), ("  - id: init", "Init", "schema-pattern"),
                ("  - id: init", "12", "wrong-type"), ("  - id: init", '""', "schema-pattern"),
                ("      out: sig/m1.json", '""', "schema-minlength"), ("      out: sig/m1.json", "12", "wrong-type"),
                ("      all: true", "false", "schema-const"), ("      all: true", "1", "schema-const"),
                ("name: corpus", '""', "schema-minlength"), ("name: corpus", "[a]", "wrong-type"),
                ("      oracles: [o1, o2]", "[]", "schema-minitems"), ("      oracles: [o1, o2]", "[o1, o1]", "schema-uniqueitems"),
                ("      oracles: [o1, o2]", "o1", "wrong-type"), ("    init: {}", "[]", "wrong-type"),
                ("    init: {}", "{x: 1}", "unknown-key"), ("    register: {}", "{funding: [a]}", "wrong-type"),
                ("environment: [CORPUS_ENV]", "[1]", "wrong-type"), ("environment: [CORPUS_ENV]", "[A, A]", "schema-uniqueitems"),
                ("environment: [CORPUS_ENV]", '["BAD-NAME"]', "schema-pattern"), ("    devnet_wallet: owner", '""', "schema-minlength")]

UNKNOWN_KEY_AFTER = [("version: 1", ""), ("    policy_id: devnet-faucet", "    "), ("    devnet_wallet: owner", "    "),
                     ("  quorum: 2", "  "), ("      amount: 100", "      "), ("  - id: init", "    "),
                     ("      lovelace: 100000000", "      "), ("      payer: payer", "      "), ("      out: sig/m1.json", "      "),
                     ("      to: \"{{ t0 + hours(3) }}\"", "      "), ("      all: true", "      "),
                     ("          released: 1", "          "), ("            tokens: 100", "            "),
                     ("      milestone: m2", "      "), ("      expect:", "        ")]

REQUIRED_LINES = [("version: 1", 0), ("network: devnet", 0), ("  owner: owner", 0), ("  quorum: 2", 0),
                  ("  expiry: 86400000", 0), ("    policy_id: devnet-faucet", 0), ('    name: "{{ token_name }}"', 0),
                  ("      amount: 100", 0), ("      vesting: 3600000", 0), ("      to: owner", 0),
                  ("      lovelace: 100000000", 0), ("      payer: payer", 0, "wrong-type"), ("      out: sig/m1.json", 0),
                  ("            tokens: 100", 0), ("      oracles: [o1, o2]", 0)]

#: templates that would build gigabytes or loop for hours without the sandbox's allowlist and budgets
#: (runner/plan/sandbox.py); tests/plan/test_plan_sandbox.py runs them under a memory and CPU limit
HUGE = [
    # lists sharing their items: 8**12 items to count without the size walk's limit
    "{% set a = ['x'] %}" + "{% set a = [a,a,a,a,a,a,a,a] %}" * 12 + "{{ a }}",
    # sum(start=[]) concatenates lists: 10x per level, gigabytes by the sixth
    "{% set l = ['xxxxxxxxxx'] * 10 %}" + "{% set l = [l,l,l,l,l,l,l,l,l,l]|sum(start=[]) %}" * 6 + "{{ l|length }}",
    "{{ range(10000) | join('b' * 100000) }}",
    "{% set s = 'b' * 100000 %}{{ ([s] * 100000) | join(s) }}",
    "{{ ('b' * 100000).join(range(10000)) }}",
    "{{ ('b' * 100000).replace('', 'c' * 100000) }}",
    "{{ ('b' * 100000) | replace('', 'c' * 100000) }}",
    "{{ range(10000) | list | tojson(indent=10**6) }}",
    "{{ ('b ' * 50000) | wordwrap(1) }}",
    "{{ ('b' * 100000) | truncate(10**9) }}",
    "{{ 'b' | center(10**9) }}",
    "{{ range(10**7) | list }}",
    "{% for i in range(10**9) %}{% endfor %}",
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}"
     "{% endfor %}"),
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ 'b' * 100000 }}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{{ ('b' * 100000) ~ i }}{% endfor %}",
    "{{ ('b' * 100000) ~ ('b' * 100000) }}",
    "{{ ('b' * 100000) + ('b' * 100000) }}",
    "{% set s = 'b' * 100000 %}{{ [s, s] }}",
    "{% set s = 'b' * 100000 %}{{ [s, s] | string }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ (9 ** 512) * (9 ** 512) * (9 ** 512) }}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}",
    "{% set x %}{{ 'b' * 100000 }}{% endset %}{{ x }}",
    "{{ 'b'.encode() }}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "{{ " + "[" * 5000 + "]" * 5000 + " }}",
    "{{ 1" + " + 1" * 190 + " }}",
    "{{ 1" + " + 1" * 20000 + " }}",
    "x" + "{% if true %}" * 3000 + "{% endif %}" * 3000,
]

TEMPLATES = {'"{{ nope }}"': "unknown-variable", '"{{ token_name + }}"': "template-syntax", '"{{ 1 // 0 }}"': "template-error",
             "\"{{ ''.__class__.__mro__ }}\"": "template-error", '"{{ env.HOME }}"': "unknown-environment",
             '"{{ env.CORPUS_ENV }}"': "unknown-environment", '"{{ steps.init.outputs.nope }}"': "unknown-output",
             '"{{ steps.ghost.outputs.x }}"': "unknown-step", '"{% for x in %}"': "template-syntax",
             '"{{ range(10**9) | list }}"': "template-error", '"{{ 2 ** 100000 }}"': "template-error",
             '"{{ \'ab\' * 1000000000 }}"': "template-error", '"{{ steps.init.result }}"': "unknown-output",
             '"{{ t0 | nosuchfilter }}"': "template-syntax", **{f'"{text}"': "template-error" for text in HUGE}}
TEMPLATE_FIELDS = ['    name: "{{ token_name }}"', "      amount: 100", "  expiry: 86400000", '      vesting: "{{ t0 + hours(2) }}"',
                   "      lovelace: 100000000"]

SEMANTIC = [
    ("quorum above oracles", "  quorum: 2", "  quorum: 3", "quorum-too-large"),
    ("unknown owner", "  owner: owner", "  owner: nobody", "unknown-key-name"),
    ("unknown oracle", "    - o1", "    - nobody", "unknown-key-name"),
    ("unknown beneficiary", "    - beneficiary: ben1", "    - beneficiary: ghost", "unknown-key-name"),
    ("mainnet address on devnet", "    - beneficiary: ben1",
     "    - beneficiary: addr1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8", "wrong-network"),
    ("invalid bech32", "    - beneficiary: ben1", "    - beneficiary: addr_test1qqqqqqq", "unknown-key-name"),
    ("vesting after expiry", "      vesting: 3600000", "      vesting: 86400000", "vesting-after-expiry"),
    ("sign with a non-oracle", "      oracles: [o1, o2]", "      oracles: [o1, ben1]", "not-an-oracle"),
    ("release an unknown milestone", "      all: true", "      milestone: m9", "unknown-milestone"),
    ("reclaim an unknown milestone", "      milestone: m2", "      milestone: m7", "unknown-milestone", 1),
    ("token name too long", '    name: "{{ token_name }}"', '    name: "' + "é" * 17 + '"', "token-name-too-long"),
    ("payer cannot sign", "    devnet_wallet: payer", "    vkey_hash: " + "ab" * 28, "not-a-signing-key"),
    ("fund an unknown holder", "      to: owner", "      to: stranger", "unknown-key-name"),
    ("balance of an unknown holder", "          - holder: ben1", "          - holder: ghost", "unknown-key-name"),
    ("commit a missing file", "      signatures: \"{{ steps['sign-m1'].outputs.signatures_file }}\"",
     "      signatures: missing.json", "missing-file"),
    ("key file missing", "    devnet_wallet: owner", "    skey_file: keys/owner.skey", "missing-file"),
    ("duplicate step id", "  - id: deploy", "  - id: init", "duplicate-step-id"),
    ("devnet steps on preprod", "network: devnet", "network: preprod", "devnet-only"),
    ("schedule uses a later step", "  expiry: 86400000", '  expiry: "{{ steps.release.outputs.fees }}"', "step-order"),
    ("step uses itself", '      to: "{{ t0 + hours(3) }}"', '      to: "{{ steps.later.outputs.tip_slot }}"', "step-order"),
    ("commit uses a later step", "      signatures: \"{{ steps['sign-m1'].outputs.signatures_file }}\"",
     '      signatures: "{{ steps.release.outputs.tx_ids }}"', "step-order"),
]

DUPLICATES = [("network: devnet", "network: preprod"), ("  quorum: 2", "  quorum: 3"), ("      amount: 100", "      amount: 5"),
              ("      payer: payer", "      payer: owner"), ("  - id: init", "    id: again"), ("    devnet_wallet: owner", "    devnet_wallet: x")]

SYNTAX = {"tab indentation": "version: 1\n\tnetwork: devnet\n", "unclosed flow": "version: [1, 2\nnetwork: devnet\n",
          "bad indentation": "version: 1\n  network: devnet\n", "unterminated quote": 'version: "1\nnetwork: devnet\n',
          "value after value": "version: 1: 2\n", "stray dash": "version: 1\n- x\n"}

SHAPES = {"empty": ("", "not-a-mapping"), "a list": ("- 1\n", "not-a-mapping"), "a number": ("42\n", "not-a-mapping"),
          "null": ("null\n", "not-a-mapping"), "two documents": ("a: 1\n---\nb: 2\n", "multiple-documents"),
          "only a comment": ("# nothing\n", "not-a-mapping"), "a string": ("just text\n", "not-a-mapping"),
          "binary tag": ("version: !!binary aGk=\n", "yaml-tag"), "unknown alias": ("version: *nope\n", "yaml-alias"),
          "mapping key is a list": ("[a]: 1\n", "yaml-key"), "mapping key is a mapping": ("{a: 1}: 1\n", "yaml-key")}


def trap_cases() -> list[Case]:
    out = []
    for anchor in TRAP_FIELDS:
        for trap in TRAPS:
            text, line = set_value(anchor, trap)
            out.append(Case(f"trap {trap} in {anchor.strip()}", text, "yaml-trap", line))
    return out


def type_cases() -> list[Case]:
    out = []
    for anchor, extra in INTEGER_FIELDS.items():
        for value, code in {**BAD_INTEGERS, **extra}.items():
            text, line = set_value(anchor, value)
            out.append(Case(f"{value} as {anchor.strip()}", text, code, line))
    for anchor in NONNEGATIVE_FIELDS:
        for value, code in {'"1"': "wrong-type", "-1": "schema-minimum", "1.0": "wrong-type", "[0]": "wrong-type"}.items():
            text, line = set_value(anchor, value)
            out.append(Case(f"{value} as {anchor.strip()}", text, code, line))
    for anchor in TIME_FIELDS:
        for value, code in BAD_TIMES.items():
            text, line = set_value(anchor, value)
            out.append(Case(f"{value} as {anchor.strip()}", text, code, line))
    for anchor, nth in NAME_FIELDS:
        for value, code in BAD_NAMES.items():
            text, line = set_value(anchor, value, nth)
            out.append(Case(f"{value} as {anchor.strip()} #{nth}", text, code, line))
    for anchor, nth in MILESTONE_FIELDS:
        for value, code in BAD_MILESTONES.items():
            text, line = set_value(anchor, value, nth)
            out.append(Case(f"{value} as {anchor.strip()} #{nth}", text, code, line))
    for anchor, value, code in OTHER_VALUES:
        text, line = set_value(anchor, value)
        out.append(Case(f"{value} as {anchor.strip()}", text, code, line))
    return out


def key_cases() -> list[Case]:
    out = []
    for anchor, indent in UNKNOWN_KEY_AFTER:
        text, line = insert_after(anchor, f"{indent}bogus_key: 1")
        out.append(Case(f"unknown key after {anchor.strip()}", text, "unknown-key", line))
    for anchor, nth, *code in REQUIRED_LINES:  # deploy's only key gone: "deploy:" is null, the wrong type
        out.append(Case(f"missing {anchor.strip()}", delete(anchor, nth), code[0] if code else "missing-key", None))
    for anchor, duplicate in DUPLICATES:
        text, line = insert_after(anchor, duplicate)
        out.append(Case(f"duplicate {anchor.strip()}", text, "duplicate-key", line))
    return out


def template_cases() -> list[Case]:
    out = []
    for anchor in TEMPLATE_FIELDS:
        for value, code in TEMPLATES.items():
            text, line = set_value(anchor, value)
            out.append(Case(f"template {value} in {anchor.strip()}", text, code, line))
    return out


def semantic_cases() -> list[Case]:
    out = []
    for name, anchor, new, code, *nth in SEMANTIC:
        text, line = replace(anchor, new, *nth)
        pinned = None if code in ("devnet-only", "not-a-signing-key") else line
        out.append(Case(name, text, code, pinned))
    allocations = "\n".join(LINES[line_of("  allocations:") - 1:line_of("steps:") - 1])
    without = BASE.replace(allocations + "\n", "  allocations_file: allocations.json\n")
    file_line = without.splitlines().index("  allocations_file: allocations.json") + 1
    out.append(Case("allocations file missing", without, "missing-file", file_line))
    good = [{"beneficiary_address": "ben1", "token_amount": 1, "milestone_identifier": "m1", "vesting_timestamp": 60},
            {"beneficiary_address": "ben2", "token_amount": 2, "milestone_identifier": "m2", "vesting_time_ms": 60000}]
    bad_files: dict[str, tuple[str | bytes, str, int | None]] = {
        "not JSON": ("[{", "yaml-syntax", None),
        "float amount": (json.dumps([{**good[0], "token_amount": 1.5}], indent=1), "wrong-type", 4),
        "exponent amount": (('[{"beneficiary_address": "ben1", "token_amount": 1e6, "milestone_identifier": "m1",'
                            ' "vesting_timestamp": 1}]'), "yaml-trap", 1),
        "both vesting fields": (json.dumps([{**good[0], "vesting_time_ms": 1}]), "conflicting-choice", 1),
        "no vesting": (json.dumps([{k: v for k, v in good[0].items() if k != "vesting_timestamp"}]), "missing-choice", 1),
        "empty list": ("[]", "schema-minitems", 1),
        "an object": (json.dumps({"a": 1}), "wrong-type", 1),
        "bad utf-8": (b'[{"beneficiary_address": "\xff"}]', "bad-utf8", 1),
        "duplicate allocation": (json.dumps([good[0], good[0]], indent=1), "duplicate-allocation", 8),
        "unknown beneficiary": (json.dumps([{**good[0], "beneficiary_address": "ghost"}]), "unknown-key-name", 1),
    }
    for label, (content, code, line) in bad_files.items():
        out.append(Case(f"allocations file: {label}", without, code, line, {"allocations.json": content}))
    return out


def shape_cases() -> list[Case]:
    out = [Case(f"syntax: {name}", text, "yaml-syntax", None) for name, text in SYNTAX.items()]
    out += [Case(f"shape: {name}", text, code, None) for name, (text, code) in SHAPES.items()]
    out.append(Case("huge file", BASE + "#" + "x" * (16 * 1024 * 1024) + "\n", "file-too-large", 1))
    out.append(Case("huge name", BASE.replace("name: corpus", "name: " + "n" * 1_000_000), "schema-maxlength", 3))
    steps = "".join(f"  - id: s{i}\n    init: {{}}\n" for i in range(1001))
    out.append(Case("too many steps", BASE.replace("steps:\n", "steps:\n" + steps), "schema-maxitems", None))
    out.append(Case("deep list", BASE.replace("  t0: 0", "  deep: " + "[" * 80 + "]" * 80), "too-deep", 8))
    deep_map = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(80))
    out.append(Case("deep mapping", BASE.replace("variables:\n", "variables:\n" + deep_map), "too-deep", None))
    bomb = "".join(f"  a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10 if i else ["x"] * 10) + "]\n" for i in range(8))
    out.append(Case("alias bomb", BASE.replace("variables:\n", "variables:\n" + bomb), "too-large", None))
    raw = BASE.encode()
    for anchor in ("name: corpus", "  quorum: 2", "      milestone: m1", "      payer: payer"):
        line = line_of(anchor)
        out.append(Case(f"bad utf-8 in {anchor.strip()}", raw.replace(anchor.encode(), anchor.encode() + b"\xff", 1),
                        "bad-utf8", line))
    out.append(Case("latin-1 text", raw.replace(b"name: corpus", "name: café".encode("latin-1")), "bad-utf8", 3))
    out.append(Case("utf-16 file", BASE.encode("utf-16"), "bad-utf8", 1))
    out.append(Case("NUL byte", raw.replace(b"name: corpus", b"name: cor\x00pus"), "yaml-syntax", 3))
    out.append(Case("control character", raw.replace(b"name: corpus", b"name: cor\x07pus"), "yaml-syntax", 3))
    return out


def cases() -> list[Case]:
    every = trap_cases() + type_cases() + key_cases() + template_cases() + semantic_cases() + shape_cases()
    names = [c.name for c in every]
    assert len(names) == len(set(names)), "case names must be unique"
    return every


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)[:80].strip("-") + f"-{abs(hash(name)) % 10**6:06d}"


def write(case: Case, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in case.files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    plan = directory / "plan.yaml"
    plan.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    return plan


def main(out: Path) -> None:
    expected = {}
    for index, case in enumerate(cases()):
        folder = f"{index:03d}"
        write(case, out / folder)
        expected[folder] = {"name": case.name, "code": case.code, "line": case.line, "exit": 2}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"{len(expected)} cases written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
