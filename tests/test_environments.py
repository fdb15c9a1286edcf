"""Environments: values-<env>.yaml holds only what differs, and `helm template -f values-<env>.yaml`
renders exactly what the spec says for that environment — checked as a property over generated
overrides (hypothesis), not only on hand-picked cases."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helmgen.chart.render import render_chart
from helmgen.spec.check import load_spec
from helmgen.write import write_chart
from tests.conftest import EXAMPLES, HELM_VERSIONS, SPECS, add_stand_ins, helm_path, run_helm, secret_sets

BASE = textwrap.dedent("""\
    apiVersion: agentgen/v1
    name: envs
    version: 0.1.0
    secrets:
      keys: {keys: [api]}
    defaults:
      resources: {cpu: 100m, memory: 128Mi}
      env: {LOG_LEVEL: info}
    agents:
      planner:
        image: ghcr.io/acme/planner:1.0
        port: 8080
        talksTo: [worker]
        scaling: {minReplicas: 2, maxReplicas: 5}
        env: {API_KEY: {secret: keys, key: api}}
      worker:
        image: ghcr.io/acme/worker:1.0
        ports: {http: 8080, metrics: 9090}
        replicas: 2
        resources: {cpu: 500m, memory: 1Gi}
        monitoring: {port: metrics}
      memory:
        image: ghcr.io/acme/memory:1.0
        port: 6333
        state: {size: 1Gi}
    """)

DEV_PROD = BASE + textwrap.dedent("""\
    environments:
      dev:
        defaults: {resources: {cpu: 50m, memory: 64Mi}, env: {LOG_LEVEL: debug}}
        agents:
          planner: {replicas: 1, scaling: null, talksTo: [worker, debugger]}
          worker: {env: {LOG_LEVEL: null}, monitoring: null}
          debugger: {image: ghcr.io/acme/debug:1.0, port: 9000, talksTo: [planner]}
      prod:
        agents:
          planner: {scaling: {minReplicas: 3, maxReplicas: 20, cpu: 60}, expose: {host: p.example.org}}
          memory: {enabled: false}
          worker: {replicas: 6}
    """)


def objects(helm: Path, chart: Path, *args: str) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), *args).stdout
    return sorted((d for d in yaml.safe_load_all(out) if d), key=lambda o: (o["kind"], o["metadata"]["name"]))


def check_environments(spec_path: Path, out: Path, helm: Path) -> None:
    """The property: for every environment, the chart plus values-<env>.yaml renders the same
    objects as a chart generated from the spec with that environment applied."""
    spec = load_spec(str(spec_path))
    chart = out / "chart" / spec.name
    write_chart(render_chart(spec), chart, force=True)
    add_stand_ins(chart)
    for env, agents in spec.environments.items():
        expected_spec = dataclasses.replace(spec, agents=agents, environments={},
                                            dependencies=spec.environment_dependencies.get(env, spec.dependencies),
                                            secrets=spec.environmentSecrets.get(env, spec.secrets))
        expected = out / f"expected-{env}" / spec.name
        write_chart(render_chart(expected_spec), expected, force=True)
        add_stand_ins(expected)
        got = objects(helm, chart, "-f", str(chart / f"values-{env}.yaml"))
        want = objects(helm, expected)
        assert [(o["kind"], o["metadata"]["name"]) for o in got] == [(o["kind"], o["metadata"]["name"]) for o in want]
        assert got == want, env


@pytest.fixture(scope="module")
def dev_prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("spec") / "envs.yaml"
    p.write_text(DEV_PROD)
    return p


def test_environment_semantics(dev_prod: Path, tmp_path: Path, helm: Path) -> None:
    check_environments(dev_prod, tmp_path, helm)
    spec = load_spec(str(dev_prod))
    dev, prod = spec.environments["dev"], spec.environments["prod"]
    assert dev["planner"].scaling is None and dev["planner"].replicas == 1  # null removes; replicas return
    assert dev["planner"].resources["requests"] == {"cpu": "50m", "memory": "64Mi"}  # inherits env defaults
    assert dev["worker"].resources["requests"] == {"cpu": "500m", "memory": "1Gi"}  # sets its own: unaffected
    assert "LOG_LEVEL" not in dev["worker"].env and dev["planner"].env["LOG_LEVEL"] == {"value": "debug"}
    assert "debugger" in dev and "debugger" not in spec.agents
    assert prod["memory"].enabled is False


def test_an_image_reference_replaces_the_whole_image(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    base = BASE.replace("version: 0.1.0", "version: 0.1.0+build.7").replace(
        "image: ghcr.io/acme/memory:1.0", "image: ghcr.io/acme/memory@sha256:" + "b" * 64)
    p.write_text(base + textwrap.dedent("""\
        environments:
          dev:
            agents:
              planner: {image: "ghcr.io/acme/planner"}
              memory: {image: "ghcr.io/acme/memory:2.0"}
        """))
    spec = load_spec(str(p))
    assert spec.environments["dev"]["planner"].image["tag"] == "0.1.0_build.7"  # appVersion, '+' made tag-safe
    assert spec.environments["dev"]["memory"].image == {"repository": "ghcr.io/acme/memory", "tag": "2.0",
                                                        "digest": "", "pullPolicy": "IfNotPresent"}
    assert spec.agents["memory"].image["digest"] == "sha256:" + "b" * 64


def test_values_files_hold_only_differences(dev_prod: Path, tmp_path: Path) -> None:
    spec = load_spec(str(dev_prod))
    files = render_chart(spec)
    prod = yaml.safe_load(files["values-prod.yaml"])
    assert prod == {"agents": {
        "planner": {"scaling": {"minReplicas": 3, "maxReplicas": 20, "cpu": 60},
                    "expose": {"host": "p.example.org", "path": "/", "pathType": "Prefix", "port": "http",
                               "annotations": {}}},
        "memory": {"enabled": False},
        "worker": {"replicas": 6}}}
    text = files["values-prod.yaml"].decode()
    assert "# memory: removed in prod." in text
    for line_no, line in enumerate(text.splitlines()):
        if line.strip() and not line.lstrip().startswith("#") and line.startswith("  ") and line.rstrip().endswith(":"):
            assert text.splitlines()[line_no - 1].lstrip().startswith("#"), line
    dev = yaml.safe_load(files["values-dev.yaml"])
    assert dev["agents"]["planner"]["scaling"] is None
    assert dev["agents"]["worker"]["env"] == {"LOG_LEVEL": None}
    assert dev["agents"]["debugger"]["image"]["repository"] == "ghcr.io/acme/debug"


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_every_values_env_file_passes_strict_lint(dev_prod: Path, tmp_path: Path, version: str) -> None:
    spec = load_spec(str(dev_prod))
    chart = tmp_path / spec.name
    write_chart(render_chart(spec), chart)
    for env in spec.environments:
        proc = run_helm(helm_path(version), "lint", "--strict", str(chart), "-f", str(chart / f"values-{env}.yaml"))
        assert "0 chart(s) failed" in proc.stdout


def test_environment_problems_name_the_environment(tmp_path: Path) -> None:
    from helmgen.problems import SpecError

    p = tmp_path / "bad.yaml"
    p.write_text(BASE + "environments:\n  dev:\n    agents:\n      planner: {replica: 1, talksTo: [nobody]}\n"
                        "      ghost: {port: 80}\n  Bad_Env: {}\n")
    with pytest.raises(SpecError) as exc:
        load_spec(str(p))
    lines = [line.replace(str(p), "spec.yaml") for line in exc.value.lines()]
    assert 'spec.yaml:29:17: environments.dev.agents.planner.replica: unknown field (did you mean "replicas"?)' in lines
    assert any("Bad_Env" in line and "environment name" in line for line in lines)


def test_a_problem_environments_inherit_is_reported_once(tmp_path: Path) -> None:
    from helmgen.problems import SpecError

    p = tmp_path / "s.yaml"
    p.write_text(BASE.replace("scaling: {minReplicas: 2, maxReplicas: 5}", "scaling: {minReplicas: 6, maxReplicas: 5}")
                 + "environments:\n  dev:\n    agents:\n      planner: {replicas: 1}\n  prod: {}\n")
    with pytest.raises(SpecError) as exc:
        load_spec(str(p))
    assert [line.split(": ", 1)[1] for line in exc.value.lines()] == [
        "agents.planner.scaling.minReplicas: 6 is greater than maxReplicas (5)"]


OVERRIDE = st.fixed_dictionaries({}, optional={
    "replicas": st.integers(0, 5),
    "scaling": st.one_of(st.none(), st.fixed_dictionaries({"minReplicas": st.integers(1, 3),
                                                           "maxReplicas": st.integers(3, 9)})),
    "enabled": st.booleans(),
    "env": st.dictionaries(st.sampled_from(["LOG_LEVEL", "MODE", "API_KEY"]),
                           st.one_of(st.none(), st.sampled_from(["a", "no", "0123", "{{ x }}"])), max_size=2),
    "resources": st.one_of(st.none(), st.fixed_dictionaries({"cpu": st.sampled_from(["50m", "1"]),
                                                            "memory": st.sampled_from(["64Mi", "2Gi"])})),
    "health": st.one_of(st.none(), st.just("/ready")),
    "talksTo": st.lists(st.sampled_from(["planner", "worker", "memory", "extra"]), unique=True, max_size=2),
    "disruption": st.one_of(st.none(), st.just({"minAvailable": 1})),
    "podAnnotations": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["x", "07"]), max_size=1),
})
ENVIRONMENT = st.fixed_dictionaries({
    "agents": st.fixed_dictionaries({}, optional={"planner": OVERRIDE, "worker": OVERRIDE, "memory": OVERRIDE,
                                                   "extra": st.just({"image": "ghcr.io/acme/extra:2", "port": 7000,
                                                                     "talksTo": ["planner"]})}),
}, optional={"defaults": st.fixed_dictionaries({}, optional={
    "resources": st.just({"cpu": "20m", "memory": "32Mi"}), "podAnnotations": st.just({"team": "x"}),
    "env": st.just({"LOG_LEVEL": "warn"})})})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=ENVIRONMENT)
def test_property_values_env_renders_what_the_spec_says(tmp_path_factory: pytest.TempPathFactory,
                                                       env: dict[str, Any]) -> None:
    from helmgen.problems import SpecError

    out = tmp_path_factory.mktemp("prop")
    spec_path = out / "spec.yaml"
    spec_path.write_text(BASE + yaml.safe_dump({"environments": {"e": env}}, sort_keys=False))
    try:
        load_spec(str(spec_path))
    except SpecError as exc:  # a generated override can be invalid (talksTo a missing agent, ...): skip it
        assert all("environments.e" in line for line in exc.lines()), exc.lines()
        event("override rejected by the checker")
        return
    event("override rendered and compared")
    check_environments(spec_path, out, helm_path("4.3.1"))


@pytest.mark.parametrize("spec", [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))], ids=lambda p: p.name)
def test_specs_with_environments_render_what_the_spec_says(spec: Path, tmp_path: Path) -> None:
    if "environments:" in spec.read_text():
        check_environments(spec, tmp_path, helm_path("3.17.3"))
