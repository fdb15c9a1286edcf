"""Load a spec file into a positioned YAML tree.

The tree is built from PyYAML's event stream (an iterative parser), never from its
recursive composer, so hostile input (deep nesting, alias bombs, binary data, huge
files) ends in a Problem instead of a crash. Scalars keep their source text so that a
string field can take `tag: 1.10` as "1.10" rather than the float 1.1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helmgen.problems import Problem, SpecError

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 100_000
MAX_INT_DIGITS = 1000  # far beyond any number a spec means; Python will not even print one over 4300 digits


@dataclass(eq=False)
class Scalar:
    line: int
    column: int
    value: Any
    text: str
    plain: bool
    invalid: bool = False  # a value with a problem of its own (too large, bad tag, unknown alias): not checked further


@dataclass(eq=False)
class Mapping:
    line: int
    column: int
    items: dict[str, tuple[Scalar, Node]] = field(default_factory=dict)
    merged: set[str] = field(default_factory=set)  # keys brought in by '<<'


@dataclass(eq=False)
class Sequence:
    line: int
    column: int
    items: list[Node] = field(default_factory=list)


Node = Scalar | Mapping | Sequence

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_BOOL_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


def resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema: `no`, `on` and `0123`-style text stay what they look like."""
    if _NULL.match(text):
        return None
    if _BOOL_TRUE.match(text):
        return True
    if _BOOL_FALSE.match(text):
        return False
    if _INT.match(text):
        return _int(text, 10)
    if _INT_OCT.match(text):
        return _int(text[2:], 8)
    if _INT_HEX.match(text):
        return _int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


_TAGS = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


class TooLarge(ValueError):
    """An integer literal too long to be a number anyone means (checked before converting it)."""


def _int(text: str, base: int) -> int:
    digits = text.lstrip("+-")
    if len(digits) > MAX_INT_DIGITS:
        raise TooLarge(f"an integer of {len(digits)} digits")
    return int(text, base)


# an explicit tag's conversion of the scalar's text (`!!int "12"`, `!!bool yes`)
_CONVERT: dict[type, Callable[[str], Any]] = {
    str: str, int: lambda t: _int(t, 0), float: float,
    bool: lambda t: {"true": True, "false": False}[t.lower()],
    type(None): lambda t: None,
}


def _at(mark: Any) -> tuple[int, int]:
    """1-based line and column of a parser mark."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _Builder:
    """Turns parser events into nodes with an explicit stack (no recursion).

    Problems of single values (a duplicate key, a too large integer, a tag, an unknown alias) are
    recorded with the value's path and the tree is built on, so that the fields are checked too;
    `fatal` is set when the file cannot be read as a spec at all."""

    def __init__(self, problems: list[Problem], text: str = "") -> None:
        import bisect

        self.problems = problems
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[int, int] = {}  # values a node stands for, aliases expanded
        self.expanded = 0
        self.fatal = False
        self.stack: list[list[Any]] = []
        # YAML 1.2 line breaks only (\n, \r\n, \r): PyYAML's own marks also count U+0085, U+2028 and
        # U+2029, which would shift every later line number
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self.has_text = bool(text)
        self._bisect = bisect.bisect_right

    def at(self, mark: Any) -> tuple[int, int]:
        """1-based line and column of a parser mark, counted as YAML 1.2 counts lines."""
        if mark is None:
            return (1, 1)
        index = getattr(mark, "index", None)
        if not isinstance(index, int) or not self.has_text:
            return _at(mark)
        line = self._bisect(self.starts, index)
        return (line, index - self.starts[line - 1] + 1)

    def path(self, key: str | None = None) -> str:
        """The path of the value being built (`key`: the mapping key it is, when it is one)."""
        from helmgen.problems import join_path

        p = ""
        for container, pending, *_ in self.stack:
            if isinstance(container, Sequence):
                p = join_path(p, len(container.items))
            elif pending is not None:
                p = join_path(p, pending.text if pending.value is not None else "null")
        return join_path(p, key) if key is not None else p

    def scalar(self, ev: Any) -> Scalar:
        line, col = self.at(ev.start_mark)
        path = self.path()
        invalid = False
        text = ev.value
        plain = not ev.style and ev.implicit[0]
        tag = ev.tag
        if tag in (None, "!") or (plain and tag is None):
            try:
                value: Any = resolve_plain(text) if plain else text
            except TooLarge as exc:
                self.problems.append(Problem(line, col, path, f"{exc} is too large",
                                             f"at most {MAX_INT_DIGITS} digits; quote it if it is text"))
                value, invalid = text, True
        elif tag in _TAGS:
            want = _TAGS[tag]
            try:
                value = _CONVERT[want](text)
            except TooLarge as exc:
                self.problems.append(Problem(line, col, path, f"{exc} is too large", f"at most {MAX_INT_DIGITS} digits"))
                value, invalid = text, True
            except (ValueError, KeyError):
                shown = text if len(text) <= 40 else text[:40] + "..."
                self.problems.append(Problem(line, col, path, f"{shown!r} is not a valid {tag.rsplit(':', 1)[-1]}"))
                value, invalid = text, True
        else:
            self.problems.append(Problem(line, col, path, f"unsupported YAML tag {tag!r}",
                                         "remove the tag; the spec uses plain YAML"))
            value, invalid = text, True
        return Scalar(line, col, value, text, plain, invalid)

    def build(self, events: Any) -> Node | None:
        """The positioned tree of one document, or None when a guard stops the reading (the problem
        is recorded)."""
        import yaml

        self.root: Node | None = None
        documents = 0
        for count, ev in enumerate(events, 1):
            if count > MAX_EXPANDED_NODES:  # about one event a value
                self._stop(ev, "", f"the file holds more than {MAX_EXPANDED_NODES} values",
                           "a spec never needs this; is the file what you meant?")
                return None
            if isinstance(ev, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self._stop(ev, "", "the file holds more than one YAML document",
                               "a spec is one document; remove the extra '---'")
                    break
            elif isinstance(ev, yaml.ScalarEvent):
                self._attach(self.scalar(ev), ev)
            elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if not self._open(ev):
                    return None
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                container, _, start, inside = self.stack.pop()
                self._attach(container, start, 1 + inside)
            elif isinstance(ev, yaml.AliasEvent) and not self._alias(ev):
                return None
        return self.root

    def _stop(self, ev: Any, path: str, message: str, hint: str) -> None:
        """A guard that ends the reading: the file is not read further."""
        self.fatal = True
        self.problems.append(Problem(*self.at(ev.start_mark), path, message, hint))

    def _open(self, ev: Any) -> bool:
        """A mapping or a list starts; False when it nests too deep."""
        import yaml

        if len(self.stack) >= MAX_DEPTH:
            self._stop(ev, "", f"nesting deeper than {MAX_DEPTH} levels",
                       "a spec never needs this; is the file what you meant?")
            return False
        if ev.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            self.problems.append(Problem(*self.at(ev.start_mark), self.path(), f"unsupported YAML tag {ev.tag!r}"))
        line, col = self.at(ev.start_mark)
        container: Node = Mapping(line, col) if isinstance(ev, yaml.MappingStartEvent) else Sequence(line, col)
        # stack entries: [container, pending key or None, start event, values inside]
        self.stack.append([container, None, ev, 0])
        return True

    def _alias(self, ev: Any) -> bool:
        """An alias: the anchored node again, counted at its full size; False past the expansion limit."""
        target = self.anchors.get(ev.anchor or "")
        size = 1
        if target is None:
            self.problems.append(Problem(*self.at(ev.start_mark), self.path(), f"unknown alias *{ev.anchor}"))
            target = Scalar(*self.at(ev.start_mark), None, "", True, invalid=True)
        else:
            size = self.sizes.get(id(target), 1)
            self.expanded += size
            if self.expanded > MAX_EXPANDED_NODES:
                self._stop(ev, self.path(), f"aliases expand to more than {MAX_EXPANDED_NODES} values",
                           "an alias bomb? a spec never needs this")
                return False
        self._attach(target, ev, size)
        return True

    def _attach(self, node: Node, ev: Any, size: int = 1) -> None:
        """A finished node goes into its container (or becomes the root); `size` counts what it holds."""
        anchor = getattr(ev, "anchor", None)
        if anchor:
            self.anchors[anchor] = node
            self.sizes[id(node)] = size
        if not self.stack:
            self.root = node
            return
        top = self.stack[-1]
        top[3] += size
        parent = top[0]
        if isinstance(parent, Sequence):
            parent.items.append(node)
        elif top[1] is None:
            if not isinstance(node, Scalar):
                self.problems.append(Problem(node.line, node.column, self.path(), "a mapping key must be a plain value"))
                # its entry is left out (no follow-on problem such as a duplicate key)
                top[1] = Scalar(node.line, node.column, "?", "?", True, invalid=True)
            else:
                top[1] = node
        else:
            key: Scalar = top[1]
            top[1] = None
            self._add_item(parent, key, node)

    def _add_item(self, parent: Mapping, key: Scalar, node: Node) -> None:
        name = key.text if key.value is not None else "null"
        if key.invalid:
            return  # a key with a problem of its own
        if key.plain and name == "<<":
            sources = node.items if isinstance(node, Sequence) else [node]
            for src in sources:
                if not isinstance(src, Mapping):
                    self.problems.append(Problem(key.line, key.column, self.path("<<"), "'<<' merges only mappings"))
                    continue
                for k, item in src.items.items():
                    if k not in parent.items:
                        parent.items[k] = item
                        parent.merged.add(k)
            return
        if name in parent.items and name not in parent.merged:
            first = parent.items[name][0]
            self.problems.append(Problem(key.line, key.column, self.path(name), f"duplicate key {name!r}",
                                         f"first given at line {first.line}; the first is used"))
            return
        parent.merged.discard(name)
        parent.items[name] = (key, node)


def expanded_size(node: Node, memo: dict[int, int] | None = None) -> int:
    """Node count with aliases expanded, computed without expanding (DAG walk)."""
    memo = {} if memo is None else memo
    order: list[Node] = []
    todo = [node]
    seen: set[int] = set()
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        order.append(n)
        if isinstance(n, Mapping):
            todo.extend(v for _, v in n.items.values())
        elif isinstance(n, Sequence):
            todo.extend(n.items)
    for n in reversed(order):
        if isinstance(n, Mapping):
            memo[id(n)] = 1 + sum(memo.get(id(v), 1) for _, v in n.items.values())
        elif isinstance(n, Sequence):
            memo[id(n)] = 1 + sum(memo.get(id(v), 1) for v in n.items)
        else:
            memo[id(n)] = 1
        if memo[id(n)] > MAX_EXPANDED_NODES:
            return memo[id(n)]
    return memo[id(node)]


def parse_text(text: str, filename: str) -> Node:
    import yaml

    from helmgen.deploy import spec_digest

    problems: list[Problem] = []
    if "\x00" in text:
        raise SpecError(filename, [Problem(1, 1, "", "the file is binary, not YAML text")])
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise SpecError(filename, [Problem(1, 1, "", "the file is empty",
                                           "run 'helmgen init' for a commented starter spec")])
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    builder = _Builder(problems, text)
    try:
        root = builder.build(yaml.parse(text, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = builder.at(mark)
        what = exc.problem or "invalid YAML"
        raise SpecError(filename, problems + [Problem(line, col, "", f"invalid YAML: {what}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character: positioned, on one line
        index = exc.position if isinstance(exc.position, int) else 0
        if loader is not yaml.SafeLoader:  # libyaml counts bytes of the UTF-8 text
            index = len(text.encode("utf-8")[:index].decode("utf-8", "ignore"))
        line = builder._bisect(builder.starts, index)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SpecError(filename, problems + [Problem(line, index - builder.starts[line - 1] + 1, builder.path(),
                                                      f"invalid YAML: the control character U+{ord(char):04X} "
                                                      "is not allowed", "write it as an escape in a double-quoted "
                                                      "string, for example \"\\x01\"")]) from None
    except yaml.YAMLError as exc:
        text_ = " ".join(str(exc).split())
        raise SpecError(filename, problems + [Problem(1, 1, "", f"invalid YAML: {text_}")]) from None
    if builder.fatal:
        raise SpecError(filename, problems)
    if root is None:
        raise SpecError(filename, problems or [Problem(1, 1, "", "the file is empty")])
    if builder.anchors and expanded_size(root) > MAX_EXPANDED_NODES:
        raise SpecError(filename, [Problem(1, 1, "", f"aliases expand to more than {MAX_EXPANDED_NODES} values",
                                           "an alias bomb? a spec never needs this")])
    root.source_digest = spec_digest(text.encode("utf-8"))  # type: ignore[union-attr]  # Chart.yaml's agentgen.io/spec-digest
    root.parse_problems = problems  # type: ignore[union-attr]  # checked with the fields, all reported at once
    return root


def _read_regular(p: Path) -> bytes:
    """The file's bytes, refusing anything that is not a regular file before it is opened for
    reading: opening a FIFO blocks until a writer comes, and /dev/zero never ends."""
    import os
    import stat

    st = p.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(str(p), [Problem(1, 1, "", f"is {_file_kind(st.st_mode)}, not a regular file",
                                         "give the path of a spec file")])
    if st.st_size > MAX_BYTES:
        raise SpecError(str(p), [Problem(1, 1, "", f"the file is too large ({st.st_size} bytes; "
                                                   f"the limit is {MAX_BYTES})")])
    # O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it still returns
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpecError(str(p), [Problem(1, 1, "", "is not a regular file", "give the path of a spec file")])
        return f.read(MAX_BYTES + 1)


def _file_kind(mode: int) -> str:
    import stat

    for test, what in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "a special file"


def load_file(path: str | Path) -> Node:
    p = Path(path)
    name = str(path)
    try:
        data = _read_regular(p)
    except SpecError as exc:
        raise SpecError(name, exc.problems) from None
    except IsADirectoryError:
        raise SpecError(name, [Problem(1, 1, "", "is a directory, not a spec file")]) from None
    except OSError as exc:
        raise SpecError(name, [Problem(1, 1, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_BYTES:
        raise SpecError(name, [Problem(1, 1, "", f"the file is too large (the limit is {MAX_BYTES} bytes)")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(name, [Problem(line, 1, "", "the file is not UTF-8 text (binary data?)")]) from None
    return parse_text(text, name)


def to_python(node: Node) -> Any:
    """Plain data for pass-through fields (their shape is Kubernetes', checked later)."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Sequence):
        return [to_python(n) for n in node.items]
    return {k: to_python(v) for k, (_, v) in node.items.items()}
