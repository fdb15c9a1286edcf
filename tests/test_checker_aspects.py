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


class _Checker:
    """The part of the checker an aspect uses, recording what it reports."""

    def __init__(self, name: str = "a", spec: dict[str, object] | None = None) -> None:
        from helmgen.spec.context import SpecContext
        from helmgen.spec.types import Ctx

        self.name = name
        self.spec: dict[str, object] = spec or {"agents": {}, "secrets": {}}
        self.ctx = Ctx()
        self.partial: set[str] = set()
        self.book = SpecContext(app_version="1.2.3+build", all_agents=[name])
        self.errors: list[tuple[str, str]] = []

    def err(self, field: str, message: str, hint: str = "") -> None:
        self.errors.append((field, message))

    def warn(self, field: str, message: str, hint: str = "") -> None:
        pass

    def port_ref(self, ports: dict[str, object], ref: object, field: str) -> bool:
        ok = isinstance(ref, int) or ref in ports
        if not ok:
            self.errors.append((field, "no such port"))
        return ok

    def follows_a_problem(self, field: str) -> bool:
        return False


def test_each_aspect_is_a_function_of_the_checker_and_the_agent() -> None:
    from helmgen.spec.aspects import image, job, monitoring, probes, workload

    http = {"http": {"port": 80, "protocol": "TCP"}}
    chk = _Checker()
    assert workload.check_workload(chk, {"schedule": "0 * * * *", "replicas": 2}) == "CronJob"
    assert chk.errors == [("replicas", "applies to a Deployment or StatefulSet, not to a CronJob")]
    assert workload.check_disruption(_Checker(), {"scaling": {"maxReplicas": 3}}) == {"maxUnavailable": 1}
    assert workload.check_disruption(_Checker(), {"replicas": 1}) is None
    assert job.check_job(_Checker(), {"schedule": "@daily"}) == {"backoffLimit": 3, "concurrencyPolicy": "Forbid"}
    m = monitoring.check_monitoring(_Checker(), {"ports": http, "monitoring": {"port": 9090}})
    assert m.monitoring is not None and m.monitoring["port"] == "metrics"
    assert m.ports == {**http, "metrics": {"port": 9090, "protocol": "TCP"}}
    health = probes.check_health(_Checker(), {"ports": http, "protocol": "a2a"})
    assert health["readiness"] == {"httpGet": {"path": probes.A2A_CARD, "port": "http"}}
    chk = _Checker()
    assert probes.check_protocol(chk, {"protocol": "mcp"}) == "mcp" and chk.errors == [("protocol", "mcp needs a port")]
    assert image.check_image(_Checker(), {"image": {"repository": "nginx"}})["tag"] == "1.2.3_build"
