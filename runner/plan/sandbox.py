"""The Jinja sandbox plans are rendered in: an allowlist, and budgets enforced while rendering.

Jinja's own sandbox stops access to Python internals but not work: ``range``, ``join``,
``replace('', big)``, ``tojson(indent=10**6)``, nested loops and ``~`` in loops each make
gigabytes from a few bytes of plan.  So here only what plans need is callable:

- filters :data:`FILTERS` (and the time/ADA helpers), tests :data:`TESTS`, the methods
  :data:`METHODS` of ``str``, ``list``/``tuple`` and ``dict``, the globals ``range`` (at
  most :data:`MAX_RANGE` numbers) and ``dict``;
- statements ``{% if %}``, ``{% for %}`` (not ``recursive``) and ``{% set x = … %}``;
  macros, call/filter blocks, ``{% set %}…{% endset %}``, includes and imports are refused;
- anything else is a template error (with the scalar's file:line and a hint), found when
  the template is compiled where it can be, at run time otherwise.

Budgets (:class:`Budget`, one per rendered document): every value a template builds
(string, list, ``*``, ``+``, ``~``, ``join``, ``replace``, padding, printing) is at most
:data:`MAX_VALUE` characters, checked *before* it is built; ``{% for %}`` iterations are at
most :data:`MAX_ITERATIONS` and the rendered characters at most :data:`MAX_DOCUMENT` for the
whole document, counted while rendering.  Integers: ``**`` and ``*`` results at most
:data:`MAX_INT_BITS` bits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes, pass_environment
from jinja2.exceptions import SecurityError
from jinja2.filters import do_sum
from jinja2.parser import Parser
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_VALUE = 100_000  # characters (or list items, weighted by their text) of one value
MAX_REPEAT = MAX_VALUE  # the name older code and tests use
MAX_RANGE = 10_000
MAX_ITERATIONS = 1_000_000  # {% for %} iterations per rendered document
MAX_DOCUMENT = 4_000_000  # characters rendered per document
MAX_TOKENS = 300  # per template: Jinja's parser and compiler, and Python's, recurse on nesting
MAX_NESTING = 32  # brackets, and {% if %} / {% for %} blocks, inside one another
MAX_EXPONENT = 512
MAX_INT_BITS = 4096

FILTERS = frozenset({"abs", "capitalize", "count", "d", "default", "first", "float", "int", "join", "last", "length",
                     "list", "lower", "max", "min", "replace", "reverse", "round", "sort", "string", "sum", "title",
                     "trim", "unique", "upper"})
TESTS = frozenset({"!=", "<", "<=", "==", ">", ">=", "boolean", "defined", "divisibleby", "eq", "equalto", "even",
                   "false", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt",
                   "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined",
                   "upper"})
METHODS: Mapping[type, frozenset[str]] = {
    str: frozenset({"capitalize", "center", "count", "endswith", "find", "isalnum", "isalpha", "isdigit", "islower",
                    "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
                    "replace", "rfind", "rjust", "rpartition", "rsplit", "rstrip", "split", "startswith", "strip",
                    "title", "upper", "zfill"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "items", "keys", "values"}),
    LoopContext: frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem",
                            "nextitem", "depth", "depth0"}),
}
STATEMENTS = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.For, nodes.If, nodes.Assign)
_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})
_ITER, _CONCAT = "_plan_iterate", "_plan_concat"  # names of the rewritten {% for %} and ~
HINT = "plans may use only the filters, tests and methods listed in docs/plans.md (Templates)"


#: what Jinja itself has: refused with "not available in plans" (other names: "no filter named ...")
JINJA_FILTERS = frozenset(SandboxedEnvironment().filters)
JINJA_TESTS = frozenset(SandboxedEnvironment().tests)


class BudgetExceeded(SecurityError):
    """A template wanted more than its share: a value too large, too many iterations or characters."""


@dataclass
class Budget:
    iterations: int = MAX_ITERATIONS
    characters: int = MAX_DOCUMENT

    def iterate(self) -> None:
        self.iterations -= 1
        if self.iterations < 0:
            raise BudgetExceeded(f"the plan's templates loop more than {MAX_ITERATIONS:,} times in all")

    def render(self, text: str) -> str:
        self.spend(len(text))
        return text

    def spend(self, characters: int) -> None:
        self.characters -= characters
        if self.characters < 0:
            raise BudgetExceeded(f"the plan's templates render more than {MAX_DOCUMENT:,} characters in all")


def size(value: Any, depth: int = 0, limit: int = MAX_VALUE) -> int:
    """An upper bound of ``len(str(value))`` without building it; past ``limit`` it stops
    counting (the walk is then at most ~``limit`` steps, even over lists sharing items)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 2
    if depth > 32:
        return limit + 1
    if isinstance(value, range):
        return 16 * len(value)
    if isinstance(value, (list, tuple, dict)):
        total = 2
        for item in (value.items() if isinstance(value, dict) else value):
            total += 4 + size(item, depth + 1, limit - total)
            if total > limit:
                return limit + 1
        return total
    return len(repr(value)) if isinstance(value, float) else 64


def check_size(total: int, what: str) -> None:
    if total > MAX_VALUE:
        raise BudgetExceeded(f"{what} would make about {total:,} characters (limit {MAX_VALUE:,})")


class PlanSandbox(SandboxedEnvironment):
    """Only the allowlisted filters, tests, methods and statements; budgets on what they build."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, helpers: Mapping[str, Callable[[Any], Any]], **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.budget = Budget()
        builtin = self.filters
        self.filters = {name: builtin[name] for name in FILTERS} | dict(helpers)
        self.filters.update(join=_join, replace=_replace, string=_string, sum=_sum)
        self.tests = {name: test for name, test in self.tests.items() if name in TESTS}
        self.globals = {"range": _range, "dict": dict, **helpers, _ITER: self._iterate, _CONCAT: _concat}

    # -- compile: the allowlist where it can be seen in the template --------------------

    def shape(self, source: str) -> str | None:
        """Why the template is too long or too deeply nested to compile safely (None: it is not);
        read from the token stream, before anything recursive sees it."""
        tokens = depth = blocks = 0
        previous = ""
        for _, kind, value in self.lex(source):
            if kind == "whitespace":
                continue
            tokens += 1
            if kind == "operator" and value in "([{":
                depth += 1
            elif kind == "operator" and value in ")]}":
                depth -= 1
            elif kind == "name" and previous == "block_begin":
                blocks += 1 if value in ("if", "for") else -1 if value in ("endif", "endfor") else 0
            if tokens > MAX_TOKENS:
                return f"the template has more than {MAX_TOKENS:,} tokens"
            if depth > MAX_NESTING or blocks > MAX_NESTING:
                return f"the template nests more than {MAX_NESTING} levels deep"
            previous = kind
        return None

    def refusals(self, tree: nodes.Template) -> list[str]:
        """What the template uses that plans do not allow (empty: nothing)."""
        found: dict[str, None] = {}
        for node in tree.find_all(nodes.Node):
            if isinstance(node, nodes.Stmt) and not isinstance(node, STATEMENTS):
                found[f"the statement '{type(node).__name__.lower()}'"] = None
            elif isinstance(node, nodes.For) and node.recursive:
                found["a recursive loop"] = None
            elif isinstance(node, nodes.Filter) and node.name not in self.filters:
                found[f"the filter '{node.name}'"] = None
            elif isinstance(node, nodes.Test) and node.name not in self.tests:
                found[f"the test '{node.name}'"] = None
        return list(found)

    def program(self, source: str, expression: str | None) -> Callable[[dict[str, Any]], Any]:
        """The template (``expression``: the inside of a whole ``{{ … }}``, which keeps its type),
        with ``{% for %}`` and ``~`` routed through the budget."""
        if expression is None:
            tree = self.parse(source)
        else:
            parser = Parser(self, expression, state="variable")
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
            tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)
        tree = _Budgeted().visit(tree)
        tree.set_environment(self)
        template = self.from_string(tree)

        def run(context: dict[str, Any]) -> Any:
            ctx = template.new_context(context)
            parts = [self.budget.render(part) for part in template.root_render_func(ctx)]
            if expression is None:
                return "".join(parts)
            result = ctx.vars["result"]
            self.budget.spend(size(result))  # native values count too
            return result
        return run

    # -- run time: methods, operators, values ------------------------------------------

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        allowed = next((names for kind, names in METHODS.items() if type(obj) is kind), frozenset())
        return attr in allowed

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        allowed = next((sorted(names) for kind, names in METHODS.items() if type(obj) is kind), [])
        what = f"'{type(obj).__name__}.{attribute}'" if not attribute.startswith("_") else f"'{attribute}'"
        listed = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return self.undefined(f"{what} is not available in plans{listed}", name=attribute, obj=obj,
                              exc=SecurityError)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format / format_map are not allowlisted (is_safe_attribute refuses them)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
        if isinstance(owner, str):
            if name in _PADDING:
                for width in (*args, *kwargs.values()):
                    if isinstance(width, int):
                        check_size(width, f"{name}()")
            elif name == "replace":  # inside {% for %} Jinja adds its own _loop_vars / _block_vars
                return _replace(owner, *args, **{k: v for k, v in kwargs.items() if not k.startswith("_")})
            elif name == "join":
                return _join(args[0] if args else (), owner)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not available in plans; use ~ to join text")
        elif operator == "*":
            _check_product(left, right)
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            check_size(size(left) + size(right), "'+'")
        return super().call_binop(context, operator, left, right)

    def _iterate(self, value: Any) -> Iterator[Any]:
        for item in value:
            self.budget.iterate()
            yield item

    def _finalize(self, value: Any) -> Any:
        check_size(size(value), "printing a value")
        return value


class _Budgeted(NodeTransformer):
    """``{% for x in XS %}`` -> ``for x in _plan_iterate(XS)``; ``a ~ b`` -> ``_plan_concat(a, b)``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.Name(_ITER, "load"), [node.iter], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.Name(_CONCAT, "load"), list(node.nodes), [], None, None, lineno=node.lineno)


def _check_power(left: Any, right: Any) -> None:
    if isinstance(right, int) and abs(right) > MAX_EXPONENT:
        raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
    if isinstance(left, int) and isinstance(right, int) and right > 0 and left.bit_length() * right > MAX_INT_BITS:
        raise SecurityError(f"the power would have about {left.bit_length() * right:,} bits (limit {MAX_INT_BITS:,})")


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool) \
            and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"the product would have about {left.bit_length() + right.bit_length():,} bits "
                            f"(limit {MAX_INT_BITS:,})")
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            check_size(size(seq) * max(times, 0), "repetition")


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise BudgetExceeded(f"range() of {len(numbers):,} numbers (limit {MAX_RANGE:,})")
    return numbers


def _concat(*parts: Any) -> str:
    check_size(sum(size(p) for p in parts), "'~'")
    return "".join(str(p) for p in parts)


def _join(value: Any, d: str = "") -> str:
    items = list(value) if not isinstance(value, (str, list, tuple)) else value
    check_size(sum(size(i) for i in items) + size(d) * max(len(items) - 1, 0), "join")
    return str(d).join(str(i) for i in items)


def _replace(value: Any, old_value: Any, new_value: Any, count: int | None = None) -> str:
    text, old, new = str(value), str(old_value), str(new_value)
    hits = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    check_size(len(text) + hits * (len(new) - len(old)), "replace")
    return text.replace(old, new, -1 if count is None else count)


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """``sum``: adding lists (``start=[]``) builds a value like ``+`` does, so it is bounded."""
    items = list(iterable)
    if not isinstance(start, (int, float)):
        check_size(size(start) + size(items), "sum")
    return do_sum(environment, items, attribute, start)


def _string(value: Any) -> str:
    check_size(size(value), "string")
    return str(value)
