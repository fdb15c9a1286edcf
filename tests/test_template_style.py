"""The rendered manifests read as a Helm user expects: block YAML throughout the pod specs, no
one-line JSON flow maps (for probes, resources or anything else)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, SPECS, generate, run_helm, secret_sets

# a key (or list item) whose value opens a non-empty flow map or list: `livenessProbe: {"tcpSocket": …}`
FLOW = re.compile(r"""^\s*(?:- )?(?:[^\s"'#{\[][^:]*: )?[{\[](?![}\]])""")
POD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob", "Pod")


@pytest.mark.parametrize("spec", [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))], ids=lambda p: p.stem)
def test_pod_specs_are_block_yaml(tmp_path: Path, helm: Path, spec: Path) -> None:
    chart = generate(spec, tmp_path)
    out = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart)).stdout
    pods = 0
    for doc in re.split(r"^---.*$", out, flags=re.M):
        kind = re.search(r"^kind: (\S+)", doc, flags=re.M)
        if not kind or kind.group(1) not in POD_KINDS:
            continue
        pods += 1
        block = False  # inside a block scalar (a config file, a script): its text is not YAML structure
        indent = 0
        for line in doc.splitlines():
            here = len(line) - len(line.lstrip())
            if block and (here > indent or not line.strip()):
                continue
            block = bool(re.search(r": [|>][-+]?\d*$", line)) or bool(re.search(r"^\s*- [|>][-+]?\d*$", line))
            indent = here
            assert not FLOW.match(line), f"{spec.name}: {kind.group(1)}: flow YAML: {line.strip()}"
    assert pods


def test_flow_pattern() -> None:
    for line in ('          livenessProbe: {"tcpSocket":{"port":"http"}}', '  resources: {"limits": 1}',
                 "  - {name: a}", "  args: [a, b]"):
        assert FLOW.match(line), line
    for line in ("  emptyDir: {}", "  args: []", '  value: "{x}"', "  value: '[a]'", "  livenessProbe:",
                 "    - name: x"):
        assert not FLOW.match(line), line


SKELETON = Path(__file__).resolve().parent.parent / "chart-skeleton" / "templates"


def test_helpers_split_and_documented() -> None:
    """Helpers split by concern; each define has a comment right above it saying what it takes."""
    helpers = sorted(p.name for p in SKELETON.glob("_*.tpl"))
    assert helpers == ["_cache.tpl", "_defaults.tpl", "_dependencies.tpl", "_helpers.tpl", "_pod.tpl", "_tracks.tpl"]
    for name in helpers:
        text = (SKELETON / name).read_text()
        for m in re.finditer(r'\{\{- define "([^"]+)" -\}\}', text):
            comment = text[:m.start()].rstrip().rsplit("{{/*", 1)[-1]
            assert comment.endswith("*/}}") and "Takes" in comment, (name, m.group(1))


def test_cache_keys_are_words() -> None:
    """The per-release cache holds data under word keys (no sel4, labels8, psc), and every template
    starts with the one init helper."""
    cache = (SKELETON / "_cache.tpl").read_text()
    keys = re.findall(r'"([A-Za-z0-9]+)" \$', cache) + re.findall(r'"([A-Za-z0-9]+)" \(', cache)
    assert {"workloadName", "selectorLabels", "podLabels", "values", "labels"} <= set(keys)
    for key in keys:
        assert not re.search(r"\d", key) and len(key) > 2, key
    assert not set(keys) & {"psc", "sts", "urlq", "wname", "pname", "saCreate", "podSA"}
    assert "nindent" not in cache.split('define "agentgen.cache"')[1]
    for t in [*SKELETON.glob("*.yaml"), *SKELETON.glob("tests/*.yaml"), SKELETON / "NOTES.txt"]:
        text = t.read_text()
        assert "hasKey $ \"agentgenCache\"" not in text, t.name
        if "agentgenCache" in text:
            assert '{{- include "agentgen.init" $' in text, t.name
