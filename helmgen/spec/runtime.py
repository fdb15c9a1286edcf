"""Runtime wiring of an agent's container: env order and `$(VAR)` use, secrets at runtime,
hook Jobs, its own NetworkPolicy peers and cluster-scoped RBAC.

Plain functions called from the agent checker (`chk`: err, warn, name, spec, ctx) with the merged
agent; each returns the normalised piece the model holds.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

# Kubernetes' own expansion in env values: `$$` is an escaped `$`, `$(NAME)` a use of NAME
_EXPANSION = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")
# `${secrets.S.K}` in an env literal; `$${` is the escape of a literal `${`
_SECRET_REF = re.compile(r"\$\$\{|\$\{secrets\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([-._a-zA-Z0-9]+)\}")

HOOK_EVENTS = ("pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-rollback", "post-rollback")


class Checker(Protocol):
    name: str
    spec: dict[str, Any]

    def err(self, field: str, message: str, hint: str = "") -> None: ...


def secret_variable(secret: str, key: str) -> str:
    """The variable the chart adds for `${secrets.SECRET.KEY}`: upper-cased, every other character '_'."""
    return "AGENTGEN_SECRET_" + re.sub(r"[^A-Z0-9_]", "_", f"{secret}_{key}".upper())


def uses(value: str) -> list[str]:
    """The variables a value uses through `$(NAME)`, in order (`$$(NAME)` is no use)."""
    return [m.group(1) for m in _EXPANSION.finditer(value) if m.group(1)]


def _swap_secret_ref(m: re.Match[str], env: dict[str, dict[str, Any]], added: dict[str, dict[str, Any]],
                     out: dict[str, dict[str, Any]]) -> str:
    """One `${secrets.S.K}` → `$(AGENTGEN_SECRET_S_K)`, recording the variable (in `added` and `out`) at once,
    so the next reference of the same value sees it."""
    if m.group(0) == "$${":
        return m.group(0)
    ref = {"secret": m.group(1), "key": m.group(3)}
    name = secret_variable(m.group(1), m.group(3))
    if (name in env or name in added) and added.get(name) != ref:
        # another secret and key that upper-case the same (a-b.c, a.b-c), or a variable of env
        import hashlib

        name += "_" + hashlib.sha256(f"{ref['secret']}/{ref['key']}".encode()).hexdigest()[:8].upper()
    if name not in added:
        added[name] = ref
        out[name] = added[name]
    return f"$({name})"


def _with_secret_refs(env: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`${secrets.S.K}` in literals → `$(AGENTGEN_SECRET_S_K)`, the variable added in front of the first user."""
    out: dict[str, dict[str, Any]] = {}
    added: dict[str, dict[str, Any]] = {}
    swap = functools.partial(_swap_secret_ref, env=env, added=added, out=out)
    for var, e in env.items():
        if "value" in e and isinstance(e["value"], str) and "${secrets." in e["value"]:
            e = {**e, "value": _SECRET_REF.sub(swap, e["value"])}
        out[var] = e
    return out


def env_order(chk: Checker, a: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The agent's env (with the variables `${secrets…}` needs) and the order the container gets it in:
    as written (defaults' first), each variable after those it uses through `$(VAR)`. A `$(VAR)` naming
    no variable of the container (when no envFrom may bring it) and a cycle are errors."""
    env = _with_secret_refs(a.get("env", {}))
    # a variable with a problem of its own (left out here), or envFrom with one, may be what a $(VAR) names
    unsure = "env" in getattr(chk, "partial", set()) or "envFrom" in getattr(chk, "bad", set())
    envfrom = bool(a.get("envFrom")) or unsure
    talks: dict[str, str] = {}  # <TARGET>_URL -> target, for the hint
    for t in a.get("talksTo") or []:
        name = t if isinstance(t, str) else t.get("agent") if isinstance(t, dict) else None
        if isinstance(name, str):
            talks[name.upper().replace("-", "_") + "_URL"] = name
    deps: dict[str, list[str]] = {}
    for var, e in env.items():
        value = e.get("value")
        found = uses(value) if isinstance(value, str) else []
        deps[var] = [d for d in dict.fromkeys(found) if d in env]
        missing = [d for d in dict.fromkeys(found) if d not in env]
        if missing and not envfrom:
            target = talks.get(missing[0])
            chk.err(f"env.{var}", f"uses $({missing[0]}), which is no variable of the container",
                    f"the talksTo variables come after env: write ${{agents.{target}.url}} instead" if target else
                    "define it in env (or bring it with envFrom), or write $$(" + missing[0] + ") for a literal $("
                    + missing[0] + ")")
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being placed, 2: placed
    reported: set[str] = set()

    def place(var: str, path: list[str]) -> None:
        if state.get(var) == 2:
            return
        if state.get(var) == 1:
            cycle = path[path.index(var):] + [var]
            if not reported & set(cycle):
                chk.err(f"env.{cycle[0]}", "uses itself through $(VAR): " + " → ".join(cycle),
                        "Kubernetes expands $(VAR) only with variables defined before; break the cycle")
                reported.update(cycle)
            return
        state[var] = 1
        for d in deps[var]:
            place(d, path + [var])
        state[var] = 2
        order.append(var)

    for var in env:
        place(var, [])
    return env, order


def hook_job(chk: Checker, a: dict[str, Any], kind: str) -> None:
    """`job.hook` and `hookWeight` run a Job as a Helm hook: a Job only, and a weight needs the hook."""
    job = a.get("job") or {}
    if "hook" in job and kind != "Job":
        chk.err("job.hook", f"applies to a Job, not to a {kind}", "set kind: Job, or drop hook")
    elif "hookWeight" in job and "hook" not in job:
        chk.err("job.hookWeight", "orders hooks, and this Job is not one", "give job.hook, for example [pre-install]")


def secret_volume(secret: str) -> str:
    """The pod volume of a secretMount (as the chart's agentgen.secretVolume names it): a DNS label."""
    import hashlib

    name = "secret-" + secret.replace(".", "-")
    if len(name) > 63:
        name = name[:54].removesuffix("-") + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def secret_mounts(chk: Checker, a: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """secretMounts with their defaults (reload: live); a volume name or mount path that collides with
    the chart's, the agent's own volumes and mounts, or another secretMount is an error."""
    mounts = {name: {"reload": "live", **m} for name, m in (a.get("secretMounts") or {}).items()}
    if not mounts:
        return {}
    norm = {"/tmp": "the writable /tmp"}
    if a.get("config"):
        norm[(a["config"].get("mountPath") or f"/etc/{chk.name}").rstrip("/") or "/"] = "the config files"
    if a.get("state"):
        norm[(a["state"].get("mountPath") or "/data").rstrip("/") or "/"] = "the state volume"
    for i, m in enumerate(a.get("volumeMounts") or []):
        if isinstance(m, dict) and isinstance(m.get("mountPath"), str):
            norm.setdefault(m["mountPath"].rstrip("/") or "/", f"volumeMounts[{i}]")
    volumes = {"tmp": "the writable /tmp", "config": "config.files", "data": "state"}
    for i, v in enumerate(a.get("volumes") or []):
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            volumes.setdefault(v["name"], f"volumes[{i}]")
    for name, m in mounts.items():
        path = m["mountPath"].rstrip("/") or "/"
        if path in norm:
            chk.err(f"secretMounts.{name}.mountPath", f"{m['mountPath']!r} is already the mount path of {norm[path]}",
                    "mount the secret at another path")
        norm.setdefault(path, f"secretMounts.{name}")
        vol = secret_volume(name)
        if vol in volumes:
            chk.err(f"secretMounts.{name}", f"its volume {vol!r} is already the name of {volumes[vol]}",
                    "rename that volume")
        volumes.setdefault(vol, f"secretMounts.{name}")
    return mounts


def rbac(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    """rbac with both lists: a Role for `rules`, a ClusterRole for `clusterRules`; one that grants nothing is an error."""
    given = a.get("rbac")
    if not given:
        return None
    out = {"rules": list(given.get("rules") or []), "clusterRules": list(given.get("clusterRules") or [])}
    if not out["rules"] and not out["clusterRules"]:
        chk.err("rbac", "grants nothing: rules and clusterRules are both empty",
                "give rules (a Role) or clusterRules (a ClusterRole), or drop rbac")
    return out


def allow_from(chk: Checker, a: dict[str, Any]) -> list[dict[str, Any]]:
    """NetworkPolicy peers admitted to the agent's ports, besides its callers."""
    peers = list(a.get("allowFrom") or [])
    ports_in_question = bool({"port", "ports"} & getattr(chk, "bad", set()))  # reported where written
    if peers and not a.get("ports") and not ports_in_question:
        chk.err("allowFrom", "the agent has no ports to admit anyone to", "add port or ports, or drop allowFrom")
    return peers


def environment_secrets(v: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """The spec's secrets as an environment sees them: its settings over the spec's, where an
    existingSecret or external given here replaces the source the spec gave."""
    out = dict(v.get("secrets", {}))
    for name, over in (env.get("secrets") or {}).items():
        base = dict(out.get(name, {}))
        if "existingSecret" in over or "external" in over:
            base.pop("existingSecret", None)
            base.pop("external", None)
        out[name] = {**base, **over}
    return out


def environment_secret_problems(ctx: Any, name: str, env: dict[str, Any], v: dict[str, Any]) -> None:
    """A secret an environment adds needs its keys; reload: restart needs an existing or external source."""
    merged = environment_secrets(v, env)
    for sname in env.get("secrets") or {}:
        path = f"environments.{name}.secrets.{sname}"
        s = merged[sname]
        if "keys" not in s:
            ctx.err(ctx.at(path), f"{path}.keys", "is required", "a secret only this environment declares lists its keys")
        if s.get("reload") == "restart" and not (s.get("existingSecret") or s.get("external")):
            ctx.err(ctx.at(f"{path}.reload", path), f"{path}.reload", "applies to an existingSecret or external secret",
                    "pods that read a chart-managed Secret roll when its values change already")


def secrets_model(secrets: dict[str, Any]) -> dict[str, Any]:
    """Declared secrets → model Secrets (defaults applied)."""
    from helmgen.spec.model import Secret

    return {
        name: Secret(name=name, keys=list(s.get("keys", [])), existingSecret=s.get("existingSecret", ""),
                     external=({"kind": "SecretStore", "refreshInterval": "1h", **s["external"]}
                               if s.get("external") else None), reload=s.get("reload", "live"))
        for name, s in secrets.items()
    }


def hook_copy_collisions(ctx: Any, secrets: dict[str, Any], agents: dict[str, Any]) -> None:
    """A declared secret named <s>-hook would share its Secret's name with the hook copy of <s> that a
    pre-* hook Job reads (<release>-<s>-hook)."""
    for agent in agents.values():
        if agent.kind != "Job" or not any(e.startswith("pre-") for e in agent.job.get("hook") or []):
            continue
        read = {e["secret"] for e in agent.env.values() if e.get("secret")}
        read |= {e["secret"] for e in agent.envFrom if e.get("secret")} | set(agent.secretMounts)
        for s in sorted(read):
            if s in secrets and not secrets[s].get("existingSecret") and f"{s}-hook" in secrets:
                path = f"secrets.{s}-hook"
                ctx.err(ctx.at(path), path, f"its Secret <release>-{s}-hook is also the hook copy of secret {s!r}, "
                        f"which the pre-* hook Job {agent.name!r} reads", "give this secret another name")


def hook_service_accounts(ctx: Any, agents: dict[str, Any]) -> None:
    """A pre-* hook Job's ServiceAccount is a hook, re-created each release: another agent may not run as it."""
    for job in agents.values():
        sa = job.serviceAccount
        if job.kind != "Job" or not sa.get("create") or not sa.get("name") or \
                not any(e.startswith("pre-") for e in job.job.get("hook") or []):
            continue
        for other in agents.values():
            if other is not job and other.serviceAccount.get("name") == sa["name"]:
                path = f"agents.{other.name}.serviceAccount.name"
                ctx.err(ctx.at(path, f"agents.{other.name}"), path,
                        f"{sa['name']!r} is the ServiceAccount of the pre-* hook Job {job.name!r}, which each release "
                        "deletes and creates anew", "give this agent a ServiceAccount of its own")
