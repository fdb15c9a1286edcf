"""The files of a generated chart: deterministic bytes, the chart's files, values that mirror the spec,
and no secret value anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.conftest import (
    generate,
    run_helm,
    tree_bytes,
)
from tests.rendered import ALL_SPECS


def test_generation_is_deterministic(tmp_path: Path) -> None:
    for spec in ALL_SPECS:
        a = generate(spec, tmp_path / "a")
        b = generate(spec, tmp_path / "b")
        assert tree_bytes(a) == tree_bytes(b)



def test_chart_files(charts: dict[str, Path]) -> None:
    chart = charts["research-crew"]
    files = set(tree_bytes(chart))
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", ".helmignore", "templates/NOTES.txt",
            "templates/tests/test-connection.yaml", "templates/_helpers.tpl"} <= files
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == "research-crew" and meta["version"] == "0.3.0"
    assert meta["appVersion"] == "1.8.2" and meta["kubeVersion"] == ">=1.29.0-0"
    assert meta["home"] == "https://example.org/research-crew"
    assert meta["maintainers"] == [{"name": "Ada", "email": "ada@example.org"}]
    assert meta["annotations"]["artifacthub.io/license"] == "Apache-2.0"
    images = yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    assert {"name": "planner", "image": "ghcr.io/acme/planner:1.8.2"} in images
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$ref" not in json.dumps(schema).replace('"$ref": "#/definitions/agent"', "")
    readme = (chart / "README.md").read_text()
    assert "```mermaid" in readme and "a_planner --> a_worker" in readme and "a_worker --> a_evaluator" in readme
    assert "| `agents.<agent>.replicas` |" in readme
    values_text = (chart / "values.yaml").read_text()
    # a comment above every agent setting
    lines = values_text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"    [a-zA-Z]+:.*", line):
            assert lines[i - 1].lstrip().startswith("#"), line



def test_values_mirror_the_spec(charts: dict[str, Path]) -> None:
    values = yaml.safe_load((charts["research-crew"] / "values.yaml").read_text())
    planner = values["agents"]["planner"]
    assert planner["image"] == {"repository": "ghcr.io/acme/planner", "tag": "1.8.2", "digest": "",
                                "pullPolicy": "IfNotPresent"}
    assert planner["ports"] == {"http": {"port": 8080, "protocol": "TCP"}}
    assert planner["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}  # from defaults
    assert planner["env"]["LOG_LEVEL"] == {"value": "info"}  # defaults merged
    assert planner["env"]["MAX_STEPS"] == {"value": "12"}
    assert planner["health"]["liveness"] == {"httpGet": {"path": "/healthz", "port": "http"}}
    assert values["secrets"]["llm-keys"] == {"keys": ["openai", "anthropic"], "existingSecret": "", "external": None,
                                            "values": {}}
    assert values["agents"]["worker"]["health"]["readiness"] == {"httpGet": {"path": "/healthz", "port": "http"}}



def test_missing_secret_values_fail_install_naming_secret_and_key(charts: dict[str, Path], helm: Path) -> None:
    chart = charts["research-crew"]
    proc = run_helm(helm, "template", "rel", str(chart), "--set", "secrets.llm-keys.values.openai=x", check=False)
    assert proc.returncode != 0
    assert "secrets.llm-keys.values.anthropic" in proc.stderr
    assert "secrets.llm-keys.values.openai" not in proc.stderr.split("missing values")[1].split("(")[0]
    proc = run_helm(helm, "lint", "--strict", str(chart))  # lint is not an install: it passes without values



def test_no_secret_value_in_any_generated_file(charts: dict[str, Path]) -> None:
    for chart in charts.values():
        values = yaml.safe_load((chart / "values.yaml").read_text())
        for s in values["secrets"].values():
            assert s["values"] == {}

