"""Mutation check of the hand-written batch validator (onchain/batch_release_uplc.py).

    python tests/attack_mutation_check.py        # ~20 min on one core

Works on a temporary copy of the checkout: each ``require`` of the validator dropped in
turn (the k-th call made at import), plus targeted mutants (never treat an input as a pot,
accept the empty milestone id, take every milestone as already verified); plutus.json is
rebuilt from the mutant and the unit tests, then the devnet attack suites, are run.  A
mutant that survives is either an equivalent one (say why in onchain/README.md) or a
missing test.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

checkout = Path(__file__).resolve().parents[1]
root = Path(tempfile.mkdtemp(prefix="mutation-"))
for part in ("onchain", "runner", "tests", "plutus.json", "pyproject.toml"):
    (shutil.copytree if (checkout / part).is_dir() else shutil.copy)(checkout / part, root / part)
src = root / "onchain/batch_release_uplc.py"
orig = src.read_text()
bp = root / "plutus.json"
bp_orig = bp.read_text()
hook = '''
_MUTANT = {k}
_CALLS = [0]
_original_require = require


def require(condition: str, message: str, then: str) -> str:
    i = _CALLS[0]
    _CALLS[0] += 1
    if i == _MUTANT:
        return then
    return _original_require(condition, message, then)
'''
targeted = {
    "never-a-pot": ('when(same_data(field(fields_of(field("resolved", "TxOut", "address")), "Address", "payment_credential"),\n                             "forwarder"),',
                    'when(FALSE,'),
    "empty-id-accepted": ('when(same_data("milestone", EMPTY_ID), fail("batch: empty milestone id"), UNIT)', 'UNIT'),
    "any-cache-hit": ('when(when("hit", TRUE, same_data("milestone", "cache_second")),', 'when(TRUE,'),
}
env = dict(os.environ, PYTHONPATH=str(root))
def run(tests):
    r = subprocess.run([sys.executable, "-m", "pytest", *tests, "-q", "-n", "0", "-x", "-p", "no:randomly"],
                       cwd=root, env=env, capture_output=True, text=True, check=False)
    return r.returncode != 0
src_requires = len(re.findall(r"\brequire\(", orig.split("def require", 1)[1]))
mutants = [(f"require#{k}", orig.replace("\ndef recursive(", hook.format(k=k) + "\n\ndef recursive(", 1)) for k in range(src_requires)]
mutants += [(name, orig.replace(a, b, 1)) for name, (a, b) in targeted.items()]
try:
    for name, text in mutants:
        if text == orig:
            print(name, "NOT APPLIED"); continue
        src.write_text(text)
        b = subprocess.run([sys.executable, "-m", "runner", "contract", "build"], cwd=root, env=env, capture_output=True, text=True, check=False)
        if b.returncode:
            print(name, "build failed", b.stderr[-300:]); continue
        if bp.read_text() == bp_orig:
            print(name, "equivalent (same script)"); continue
        if run(["tests/contract/test_contract_unit.py"]):
            print(name, "caught by unit tests", flush=True); continue
        caught = run(["tests/contract/attacks"])  # every attack suite
        print(name, "caught by attack suite" if caught else "SURVIVED", flush=True)
finally:
    src.write_text(orig)
    bp.write_text(bp_orig)
