"""Environments override secrets; a created secret no enabled agent reads is not demanded (issue 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from helmgen.problems import SpecError
from helmgen.spec.check import load_spec
from tests.conftest import by_kind, generate, run_helm, template

HEAD = "apiVersion: agentgen/v1\nname: envsec\nversion: 0.1.0\n"
SPEC = HEAD + textwrap.dedent("""
    secrets:
      db: {keys: [password]}
      llm: {keys: [openai]}
    agents:
      api:
        image: ghcr.io/acme/api:1.0
        port: 8080
        env:
          OPENAI: {secret: llm, key: openai}
      worker:
        image: ghcr.io/acme/w:1.0
        health: false
        env:
          DB: {secret: db, key: password}
    environments:
      dev:
        agents:
          worker: {enabled: false}
      prod:
        secrets:
          llm: {existingSecret: prod-llm, reload: restart}
          db: {external: {store: vault, remoteKey: prod/db}}
    """)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return generate(spec, tmp_path / "out")


def test_secret_of_a_disabled_agent_is_not_demanded(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"), "--set", "secrets.llm.values.openai=k",
                    with_secrets=False)
    assert set(by_kind(objs, "Secret")) == {"rel-llm"}
    # without the environment, the worker reads db: it is demanded
    proc = run_helm(helm, "template", "rel", str(chart), "--set", "secrets.llm.values.openai=k", check=False)
    assert proc.returncode != 0 and "secrets.db.values.password" in proc.stderr
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-dev.yaml"))


def test_environment_overrides_secrets(chart: Path, helm: Path) -> None:
    values = yaml.safe_load((chart / "values-prod.yaml").read_text())
    assert values["secrets"]["llm"] == {"existingSecret": "prod-llm", "reload": "restart"}
    assert values["secrets"]["db"]["external"]["remoteKey"] == "prod/db"
    objs = template(helm, chart, "-f", str(chart / "values-prod.yaml"), with_secrets=False)  # nothing to give
    assert by_kind(objs, "Secret") == {}
    assert set(by_kind(objs, "ExternalSecret")) == {"rel-db"}
    api = by_kind(objs, "Deployment")["rel-api"]
    assert api["metadata"]["annotations"] == {"secret.reloader.stakater.com/reload": "prod-llm"}
    env = api["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == "prod-llm"
    assert "annotations" not in api["spec"]["template"]["metadata"]  # no checksum: the chart cannot see it
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-prod.yaml"))


def test_environment_secret_problems(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        secrets:
          db: {keys: [password]}
        agents:
          a:
            image: nginx
            env: {P: {secret: db, key: pass}}
        environments:
          prod:
            secrets:
              db: {reload: restart}
              other: {existingSecret: x}
        """))
    with pytest.raises(SpecError) as exc:
        load_spec(str(spec))
    lines = [line.replace(str(spec), "spec.yaml") for line in exc.value.lines()]
    assert any("agents.a.env.P.key: secret 'db' has no key 'pass'" in line for line in lines)
    assert any(line.startswith("spec.yaml:14:") and "environments.prod.secrets.db.reload: applies to an "
               "existingSecret or external secret" in line for line in lines), lines
    assert any(line.startswith("spec.yaml:15:") and "environments.prod.secrets.other.keys: is required" in line
               for line in lines), lines
