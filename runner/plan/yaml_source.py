"""YAML to plain Python values, keeping the line and column of every node.

Why not ``yaml.safe_load``: it forgets positions, silently turns YAML 1.1 look-alikes
into other types (``0x1F`` -> 31, ``no`` -> False, ``0755`` -> 493, ``1:30`` -> 90,
``2025-01-01`` -> a date), lets a later duplicate key win, expands aliases without
limit and recurses on deep nesting.  Here the document is built from the parser's
*events* (no recursion), plain scalars are resolved by a small explicit table (JSON-like
YAML 1.2 core), and every YAML 1.1 trap is refused with a hint instead of converted:
an amount stays an exact ``int``, a hex string stays a ``str``.  Mapping keys are always
strings, kept as written (``on:`` stays ``"on"``).

Pure: no network, no environment, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.plan.problems import Path, Problem, json_path

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 2_000_000

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(0|[1-9][0-9]*)\.[0-9]+$")
#: (pattern, what it is, hint): plain scalars YAML 1.1 (or 1.2) would silently convert.
_TRAPS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^(?i:y|yes|n|no|on|off)$"), "a YAML 1.1 boolean look-alike",
     "write true/false for a boolean, or quote it ('{text}') for a string"),
    (re.compile(r"^[-+]?0[xX][0-9a-fA-F_]*$"), "a hexadecimal number",
     "quote it ('{text}') to keep it as a hex string, or write the decimal integer"),
    (re.compile(r"^[-+]?0o?[0-7_]+$"), "an octal-looking number (leading zero)",
     "write the integer without leading zeros, or quote it ('{text}') for a string"),
    (re.compile(r"^[-+]?0b[01_]+$"), "a binary number", "write the decimal integer, or quote it"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$"), "a number in exponent notation",
     "amounts are exact integers: write all the digits (1e6 -> 1000000), or quote it"),
    (re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$"), "a YAML 1.1 sexagesimal number",
     "quote it ('{text}') if it is a time or a string; write the integer otherwise"),
    (re.compile(r"^[-+]?([0-9]+_[0-9_]*|[0-9_]*\.[0-9]*_[0-9_]*)$"), "a number with underscores",
     "write the digits without underscores, or quote it"),
    (re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.)$"), "a number with a bare decimal point",
     "write 0.5 / 5.0 style, or quote it"),
    (re.compile(r"^[-+]?\.(?i:inf|nan)$"), "an infinite or not-a-number float", "quote it for a string"),
    (re.compile(r"^(?i:true|false|null)$"), "a differently-cased true/false/null",
     "write true, false or null in lower case, or quote it"),
    (re.compile(r"^=$"), "the YAML 1.1 value key", "quote it ('=')"),
)


@dataclass
class Marks:
    """Where each node came from: ``value[path]`` and, for mapping entries, ``key[path]``.

    Lines and columns are 1-based.  ``locate`` falls back to the nearest marked ancestor
    (aliased subtrees are marked only at the alias).
    """

    file: str
    value: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, *, prefer_key: bool = False) -> tuple[int, int]:
        if prefer_key and path in self.key:
            return self.key[path]
        for end in range(len(path), -1, -1):
            where = self.value.get(path[:end])
            if where is not None:
                return where
        return (1, 1)

    def problem(self, path: Path, code: str, message: str, hint: str = "", *,
                prefer_key: bool = False) -> Problem:
        line, column = self.locate(path, prefer_key=prefer_key)
        return Problem(self.file, line, column, json_path(path), code, message, hint)


@dataclass
class Document:
    """A loaded YAML file: its value, its marks, and every problem met on the way."""

    data: Any
    marks: Marks
    problems: list[Problem]
    flagged: set[Path] = field(default_factory=set)
    fatal: bool = True


def decode(raw: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 (a BOM is allowed) or a problem at the first bad byte's line and column."""
    if len(raw) > MAX_BYTES:
        return None, [Problem(file, 1, 1, "$", "file-too-large",
                              f"the file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}",
                              "split the allocations into an allocations_file, or trim the plan")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [Problem(file, line, column, "$", "bad-utf8",
                              f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                              "save the file as UTF-8")]


def load_yaml(raw: bytes | str, file: str) -> Document:
    """Load one YAML document; problems are collected, never raised."""
    marks = Marks(file)
    if isinstance(raw, bytes):
        text, problems = decode(raw, file)
        if text is None:
            return Document(None, marks, problems)
    else:
        text = raw
    builder = _Builder(marks)
    try:
        for event in yaml.parse(text, Loader=_Parser):
            builder.feed(event)
            if builder.fatal:
                break
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        builder.problems.append(Problem(file, line, column, "$", "yaml-syntax",
                                        f"not valid YAML: {what}", "fix the YAML syntax at this position"))
        return Document(None, marks, builder.problems)
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position, no mark
        position = int(getattr(exc, "position", 0) or 0)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        character = getattr(exc, "character", "")
        shown = repr(chr(character) if isinstance(character, int) else character)
        what = f"the control character {shown}" if character != "" else "a character YAML does not allow"
        builder.problems.append(Problem(file, line, column, "$", "yaml-syntax", f"not valid YAML: {what}",
                                        "remove control characters from the file"))
        return Document(None, marks, builder.problems)
    return Document(builder.result, marks, builder.problems, builder.flagged, builder.fatal)


class _Frame:
    __slots__ = ("anchor", "container", "path", "pending_key", "start_nodes")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path, anchor: str | None,
                 start_nodes: int) -> None:
        self.container = container
        self.path = path
        self.pending_key: str | None = None
        self.anchor = anchor
        self.start_nodes = start_nodes


class _Builder:
    """Consumes parser events; keeps a stack instead of recursing."""

    def __init__(self, marks: Marks) -> None:
        self.marks = marks
        self.problems: list[Problem] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0
        self.documents = 0
        self.result: Any = None
        self.fatal = False
        self.flagged: set[Path] = set()

    def feed(self, event: yaml.Event) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    # -- events --------------------------------------------------------------------------

    def _on_DocumentStartEvent(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            self._fail(event, (), "multiple-documents", "the file holds more than one YAML document",
                       "keep one plan per file (remove the second '---')")

    def _on_ScalarEvent(self, event: yaml.ScalarEvent) -> None:
        path = self._child_path(event)
        if path is None:
            return
        value = self._scalar(event, path)
        self._count(1, event, path)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self._place(path, value, event)

    def _on_AliasEvent(self, event: yaml.AliasEvent) -> None:
        path = self._child_path(event, allow_key=False)
        if path is None:
            return
        if event.anchor not in self.anchors:
            self._fail(event, path, "yaml-alias", f"unknown alias *{event.anchor}", "define the &anchor first")
            return
        value, size = self.anchors[event.anchor]
        self._count(size, event, path)
        self._place(path, value, event)

    def _on_MappingStartEvent(self, event: yaml.MappingStartEvent) -> None:
        self._open(event, {})

    def _on_SequenceStartEvent(self, event: yaml.SequenceStartEvent) -> None:
        self._open(event, [])

    def _on_MappingEndEvent(self, event: yaml.MappingEndEvent) -> None:
        self._close()

    def _on_SequenceEndEvent(self, event: yaml.SequenceEndEvent) -> None:
        self._close()

    # -- building ------------------------------------------------------------------------

    def _open(self, event: yaml.CollectionStartEvent, container: dict[str, Any] | list[Any]) -> None:
        path = self._child_path(event, allow_key=False)
        if path is None:
            return
        if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            self._problem(event, path, "yaml-tag", f"the tag {event.tag} is not supported",
                          "remove the tag; plans use plain YAML")
        if len(path) >= MAX_DEPTH:
            self._fail(event, path, "too-deep", f"nesting deeper than {MAX_DEPTH} levels",
                       "flatten the structure; a plan needs only a few levels")
            return
        self._count(1, event, path)
        self._place(path, container, event)
        self.stack.append(_Frame(container, path, event.anchor, self.nodes))

    def _close(self) -> None:
        if not self.stack:
            return
        frame = self.stack.pop()
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, self.nodes - frame.start_nodes + 1)

    def _child_path(self, event: yaml.NodeEvent, *, allow_key: bool = True) -> Path | None:
        """The path the next node lands at, or None when it is a mapping key (handled here)."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        if frame.pending_key is not None:
            return (*frame.path, frame.pending_key)
        if not allow_key or not isinstance(event, yaml.ScalarEvent):
            self._fail(event, frame.path, "yaml-key", "a mapping key must be a plain string",
                       "write 'name: value' with a simple key")
            return None
        self._take_key(frame, event)
        return None

    def _take_key(self, frame: _Frame, event: yaml.ScalarEvent) -> None:
        key = event.value
        path = (*frame.path, key)
        where = (event.start_mark.line + 1, event.start_mark.column + 1)
        if key == "<<" and not event.style:
            self._problem(event, path, "yaml-merge-key", "merge keys (<<) are YAML 1.1 only",
                          "write the keys out, or use a Jinja variable")
        assert isinstance(frame.container, dict)
        if key in frame.container:
            first = self.marks.key.get(path, (0, 0))
            self._problem(event, path, "duplicate-key",
                          f"duplicate key '{key}' (first at line {first[0]}, column {first[1]})",
                          "remove one of them; YAML would silently keep only the last")
            key = f"{key}\x00dup{self.nodes}"  # keep the first, parse the rest for more problems
        frame.pending_key = key
        self.marks.key.setdefault((*frame.path, key), where)

    def _place(self, path: Path, value: Any, event: yaml.Event) -> None:
        self.marks.value[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
        if not self.stack:
            self.result = value
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
        else:
            assert frame.pending_key is not None
            if "\x00dup" not in frame.pending_key:
                frame.container[frame.pending_key] = value
            frame.pending_key = None

    def _scalar(self, event: yaml.ScalarEvent, path: Path) -> Any:
        if event.tag == _STR_TAG or event.style:
            if event.tag not in (None, "!", _STR_TAG):
                self._problem(event, path, "yaml-tag", f"the tag {event.tag} is not supported",
                              "remove the tag; quote the value for a string")
            return event.value
        if event.tag is not None:
            self._problem(event, path, "yaml-tag", f"the tag {event.tag} is not supported",
                          "remove the tag; quote the value for a string")
            return event.value
        return self._plain(event, path)

    def _plain(self, event: yaml.ScalarEvent, path: Path) -> Any:
        text = event.value
        if text in ("", "~", "null"):
            return None
        if text in ("true", "false"):
            return text == "true"
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        for pattern, what, hint in _TRAPS:
            if pattern.match(text):
                self._problem(event, path, "yaml-trap", f"'{text}' is {what}; it is refused, not guessed",
                              hint.format(text=text))
                return text
        return text

    def _count(self, size: int, event: yaml.Event, path: Path) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            self._fail(event, path, "too-large", f"more than {MAX_NODES:,} nodes (aliases included)",
                       "the document is too large; aliases may be expanding exponentially")

    def _problem(self, event: yaml.Event, path: Path, code: str, message: str, hint: str) -> None:
        self.flagged.add(path)
        mark = event.start_mark
        self.problems.append(Problem(self.marks.file, mark.line + 1, mark.column + 1, json_path(path),
                                     code, message, hint))

    def _fail(self, event: yaml.Event, path: Path, code: str, message: str, hint: str) -> None:
        self._problem(event, path, code, message, hint)
        self.fatal = True
        self.result = None
