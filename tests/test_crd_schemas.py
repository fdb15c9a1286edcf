"""Every custom resource the chart renders validates against its CRD's strict JSON schema (tests/crd.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, SPECS, generate, template
from tests.crd import assert_crd_valid, crd_problems, custom_objects

# Specs that between them turn on every custom resource kind the chart can render.
CRD_SPECS = [SPECS / "every-field.yaml", SPECS / "argo-rollouts.yaml", *EXAMPLES]
# The kinds these specs must render (so the test cannot pass by rendering none of them).
EXPECTED_KINDS = {"ScaledObject", "ServiceMonitor", "ExternalSecret", "HTTPRoute", "Rollout", "AnalysisTemplate"}


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("crd-charts")
    return {s.stem: generate(s, out) for s in CRD_SPECS}


def test_every_custom_object_validates_against_its_crd_schema(helm: Path, charts: dict[str, Path]) -> None:
    seen: set[str] = set()
    problems: list[str] = []
    for name, chart in charts.items():
        objs = template(helm, chart)
        for obj in custom_objects(objs):
            seen.add(obj["kind"])
            problems += [f"{name}: {p}" for p in crd_problems(obj)]
    assert not problems, "\n".join(problems)
    assert seen >= EXPECTED_KINDS, f"not rendered by any spec: {sorted(EXPECTED_KINDS - seen)}"


def _scaled_object(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
            "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [{"type": "cpu", "metadata": {"value": "1"}}],
                     **spec}}


def test_the_helper_accepts_a_valid_object() -> None:
    assert_crd_valid(_scaled_object())


def test_the_helper_rejects_an_unknown_field() -> None:
    problems = crd_problems(_scaled_object(minReplicas=1))
    assert problems and "minReplicas" in problems[0]


def test_the_helper_rejects_a_kind_without_a_schema() -> None:
    problems = crd_problems({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert problems and "no CRD schema" in problems[0]
