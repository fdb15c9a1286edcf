"""values.schema.json is the safety net: misspelt or mistyped keys in any values file fail
`helm template` and `helm lint` on both Helm versions; new agents and `global` are welcome."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, by_kind, generate, run_helm, secret_sets, template

BAD_FILES = {
    "top-level": ("networkPolicyy: false\n", "networkPolicyy"),
    "agent-level": ("agents:\n  planner:\n    replica: 3\n", "replica"),
    "nested": ("agents:\n  planner:\n    image:\n      tagg: '2.0'\n", "tagg"),
    "deep-nested": ("agents:\n  worker:\n    scaling: {minReplicas: 1, maxReplicas: 3, cpuu: 50}\n", "cpuu"),
    "secret": ("secrets:\n  llm-keys:\n    valuez: {openai: x}\n", "valuez"),
    "probe": ("agents:\n  worker:\n    health: {liveness: {httpGett: {path: /, port: http}}}\n", "httpGett"),
    "resource": ("agents:\n  worker:\n    resources: {requests: {cpuu: '1'}}\n", "cpuu"),
    "new-agent": ("agents:\n  extra:\n    image: {repository: nginx}\n    portz: {http: {port: 80}}\n", "portz"),
}
WRONG_TYPES = {
    "replicas-string": "agents:\n  worker:\n    replicas: three\n",
    "port-out-of-range": "agents:\n  worker:\n    ports: {http: {port: 70000}}\n",
    "enabled-string": "agents:\n  worker:\n    enabled: 'yes'\n",
    "kind-unknown": "agents:\n  worker:\n    kind: Deploymnt\n",
    "bad-agent-name": "agents:\n  Bad_Name:\n    image: {repository: nginx}\n",
    "agent-name-too-long": f"agents:\n  {'a' * 41}:\n    image: {{repository: nginx}}\n",
    "resource-value-bool": "agents:\n  worker:\n    resources: {limits: {cpu: true}}\n",
}
# a misspelt key at each depth -> (the path Helm must name, the key); a repeated run must name the same path
MISSPELT_AT = {
    "top-level": ("networkPolicyy: false\n", "", "networkPolicyy"),
    "agent": ("agents:\n  planner:\n    replica: 3\n", "agents.planner", "replica"),
    "agent-image": ("agents:\n  planner:\n    image: {tagg: '2.0'}\n", "agents.planner.image", "tagg"),
    "requests": ("agents:\n  worker:\n    resources: {requests: {cpuu: '1'}}\n",
                 "agents.worker.resources.requests", "cpuu"),
    "limits": ("agents:\n  worker:\n    resources: {limits: {memry: 1Gi}}\n", "agents.worker.resources.limits", "memry"),
    "port": ("agents:\n  worker:\n    ports: {http: {portt: 80}}\n", "agents.worker.ports.http", "portt"),
    "env": ("agents:\n  worker:\n    env: {FOO: {valu: x}}\n", "agents.worker.env.FOO", "valu"),
    "probe": ("agents:\n  worker:\n    health: {liveness: {httpGett: {port: http}}}\n",
              "agents.worker.health.liveness", "httpGett"),
    "secret": ("secrets:\n  llm-keys:\n    valuez: {openai: x}\n", "secrets.llm-keys", "valuez"),
    "secret-external": ("secrets:\n  llm-keys:\n    external: {store: v, remoteKey: k, refresh: 1h}\n",
                        "secrets.llm-keys.external", "refresh"),
    "new-agent": ("agents:\n  extra:\n    image: {repository: nginx}\n    portz: {http: {port: 80}}\n",
                  "agents.extra", "portz"),
    "new-agent-requests": ("agents:\n  extra:\n    image: {repository: nginx}\n    resources: {requests: {cpuu: 1}}\n",
                           "agents.extra.resources.requests", "cpuu"),
    "agent-name": ("agents:\n  Bad_Name:\n    image: {repository: nginx}\n", "agents", "Bad_Name"),
}
HELM4_ERROR = re.compile(r"at '([^']*)': additional properties ((?:'[^']*'(?:, )?)+) not allowed")
HELM3_ERROR = re.compile(r"- (\S+): Additional property (\S+) is not allowed")


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(next(e for e in EXAMPLES if e.stem == "research-crew"), tmp_path_factory.mktemp("c"))


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "override.yaml"
    f.write_text(text)
    return f


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_misspelt_keys_fail_template_and_lint(chart: Path, helm: Path, tmp_path: Path, case: str) -> None:
    text, key = BAD_FILES[case]
    f = write(tmp_path, text)
    commands = [["template", "rel", str(chart), *secret_sets(chart), "-f", str(f)],
                ["lint", "--strict", str(chart), "-f", str(f)]]
    if "4." in str(helm):  # Helm 4 can dry-run an install without a cluster
        commands.append(["install", "rel", str(chart), "--dry-run=client", *secret_sets(chart), "-f", str(f)])
    for args in commands:
        proc = run_helm(helm, *args, check=False)
        assert proc.returncode != 0, (args[0], proc.stdout)
        assert key in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def reported(output: str) -> set[tuple[str, str]]:
    """The (dotted path, key) of each additional property Helm 4 or Helm 3 reports."""
    found = set()
    for pointer, keys in HELM4_ERROR.findall(output):
        for key in re.findall(r"'([^']*)'", keys):
            found.add((".".join(p for p in pointer.split("/") if p), key))
    for path, key in HELM3_ERROR.findall(output):
        found.add(("" if path == "(root)" else path, key))
    return found


@pytest.mark.parametrize("case", sorted(MISSPELT_AT))
def test_misspelt_key_is_named_at_its_path(chart: Path, helm: Path, tmp_path: Path, case: str) -> None:
    text, path, key = MISSPELT_AT[case]
    f = write(tmp_path, text)
    for args in (["template", "rel", str(chart), *secret_sets(chart), "-f", str(f)],
                 ["lint", "--strict", str(chart), "-f", str(f)]):
        for _ in range(5):  # Helm 4 once named a random path here: one right answer is not enough
            proc = run_helm(helm, *args, check=False)
            assert proc.returncode != 0, (args[0], proc.stdout)
            assert reported(proc.stdout + proc.stderr) == {(path, key)}, proc.stdout + proc.stderr


def test_every_misspelt_key_is_named_at_its_path_at_once(chart: Path, helm: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "networkPolicyy: false\nagents:\n  worker:\n    resources: {requests: {cpuu: 1}}\n"
                        "    ports: {http: {portt: 80}}\n  extra:\n    image: {repository: nginx}\n    replica: 2\n"
                        "secrets:\n  llm-keys:\n    valuez: {}\n")
    for _ in range(5):
        proc = run_helm(helm, "lint", "--strict", str(chart), "-f", str(f), check=False)
        assert reported(proc.stdout + proc.stderr) == {
            ("", "networkPolicyy"), ("agents.worker.resources.requests", "cpuu"), ("agents.worker.ports.http", "portt"),
            ("agents.extra", "replica"), ("secrets.llm-keys", "valuez")}, proc.stdout + proc.stderr


def test_agent_and_resource_names_within_the_rules_pass(chart: Path, helm: Path, tmp_path: Path) -> None:
    f = write(tmp_path, f"agents:\n  {'a' * 40}:\n    image: {{repository: nginx}}\n"
                        "    resources: {limits: {nvidia.com/gpu: 1, hugepages-2Mi: 64Mi, ephemeral-storage: 1Gi}}\n")
    pod = by_kind(template(helm, chart, "-f", str(f)), "Deployment")[f"rel-{'a' * 40}"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_wrong_types_fail(chart: Path, helm: Path, tmp_path: Path, case: str) -> None:
    f = write(tmp_path, WRONG_TYPES[case])
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(f), check=False)
    assert proc.returncode != 0
    assert "schema" in proc.stderr.lower()


def test_new_agent_from_a_values_file_is_rendered_securely(chart: Path, helm: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "agents:\n  newbie:\n    image: {repository: nginx, tag: '1.27'}\n"
                        "    ports: {http: {port: 8080}}\n    talksTo: [planner]\n")
    objs = template(helm, chart, "-f", str(f))
    dep = by_kind(objs, "Deployment")["rel-newbie"]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert dep["spec"]["replicas"] == 1
    assert c["image"] == "nginx:1.27"
    assert {"name": "PLANNER_URL", "value": "http://rel-planner:8080"} in c["env"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["resources"]["limits"]["memory"] == "128Mi"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "rel-newbie" in by_kind(objs, "Service")
    np = by_kind(objs, "NetworkPolicy")["rel-planner"]
    callers = [v for r in np["spec"]["ingress"] for s in r.get("from", [])
               for e in s["podSelector"].get("matchExpressions", []) for v in e["values"]]
    assert "newbie" in callers


def test_values_overrides_reach_the_manifests(chart: Path, helm: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "agents:\n  worker:\n    replicas: 5\n    enabled: true\n  evaluator:\n    enabled: false\n"
                        "fullnameOverride: crew\n")
    objs = template(helm, chart, "-f", str(f))
    deps = by_kind(objs, "Deployment")
    assert deps["crew-worker"]["spec"]["replicas"] == 5
    assert "crew-evaluator" not in deps
    env = {e["name"]: e.get("value") for e in deps["crew-worker"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["EVALUATOR_URL"] == "http://crew-evaluator:8081"  # the URL stays predictable


def test_global_is_allowed(chart: Path, helm: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "global:\n  imageRegistry: mirror.example.org\n")
    assert template(helm, chart, "-f", str(f))


def test_chart_works_as_a_subchart(chart: Path, helm: Path, tmp_path: Path) -> None:
    umbrella = tmp_path / "umbrella"
    (umbrella / "charts").mkdir(parents=True)
    (umbrella / "templates").mkdir()
    import shutil
    shutil.copytree(chart, umbrella / "charts" / chart.name)
    (umbrella / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "umbrella", "version": "1.0.0",
        "dependencies": [{"name": chart.name, "version": yaml.safe_load((chart / "Chart.yaml").read_text())["version"]}]}))
    (umbrella / "values.yaml").write_text(yaml.safe_dump({
        "global": {"env": "prod"},
        chart.name: {"secrets": {"llm-keys": {"values": {"openai": "a", "anthropic": "b"}}},
                     "agents": {"worker": {"replicas": 2}}}}))
    out = run_helm(helm, "template", "top", str(umbrella)).stdout
    objs = [d for d in yaml.safe_load_all(out) if d]
    assert by_kind(objs, "Deployment")["top-worker"]["spec"]["replicas"] == 2
    assert "0 chart(s) failed" in run_helm(helm, "lint", "--strict", str(umbrella)).stdout


def test_schema_never_uses_property_names(chart: Path) -> None:
    # Helm 4 names a key that propertyNames rejects at a random path: map keys go through patternProperties
    assert "propertyNames" not in (chart / "values.schema.json").read_text()
