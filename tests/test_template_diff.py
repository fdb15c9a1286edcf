"""`helmgen template` and `helmgen diff` run the real Helm ($HELM_BIN) as users do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, by_kind, helm_path, helmgen_cli

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")
SECRETS = ["--set", "secrets.llm-keys.values.openai=a", "--set", "secrets.llm-keys.values.anthropic=b"]


@pytest.fixture(params=["4.3.1", "3.17.3"], ids=lambda v: f"helm{v}")
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    return {**os.environ, "HELM_BIN": str(helm_path(request.param))}


def test_template_prints_the_manifests_of_an_environment(env: dict[str, str]) -> None:
    base = helmgen_cli("template", str(SPEC), *SECRETS, env=env)
    assert base.returncode == 0, base.stderr
    objs = [d for d in yaml.safe_load_all(base.stdout) if d]
    assert "research-crew-evaluator" in by_kind(objs, "Deployment")
    dev = helmgen_cli("template", str(SPEC), "--env", "dev", "--release", "r1", *SECRETS, "--namespace", "team",
                      env=env)
    assert dev.returncode == 0, dev.stderr
    dobjs = [d for d in yaml.safe_load_all(dev.stdout) if d]
    deps = by_kind(dobjs, "Deployment")
    assert "r1-evaluator" not in deps and "r1-tracer" in deps  # removed in dev; only in dev
    assert deps["r1-planner"]["spec"]["replicas"] == 1
    assert "r1-planner" not in by_kind(dobjs, "HorizontalPodAutoscaler")
    rb = [o for o in dobjs if (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]  # helm test Jobs
    assert rb


def test_template_errors(env: dict[str, str], tmp_path: Path) -> None:
    missing = helmgen_cli("template", str(SPEC), env=env)  # secrets not given: Helm refuses, naming them
    assert missing.returncode == 1 and "secrets.llm-keys.values.openai" in missing.stderr
    unknown = helmgen_cli("template", str(SPEC), "--env", "staging", env=env)
    assert unknown.returncode == 2 and "dev, prod" in unknown.stderr
    nohelm = helmgen_cli("template", str(SPEC), env={**env, "HELM_BIN": "", "PATH": str(tmp_path)})
    assert nohelm.returncode == 1 and "Helm is not installed" in nohelm.stderr


def test_diff_between_environments(env: dict[str, str]) -> None:
    proc = helmgen_cli("diff", str(SPEC), "dev", "prod", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "--- /dev/null\n+++ prod: Deployment/default/research-crew-evaluator" in out
    assert "--- dev: Deployment/default/research-crew-tracer\n+++ /dev/null" in out
    assert "-  replicas: 1\n+  replicas: 6" in out
    assert "\033[" not in out  # not a terminal: no colour
    assert "objects differ between dev and prod" in proc.stderr
    coloured = helmgen_cli("diff", str(SPEC), "base", "prod", "--color", env=env)
    assert "\033[31m" in coloured.stdout or "\033[32m" in coloured.stdout
    same = helmgen_cli("diff", str(SPEC), "prod", "prod", env=env)
    assert same.stdout == "" and "0 objects differ" in same.stderr
