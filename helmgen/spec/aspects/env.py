"""Environment variables: a reference to a declared secret must name one of its keys."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker


def check_env(chk: Checker, a: dict[str, Any]) -> dict[str, dict[str, Any]]:
    env: dict[str, dict[str, Any]] = a.get("env", {})
    secrets = chk.spec["secrets"]
    for var, e in env.items():
        if "secret" in e and "key" in e and e["secret"] in secrets:
            keys = secrets[e["secret"]]["keys"]
            if e["key"] not in keys:
                chk.err(f"env.{var}.key", f"secret {e['secret']!r} has no key {e['key']!r}",
                        "declared keys: " + ", ".join(keys))
    return env
