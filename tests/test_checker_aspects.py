"""The checker's layout (issue #9): one module per aspect, each shipped with the package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_for_setuptools() -> None:
    """A package left out of [tool.setuptools] packages is missing from an installed (non-editable) helmgen."""
    line = re.search(r"^packages = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.M)
    assert line is not None
    listed = set(re.findall(r'"([^"]+)"', line.group(1)))  # tomllib is Python 3.11+; helmgen supports 3.10
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "helmgen").rglob("__init__.py")}
    assert found - listed == set()


def _keys(d: object) -> set[str]:
    if isinstance(d, dict):
        return {str(k) for k in d} | {k for v in d.values() for k in _keys(v)}
    if isinstance(d, list):
        return {k for v in d for k in _keys(v)}
    return set()


def test_the_partial_spec_carries_no_bookkeeping_keys_in_the_users_data() -> None:
    """What the checker knows besides the spec (all agents, broken agents and overrides, the fields
    with problems) lives in a SpecContext beside the data, not in `_`-keys mixed into it."""
    from helmgen.spec import check
    from helmgen.spec.fields import spec_type
    from helmgen.spec.load import parse_text
    from helmgen.spec.types import INVALID, Ctx

    text = ("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nappVersion: 2.0.0\n"
            "defaults: {replicas: x, env: {A: {value: '1'}, B: 5}}\n"
            "agents:\n  a: {image: nginx, port: 80, kind: Nope, talksTo: [b, 5]}\n  b: 7\n"
            "  c: {image: nginx, volumes: [{name: v}, 3]}\n"
            "environments:\n  dev:\n    defaults: {replicas: y}\n    agents: {a: {ports: 3}, c: 4}\n")
    root = parse_text(text, "spec.yaml")
    ctx = Ctx()
    assert spec_type().check(root, "", ctx) is INVALID or ctx.problems
    partial = check._partial_spec(root, ctx)
    assert partial is not None
    v, book = partial
    assert not {k for k in _keys(v) if k.startswith("_")}
    assert book.all_agents == ["a", "b", "c"] and book.invalid_agents == {"b"}
    assert book.invalid_overrides == {"dev": {"c"}} and book.app_version == "2.0.0"
    assert "kind" in book.marks_of("agents.a").bad and "replicas" in book.marks_of("defaults").bad
    assert "volumes" in book.marks_of("agents.c").partial
    assert "ports" in book.marks_of("environments.dev.agents.a").bad
    assert "replicas" in book.marks_of("environments.dev.defaults").bad


def test_the_pipeline_entry_is_at_the_package_face() -> None:
    import subprocess
    import sys

    from helmgen.chart import render_chart
    from helmgen.problems import SpecError
    from helmgen.spec import check_text, load_spec
    from helmgen.spec.model import Spec

    text = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nagents: {a: {image: nginx:1, port: 80}}\n"
    model = check_text(text, "spec.yaml")
    assert isinstance(model, Spec) and list(model.agents) == ["a"]
    assert "templates/workloads.yaml" in render_chart(model)
    try:
        check_text(text.replace("nginx:1", "[]"), "mine.yaml")
    except SpecError as exc:
        assert exc.lines()[0].startswith("mine.yaml:4:")
    else:
        raise AssertionError("a bad image is a problem")
    assert load_spec(str(ROOT / "tests" / "specs" / "every-field.yaml")).agents
    # importing the package faces loads no stage yet (the CLI stays fast to start)
    code = ("import sys, helmgen.spec, helmgen.chart; "
            "print(sorted(m for m in sys.modules if m.startswith('helmgen.') and m.count('.') > 1))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
