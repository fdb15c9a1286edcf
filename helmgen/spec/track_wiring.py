"""Where rollout tracks meet the agent's wiring: a canary's or a blue-green slot's own `env` and
`config.files` are checked as the agent's own (references, `$(VAR)` use and cycles, secrets), and
`${secrets.S.K}` in a track's env becomes the variable the chart adds, as in the agent's env.

Plain functions called from the agent checker (`chk`: err, name, spec, book, where) with the merged
agent and the normalised rollout (whose track blocks it completes in place).
"""

from __future__ import annotations

import re
from typing import Any

from helmgen.spec import references, runtime

_CYCLE = re.compile(r"uses itself through \$\(VAR\): (.*)$")


def _versions(rollout: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Each track block of the normalised rollout: (its track name, its spec path, the block)."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    if isinstance(rollout.get("canary"), dict):
        out.append(("canary", "rollout.canary", rollout["canary"]))
    for slot in ("blue", "green"):
        block = (rollout.get("blueGreen") or {}).get(slot)
        if isinstance(block, dict):
            out.append((slot, f"rollout.blueGreen.{slot}", block))
    return out


class _TrackEnv:
    """A checker for runtime.env_order over a track's merged env: reports only what concerns the
    variables the track itself sets (the agent's own are reported at env.…), at the track's path."""

    def __init__(self, chk: Any, where: str, own: dict[str, Any]) -> None:
        self.chk = chk
        self.name: str = chk.name
        self.spec: dict[str, Any] = chk.spec
        self.partial: set[str] = getattr(chk, "partial", set())
        self.bad: set[str] = getattr(chk, "bad", set())
        self.where = where
        self.own = own

    def err(self, field: str, message: str, hint: str = "") -> None:
        var = field.partition(".")[2]
        m = _CYCLE.search(message)
        names = m.group(1).split(" → ") if m else [var]
        mine = [n for n in names if n in self.own]
        if mine:
            self.chk.err(f"{self.where}.env.{var if var in self.own else mine[0]}", message, hint)


def check_tracks(chk: Any, a: dict[str, Any], rollout: dict[str, Any], tracks: dict[str, dict[str, Any]],
                 calls: list[str]) -> list[str]:
    """Checks each track's own env and config files like the agent's (references, `$(VAR)`, cycles);
    turns `${secrets.S.K}` in its env into `$(AGENTGEN_SECRET_S_K)` plus that variable (in `rollout`
    and in `tracks`); returns the agent's callers list with the agents its tracks reference added."""
    found = set(calls)
    agent_env = runtime._with_secret_refs(a.get("env") or {})  # the same rewrite as env_order
    for track, where, block in _versions(rollout):
        c = references._Checker(chk.err, chk.spec, chk.spec["agents"], chk.name, chk.book,
                                f" in environment {chk.where.split('.')[1]!r}" if chk.where else "")
        own = block.get("env") or {}
        for var, e in own.items():
            if isinstance(e, dict) and isinstance(e.get("value"), str):
                c.text(e["value"], f"{where}.env.{var}", True)
        files = (block.get("config") or {}).get("files") or {}
        for fname, content in files.items():
            if isinstance(content, str):
                c.text(content, f"{where}.config.files.{fname}", False)
        found |= c.calls
        if not own:
            continue
        merged = {**(a.get("env") or {}), **own}
        env, _order = runtime.env_order(_TrackEnv(chk, where, own), {**a, "env": merged})
        # the track's own variables, and the secret variables its ${secrets…} added
        block["env"] = {k: v for k, v in env.items() if k in own or agent_env.get(k) != v}
        if track in tracks:
            tracks[track]["env"] = {**tracks[track]["env"], **block["env"]}
    return sorted(found)
