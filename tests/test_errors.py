"""One base error class with its exit code, caught once in main() (issue #9, Python habits)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helmgen import errors
from helmgen.helm import HelmError
from helmgen.problems import Problem, SpecError
from helmgen.publish import BadInput, PublishError
from helmgen.write import Difference, WriteError, differences, write_chart

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("cls", "code"), [(SpecError, 2), (WriteError, 2), (BadInput, 2), (PublishError, 1),
                                           (HelmError, 1), (errors.OutOfDate, 1)])
def test_every_error_is_a_helmgen_error_with_its_exit_code(cls: type[Exception], code: int) -> None:
    assert issubclass(cls, errors.HelmgenError)
    assert cls.exit_code == code  # type: ignore[attr-defined]


def test_the_exit_codes_are_named() -> None:
    assert (errors.EXIT_OK, errors.EXIT_FAILURE, errors.EXIT_OUT_OF_DATE, errors.EXIT_BAD_INPUT,
            errors.EXIT_INTERRUPTED) == (0, 1, 1, 2, 130)


def test_a_spec_error_reports_its_problems_warnings_and_summary() -> None:
    exc = SpecError("s.yaml", [Problem(3, 5, "agents.a.port", "too big", "at most 65535"), Problem(1, 1, "", "x")],
                    [Problem(2, 1, "agents.a.env.K", "warning: looks like a key")])
    assert exc.report() == ["s.yaml:1:1: x", "s.yaml:3:5: agents.a.port: too big (at most 65535)",
                            "s.yaml:2:1: agents.a.env.K: warning: looks like a key", "2 problems found."]
    assert errors.HelmgenError("a\nb", 2).report() == ["helmgen: a", "helmgen: b"]


def test_only_main_exits() -> None:
    """No sys.exit in the commands or their helpers: they raise; the command group's invoke() prints a
    HelmgenError and exits with its code, main() an interrupt or an unexpected error."""
    tree = ast.parse((ROOT / "helmgen" / "cli.py").read_text())
    exits = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             for call in ast.walk(f) if isinstance(call, ast.Call)
             and ast.unparse(call.func) in ("sys.exit", "ctx.exit")}
    assert exits == {"main", "invoke"}
    assert (ROOT / "helmgen" / "cli.py").read_text().count("except HelmgenError") == 1
    for path in (ROOT / "helmgen").rglob("*.py"):
        if path.name != "cli.py":
            assert "sys.exit(" not in path.read_text(), path


def test_differences_are_typed(tmp_path: Path) -> None:
    files = {"Chart.yaml": b"name: x\n", "values.yaml": b"a: 1\n", "templates/old.yaml": b"kind: X\n"}
    target = tmp_path / "x"
    write_chart(files, target)
    assert differences(files, target) == []
    (target / "values.yaml").write_bytes(b"a: 2\n")
    now = {"Chart.yaml": b"name: x\n", "values.yaml": b"a: 1\n", "templates/new.yaml": b"kind: Y\n"}
    found = differences(now, target)
    assert all(isinstance(d, Difference) for d in found)
    assert set(found) == {Difference("values.yaml", "differs"), Difference("templates/new.yaml", "missing"),
                          Difference(".helmgen-manifest.json", "differs"), Difference("templates/old.yaml", "stale")}


def test_generate_check_lists_each_difference_and_exits_1(tmp_path: Path) -> None:
    from tests.conftest import helmgen_cli

    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nagents: {a: {image: nginx:1, port: 80}}\n")
    assert helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out")).returncode == 0
    chart = tmp_path / "out" / "demo"
    (chart / "values.yaml").write_text("x: 1\n")
    (chart / "Chart.yaml").unlink()
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"), "--check")
    assert proc.returncode == 1
    assert sorted(proc.stdout.splitlines()) == [f"{chart}/Chart.yaml: missing", f"{chart}/values.yaml: differs"]
    assert proc.stderr == (f"{chart}/ is not what {spec} generates (2 files); "
                           f"run: helmgen generate {spec} -o {tmp_path / 'out'}\n")


def test_init_over_a_file_is_bad_input(tmp_path: Path) -> None:
    from tests.conftest import helmgen_cli

    (tmp_path / "a.yaml").write_text("x")
    proc = helmgen_cli("init", "a", "-o", str(tmp_path / "a.yaml"))
    assert (proc.returncode, proc.stderr) == (2, f"helmgen: {tmp_path / 'a.yaml'} already exists "
                                                 "(use --force to overwrite it)\n")


def test_no_broad_except_swallows_an_error() -> None:
    """A handler of every exception (bare, Exception, BaseException) cleans up and re-raises; only main()
    turns an unexpected one into a line and exit 1. The partial check after problems has no guard at all."""
    swallowing = []
    for path in sorted((ROOT / "helmgen").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for handler in ast.walk(func):
                if not isinstance(handler, ast.ExceptHandler):
                    continue
                broad = handler.type is None or ast.unparse(handler.type) in ("Exception", "BaseException")
                reraises = isinstance(handler.body[-1], ast.Raise) and handler.body[-1].exc is None
                if broad and not reraises and (path.name, func.name) != ("cli.py", "main"):
                    swallowing.append(f"{path.relative_to(ROOT)}:{handler.lineno} in {func.name}")
    assert swallowing == []


def test_ctrl_c_is_exit_130(tmp_path: Path) -> None:
    """An interrupt while Helm runs ends in one line and EXIT_INTERRUPTED (click alone would say
    "Aborted!" and exit 1)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    mark = tmp_path / "helm-started"
    helm = tmp_path / "helm"
    helm.write_text(f"#!/bin/sh\ntouch '{mark}'\nexec sleep 120\n")
    helm.chmod(0o755)
    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nagents: {a: {image: nginx:1, port: 80}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "helmgen", "template", str(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "HELM_BIN": str(helm)})
    for _ in range(1200):  # until the stand-in Helm runs (a wait, not a time limit on helmgen)
        if mark.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert mark.exists()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (errors.EXIT_INTERRUPTED, "helmgen: interrupted\n")
