"""Env in the order written, `$(VAR)` users after what they use, `${secrets.S.K}` through a generated
variable, and the same order for variables a values file adds (issue 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from helmgen.spec.check import load_spec
from tests.conftest import by_kind, generate, run_helm, template
from tests.test_check import errors

HEAD = "apiVersion: agentgen/v1\nname: envs\nversion: 0.1.0\n"

SPEC = HEAD + textwrap.dedent("""
    secrets:
      db: {keys: [root-password]}
    defaults:
      env:
        ZED: z
        HOST: db.local
    agents:
      api:
        image: ghcr.io/acme/api:1.0
        port: 8080
        env:
          DSN: "root:${secrets.db.root-password}@tcp($(HOST):3306)/x"
          BETA: "$(ALPHA)-b"
          ALPHA: a
          LIT: "$$(NOPE) costs $$5"
    """)


def _env(objs: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    dep = by_kind(objs, "Deployment")[workload]
    env: list[dict[str, Any]] = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    return env


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return generate(spec, tmp_path / "out")


def test_env_renders_in_written_order_with_users_after_what_they_use(chart: Path, helm: Path) -> None:
    import kubernetes_validate

    objs = template(helm, chart)
    env = _env(objs, "rel-api")
    assert [e["name"] for e in env] == ["ZED", "HOST", "AGENTGEN_SECRET_DB_ROOT_PASSWORD", "DSN", "ALPHA", "BETA",
                                        "LIT"]
    by_name = {e["name"]: e for e in env}
    assert by_name["AGENTGEN_SECRET_DB_ROOT_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "rel-db", "key": "root-password"}}
    assert by_name["DSN"]["value"] == "root:$(AGENTGEN_SECRET_DB_ROOT_PASSWORD)@tcp($(HOST):3306)/x"
    assert by_name["LIT"]["value"] == "$$(NOPE) costs $$5"  # Kubernetes' escape, as written
    for o in objs:
        if o["kind"] == "Deployment":
            kubernetes_validate.validate(o, "1.30.0", strict=True)


def test_secret_reference_follows_existing_secret(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "--set", "secrets.db.existingSecret=prod-db", with_secrets=False)
    env = {e["name"]: e for e in _env(objs, "rel-api")}
    assert env["AGENTGEN_SECRET_DB_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "prod-db"


def test_values_file_variables_come_after_in_dependency_order(chart: Path, helm: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"agents": {"api": {"env": {
        "A_USES_Z": {"value": "$(Z_LAST)/a"}, "Z_LAST": {"value": "$(DSN)"}, "M_PLAIN": {"value": "m"},
        "ALPHA": {"value": "overridden"}}}}}))
    objs = template(helm, chart, "-f", str(extra), "--set", "agents.api.env.B_SET.value=$(A_USES_Z)")
    names = [e["name"] for e in _env(objs, "rel-api")]
    assert names[:7] == ["ZED", "HOST", "AGENTGEN_SECRET_DB_ROOT_PASSWORD", "DSN", "ALPHA", "BETA", "LIT"]
    assert names[7:] == ["Z_LAST", "A_USES_Z", "B_SET", "M_PLAIN"]  # name order, each after what it uses
    assert {e["name"]: e.get("value") for e in _env(objs, "rel-api")}["ALPHA"] == "overridden"


def test_values_file_agent_orders_its_env(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "--set", "agents.extra.image.repository=nginx",
                    "--set", "agents.extra.env.A.value=$(B)", "--set", "agents.extra.env.B.value=b",
                    "--set", "agents.extra.env.C.value=c")
    # name order, what a variable uses placed right before it (as a spec agent with this env renders)
    assert [e["name"] for e in _env(objs, "rel-extra")] == ["B", "A", "C"]


def test_generated_values_hold_the_order(chart: Path) -> None:
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values["agents"]["api"]["envOrder"] == ["ZED", "HOST", "AGENTGEN_SECRET_DB_ROOT_PASSWORD", "DSN", "ALPHA",
                                                   "BETA", "LIT"]


def _errors(tmp_path: Path, body: str) -> list[str]:
    return errors(tmp_path, body, HEAD)


def test_unknown_variable_is_a_positioned_error(tmp_path: Path) -> None:
    assert _errors(tmp_path, """
        agents:
          a:
            image: nginx
            env:
              URL: "http://$(HOSTNAME_X):80"
        """) == ["spec.yaml:8:7: agents.a.env.URL: uses $(HOSTNAME_X), which is no variable of the container "
                 "(define it in env (or bring it with envFrom), or write $$(HOSTNAME_X) for a literal $(HOSTNAME_X))"]


def test_talks_to_variable_is_not_usable_through_expansion(tmp_path: Path) -> None:
    assert _errors(tmp_path, """
        agents:
          a:
            image: nginx
            talksTo: [b]
            env:
              B_API: "$(B_URL)/v1"
          b: {image: nginx, port: 80}
        """) == ["spec.yaml:9:7: agents.a.env.B_API: uses $(B_URL), which is no variable of the container "
                 "(the talksTo variables come after env: write ${agents.b.url} instead)"]


def test_unknown_variable_is_allowed_with_env_from(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        agents:
          a:
            image: nginx
            envFrom: [{configMap: shared}]
            env:
              URL: "http://$(FROM_SHARED):80"
        """))
    assert load_spec(str(spec)).agents["a"].envOrder == ["URL"]


def test_env_cycle_is_an_error(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            env:
              A: "$(B)"
              B: "$(C)"
              C: "$(A)"
              D: "$(D)"
        """)
    assert lines == [
        "spec.yaml:8:7: agents.a.env.A: uses itself through $(VAR): A → B → C → A (Kubernetes expands $(VAR) only "
        "with variables defined before; break the cycle)",
        "spec.yaml:11:7: agents.a.env.D: uses itself through $(VAR): D → D (Kubernetes expands $(VAR) only "
        "with variables defined before; break the cycle)",
    ]


def test_env_order_lint(chart: Path, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(chart), "--set", "secrets.db.values.root-password=x")


def test_a_variable_with_a_problem_causes_no_follow_on_error(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            env:
              HOST: {secret: x}
              URL: "http://$(HOST):80"
        """)
    assert len(lines) == 1 and "agents.a.env.HOST.key: is required with secret" in lines[0]


def test_environment_keeps_the_order(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC + textwrap.dedent("""
        environments:
          dev:
            defaults:
              env: {AAA_FIRST: "$(ZED)!"}
            agents:
              api:
                env: {A_NEW: "$(BETA)/new", LIT: null}
        """))
    chart = generate(spec, tmp_path / "out")
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    assert [e["name"] for e in _env(objs, "rel-api")] == [
        "ZED", "HOST", "AAA_FIRST", "AGENTGEN_SECRET_DB_ROOT_PASSWORD", "DSN", "ALPHA", "BETA", "A_NEW"]


def test_secret_references_that_upper_case_alike_stay_apart(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        secrets:
          a-b: {keys: [c]}
          a: {keys: [b-c]}
        agents:
          x:
            image: nginx
            env:
              ONE: "${secrets.a-b.c}"
              TWO: "${secrets.a.b-c}"
              AGAIN: "${secrets.a-b.c}"
        """))
    agent = load_spec(str(spec)).agents["x"]
    refs = {name: (e["secret"], e["key"]) for name, e in agent.env.items() if "secret" in e}
    assert sorted(refs.values()) == [("a", "b-c"), ("a-b", "c")] and len(refs) == 2
    by_ref = {v: k for k, v in refs.items()}
    assert agent.env["ONE"]["value"] == agent.env["AGAIN"]["value"] == f"$({by_ref[('a-b', 'c')]})"
    assert agent.env["TWO"]["value"] == f"$({by_ref[('a', 'b-c')]})"
    assert agent.envOrder.index(by_ref[("a", "b-c")]) < agent.envOrder.index("TWO")
