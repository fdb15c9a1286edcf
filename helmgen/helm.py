"""The only module that runs Helm: `$HELM_BIN` when set (inside the plugin), else `helm` on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess


class HelmError(Exception):
    pass


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
    import re

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
