"""A small declarative type system for the spec.

Each type checks a positioned node, returns plain Python data (shorthands expanded by
`post` hooks) and can describe itself as JSON Schema, so the checker and the published
spec schema come from one table and cannot drift apart.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from helmgen.problems import Problem, join_path
from helmgen.spec.load import Mapping, Node, Scalar, Sequence, to_python

INVALID: Any = object()  # a value that failed its check; the problem is already recorded


@functools.cache
def _rx(pattern: str) -> re.Pattern[str]:
    """A compiled pattern, compiled once (the types are built once and check many values)."""
    return re.compile(pattern)


class Ctx:
    """Collects problems and remembers where every value came from."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # reported, but the spec is still valid (exit code 0)
        self.pos: dict[str, tuple[int, int]] = {}
        # the valid entries of a mapping that had invalid ones, by path: the cross-field checks
        # still run on them, so that every problem is reported at once
        self.partials: dict[str, Any] = {}  # path -> the valid part (a mapping or a list) of a value with problems
        self._warned: set[tuple[int, int, str]] = set()  # de-duplication in constant time per warning
        # the fields of a mapping that had problems, by the mapping's path: cross-field checks skip
        # only what depends on them (so one bad field causes no follow-on problems)
        self.bad: dict[str, set[str]] = {}

    def err(self, where: Node | tuple[int, int], path: str, message: str, hint: str = "") -> None:
        line, col = (where.line, where.column) if not isinstance(where, tuple) else where
        self.problems.append(Problem(line, col, path, message, hint))

    def warn(self, where: tuple[int, int], path: str, message: str, hint: str = "") -> None:
        key = (where[0], where[1], "warning: " + message)
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(Problem(where[0], where[1], path, "warning: " + message, hint))

    def at(self, *paths: str) -> tuple[int, int]:
        """Position of the first known path (or of its nearest known parent)."""
        for path in paths:
            p = path
            while p:
                if p in self.pos:
                    return self.pos[p]
                p = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", p) if re.search(r"(\.[^.\[]+|\[\d+\])$", p) else ""
        return (1, 1)


def _kind(node: Node) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    v = node.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"the boolean {node.text}"
    if isinstance(v, (int, float)):
        return f"the number {node.text}"
    return f"the string {node.text!r}" if len(node.text) <= 40 else "a string"


class T:
    description = ""

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def expects(self) -> str:
        return "a value"

    def accepts(self, node: Node) -> bool:
        """Cheap shape test used by Union to pick an alternative."""
        return True

    def wrong(self, node: Node, path: str, ctx: Ctx, hint: str = "") -> Any:
        ctx.err(node, path, f"expected {self.expects()}, got {_kind(node)}", hint)
        return INVALID

    def doc(self, text: str) -> T:
        self.description = text
        return self

    def _described(self, s: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            s["description"] = self.description
        return s


class Str(T):
    def __init__(self, pattern: str | None = None, what: str = "", max_len: int | None = None,
                 min_len: int = 0, enum: tuple[str, ...] | None = None, hint: str = "",
                 check_fn: Callable[[str], str | None] | None = None, numeric: bool = False) -> None:
        self.numeric = numeric  # a plain number is fine too (cpu: 2); the schema says so
        self.pattern = pattern  # compiled on first use: most runs need few of the spec's patterns
        self.what = what
        self.max_len = max_len
        self.min_len = min_len
        self.enum = enum
        self.hint = hint
        self.check_fn = check_fn

    def expects(self) -> str:
        if self.enum:
            return "one of " + ", ".join(self.enum)
        return self.what or "a string"

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Scalar) and node.value is not None

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not isinstance(node, Scalar) or node.value is None:
            return self.wrong(node, path, ctx)
        # a string field takes any plain scalar's source text: `tag: 1.10` is "1.10"
        text = node.value if isinstance(node.value, str) else node.text
        if self.enum is not None:
            if text not in self.enum:
                close = difflib.get_close_matches(text, self.enum, n=1, cutoff=0.5)
                hint = f'did you mean "{close[0]}"?' if close else "one of " + ", ".join(self.enum)
                ctx.err(node, path, f"{text!r} is not allowed", hint)
                return INVALID
            return text
        if len(text) < self.min_len:
            ctx.err(node, path, "must not be empty" if self.min_len == 1 else f"shorter than {self.min_len} characters")
            return INVALID
        if self.max_len is not None and len(text) > self.max_len:
            ctx.err(node, path, f"{text[:40]!r}{'...' if len(text) > 40 else ''} is {len(text)} characters long; "
                                f"the limit is {self.max_len}")
            return INVALID
        if self.pattern and not _rx(self.pattern).fullmatch(text):
            ctx.err(node, path, f"{text!r} is not {self.what or 'valid'}", self.hint)
            return INVALID
        if self.check_fn:
            msg = self.check_fn(text)
            if msg:
                ctx.err(node, path, f"{text!r} {msg}", "" if "did you mean" in msg else self.hint)
                return INVALID
        return text

    def schema(self) -> dict[str, Any]:
        if self.enum:
            s: dict[str, Any] = {"type": "string"}
        elif self.pattern:
            s = {"type": ["string", "number"] if self.numeric else "string"}
        else:
            s = {"type": ["string", "number", "boolean"]}
        if self.enum:
            s["enum"] = list(self.enum)
        if self.pattern:
            s["pattern"] = "^(?:" + self.pattern + ")$"
        if self.max_len:
            s["maxLength"] = self.max_len
        if self.min_len:
            s["minLength"] = self.min_len
        return self._described(s)


class Int(T):
    """An integer; `bits` is how Kubernetes stores the field (int32 unless the API says int64)."""

    def __init__(self, minimum: int | None = None, maximum: int | None = None, bits: int = 32) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.limit = 2 ** (bits - 1) - 1
        self.bits = bits

    def expects(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"an integer >= {self.minimum}"
        return "an integer"

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Scalar) and isinstance(node.value, int) and not isinstance(node.value, bool)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not self.accepts(node):
            if isinstance(node, Scalar) and isinstance(node.value, float) and node.value.is_integer() \
                    and not math.isinf(node.value):
                node = Scalar(node.line, node.column, int(node.value), node.text, node.plain)
            else:
                return self.wrong(node, path, ctx)
        assert isinstance(node, Scalar)
        v = node.value
        shown = v if len(str(v)) <= 40 else f"{str(v)[:20]}...({len(str(v))} digits)"
        if (self.minimum is not None and v < self.minimum) or (self.maximum is not None and v > self.maximum):
            ctx.err(node, path, f"{shown} is out of range (expected {self.expects()})")
            return INVALID
        if not -self.limit - 1 <= v <= self.limit:
            ctx.err(node, path, f"{shown} is out of range (Kubernetes stores this field as a {self.bits}-bit "
                                f"integer: at most {self.limit})")
            return INVALID
        return v

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return self._described(s)


class Bool(T):
    def expects(self) -> str:
        return "true or false"

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Scalar) and isinstance(node.value, bool)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not self.accepts(node):
            hint = "YAML 1.2: write true or false" if isinstance(node, Scalar) and str(node.value).lower() in (
                "yes", "no", "on", "off", "y", "n") else ""
            return self.wrong(node, path, ctx, hint)
        assert isinstance(node, Scalar)
        return node.value

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})


class Raw(T):
    """A Kubernetes pass-through value: its shape is checked by the Kubernetes schemas."""

    def __init__(self, kind: str = "object") -> None:
        self.kind = kind

    def expects(self) -> str:
        return {"object": "a mapping", "array": "a list"}.get(self.kind, "a value")

    def accepts(self, node: Node) -> bool:
        return {"object": isinstance(node, Mapping), "array": isinstance(node, Sequence)}.get(self.kind, True)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not self.accepts(node):
            return self.wrong(node, path, ctx)
        todo: list[tuple[str, Node]] = [(path, node)]  # remember where each part is, for later problems
        ok = True
        while todo:
            p, n = todo.pop()
            if isinstance(n, Scalar) and isinstance(n.value, int) and not -2**63 <= n.value < 2**63:
                ctx.err(n, p, f"{n.text[:30]}{'...' if len(n.text) > 30 else ''} is larger than a 64-bit integer, "
                              "the most Kubernetes stores", "quote it if it is text")
                ok = False
            elif isinstance(n, Scalar) and isinstance(n.value, float) and not math.isfinite(n.value):
                ctx.err(n, p, f"{n.text[:30]} is not a number Kubernetes can store (JSON has no infinity or NaN)",
                        "quote it if it is text")
                ok = False
            if isinstance(n, Mapping):
                for name, (knode, vnode) in n.items.items():
                    child = join_path(p, name)
                    ctx.pos.setdefault(child, (knode.line, knode.column))
                    todo.append((child, vnode))
            elif isinstance(n, Sequence):
                for i, item in enumerate(n.items):
                    child = join_path(p, i)
                    ctx.pos.setdefault(child, (item.line, item.column))
                    todo.append((child, item))
        return to_python(node) if ok else INVALID

    def schema(self) -> dict[str, Any]:
        return self._described({"type": self.kind} if self.kind in ("object", "array") else {})


class List(T):
    def __init__(self, item: T, min_items: int = 0, unique: bool = False) -> None:
        self.item = item
        self.min_items = min_items
        self.unique = unique

    def expects(self) -> str:
        return "a list"

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Sequence)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not isinstance(node, Sequence):
            return self.wrong(node, path, ctx)
        out = []
        ok = True
        for i, item in enumerate(node.items):
            p = join_path(path, i)
            ctx.pos[p] = (item.line, item.column)
            v = INVALID if _reported(item) else self.item.check(item, p, ctx)
            ok = ok and v is not INVALID
            out.append(v)
        if len(out) < self.min_items:
            ctx.err(node, path, f"needs at least {self.min_items} item{'s' if self.min_items > 1 else ''}")
            return INVALID
        if self.unique:
            seen: set[Any] = set()
            for i, v in enumerate(out):
                if v is INVALID:
                    continue
                key = repr(v)
                if key in seen:
                    ctx.err(node.items[i], join_path(path, i), f"{v!r} is listed twice")
                    out[i] = INVALID
                    ok = False
                seen.add(key)
        if not ok:
            ctx.partials[path] = out  # the valid items, in place (INVALID marks the others): checked further
        return out if ok else INVALID

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            s["minItems"] = self.min_items
        return self._described(s)


class _MappingT(T):
    what = "a mapping"

    def expects(self) -> str:
        return self.what

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Mapping)

    @staticmethod
    def entries(node: Mapping, path: str, ctx: Ctx) -> Iterator[tuple[str, Scalar, Node, str]]:
        """Each entry with its path, its key's position remembered for later problems."""
        for name, (knode, vnode) in node.items.items():
            p = join_path(path, name)
            ctx.pos[p] = (knode.line, knode.column)
            yield name, knode, vnode, p


class Map(_MappingT):
    """A mapping whose keys the user chooses (agent names, env names, files)."""

    def __init__(self, value: T, key: Str | None = None, min_items: int = 0, what: str = "a mapping") -> None:
        self.value = value
        self.key = key
        self.min_items = min_items
        self.what = what

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not isinstance(node, Mapping):
            return self.wrong(node, path, ctx)
        out: dict[str, Any] = {}
        ok = True
        for name, knode, vnode, p in self.entries(node, path, ctx):
            if self.key is not None and self.key.check(Scalar(knode.line, knode.column, name, name, False), p, ctx) is INVALID:
                ok = False
                continue
            v = INVALID if _reported(vnode) else self.value.check(vnode, p, ctx)
            ok = ok and v is not INVALID
            out[name] = v
        if len(out) < self.min_items and ok:
            ctx.err(node, path, f"needs at least {self.min_items} entr{'ies' if self.min_items > 1 else 'y'}")
            return INVALID
        if not ok:
            ctx.partials[path] = {k: v for k, v in out.items() if v is not INVALID}
            return INVALID
        return out

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "object", "additionalProperties": self.value.schema()}
        if self.key is not None and self.key.pattern is not None:
            s["propertyNames"] = {"pattern": "^(?:" + self.key.pattern + ")$"}
            if self.key.max_len:
                s["propertyNames"]["maxLength"] = self.key.max_len
        if self.min_items:
            s["minProperties"] = self.min_items
        return self._described(s)


Post = Callable[[dict[str, Any], Node, str, Ctx], Any]


class Obj(_MappingT):
    """A mapping whose keys the spec defines: unknown keys are errors, `x-` keys are free."""

    def __init__(self, fields: dict[str, T], required: tuple[str, ...] = (), xkeys: bool = False,
                 post: Post | None = None, what: str = "a mapping", docs: dict[str, str] | None = None) -> None:
        self.fields = fields
        self.required = required
        self.xkeys = xkeys
        self.post = post
        self.what = what
        self.docs = docs or {}  # field name -> its description in the schema (types are shared, so not on them)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        if not isinstance(node, Mapping):
            return self.wrong(node, path, ctx)
        out: dict[str, Any] = {}
        bad: set[str] = set()
        ok = True
        for name, knode, vnode, p in self.entries(node, path, ctx):
            if self.xkeys and name.startswith("x-"):
                continue
            field = self.fields.get(name)
            if field is None:
                close = difflib.get_close_matches(name, list(self.fields), n=1, cutoff=0.6)
                hint = f'did you mean "{close[0]}"?' if close else "known fields: " + ", ".join(sorted(self.fields))
                ctx.err(knode, p, "unknown field", hint)
                ok = False
                if close:
                    bad.add(close[0])  # most likely that field, misspelt: nothing may depend on its absence
                continue
            if isinstance(vnode, Scalar) and vnode.value is None and vnode.plain and not vnode.invalid:
                continue  # `field:` or `field: null` means "not set"
            v = INVALID if _reported(vnode) else field.check(vnode, p, ctx)
            ok = ok and v is not INVALID
            if v is not INVALID:
                out[name] = v
            else:
                bad.add(name)
        for name in self.required:
            if name not in node.items:
                ctx.err(ctx.pos.get(path, (node.line, node.column)), join_path(path, name), "is required")
                ok = False
                bad.add(name)
            elif name not in out and _is_null(node.items[name][1]):  # `version:` with no value
                ctx.err(node.items[name][0], join_path(path, name), "is required", "it has no value")
                ok = False
                bad.add(name)
        if not ok:
            ctx.partials[path] = out
            ctx.bad[path] = bad
            return INVALID
        return self.post(out, node, path, ctx) if self.post else out

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "type": "object",
            "properties": {k: _with_doc(v.schema(), self.docs.get(k, "")) for k, v in self.fields.items()},
            "additionalProperties": False,
        }
        if self.xkeys:
            s["patternProperties"] = {"^x-": {}}
        if self.required:
            s["required"] = list(self.required)
        return self._described(s)


def _with_doc(s: dict[str, Any], doc: str) -> dict[str, Any]:
    """A property's schema with its description (beside a `$ref`, which draft-07 reads alone, through allOf)."""
    if not doc:
        return s
    return {"description": doc, "allOf": [s]} if "$ref" in s else {**s, "description": doc}


def _reported(node: Node) -> bool:
    """A value whose problem the YAML reader reported already (a too large integer, a tag, an unknown alias)."""
    return isinstance(node, Scalar) and node.invalid


def _is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value is None and node.plain


class Union(T):
    """Alternatives told apart by the node's shape (scalar, mapping or list)."""

    def __init__(self, *alts: T, what: str = "") -> None:
        self.alts = alts
        self.what = what

    def expects(self) -> str:
        return self.what or " or ".join(a.expects() for a in self.alts)

    def accepts(self, node: Node) -> bool:
        return any(a.accepts(node) for a in self.alts)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        for alt in self.alts:
            if alt.accepts(node):
                return alt.check(node, path, ctx)
        return self.wrong(node, path, ctx)

    def schema(self) -> dict[str, Any]:
        return self._described({"anyOf": [a.schema() for a in self.alts]})


class Const(T):
    """`false` where a feature can be switched off (for example `disruption: false`)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def expects(self) -> str:
        return repr(self.value).lower()

    def accepts(self, node: Node) -> bool:
        return isinstance(node, Scalar) and node.value is self.value

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        return self.value if self.accepts(node) else self.wrong(node, path, ctx)

    def schema(self) -> dict[str, Any]:
        return self._described({"const": self.value})
