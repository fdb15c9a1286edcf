"""The docs say precisely where values.schema.json does not catch a misspelt key: the Kubernetes fields it
passes through free-form (any object or list), each of which the README names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import EXAMPLES, ROOT, generate, template


def _free_form(node: dict[str, Any], path: list[str], out: list[list[str]]) -> None:
    """Paths of the schema's objects with no listed keys and lists with no item schema."""
    types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if ("object" in types and not {"properties", "additionalProperties", "patternProperties"} & set(node)) or (
            "array" in types and "items" not in node):
        out.append(path)
        return
    for key, sub in (node.get("properties") or {}).items():
        _free_form(sub, [*path, key], out)
    for sub in (node.get("patternProperties") or {}).values():
        _free_form(sub, [*path, "<agent>"], out)
    for sub in (node.get("additionalProperties"), node.get("items")):
        if isinstance(sub, dict):
            _free_form(sub, [*path, "*"], out)


def free_form_paths() -> list[list[str]]:
    from helmgen.chart.schema import values_schema

    schema = values_schema()
    out: list[list[str]] = []
    _free_form(schema, [], out)
    _free_form(schema["definitions"]["agent"], ["agents", "<agent>"], out)
    return [p for p in out if p != ["global"]]  # Helm's own, for subcharts


def test_readme_names_every_free_form_field() -> None:
    paths = free_form_paths()
    assert ["agents", "<agent>", "affinity"] in paths and ["agents", "<agent>", "securityContext"] in paths
    readme = (ROOT / "README.md").read_text()
    strict = readme[readme.index("- **Strict values.**"):].split("\n- ", 1)[0]
    spec = (ROOT / "docs" / "spec.md").read_text()
    for path in paths:
        name = next(p for p in reversed(path) if p not in ("*", "pod", "container"))
        assert re.search(rf"[`./]{name}`", strict), (path, strict)
        assert name in spec, path


def test_a_misspelt_key_inside_a_free_form_field_passes_as_the_docs_say(helm: Path, tmp_path: Path) -> None:
    chart = generate(next(e for e in EXAMPLES if e.stem == "research-crew"), tmp_path / "out")
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"planner": {
        "affinity": {"nodeAffinityy": {}}, "securityContext": {"runAsNonRoott": True},
        "tolerations": [{"keyy": "x"}]}}}))
    objs = template(helm, chart, "-f", str(values))
    [planner] = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-planner")]
    pod = planner["spec"]["template"]["spec"]
    assert pod["affinity"] == {"nodeAffinityy": {}} and pod["tolerations"] == [{"keyy": "x"}]
