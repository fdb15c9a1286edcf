"""`helmgen deploy`, `rollback` and `history`: the Helm commands they run, and what Helm's
release history says about each revision (pure functions; helmgen/helm.py runs Helm)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NO_ENV = "-"  # the description's env= when values.yaml alone is deployed
_DESCRIPTION = re.compile(r"^agentgen (?P<id>[0-9a-f]{12}) env=(?P<env>\S+) spec=(?P<spec>\S+)$")
_ROLLED_BACK = re.compile(r"^Rollback to (?P<rev>\d+)$")
_CHART = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d+\.\d+\.\d+\S*)$")


def spec_digest(data: bytes) -> str:
    """The digest of the spec's bytes (a UTF-8 byte order mark aside), as Chart.yaml's annotation carries it."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return "sha256:" + hashlib.sha256(data).hexdigest()


def deployment_id(digest: str, env: str | None) -> str:
    """A short hash of the spec and the environment: the same input gives the same id."""
    return hashlib.sha256(f"{digest}\nenv={env or NO_ENV}".encode()).hexdigest()[:12]


def description(digest: str, env: str | None) -> str:
    return f"agentgen {deployment_id(digest, env)} env={env or NO_ENV} spec={digest}"


def release_args(release: str, chart: Path, env: str | None, digest: str, helm_major: int,
                 extra: tuple[str, ...]) -> list[str]:
    """What `helm upgrade --install` and the dry run's `helm template` share: release, chart, values, flags."""
    args = [release, str(chart)]
    if env is not None:
        args += ["-f", str(chart / f"values-{env}.yaml")]
    # roll back on failure: Helm 4 renamed --atomic (which it still takes, with a deprecation warning)
    args += ["--wait", "--rollback-on-failure" if helm_major >= 4 else "--atomic"]
    args += ["--description", description(digest, env)]
    return [*args, *extra]


def upgrade_command(args: list[str]) -> list[str]:
    return ["upgrade", "--install", *args]


def template_command(args: list[str]) -> list[str]:
    return ["template", *args]


# options of `helm upgrade` that `helm template` refuses (Helm 4.3 and 3.17): the dry run leaves them out
_UPGRADE_ONLY = frozenset({"--cleanup-on-fail", "--hide-notes", "--hide-secret", "--render-subchart-notes",
                           "--reset-then-reuse-values", "--reset-values", "--reuse-values", "-i", "--install"})
_UPGRADE_ONLY_VALUED = frozenset({"--history-max", "-o", "--output", "--server-side"})


def template_options(extra: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The options of `extra` that `helm template` takes too, and those it would refuse (upgrade only)."""
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(extra):
        opt = extra[i]
        name = opt.split("=", 1)[0]
        if name in _UPGRADE_ONLY or (opt.startswith("-o") and not opt.startswith("--")):  # -ojson too
            dropped.append(opt)
            if opt == "-o" and i + 1 < len(extra):
                dropped.append(extra[i + 1])
                i += 1
        elif name in _UPGRADE_ONLY_VALUED:
            dropped.append(opt)
            if "=" not in opt and i + 1 < len(extra):
                dropped.append(extra[i + 1])
                i += 1
        else:
            kept.append(opt)
        i += 1
    return tuple(kept), tuple(dropped)


def rollback_command(release: str, revision: int | None, extra: tuple[str, ...]) -> list[str]:
    """Without a revision Helm rolls back to the previous one."""
    return ["rollback", release, *([str(revision)] if revision is not None else []), "--wait", *extra]


_CLUSTER_OPTIONS = ("-n", "--namespace", "--kube-context", "--kubeconfig", "--kube-apiserver", "--kube-token",
                    "--kube-as-user", "--kube-as-group", "--kube-ca-file", "--kube-insecure-skip-tls-verify",
                    "--kube-tls-server-name", "--burst-limit", "--qps")


def cluster_options(extra: tuple[str, ...]) -> tuple[str, ...]:
    """The options of `extra` that say which cluster and namespace (what `helm history` takes too)."""
    out: list[str] = []
    i = 0
    while i < len(extra):
        opt = extra[i]
        name = opt.split("=", 1)[0]
        if name in _CLUSTER_OPTIONS or (opt.startswith("-n") and len(opt) > 2 and not opt.startswith("--")):
            out.append(opt)
            takes_value = name != "--kube-insecure-skip-tls-verify" and "=" not in opt and opt in _CLUSTER_OPTIONS
            if takes_value and i + 1 < len(extra):
                out.append(extra[i + 1])
                i += 1
        i += 1
    return tuple(out)


# options of `helm rollback` (Helm 4.3 and 3.17, global ones included) whose value is the next argument
_ROLLBACK_VALUED = frozenset({"-n", "--namespace", "--kube-context", "--kubeconfig", "--kube-apiserver",
                              "--kube-token", "--kube-as-user", "--kube-as-group", "--kube-ca-file",
                              "--kube-tls-server-name", "--burst-limit", "--qps", "--timeout", "--history-max",
                              "--description", "--server-side", "--color", "--colour", "--content-cache",
                              "--registry-config", "--repository-cache", "--repository-config"})


def split_revision(args: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """The REVISION among `helm rollback`'s arguments (Helm takes it before or after options) and the rest."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest = args[i + 1:]
            return (rest[0], args[:i] + rest[1:]) if rest else (None, args[:i])
        if not arg.startswith("-") or arg == "-":
            return arg, args[:i] + args[i + 1:]
        if arg in _ROLLBACK_VALUED:
            i += 1  # its value, whatever it looks like
        i += 1
    return None, args


@dataclass(frozen=True)
class Revision:
    revision: int
    updated: str
    status: str
    chart: str
    chart_version: str
    app_version: str
    description: str
    env: str  # "" when the revision was not made by helmgen deploy
    deployment: str


class HistoryError(ValueError):
    pass


def parse_history(text: str) -> list[Revision]:
    """`helm history RELEASE -o json`: a list of {revision, updated, status, chart, app_version, description}.
    A revision made by `helm rollback` ("Rollback to N") has the environment and deployment of revision N."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"helm history printed something that is not JSON ({exc.msg})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HistoryError("helm history printed JSON that is not a list of revisions")
    out: dict[int, Revision] = {}
    for item in sorted(items, key=lambda i: _int(i.get("revision"))):
        rev = _int(item.get("revision"))
        desc = str(item.get("description") or "")
        chart = str(item.get("chart") or "")
        found = _CHART.match(chart)
        env = deployment = ""
        mine = _DESCRIPTION.match(desc)
        back = _ROLLED_BACK.match(desc)
        if mine:
            env, deployment = mine["env"], mine["id"]
        elif back and int(back["rev"]) in out:
            env, deployment = out[int(back["rev"])].env, out[int(back["rev"])].deployment
        out[rev] = Revision(rev, str(item.get("updated") or ""), str(item.get("status") or ""), chart,
                            found["version"] if found else "", str(item.get("app_version") or ""), desc, env,
                            deployment)
    return list(out.values())


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, str)) or not (str(v).isascii() and str(v).isdigit()):
        raise HistoryError(f"helm history printed a revision that is not a number: {v!r}")
    return int(v)


def revision_of_version(history: list[Revision], version: str) -> Revision:
    """The newest revision that ran chart version `version` and was deployed (never a failed one)."""
    runs = [r for r in history if r.chart_version == version]
    good = [r for r in runs if r.status in ("deployed", "superseded")]
    if good:
        return max(good, key=lambda r: r.revision)
    known = sorted({r.chart_version for r in history if r.chart_version})
    if runs:
        revisions = ", ".join(str(r.revision) for r in runs)
        raise HistoryError(f"chart version {version} never deployed successfully (revisions {revisions}: "
                           f"{', '.join(sorted({r.status for r in runs}))})")
    raise HistoryError(f"no revision ran chart version {version} "
                       f"(versions in the history: {', '.join(known) or 'none'})")


def history_table(history: list[Revision]) -> str:
    head = ("REVISION", "UPDATED", "STATUS", "CHART VERSION", "APP VERSION", "ENV", "DEPLOYMENT", "DESCRIPTION")
    rows = [head] + [(str(r.revision), r.updated, r.status, r.chart_version or r.chart, r.app_version, r.env or "",
                      r.deployment or "", "" if r.deployment and _DESCRIPTION.match(r.description) else r.description)
                     for r in history]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
    # widths has no entry for the last column (not padded): zip stops before it
    return "".join(("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]).rstrip() + "\n"
                   for row in rows)
