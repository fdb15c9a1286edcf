"""References between agents (`${agents.NAME.host}` and the rest) and talksTo items, checked at
generate time. The chart resolves references when Helm renders (templates/_references.tpl), so
this module only says whether each one can resolve, and which agents an agent calls through them.

Grammar (the same regular expression as the template): `$${` writes a literal `${`; `${X}` is a
reference when X starts with one of ROOTS followed by '.' or the end; anything else stays as written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any

from helmgen.spec.context import SpecContext

TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
ROOTS = ("release", "namespace", "agents", "self", "deps", "secrets")
AGENT_ATTRS = ("host", "fqdn", "port", "url")
DEP_ATTRS = ("host", "port", "url")
NEAR_ROOTS = {"agent": "agents", "secret": "secrets", "dep": "deps", "dependency": "deps",
              "dependencies": "deps", "ns": "namespace", "releases": "release"}

Err = Callable[[str, str, str], None]


def references(text: str) -> Iterator[str]:
    """The inside of each `${…}` in text, in order, skipping `$${` escapes."""
    for m in TOKEN.finditer(text):
        if m.group(1) is not None:
            yield m.group(1)


def _near_miss(inner: str) -> str | None:
    """The root a `${…}` that is not a reference probably meant, or None when it is plain text.

    Shell-style names (`${HOME}`, `${NATS_URL}`, `${NAMESPACE}`: upper case, no dot) stay text."""
    head, dot, _ = inner.partition(".")
    low = head.lower()
    if head in ROOTS:
        return None
    if head == head.upper() and not dot:
        return None  # a shell or compose variable
    guess = NEAR_ROOTS.get(low) or (low if low in ROOTS else None)
    if guess is None and dot:
        close = difflib.get_close_matches(low, ROOTS, n=1, cutoff=0.8)
        guess = close[0] if close else None
    return guess


class _Checker:
    """Checks the references of one string; `agents` is the spec's (or an environment's) view of the
    merged agents, `self_name` the agent holding the string (None for extraManifests)."""

    def __init__(self, err: Err, spec: dict[str, Any], agents: dict[str, Any], self_name: str | None,
                 book: SpecContext, env_where: str = "") -> None:
        self.err = err
        self.spec = spec
        self.agents = agents
        self.book = book  # every agent written, the fields with problems, this view's dependencies
        self.self_name = self_name
        self.env_where = env_where  # "in environment <e>" when checking an environment's view
        self.calls: set[str] = set()

    def text(self, text: str, field: str, in_env: bool) -> None:
        for inner in references(text):
            self.one(inner, field, in_env)

    def one(self, inner: str, field: str, in_env: bool) -> None:
        ref = "${" + inner + "}"
        head, _, rest = inner.partition(".")
        if head not in ROOTS:
            guess = _near_miss(inner)
            if guess:
                fixed = "${" + guess + inner[len(head):] + "}"
                self.err(field, f"{ref} is not a reference: {head!r} is not a root",
                         f"did you mean {fixed}? write $${{ for a literal ${{")
            return
        if head in ("release", "namespace"):
            if rest:
                self.err(field, f"{ref}: ${{{head}}} has no attributes", f"write ${{{head}}}")
            return
        if head == "secrets":
            self.secret(ref, rest, field, in_env)
            return
        if head == "deps":
            self.dep(ref, rest, field)
            return
        if head == "self":
            if self.self_name is None:
                self.err(field, f"{ref}: no agent holds this string", "name the agent: ${agents.NAME.host}")
                return
            self.agent_attr(ref, self.self_name, rest, field, "${self.")
            return
        name, _, attr = rest.partition(".")
        if not name:
            self.err(field, f"{ref} names no agent", "for example ${agents.NAME.host}")
            return
        if (self.agent_exists(ref, name, field)
                and self.agent_attr(ref, name, attr, field, f"${{agents.{name}.") and name != self.self_name):
            self.calls.add(name)

    def agent_exists(self, ref: str, name: str, field: str) -> bool:
        if name not in self.agents:
            if name in self.book.all_agents:
                return False  # an agent with problems of its own, reported there
            names = sorted(self.agents)
            close = difflib.get_close_matches(name, names, n=1)
            self.err(field, f"{ref}: no agent named {name!r}",
                     f'did you mean "{close[0]}"?' if close else "agents: " + ", ".join(names))
            return False
        target = self.agents[name]
        mine = self.agents.get(self.self_name or "", {})
        if target.get("enabled", True) is False and mine.get("enabled", True) is not False:
            self.err(field, f"{ref}: agent {name!r} is disabled{self.env_where}",
                     f"enable {name!r}, or remove the reference")
            return False
        return True

    def _holder_enabled(self) -> bool:
        """Whether the agent holding the string is enabled (a disabled one renders nothing, so its
        references to disabled agents and dependencies are no problem)."""
        return self.agents.get(self.self_name or "", {}).get("enabled", True) is not False

    def agent_attr(self, ref: str, name: str, attr: str, field: str, prefix: str) -> bool:
        target = self.agents[name]
        if not attr:
            self.err(field, f"{ref} has no attribute", "one of: " + ", ".join([*AGENT_ATTRS, "ports.NAME"]))
            return False
        if self.book.bad_fields(name) & {"port", "ports"}:
            return False  # its ports have a problem of their own, reported there
        ports = target.get("ports") or {}
        if attr.startswith("ports.") or attr == "ports":
            pname = attr[len("ports."):]
            if not pname:
                self.err(field, f"{ref} names no port", f"for example {prefix}ports.http}}")
                return False
            if pname not in ports:
                close = difflib.get_close_matches(pname, list(ports), n=1)
                self.err(field, f"{ref}: agent {name!r} has no port named {pname!r}",
                         f'did you mean "{close[0]}"?' if close else
                         ("ports: " + ", ".join(ports)) if ports else "the agent has no ports")
                return False
            return True
        if attr not in AGENT_ATTRS:
            close = difflib.get_close_matches(attr, [*AGENT_ATTRS, "ports"], n=1)
            self.err(field, f"{ref}: unknown attribute {attr!r}",
                     (f"did you mean {prefix}{close[0]}}}? " if close else "")
                     + "attributes: " + ", ".join([*AGENT_ATTRS, "ports.NAME"]))
            return False
        if target.get("kind") in ("Job", "CronJob") or ("schedule" in target and "kind" not in target):
            self.err(field, f"{ref}: agent {name!r} is a Job or CronJob, which has no Service",
                     "reference a Deployment or StatefulSet")
            return False
        if not ports:
            self.err(field, f"{ref}: agent {name!r} has no ports, so no Service",
                     "give it port or ports")
            return False
        return True

    def dep(self, ref: str, rest: str, field: str) -> None:
        # this view's dependencies (spec/dependencies.py: name -> Dependency, enabled per environment)
        deps = self.book.dependencies
        name, _, attr = rest.partition(".")
        if name not in deps:
            if name in (self.spec.get("dependencies") or {}):
                return  # a dependency with problems of its own, reported there
            close = difflib.get_close_matches(name, list(deps), n=1)
            self.err(field, f"{ref}: no dependency named {name!r}",
                     f'did you mean "{close[0]}"?' if close else
                     ("dependencies: " + ", ".join(deps)) if deps else "declare it under dependencies")
        elif attr not in DEP_ATTRS:
            self.err(field, f"{ref}: unknown attribute {attr!r}" if attr else f"{ref} has no attribute",
                     "attributes: " + ", ".join(DEP_ATTRS))
        elif attr == "port" and deps[name].port is None:
            self.err(field, f"{ref}: dependency {name!r} has no port", f"set dependencies.{name}.port")
        elif not deps[name].enabled and not deps[name].host and self._holder_enabled():
            self.err(field, f"{ref}: dependency {name!r} is disabled{self.env_where}",
                     f"enable it, or set dependencies.{name}.host to a service outside the chart")

    def secret(self, ref: str, rest: str, field: str, in_env: bool) -> None:
        if not in_env:
            self.err(field, f"{ref}: secrets may be referenced only in env values",
                     "a secret's value is never written into a ConfigMap, a command or a manifest; "
                     "pass it through env, or mount it with secretMounts")
            return
        secrets = self.spec.get("secrets") or {}
        # secret names and keys may hold dots: the longest declared name that fits wins
        owner = max((s for s in secrets if rest.startswith(s + ".")), key=len, default=None)
        if owner is None:
            sname = rest.partition(".")[0]
            close = difflib.get_close_matches(sname, list(secrets), n=1)
            self.err(field, f"{ref}: no secret named {sname!r} under secrets" if rest else f"{ref} names no secret",
                     f'did you mean "{close[0]}"?' if close else
                     ("secrets: " + ", ".join(secrets)) if secrets else "declare it under secrets, with its keys")
            return
        key = rest[len(owner) + 1:]
        keys = list((secrets[owner] or {}).get("keys") or [])
        if key not in keys:
            self.err(field, f"{ref}: secret {owner!r} has no key {key!r}", "declared keys: " + ", ".join(keys))


def agent_references(chk: Any, a: dict[str, Any]) -> list[str]:
    """Checks the references in an agent's env literals, command, args and config files; returns the
    agents it calls through them (sorted, never itself): their NetworkPolicies admit it."""
    c = _Checker(chk.err, chk.spec, chk.spec["agents"], chk.name, chk.book,
                 f" in environment {chk.where.split('.')[1]!r}" if chk.where else "")
    for var, e in (a.get("env") or {}).items():
        if isinstance(e, dict) and isinstance(e.get("value"), str):
            c.text(e["value"], f"env.{var}", True)
    for field in ("command", "args"):
        for i, s in enumerate(a.get(field) or []):
            if isinstance(s, str):
                c.text(s, f"{field}[{i}]", False)
    config = a.get("config")
    if isinstance(config, dict):
        for fname, content in (config.get("files") or {}).items():
            if isinstance(content, str):
                c.text(content, f"config.files.{fname}", False)
    return sorted(c.calls)


def _strings(v: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a manifest with its path (keys are names, not text: left alone)."""
    if isinstance(v, str):
        yield path, v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _strings(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _strings(x, f"{path}[{i}]")


def manifest_references(ctx: Any, v: dict[str, Any], merged: dict[str, Any],
                        environments: dict[str, dict[str, Any]], book: SpecContext) -> None:
    """Checks the references in extraManifests against the spec's agents, and that each agent they
    name is enabled in every environment too."""
    for i, m in enumerate(v.get("extraManifests") or []):
        for path, text in _strings(m, f"extraManifests[{i}]"):
            if "${" not in text:
                continue

            def err(field: str, message: str, hint: str, path: str = path) -> None:
                ctx.err(ctx.at(path), path, message, hint)

            c = _Checker(err, v, merged, None, book)
            c.text(text, path, False)
            for env_name, agents in environments.items():
                for name in sorted(c.calls):
                    agent = agents.get(name)
                    if agent is not None and not agent.enabled:
                        err(path, f"${{agents.{name}.…}}: agent {name!r} is disabled in environment {env_name!r}",
                            f"enable {name!r} there, or remove the reference")


def talks_to(chk: Any, a: dict[str, Any]) -> list[Any]:
    """Checks what the name checks of talksTo leave: an item's port, and that no two items (nor an
    item and env) set one variable. Returns the items as written (a name, or a mapping)."""
    items = [t for t in a.get("talksTo") or [] if isinstance(t, (str, dict))]
    env = a.get("env") or {}
    seen: dict[str, int] = {}
    for i, t in enumerate(a.get("talksTo") or []):
        if not isinstance(t, (str, dict)):
            continue
        name = t if isinstance(t, str) else t.get("agent")
        target = chk.spec["agents"].get(name) if isinstance(name, str) else None
        if isinstance(t, dict) and "port" in t and name in chk.book.dependencies:
            chk.err(f"talksTo[{i}].port", f"dependency {name!r} has one port, so talksTo names none",
                    f"set dependencies.{name}.port")
        if isinstance(t, dict) and target is not None and "port" in t:
            bad = chk.book.bad_fields(name)
            ports = target.get("ports") or {}
            if not bad & {"port", "ports"} and ports and t["port"] not in ports:
                close = difflib.get_close_matches(t["port"], list(ports), n=1)
                chk.err(f"talksTo[{i}].port", f"agent {name!r} has no port named {t['port']!r}",
                        f'did you mean "{close[0]}"?' if close else "ports: " + ", ".join(ports))
        var: Any = t.get("env") if isinstance(t, dict) and "env" in t else (
            f"{name.upper().replace('-', '_')}_URL" if isinstance(name, str) else None)
        if not isinstance(var, str):
            continue  # env: false injects nothing
        if var in seen:
            chk.err(f"talksTo[{i}]", f"sets {var}, as talksTo[{seen[var]}] does",
                    "give one of them another variable: {agent: NAME, env: OTHER_NAME}")
        seen.setdefault(var, i)
        if isinstance(t, dict) and "env" in t and var in env:
            chk.err(f"talksTo[{i}].env", f"{var} is also set in env", "choose another name, or env: false")
    return items
