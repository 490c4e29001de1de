"""Making ``uplc`` 1.3.3 fast enough for a devnet, without changing a single budget unit.

Why: ``uplc``'s CEK machine charges every builtin call by the memory size (``ex_mem``) of
its arguments, and computes that size by walking the whole value each time. A validator
calls ``unConstrData``/``headList``/... on the script context hundreds of times, so each
call re-walks the entire context: a 128-input transaction took seconds per script.
Plutus data is immutable (frozen dataclasses holding ``frozenlist``/``frozendict``), so the
size of a value never changes and can be computed once and stored on the value.

Three things live here:

* :func:`install` / :func:`uninstall` — memoise ``PlutusData.ex_mem`` (and the sizes of
  builtin lists and pairs of data) on the instance. The arithmetic is the library's own
  (``4 + sum of children``), so budgets are identical; ``tests/devnet/plutus/test_phase2_speed.py``
  checks that on several scripts with the patch on and off.
* :func:`load_program` — decode a script (CBOR-wrapped flat) once per script, cached by
  its bytes, and make its variable names unique once (``uplc``'s machine otherwise
  re-runs that AST pass over the whole script on every evaluation).
* :func:`cost_models_for` — turn the ledger's raw, ordered cost-model list into ``uplc``'s
  CEK and builtin cost models.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frozendict
import uplc
from uplc.ast import (
    AST,
    Apply,
    BuiltinList,
    BuiltinPair,
    Compute,
    Done,
    NoFrame,
    PlutusData,
    Program,
    Return,
)
from uplc.cost_model import (
    Budget,
    BuiltinCostModel,
    CekMachineCostModel,
    CekOp,
    default_builtin_cost_model_base,
    default_cek_machine_cost_model_base,
    updated_builtin_cost_model_from_network_config,
    updated_cek_machine_cost_model_from_network_config,
)
from uplc.machine import (
    AST_TO_CEK_OP_MAP,
    ComputationResult,
    Machine,
    budget_cost_of_op_on_model,
)
from uplc.tools import unflatten
from uplc.transformer.unique_variables import UniqueVariableTransformer

__all__ = [
    "CostModels",
    "cost_models_for",
    "disabled",
    "evaluate",
    "find_raw_cost_model",
    "install",
    "installed",
    "load_program",
    "uninstall",
]

TESTED_UPLC = "1.3.3"  # the version whose internals the patches below were checked against
RECURSION_LIMIT = 50_000  # OpShin programs nest deeply; uplc's AST passes recurse
_MEMO = "_milestones_ex_mem"
_ORIGINAL: dict[Any, Callable[[Any], int]] = {}
_PREPARED = True  # skip uplc's per-run UniqueVariableTransformer (see _PreparedMachine)


def _memoised(original: Callable[[Any], int]) -> Callable[[Any], int]:
    def ex_mem(self: Any) -> int:
        try:
            return int(self.__dict__[_MEMO])
        except KeyError:
            size = original(self)
            self.__dict__[_MEMO] = size  # frozen dataclass: bypass __setattr__, not a field
            return size

    ex_mem.__wrapped__ = original  # type: ignore[attr-defined]
    return ex_mem


def install() -> None:
    """Memoise ``ex_mem`` on immutable data values (idempotent).

    The patches lean on ``uplc`` internals, checked by the equivalence tests for the
    pinned version only; with another ``uplc`` they stay off and ``uplc`` runs as shipped.
    """
    global _PREPARED
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    if uplc.__version__ != TESTED_UPLC:
        _PREPARED = False
        return
    for cls in (PlutusData, BuiltinList, BuiltinPair):
        if cls not in _ORIGINAL:
            _ORIGINAL[cls] = cls.ex_mem
            cls.ex_mem = _memoised(cls.ex_mem)


def uninstall() -> None:
    """Restore ``uplc``'s own ``ex_mem`` (for the equivalence test and the benchmark)."""
    for cls, original in _ORIGINAL.items():
        cls.ex_mem = original
    _ORIGINAL.clear()


def installed() -> bool:
    return bool(_ORIGINAL)


@contextlib.contextmanager
def disabled(*, memo: bool = True, machine: bool = True) -> Iterator[None]:
    """Run ``uplc``'s own code paths: without the ``ex_mem`` memo (``memo``) and/or with
    ``uplc``'s machine, per-run variable pass and per-run decoding (``machine``).

    For the equivalence tests and the benchmark; not thread-safe (it patches classes).
    """
    global _PREPARED
    was_installed, was_prepared = installed(), _PREPARED
    if memo:
        uninstall()
    if machine:
        _PREPARED = False
    try:
        yield
    finally:
        _PREPARED = was_prepared
        if was_installed:
            install()


# --- scripts -------------------------------------------------------------------------


class MalformedScript(ValueError):
    """The script bytes are not a CBOR-wrapped flat UPLC program."""


def load_program(script: bytes) -> Program:
    """The script's program: decoded and renamed once per script while the patches are on.

    The shared ``Program`` is never mutated by the prepared machine (it builds new frames
    and environments). ``uplc``'s own ``Machine.eval`` rewrites some nodes of the tree it
    is given in place, so with the patches off every evaluation decodes a fresh copy.
    """
    if not _PREPARED:
        return _decode(bytes(script))
    return _decode_and_rename(bytes(script))


@functools.lru_cache(maxsize=256)
def _decode_and_rename(script: bytes) -> Program:
    return UniqueVariableTransformer().visit(_decode(script))


def _decode(script: bytes) -> Program:
    try:
        return unflatten(script)
    except Exception as exc:  # the flat decoder raises bare errors of many kinds
        raise MalformedScript(f"cannot decode script: {type(exc).__name__}: {exc}") from exc


_OP_BY_TYPE: dict[type, CekOp] = {}


def _op_of(term: AST) -> CekOp:
    """``uplc``'s own rule (first matching class in ``AST_TO_CEK_OP_MAP``), cached per type."""
    kind = type(term)
    op = _OP_BY_TYPE.get(kind)
    if op is None:
        op = next(o for ast, o in AST_TO_CEK_OP_MAP.items() if isinstance(term, ast))
        _OP_BY_TYPE[kind] = op
    return op


class _PreparedMachine(Machine):  # type: ignore[misc]
    """``uplc``'s machine with its bookkeeping made cheap, charging exactly the same.

    * no per-run ``UniqueVariableTransformer`` pass: :func:`load_program` already made the
      names unique, and the applied arguments are constants, which bind no variables;
    * machine-step costs (constants of the CEK cost model) are looked up once per run,
      and a step's kind is found by a dict lookup instead of a scan of all AST classes;
      steps are still charged in batches of ``slippage``, op by op in ``CekOp`` order,
      so an exhausted budget stops at the same point with the same spent amount.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ops = tuple(CekOp)
        self._op_index = {op: i for i, op in enumerate(self._ops)}
        costs = [budget_cost_of_op_on_model(self.cek_machine_cost_model, op, 0) for op in self._ops]
        self._step_costs = tuple((c.cpu, c.memory) for c in costs)
        self._counts = [0] * len(self._ops)
        self._pending = 0

    def step_and_maybe_spend(self, term: AST) -> None:
        self._counts[self._op_index[_op_of(term)]] += 1
        self._pending += 1
        if self._pending >= self.slippage:
            self.spend_unbudgeted_steps()

    def spend_unbudgeted_steps(self) -> None:
        counts = self._counts
        for i, n in enumerate(counts):
            if n:
                cpu, mem = self._step_costs[i]
                self.spend_budget(Budget(cpu=cpu * n, memory=mem * n))
        self._counts = [0] * len(counts)
        self._pending = 0

    def eval(self, program: Program) -> ComputationResult:
        self.remaining_budget = copy.copy(self.budget)
        self.logs: list[str] = []
        stack: list[Any] = [Compute(NoFrame(), frozendict.frozendict(), program.term)]
        res: Any
        try:
            self.spend_budget(budget_cost_of_op_on_model(self.cek_machine_cost_model, CekOp.Startup, 0))
            while stack:
                step = stack.pop()
                if isinstance(step, Compute):
                    stack.append(self.compute(step.term, step.ctx, step.env))
                elif isinstance(step, Return):
                    stack.append(self.return_compute(step.context, step.value))
                elif isinstance(step, Done):
                    stack.append(step.term)
                    break
            self.spend_unbudgeted_steps()
            res = stack.pop()
        except Exception as exc:  # noqa: BLE001 -- a script's failure is its result, as in uplc
            res = exc
        return ComputationResult(res, self.logs, self.budget - self.remaining_budget)


def evaluate(program: Program, args: Sequence[AST], budget: Budget, models: CostModels) -> ComputationResult:
    """Apply ``args`` to ``program`` and run it under ``budget``."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    term = program.term
    for arg in args:
        term = Apply(term, arg)
    machine_cls = _PreparedMachine if _PREPARED else Machine
    machine = machine_cls(budget, models.cek, models.builtin)
    try:
        return machine.eval(Program(program.version, term))
    except RuntimeError as exc:  # uplc's own eval lets a startup-cost exhaustion escape
        return ComputationResult(exc, [], budget - machine.remaining_budget)


# --- cost models ---------------------------------------------------------------------

_NAMES_FILE = Path(uplc.__file__).parent / "cost_model_files" / "2024-07-30" / "cost-model-merged.json"
# uplc spells one V1 parameter differently from what its own loader looks up.
_RENAMES = {"cekApplyCost-exBudgetMem": "cekApplyCost-exBudgetMemory"}


@functools.lru_cache(maxsize=1)
def parameter_names() -> dict[str, tuple[str, ...]]:
    """uplc's parameter names per language, in the ledger's order.

    ``uplc`` ships the mainnet cost models keyed by its own parameter names, listed in the
    ledger's order (checked against the raw mainnet lists in ``tests/devnet/plutus/test_phase2.py``).
    """
    with open(_NAMES_FILE) as f:
        table = json.load(f)
    return {lang: tuple(_RENAMES.get(n, n) for n in params) for lang, params in table.items()}


@dataclass(frozen=True)
class CostModels:
    cek: CekMachineCostModel
    builtin: BuiltinCostModel


@functools.lru_cache(maxsize=16)
def _cost_models(language: str, raw: tuple[int, ...]) -> CostModels:
    names = parameter_names()[language]
    # Fewer values than names: the ledger pads with its defaults; uplc's defaults stand in.
    config = dict(zip(names, raw))
    defaults = dict(zip(names, _default_values(language)))
    config = {**defaults, **config}
    return CostModels(
        cek=updated_cek_machine_cost_model_from_network_config(default_cek_machine_cost_model_base(), config),
        builtin=updated_builtin_cost_model_from_network_config(default_builtin_cost_model_base(), config),
    )


def _default_values(language: str) -> tuple[int, ...]:
    with open(_NAMES_FILE) as f:
        return tuple(json.load(f)[language].values())


_LANGUAGE_KEYS = {
    "PlutusV1": ("PlutusV1", "plutus:v1", "v1", 0),
    "PlutusV2": ("PlutusV2", "plutus:v2", "v2", 1),
    "PlutusV3": ("PlutusV3", "plutus:v3", "v3", 2),
}


def find_raw_cost_model(cost_models: Mapping[Any, Sequence[int]], language: str) -> list[int] | None:
    """The raw list of ``language`` under any usual key (``PlutusV3``, ``plutus:v3``, ``v3``, 2)."""
    for key in _LANGUAGE_KEYS[language]:
        if key in cost_models:
            return [int(v) for v in cost_models[key]]
    return None


def cost_models_for(language: str, raw: Sequence[int]) -> CostModels:
    """``language`` is ``PlutusV1``/``PlutusV2``/``PlutusV3``; ``raw`` the ledger's ordered list."""
    if language not in parameter_names():
        raise KeyError(f"no cost-model parameter names for {language}")
    return _cost_models(language, tuple(int(v) for v in raw))
