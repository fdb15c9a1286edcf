"""`helmgen promote` and `helmgen abort`: edit one agent's rollout in the spec's own text.

ruamel.yaml composes the document only to find where each node sits; the change is spliced
into the text, so every byte outside the changed lines stays as the user wrote it (comments,
key order, quoting, flow maps, long lines, CRLF, a `---`). The caller checks the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helmgen.problems import Problem, SpecError
from helmgen.spec.fields import VERSION_FIELDS  # what a canary changes; weight, steps... are settings


@dataclass
class Edit:
    """The new text and what changed, in words."""

    text: str
    summary: str
    changes: list[str] = field(default_factory=list)


@dataclass
class _Splice:
    start: int
    end: int
    text: str


class _Doc:
    """The text, its composed nodes, and the splices to apply."""

    def __init__(self, text: str, filename: str) -> None:
        from ruamel.yaml import YAML

        self.text = text
        self.filename = filename
        self.nl = "\r\n" if "\r\n" in text else "\n"
        self.root: Any = YAML().compose(text)
        self.splices: list[_Splice] = []
        self.seen: dict[int, int] = {}  # id(node) -> how often the tree holds it (an alias repeats it)
        self._count(self.root, set())

    def _count(self, node: Any, stack: set[int]) -> None:
        if node is None:
            return
        self.seen[id(node)] = self.seen.get(id(node), 0) + 1
        if self.seen[id(node)] > 1 or id(node) in stack:
            return
        if isinstance(node.value, list):
            for item in node.value:
                for sub in item if isinstance(item, tuple) else (item,):
                    self._count(sub, stack | {id(node)})

    # -- problems -------------------------------------------------------------------------------
    def fail(self, node: Any, path: str, message: str, hint: str = "") -> SpecError:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
        return SpecError(self.filename, [Problem(line, col, path, message, hint)])

    # -- reading --------------------------------------------------------------------------------
    @staticmethod
    def is_map(node: Any) -> bool:
        return type(node).__name__ == "MappingNode"

    def get(self, mapping: Any, key: str) -> tuple[Any, Any] | None:
        if not self.is_map(mapping):
            return None
        for k, v in mapping.value:
            if type(k).__name__ == "ScalarNode" and k.value == key:
                return k, v
        return None

    def merged(self, mapping: Any) -> bool:
        return self.is_map(mapping) and any(getattr(k, "value", None) == "<<" for k, _ in mapping.value)

    def shared(self, node: Any) -> bool:
        return self.seen.get(id(node), 0) > 1

    def end(self, node: Any) -> int:
        """Where the node's own characters end (a block collection's span runs on to the next token)."""
        if type(node).__name__ == "ScalarNode":
            if node.style in ("|", ">"):
                body = self.text[node.start_mark.index:node.end_mark.index]
                if "+" in body.split("\n", 1)[0].split("#", 1)[0]:  # `|+` keeps its trailing blank lines
                    return int(node.end_mark.index)
                return int(node.start_mark.index) + len(body.rstrip())
            return int(node.end_mark.index)
        if node.flow_style or not node.value:
            return int(node.end_mark.index)
        last = node.value[-1]
        if isinstance(last, tuple):
            return self.value_end(last[0].end_mark.index, last[1])
        before = node.value[-2] if len(node.value) > 1 else None
        return self.value_end(self.end(before) if before is not None else node.start_mark.index, last)

    def value_end(self, after: int, node: Any) -> int:
        """Where a value written after index `after` ends. An alias (`*name`) is the node of its anchor,
        whose marks are where the anchor is: its own text is the `*name` after `after`."""
        if node.start_mark.index >= after or not getattr(node, "anchor", None):
            return self.end(node)
        found = re.compile(r"\*" + re.escape(node.anchor) + r"(?![^\s,\]}])").search(self.text, after)
        if found is None:
            raise ValueError(f"alias *{node.anchor} not found")
        return found.end()

    def source(self, node: Any) -> str:
        return self.text[node.start_mark.index:self.end(node)]

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def line_end(self, index: int) -> int:
        """Just after the newline of the line holding index (or the end of the text)."""
        if index > 0 and self.text[index - 1] == "\n":  # already at a line's start: a kept block scalar's end
            return index
        nl = self.text.find("\n", index)
        return len(self.text) if nl < 0 else nl + 1

    def value_text(self, node: Any) -> str:
        """A node as one line of YAML: its own text when it is one line, else JSON (flow YAML)."""
        own = self.source(node)
        anchor = getattr(node, "anchor", None)
        if anchor and own.startswith(f"&{anchor}"):  # the value, not a second definition of its anchor
            own = own[len(anchor) + 1:].lstrip(" ")
        if "\n" not in own and "#" not in own:
            return own
        return json.dumps(_plain(node), ensure_ascii=False)

    # -- writing --------------------------------------------------------------------------------
    def splice(self, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, end, text))

    def result(self) -> str:
        out = self.text
        last = len(out) + 1
        order = sorted(enumerate(self.splices), key=lambda e: (e[1].start, e[1].end, e[0]), reverse=True)
        for _, s in order:  # from the end of the text; of two insertions at one place, the first stays first
            if s.end > last:
                raise ValueError("overlapping edits")
            out = out[:s.start] + s.text + out[s.end:]
            last = s.start
        return out

    def entry_span(self, key: Any, value: Any) -> tuple[int, int]:
        """A block mapping entry: its lines, with the comment lines right above it at its indent."""
        start = self.line_start(key.start_mark.index)
        if self.text[start:key.start_mark.index].strip():
            raise self.fail(key, "", "this entry shares its line with other YAML: edit it by hand")
        indent = self.text[start:key.start_mark.index]
        while start > 0:
            prev = self.line_start(start - 1)
            line = self.text[prev:start].rstrip("\r\n")
            if line.startswith(indent + "#"):
                start = prev
            else:
                break
        return start, self.line_end(self.value_end(key.end_mark.index, value))

    def set_keys(self, mapping: Any, items: list[tuple[str, Any, str]], path: str,
                 drop: frozenset[str] = frozenset()) -> None:
        """Set keys of a mapping: (key, source node or None, one-line YAML text of the value); drop others."""
        if mapping.flow_style and self._flow_lines(
                mapping, {k: t for k, _, t in items}, drop, [f"{_key(k)}: {t}" for k, _, t in items
                                                              if self.get(mapping, k) is None]):
            return
        if mapping.flow_style:
            parts = []
            done = set()
            for k, v in mapping.value:
                if k.value in drop:
                    continue
                new = next((it for it in items if it[0] == k.value), None)
                if new is not None:
                    done.add(new[0])
                    parts.append(f"{self.source(k)}: {new[2]}")
                else:
                    parts.append(self.text[k.start_mark.index:self.value_end(k.end_mark.index, v)])
            parts += [f"{_key(k)}: {t}" for k, _, t in items if k not in done]
            self._flow(mapping, parts)
            return
        indent = " " * (mapping.value[0][0].start_mark.column if mapping.value else 0)
        added = []
        for key, node, text in items:
            found = self.get(mapping, key)
            if found is not None:
                k, v = found
                colon = self.text.index(":", self.end(k))
                moved = self._moved(node, text, k.start_mark.column + 2)
                self.splice(colon + 1, self.value_end(k.end_mark.index, v),
                            moved if moved.startswith(("\n", "\r")) else " " + moved)
            else:
                added.append(f"{indent}{_entry(_key(key), self._moved(node, text, len(indent) + 2))}{self.nl}")
        if drop:
            self.delete_keys(mapping, drop)
        if added:
            at = self.line_end(self.end(mapping))
            if at == len(self.text) and not self.text.endswith("\n"):
                added[0] = self.nl + added[0]
            self.splice(at, at, "".join(added))

    def _moved(self, node: Any, text: str, column: int) -> str:
        """A value's text for a block entry at a new indent: its own lines, shifted. A block collection
        starts on the line after its key."""
        if node is None or "\n" not in self.source(node):
            return text
        own = self.source(node)
        if type(node).__name__ != "ScalarNode" and not node.flow_style:
            shift = column - node.start_mark.column
            lines = (" " * node.start_mark.column + own).split("\n")
            return "".join(self.nl + (" " * shift + ln if shift >= 0 else ln[-shift:]) if ln.strip() else self.nl
                           for ln in (ln.rstrip("\r") for ln in lines))
        shift = column - _indent_of_following(own)
        lines = own.split("\n")
        out = [lines[0]]
        for ln in lines[1:]:
            if shift >= 0:
                out.append((" " * shift + ln) if ln.strip() else ln)
            else:
                cut = min(-shift, len(ln) - len(ln.lstrip(" ")))
                out.append(ln[cut:])
        return "\n".join(out)

    def add_entry(self, mapping: Any, keys: list[str], items: list[tuple[str, Any, str]]) -> None:
        """Add keys[0]: (keys[1]: ...) holding the items (key, source node, one-line text) at a mapping's end."""
        if mapping.flow_style:
            inner = "{" + ", ".join(f"{_key(k)}: {t}" for k, _, t in items) + "}"
            for key in reversed(keys[1:]):
                inner = "{" + f"{key}: {inner}" + "}"
            self.set_keys(mapping, [(keys[0], None, inner)], keys[0])
            return
        column = mapping.value[0][0].start_mark.column if mapping.value else 0
        lines = [" " * (column + 2 * depth) + f"{key}:{self.nl}" for depth, key in enumerate(keys)]
        column += 2 * len(keys)
        lines += [" " * column + _entry(_key(k), self._moved(node, t, column + 2)) + self.nl for k, node, t in items]
        text = "".join(lines)
        at = self.line_end(self.end(mapping))
        if at == len(self.text) and not self.text.endswith("\n"):
            text = self.nl + text
        self.splice(at, at, text)

    def delete_keys(self, mapping: Any, keys: set[str] | frozenset[str]) -> None:
        if mapping.flow_style and self._flow_lines(mapping, {}, keys, []):
            return
        if mapping.flow_style:
            self._flow(mapping, [self.text[k.start_mark.index:self.value_end(k.end_mark.index, v)]
                                 for k, v in mapping.value if k.value not in keys])
            return
        for k, v in mapping.value:
            if k.value in keys:
                start, end = self.entry_span(k, v)
                self.splice(start, end, "")

    def _flow_lines(self, mapping: Any, replace: dict[str, str], drop: set[str] | frozenset[str],
                    added: list[str]) -> bool:
        """A flow map written over several lines, edited entry by entry so that its other lines, and their
        comments, stay as written; False (nothing done) for a one-line map or one that would be left empty."""
        start, end = mapping.start_mark.index, mapping.end_mark.index
        entries = mapping.value
        kept = [i for i, (k, _) in enumerate(entries) if k.value not in drop]
        if "\n" not in self.text[start:end] or not kept:
            return False
        ends = [self.value_end(k.end_mark.index, v) for k, v in entries]
        for i in kept:
            k, v = entries[i]
            if k.value in replace:
                self.splice(ends[i] - len(self.value_text_of(k, v, ends[i])), ends[i], replace[k.value])
        i = 0
        while i < len(entries):
            if i in kept:
                i += 1
                continue
            j = i
            while j + 1 < len(entries) and j + 1 not in kept:
                j += 1
            if j + 1 < len(entries):  # entries follow: up to the next key
                self.splice(entries[i][0].start_mark.index, entries[j + 1][0].start_mark.index, "")
            else:  # to the end: the comma after the entry before, and the run's own lines
                comma = self.text.index(",", ends[i - 1])
                self.splice(comma, comma + 1, "")
                first, stop = entries[i][0].start_mark.index, ends[j]
                line = self.line_start(first)
                rest = self.text[stop:self.line_end(stop)].strip().lstrip(",").strip()
                if not self.text[line:first].strip() and (not rest or rest.startswith("#")):
                    self.splice(line, self.line_end(stop), "")  # the run's whole lines
                else:  # the map closes on the run's last line, or another entry shares its first
                    self.splice(first, stop, "")
            i = j + 1
        if added:
            self.splice(ends[kept[-1]], ends[kept[-1]], "".join(", " + a for a in added))
        return True

    def value_text_of(self, key: Any, node: Any, stop: int) -> str:
        """The text of a value that ends at stop (an alias: its `*name`)."""
        if node.start_mark.index >= key.end_mark.index:
            return self.text[node.start_mark.index:stop]
        return "*" + str(node.anchor)

    def _flow(self, mapping: Any, parts: list[str]) -> None:
        start, end = mapping.start_mark.index, mapping.end_mark.index
        own = self.text[start:end]
        brace = own.index("{")
        pad = " " if own[brace + 1:brace + 2] == " " and parts else ""
        self.splice(start + brace, end, "{" + pad + ", ".join(parts) + pad + "}")


def _indent_of_following(text: str) -> int:
    cols = [len(ln) - len(ln.lstrip(" ")) for ln in text.split("\n")[1:] if ln.strip()]
    return min(cols) if cols else 0


def _entry(key: str, value: str) -> str:
    """`key: value`, or `key:` and a block collection on the lines after it."""
    return f"{key}:{value}" if value.startswith(("\n", "\r")) else f"{key}: {value}"


# plain words YAML 1.1 reads as booleans or null (PyYAML, yamllint's truthy rule, older tools): quoted
_YAML11_WORDS = re.compile(r"y|n|yes|no|true|false|on|off|null", re.IGNORECASE)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][-A-Za-z0-9_.]*", key) and not _YAML11_WORDS.fullmatch(key) \
        else json.dumps(key)


def _plain(node: Any) -> Any:
    kind = type(node).__name__
    if kind == "ScalarNode":
        return node.value
    if kind == "SequenceNode":
        return [_plain(n) for n in node.value]
    return {k.value: _plain(v) for k, v in node.value}


def _image_ref(ref: str) -> tuple[str, str]:
    """repo[:tag][@digest] -> (repo, tag)."""
    repo = ref.partition("@")[0]
    slash, colon = repo.rfind("/"), repo.rfind(":")
    return (repo[:colon], repo[colon + 1:]) if colon > slash else (repo, "")


_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@:+-]*")


def _scalar_text(node: Any, value: str) -> str:
    """A string value as YAML: in the quotes the old scalar had, plain when that reads back as the same
    string, else double-quoted."""
    from helmgen.spec.load import resolve_plain

    if node is not None and type(node).__name__ == "ScalarNode" and node.style in ('"', "'"):
        return _quoted(node, value)
    if _PLAIN.fullmatch(value) and not value.endswith(":") and resolve_plain(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _quoted(node: Any, value: str) -> str:
    """A new value for a scalar, in the quotes the user wrote it in."""
    if node.style == '"':
        return json.dumps(value, ensure_ascii=False)
    if node.style == "'":
        return "'" + value.replace("'", "''") + "'"
    return value


class _Agent:
    def __init__(self, doc: _Doc, agent: str) -> None:
        self.doc, self.name = doc, agent
        root = doc.root
        if not doc.is_map(root):
            raise doc.fail(root, "", "the spec is not a mapping")
        agents = doc.get(root, "agents")
        found = doc.get(agents[1], agent) if agents else None
        if found is None:
            self._not_found(agents)
        assert found is not None
        self.node = found[1]
        self.path = f"agents.{agent}"
        if not doc.is_map(self.node):
            raise doc.fail(self.node, self.path, "is not a mapping")
        for node, path in ((agents[1], "agents") if agents else (None, ""), (self.node, self.path)):
            if node is not None and doc.shared(node):  # `a: *base`: the change would be made in &base
                raise doc.fail(found[0], path, f"is shared through the anchor &{node.anchor} (written once, used "
                               "in more places): a change here would change the others too", "edit it by hand")

    def _not_found(self, agents: tuple[Any, Any] | None) -> None:
        doc = self.doc
        envs = doc.get(doc.root, "environments")
        for k, env in (envs[1].value if envs and doc.is_map(envs[1]) else []):
            in_env = doc.get(env, "agents")
            hit = doc.get(in_env[1], self.name) if in_env else None
            if hit is not None:
                raise doc.fail(hit[0], f"environments.{k.value}.agents.{self.name}",
                               "promote and abort change agents written under agents:, not an environment's",
                               "move the rollout into agents: or edit the environment by hand")
        known = ", ".join(k.value for k, _ in agents[1].value) if agents and doc.is_map(agents[1]) else "none"
        raise doc.fail(agents[0] if agents else None, "agents", f"no agent named {self.name!r}", f"agents: {known}")

    def own(self, node: Any, path: str, key: str) -> tuple[Any, Any] | None:
        """A key written in node itself: not brought in by '<<', not shared through an anchor."""
        doc = self.doc
        found = doc.get(node, key)
        if found is None and doc.merged(node):
            raise doc.fail(node, path, f"{key} comes from a '<<' merge key: edit it by hand")
        if found is not None and doc.shared(found[1]):
            raise doc.fail(found[1], f"{path}.{key}", "is shared with other places through an anchor (&): "
                                                     "a change here would change them too; edit it by hand")
        return found

    def from_defaults(self, key: str) -> None:
        """A canary or blue-green slot that `defaults.rollout` gives the agent is every agent's: said, not edited."""
        doc = self.doc
        defaults = doc.get(doc.root, "defaults")
        rollout = doc.get(defaults[1], "rollout") if defaults else None
        found = doc.get(rollout[1], key) if rollout else None
        if found is not None and doc.is_map(found[1]) and (
                key == "blueGreen" or any(doc.get(found[1], f) for f in VERSION_FIELDS)):
            raise doc.fail(found[0], f"defaults.rollout.{key}",
                           f"agents.{self.name}'s {'canary comes' if key == 'canary' else 'blue-green slots come'} "
                           "from defaults: promote and abort edit an agent's own rollout",
                           "it applies to every agent: edit defaults.rollout by hand, or write the rollout "
                           f"under agents.{self.name}")

    def rollout(self) -> tuple[Any, Any]:
        found = self.own(self.node, self.path, "rollout")
        if found is None:
            self.from_defaults("blueGreen")
            self.from_defaults("canary")
            raise self.doc.fail(self.node, self.path, "has no rollout (no canary in flight, no blueGreen)",
                                "promote and abort act on rollout.canary or rollout.blueGreen")
        return found


_Step = Callable[[_Doc, "_Agent", Any, str], str]  # (doc, agent, canary, its path) -> what changed, in words


def _canary_steps(canary: Any, doc: _Doc) -> list[_Step]:
    """promote's edits, one level of the document each: image, env, config files."""
    steps: list[_Step] = []
    if doc.get(canary, "image") or doc.get(canary, "tag"):
        steps.append(lambda d, a, c, p: _promote_image(d, a, (d.get(c, "image") or (None, None))[1],
                                                       (d.get(c, "tag") or (None, None))[1]))
    env = doc.get(canary, "env")
    if env is not None and env[1].value:
        steps.append(lambda d, a, c, p: _merge_env(d, a, d.get(c, "env")[1], f"{p}.env"))  # type: ignore[index]
    config = doc.get(canary, "config")
    files = doc.get(config[1], "files") if config else None
    if files is not None and files[1].value:
        steps.append(lambda d, a, c, p: _merge_files(
            d, a, d.get(d.get(c, "config")[1], "files")[1], f"{p}.config.files"))  # type: ignore[index]
    return steps


def _run(text: str, filename: str, agent: str, steps: list[_Step]) -> tuple[str, list[str]]:
    """Each step on the text the step before it left (nested flow maps change at more than one level);
    first every step once on the spec as written, so that a refusal points at the user's own lines."""
    def opened(t: str) -> tuple[_Doc, _Agent, Any, str]:
        doc = _Doc(t, filename)
        a = _Agent(doc, agent)
        _, rollout = a.rollout()
        path = f"{a.path}.rollout"
        return doc, a, _canary(doc, a, rollout, path), f"{path}.canary"

    from ruamel.yaml.error import YAMLError

    for step in steps:
        step(*opened(text))
    as_written = text
    changes = []
    for step in steps:
        try:
            doc, a, canary, path = opened(text)
        except YAMLError:  # a layout this module does not edit right: never a broken spec
            doc = _Doc(as_written, filename)
            raise doc.fail(_Agent(doc, agent).node, f"agents.{agent}", "cannot edit this layout safely",
                           "make the change by hand (and report the spec, please)") from None
        said = step(doc, a, canary, path)
        text = doc.result()
        if said:
            changes.append(said)
    return text, changes


def _drop_step(doc: _Doc, a: _Agent, canary: Any, path: str) -> str:
    for k, v in canary.value:
        used = _used_elsewhere(doc, v, k.start_mark.index) if k.value in VERSION_FIELDS else None
        if used is not None:  # removing it would leave its aliases (*name) without their anchor
            raise doc.fail(used, f"{path}.{k.value}", f"holds the anchor &{used.anchor} that other places use "
                           f"(*{used.anchor}): removing it would break them", "edit it by hand")
    _drop_version(doc, a.rollout()[1], canary)
    return ""


def _used_elsewhere(doc: _Doc, node: Any, start: int) -> Any:
    """The first node under node (itself included), anchored at or after start, that an alias repeats.
    An alias (`*name`) brings a node anchored before it: removing the alias breaks nothing."""
    if node.start_mark.index < start:
        return None
    if doc.shared(node):
        return node
    if isinstance(node.value, list):
        for item in node.value:
            for sub in item if isinstance(item, tuple) else (item,):
                found = _used_elsewhere(doc, sub, start)
                if found is not None:
                    return found
    return None


def promote(text: str, filename: str, agent: str) -> Edit:
    doc = _Doc(text, filename)
    a = _Agent(doc, agent)
    _, rollout = a.rollout()
    path = f"{a.path}.rollout"
    green = a.own(rollout, path, "blueGreen")
    if green is not None:
        return _switch(doc, a, green[1], f"{path}.blueGreen")
    canary = _canary(doc, a, rollout, path)
    new, changes = _run(text, filename, agent, [*_canary_steps(canary, doc), _drop_step])
    return Edit(new, f"promoted {agent}'s canary", changes)


def abort(text: str, filename: str, agent: str) -> Edit:
    doc = _Doc(text, filename)
    a = _Agent(doc, agent)
    _, rollout = a.rollout()
    path = f"{a.path}.rollout"
    green = doc.get(rollout, "blueGreen")
    if green is not None:
        raise doc.fail(green[0], f"{path}.blueGreen", "a blue-green agent has no canary to abort",
                       "'helmgen promote' switches the active slot back, or 'helm rollback' undoes the last upgrade")
    _canary(doc, a, rollout, path)
    return Edit(_run(text, filename, agent, [_drop_step])[0], f"aborted {agent}'s canary", [])


def _canary(doc: _Doc, a: _Agent, rollout: Any, path: str) -> Any:
    found = a.own(rollout, path, "canary")
    if found is None or not doc.is_map(found[1]) or not any(doc.get(found[1], f) for f in VERSION_FIELDS):
        a.from_defaults("canary")
        where = found[0] if found else rollout
        raise doc.fail(where, f"{path}.canary" if found else path, "no canary in flight",
                       "a canary is in flight while rollout.canary sets image, tag, env or config")
    if doc.merged(found[1]):
        raise doc.fail(found[1], f"{path}.canary", "has a '<<' merge key: edit it by hand")
    return found[1]


def _drop_version(doc: _Doc, rollout: Any, canary: Any) -> None:
    """The canary's version fields go; its settings (weight, steps...) stay; an empty block goes."""
    if all(k.value in VERSION_FIELDS for k, _ in canary.value):
        doc.delete_keys(rollout, {"canary"})
    else:
        doc.delete_keys(canary, set(VERSION_FIELDS))


def _switch(doc: _Doc, a: _Agent, green: Any, path: str) -> Edit:
    active = doc.get(green, "active")
    if active is None:  # blue is the default
        doc.set_keys(green, [("active", None, "green")], path)
        return Edit(doc.result(), f"switched {a.name} to green", ["active: blue -> green"])
    node = active[1]
    if type(node).__name__ != "ScalarNode" or node.value not in ("blue", "green"):
        raise doc.fail(node, f"{path}.active", "must be blue or green")
    new = "green" if node.value == "blue" else "blue"
    doc.splice(node.start_mark.index, node.end_mark.index, _quoted(node, new))
    return Edit(doc.result(), f"switched {a.name} to {new}", [f"active: {node.value} -> {new}"])


def _canary_ref(doc: _Doc, image: Any, tag: Any) -> tuple[str, str, str]:
    """The canary's (repository, tag, digest); repository "" keeps the agent's."""
    if image is None:
        return "", str(tag.value), ""
    if type(image).__name__ == "ScalarNode":
        repo, new_tag = _image_ref(image.value)
        return repo, new_tag, image.value.partition("@")[2]
    parts = [doc.get(image, k) for k in ("repository", "tag", "digest")]
    return tuple(str(p[1].value) if p else "" for p in parts)  # type: ignore[return-value]


def _promote_image(doc: _Doc, a: _Agent, image: Any, tag: Any) -> str:
    found = a.own(a.node, a.path, "image")
    if found is None:
        raise doc.fail(a.node, a.path, "has no image of its own to promote the canary's into",
                       "write the agent's image under agents: (not only in defaults)")
    node = found[1]
    repo, new_tag, digest = _canary_ref(doc, image, tag)
    if type(node).__name__ == "ScalarNode":
        ref = (repo or _image_ref(node.value)[0]) + (f":{new_tag}" if new_tag else "") + \
            (f"@{digest}" if digest else "")
        doc.splice(node.start_mark.index, node.end_mark.index, _scalar_text(node, ref))
        return f"image {ref}"
    if not doc.is_map(node):
        raise doc.fail(node, f"{a.path}.image", "is neither a string nor a mapping: promote by hand")
    items: list[tuple[str, Any, str]] = []
    for key, value, src in (("repository", repo, None), ("tag", new_tag, tag), ("digest", digest, None)):
        if value:
            old = doc.get(node, key)
            own = doc.source(src) if src is not None and "\n" not in doc.source(src) else ""
            items.append((key, None, own or _scalar_text(old[1] if old else None, value)))
    # a digest would still pin the old version
    doc.set_keys(node, items, f"{a.path}.image", drop=frozenset() if digest else frozenset({"digest"}))
    old_repo = doc.get(node, "repository")
    shown = (repo or (str(old_repo[1].value) if old_repo else "")) + (f":{new_tag}" if new_tag else "") + \
        (f"@{digest}" if digest else "")
    return f"image {shown}"


def _merge_env(doc: _Doc, a: _Agent, env: Any, path: str) -> str:
    items = [(k.value, v, doc.value_text(v)) for k, v in env.value]
    found = a.own(a.node, a.path, "env")
    if found is None:
        doc.add_entry(a.node, ["env"], items)
    else:
        if not doc.is_map(found[1]):
            raise doc.fail(found[1], f"{a.path}.env", "is not a mapping: merge the canary's env by hand")
        doc.set_keys(found[1], items, f"{a.path}.env")
    return "env " + ", ".join(k for k, _, _ in items)


def _merge_files(doc: _Doc, a: _Agent, files: Any, path: str) -> str:
    items = [(k.value, v, doc.value_text(v)) for k, v in files.value]
    config = a.own(a.node, a.path, "config")
    if config is None:
        doc.add_entry(a.node, ["config", "files"], items)
    else:
        target = a.own(config[1], f"{a.path}.config", "files")
        if target is None:
            doc.add_entry(config[1], ["files"], items)
        else:
            doc.set_keys(target[1], items, f"{a.path}.config.files")
    return "config " + ", ".join(k for k, _, _ in items)
