"""Upgrades, release names and the `helm test` hooks on the real Helm 4.3.1 and 3.17.3: fields that
Kubernetes will not let an upgrade change stay byte-identical across chart versions and appVersions;
release names Helm accepts never give an object Kubernetes rejects."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, SPECS, by_kind, generate, run_helm, secret_sets, template

UPGRADE_SPECS = [*EXAMPLES, SPECS / "every-field.yaml", SPECS / "long-stateful.yaml"]


def immutable_fields(objs: list[dict[str, Any]]) -> dict[str, str]:
    """Every field that `helm upgrade` cannot change (or that must keep selecting the same pods),
    keyed by kind/name/field, as YAML text."""
    out: dict[str, Any] = {}
    for o in objs:
        key = f"{o['kind']}/{o['metadata']['name']}"
        spec = o.get("spec", {})
        if o["kind"] in ("Deployment", "StatefulSet", "PodDisruptionBudget", "ServiceMonitor", "Job"):
            out[f"{key}/selector"] = spec.get("selector")
        if o["kind"] == "StatefulSet":
            out[f"{key}/volumeClaimTemplates"] = spec.get("volumeClaimTemplates")
            out[f"{key}/serviceName"] = spec["serviceName"]
        if o["kind"] == "Service":
            out[f"{key}/selector"] = spec.get("selector")
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            out[f"{key}/scaleTargetRef"] = spec["scaleTargetRef"]
        if o["kind"] == "NetworkPolicy":
            out[f"{key}/podSelector"] = spec["podSelector"]
            out[f"{key}/from"] = [rule.get("from") for rule in spec.get("ingress", [])]
    return {k: yaml.safe_dump(v, sort_keys=True) for k, v in out.items()}


def with_versions(chart: Path, dest: Path, version: str, app_version: str) -> Path:
    copy = dest / f"{chart.name}-{version}-{app_version}" / chart.name
    shutil.copytree(chart, copy)
    meta = yaml.safe_load((copy / "Chart.yaml").read_text())
    meta["version"], meta["appVersion"] = version, app_version
    (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return copy


@pytest.mark.parametrize("spec", UPGRADE_SPECS, ids=lambda p: p.stem)
def test_upgrade_immutable_fields_do_not_change_between_chart_versions(tmp_path: Path, helm: Path, spec: Path) -> None:
    chart = generate(spec, tmp_path / "gen")
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for version, app_version in (("1.0.0", "1.0.0"), ("1.0.1", "1.0.0"), ("2.3.0+build.9", "2.0"),
                                 ("2.3.0-rc.1", "2.1")):
        objs = template(helm, with_versions(chart, tmp_path, version, app_version), "--namespace", "ns")
        assert any(o["metadata"]["labels"].get("helm.sh/chart", "").endswith(version.replace("+", "_"))
                   for o in objs)  # the versions did change
        seen[(version, app_version)] = immutable_fields(objs)
    first, *rest = seen.values()
    assert any("/selector" in k for k in first)
    if "state:" in spec.read_text():
        assert any(k.endswith("/volumeClaimTemplates") and v.strip() != "null" for k, v in first.items())
    for other in rest:
        assert other == first


def test_volume_claim_templates_carry_only_selector_labels(tmp_path: Path, helm: Path) -> None:
    objs = template(helm, generate(SPECS / "every-field.yaml", tmp_path))
    memory = by_kind(objs, "StatefulSet")["rel-memory"]
    (vct,) = memory["spec"]["volumeClaimTemplates"]
    assert vct["metadata"]["labels"] == {"app.kubernetes.io/name": "every-field", "app.kubernetes.io/instance": "rel",
                                         "app.kubernetes.io/component": "memory"}
