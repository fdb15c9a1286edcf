"""Environment overrides: the merged agent's required sub-fields.

An environment's override (and its defaults) may give a partial object (`state: {storageClass: fast}`),
since it merges key by key over the spec's agent (spec/fields.py `partial_type`). The merged agent (spec
agent, environment defaults and override, or an agent that exists only in the environment) must still
have every required sub-field; `missing_required` reports each one where the object was written.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from helmgen.spec.types import Map, Obj, T, Union


class _Checker(Protocol):
    def err(self, field: str, message: str, hint: str = "") -> None: ...


@functools.cache
def _agent() -> Obj:
    from helmgen.spec.fields import agent_type

    return agent_type(())


def _missing(t: T, value: Any, field: str) -> list[str]:
    """The paths under `field` of required fields `value` lacks (objects reached through mappings; a list
    item is checked whole where it is written)."""
    if not isinstance(value, dict):
        return []
    if isinstance(t, Union):
        objs = [a for a in t.alts if isinstance(a, (Obj, Map))]
        return _missing(objs[0], value, field) if objs else []
    if isinstance(t, Map):
        return [m for k, v in value.items() for m in _missing(t.value, v, f"{field}.{k}")]
    if not isinstance(t, Obj):
        return []
    prefix = f"{field}." if field else ""
    out = [f"{prefix}{r}" for r in t.required if r not in value]
    for k, sub in t.fields.items():
        if k in value:
            out += _missing(sub, value[k], f"{prefix}{k}")
    return out


def missing_required(chk: _Checker, a: dict[str, Any]) -> bool:
    """Report each required sub-field the merged agent `a` lacks; True when it has them all."""
    missing = _missing(_agent(), a, "")
    for field in missing:
        chk.err(field, "is required", "give it here or in the spec's agent: an override merges over it")
    return not missing
