"""The only module that runs Helm: `$HELM_BIN` when set (inside the plugin), else `helm` on PATH."""

from __future__ import annotations

import os
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
    if namespace and args and args[0] == "template" and not any(a in ("-n", "--namespace") or
                                                                a.startswith("--namespace=") for a in args):
        extra = ["--namespace", namespace]
    proc = subprocess.run([helm_binary(), *args, *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or f"helm {args[0]} failed with exit code {proc.returncode}")
    return proc.stdout
