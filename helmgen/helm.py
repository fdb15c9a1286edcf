"""The only module that runs Helm: `$HELM_BIN` when set (inside the plugin), else `helm` on PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from helmgen.errors import HelmgenError


class HelmError(HelmgenError):
    """Helm failed (exit 1); the message is its error output."""

    def report(self) -> list[str]:
        return [f"helmgen: {self}"]


def helm_binary() -> str:
    explicit = os.environ.get("HELM_BIN")
    if explicit:
        return explicit
    found = shutil.which("helm")
    if not found:
        raise HelmError("Helm is not installed: put `helm` on PATH or set HELM_BIN to its path")
    return found


def run(*args: str) -> str:
    """Run helm and return its standard output; its error output becomes the exception's message."""
    extra = []
    namespace = os.environ.get("HELM_NAMESPACE")  # set by Helm when helmgen runs as `helm agentgen -n NS`
    if namespace and args and args[0] == "template" and not any(a.startswith(("-n", "--namespace=")) or
                                                                a == "--namespace" for a in args):
        extra = ["--namespace", namespace]
    binary = helm_binary()
    try:
        proc = subprocess.run([binary, *args, *extra], capture_output=True, text=True)
    except OSError as exc:  # missing, not executable
        raise _cannot_run(binary, exc) from None
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or f"helm {args[0]} failed with exit code {proc.returncode}")
    return proc.stdout


def major_version() -> int:
    """Helm's major version (`helm version --template '{{.Version}}'` prints v4.3.1); flags differ by it."""

    out = run("version", "--template", "{{.Version}}").strip()
    found = re.match(r"v?(\d+)\.", out)
    if not found:
        raise HelmError(f"cannot tell Helm's version from `helm version`: {out!r}")
    return int(found.group(1))


def run_live(*args: str) -> int:
    """Run helm with its output on the terminal (a deploy shows its progress); its exit code."""
    binary = helm_binary()
    try:
        return subprocess.run([binary, *args]).returncode
    except OSError as exc:
        raise _cannot_run(binary, exc) from None


def _cannot_run(binary: str, exc: OSError) -> HelmError:
    return HelmError(f"cannot run Helm ({binary}): {exc.strerror or exc}")


def missing_dependencies(chart: str) -> list[str]:
    """The subcharts Chart.yaml names that charts/ lacks (or holds at a version that does not match),
    and the archives in charts/ it does not name, as `helm dependency list` sees them (no network)."""
    missing: list[str] = []
    for line in run("dependency", "list", chart).splitlines()[1:]:
        stale = re.fullmatch(r'WARNING: "(.+\.tgz)" is not in Chart\.yaml\.', line.strip())
        if stale:  # a subchart the spec no longer names (Helm would still install it): fetching drops it
            missing.append(f"{os.path.basename(stale.group(1))} (not in Chart.yaml)")
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) >= 4 and cells[-1] not in ("ok", "unpacked"):
            missing.append(f"{cells[0]} ({cells[-1]})")
    return missing


def build_dependencies(chart: str, plain_http: bool = False) -> str:
    """Fetch the subcharts into charts/ with `helm dependency build`: the versions of Chart.lock when
    there is one, else (as `helm dependency update` does) the newest that match, written to a new
    Chart.lock. Returns the command run, for the caller to report."""
    flags = ["--plain-http"] if plain_http else []
    try:
        run("dependency", "build", chart, *flags)
    except HelmError as exc:
        # a chart regenerated after its dependencies changed keeps the old Chart.lock, which build refuses
        if "out of sync" in str(exc):
            run("dependency", "update", chart, *flags)
            return "helm dependency update (Chart.lock was out of sync with Chart.yaml)"
        missing = re.search(r"no repository definition for (.+?)\. Please add", str(exc))
        if not missing:
            raise
        urls = [u.strip() for u in missing.group(1).split(",")]
        _build_with_repositories(chart, urls, flags)
        return f"helm dependency build (with {', '.join(urls)} as a temporary repository)"
    return "helm dependency build"


def _build_with_repositories(chart: str, urls: list[str], flags: list[str]) -> None:
    """`helm dependency build` keeps to Chart.lock's versions, but fetches from an https:// chart
    repository only when `helm repo add` named it: run it with a temporary copy of Helm's repository
    file that adds the missing URLs (the user's own configuration is left as it is)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="helmgen-repos-") as tmp:
        config = os.path.join(tmp, "repositories.yaml")
        own = run("env", "HELM_REPOSITORY_CONFIG").strip()
        if own and os.path.exists(own):
            shutil.copyfile(own, config)
        where = ["--repository-config", config, "--repository-cache", os.path.join(tmp, "cache")]
        for i, url in enumerate(urls):
            run("repo", "add", f"helmgen-dependency-{i}", url, *where)
        run("dependency", "build", chart, *flags, *where)
