"""Object names, the `helm test` Jobs and the values schema's guards on the real Helm 4.3.1 and 3.17.3:
every name fits its kind, the test pods carry only stable labels and can never be selected as
an agent, their checks cannot hang, and values the API server would reject fail validation."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, SPECS, by_kind, generate, run_helm, secret_sets, template
from tests.rendered import own
from tests.test_upgrade import DNS_1035, DNS_1123_LABEL, assert_valid_objects, hook_checks

NAMED_SPECS = [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))]


def hooks(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs
            if (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"}


def write_spec(tmp_path: Path, body: str, name: str = "hooks") -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(f"apiVersion: agentgen/v1\nname: {name}\nversion: 0.1.0\n" + body)
    return spec


@pytest.mark.parametrize("spec", NAMED_SPECS, ids=lambda p: p.stem)
@pytest.mark.parametrize("release", ["rel", "a-release-name-of-fifty-three-characters-is-helms-max"])
def test_every_object_name_fits_its_kind(tmp_path: Path, helm: Path, spec: Path, release: str) -> None:
    assert len(release) == 53 or release == "rel"
    chart = generate(spec, tmp_path)
    objs = [o for o in template(helm, chart, "--namespace", "ns", release=release)
            if not (chart / "charts").is_dir() or own(o, chart.name)]  # a subchart's names are its own
    assert objs
    for o in objs:
        name, kind = o["metadata"]["name"], o["kind"]
        limit = 52 if kind in ("StatefulSet", "CronJob") else 63
        assert len(name) <= limit, f"{kind}/{name}"
        assert re.fullmatch(DNS_1035 if kind == "Service" else DNS_1123_LABEL, name), f"{kind}/{name}"


def test_helm_test_job_names_are_shortened_whenever_they_pass_63(tmp_path: Path, helm: Path) -> None:
    agent = "a" * 30 + "-long"  # 35 characters; with a 16-character release, rel-agent is 52
    spec = write_spec(tmp_path, f"agents:\n  {agent}: {{image: ghcr.io/acme/a:1, port: 8080}}\n"
                                f"  {agent}-test: {{image: ghcr.io/acme/t:1, kind: Job}}\n")
    release = "sixteen-chars-rl"
    assert len(release) == 16
    objs = template(helm, generate(spec, tmp_path), release=release)
    (test_job,) = hooks(objs)
    assert len(test_job) <= 63 and test_job.startswith(f"{release}-{agent}-")
    assert f"{release}-{agent}-test" in by_kind(objs, "Job")  # the agent's own Job keeps its name
    assert_valid_objects(objs)


def test_helm_test_pod_templates_carry_only_stable_labels(tmp_path: Path, helm: Path) -> None:
    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080, talksTo: [back]}\n"
                                "  back: {image: ghcr.io/acme/back:1, port: 7000}\n")
    objs = template(helm, generate(spec, tmp_path))
    jobs = hooks(objs)
    assert set(jobs) == {"rel-front-test", "rel-back-test"}
    for name, job in jobs.items():
        component = name.removeprefix("rel-").removesuffix("-test")
        assert job["spec"]["template"]["metadata"]["labels"] == {
            "app.kubernetes.io/name": "hooks-test", "app.kubernetes.io/instance": "rel",
            "app.kubernetes.io/component": component}
        assert job["metadata"]["labels"]["helm.sh/chart"] == "hooks-0.1.0"  # the Job itself keeps them all


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("override", ["n" * 62, "n" * 63, "n" * 58 + "-test", "n" * 57 + "-test", "n" * 53 + "-test"])
def test_name_override_never_gives_test_pods_the_chart_name(tmp_path: Path, helm: Path, override: str) -> None:
    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080}\n")
    objs = template(helm, generate(spec, tmp_path), "--set", f"nameOverride={override}")
    deployment = by_kind(objs, "Deployment")["rel-front"]
    assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == override
    (job,) = hooks(objs).values()
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    test_name = pod_labels["app.kubernetes.io/name"]
    assert test_name != override and len(test_name) <= 63 and re.fullmatch(DNS_1123_LABEL, test_name)
    for svc in by_kind(objs, "Service").values():
        assert not selects(svc["spec"]["selector"], pod_labels)
    assert not selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    assert_valid_objects(objs)


@pytest.mark.parametrize("field,bad", [("nameOverride", "my app"), ("nameOverride", "Upper"),
                                       ("nameOverride", "n" * 64), ("nameOverride", "trailing-"),
                                       ("fullnameOverride", "my app"), ("fullnameOverride", "2nd"),
                                       ("fullnameOverride", "f" * 64)])
def test_name_overrides_fail_schema_validation(tmp_path: Path, helm: Path, field: str, bad: str) -> None:
    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080}\n")
    chart = generate(spec, tmp_path)
    proc = run_helm(helm, "template", "rel", str(chart), "--set", f"{field}={bad}", check=False)
    assert proc.returncode != 0 and proc.stdout == "", proc.stdout
    assert field in proc.stderr and "schema" in proc.stderr.lower(), proc.stderr


@pytest.mark.parametrize("field,good", [("nameOverride", "n" * 63), ("nameOverride", "0ab"),
                                        ("fullnameOverride", "my.dotted.name"), ("fullnameOverride", "f" * 63)])
def test_name_overrides_the_templates_take_pass(tmp_path: Path, helm: Path, field: str, good: str) -> None:
    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080}\n")
    assert_valid_objects(template(helm, generate(spec, tmp_path), "--set", f"{field}={good}"))


def test_helm_test_ignores_a_readiness_port_the_agent_does_not_have(tmp_path: Path, helm: Path) -> None:
    spec = write_spec(tmp_path, "agents:\n  brain:\n    image: ghcr.io/acme/brain:1\n"
                                "    ports: {http: 8080, grpc: 9090}\n    protocol: a2a\n"
                                "    health: {readiness: {path: /ready, port: 8081, scheme: HTTPS}}\n")
    objs = template(helm, generate(spec, tmp_path))
    probe = by_kind(objs, "Deployment")["rel-brain"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["port"] == 8081
    # no Service port reaches 8081: the default card path on the primary port
    assert [c for c in hook_checks(objs)["rel-brain-test"] if c.startswith("http")] == [
        "http http://rel-brain:8080/.well-known/agent-card.json"]


def test_helm_test_jobs_cannot_hang(tmp_path: Path, helm: Path) -> None:
    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080}\n")
    for job in hooks(template(helm, generate(spec, tmp_path))).values():
        assert 0 < job["spec"]["activeDeadlineSeconds"] <= 600
        assert job["spec"]["backoffLimit"] == 0


def test_the_helm_test_script_times_out_a_hanging_nc(tmp_path: Path) -> None:
    """BusyBox's small nc has no -z, and its -w bounds only the connect: a plain connect to a port
    that accepts and never closes would wait forever. The script runs each nc under `timeout 5`."""
    busybox = shutil.which("busybox")
    if not busybox:
        pytest.fail("busybox is not installed: run the tests with scripts/test.sh, which installs it")
    from tests.conftest import helm_path

    spec = write_spec(tmp_path, "agents:\n  front: {image: ghcr.io/acme/front:1, port: 8080}\n")
    (job,) = hooks(template(helm_path("4.3.1"), generate(spec, tmp_path))).values()
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for applet in ("sh", "timeout", "sleep", "true"):
        (bin_dir / applet).symlink_to(busybox)
    nc = bin_dir / "nc"  # no -z; otherwise connects and then hangs
    nc.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = -z ] && exit 1; done\nexec sleep 120\n')
    nc.chmod(0o755)
    proc = subprocess.run([str(bin_dir / "sh"), "-c", command[2], "check", *command[4:]], capture_output=True,
                          text=True, timeout=60, env={"PATH": str(bin_dir)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "FAIL rel-front:8080 does not answer", proc.stdout + proc.stderr


PEERS = {
    "empty-peer": ("allowFrom: [{}]", False),
    "cidr-without-prefix": ('allowFrom: [{ipBlock: {cidr: "10.0.0.0"}}]', False),
    "except-without-prefix": ('allowFrom: [{ipBlock: {cidr: "10.0.0.0/8", except: ["10.1.0.0"]}}]', False),
    "cidr-not-an-address": ('allowFrom: [{ipBlock: {cidr: "prometheus/8"}}]', False),
    "ipv4": ('allowFrom: [{ipBlock: {cidr: "10.0.0.0/8", except: ["10.1.0.0/16"]}}]', True),
    "ipv6": ('allowFrom: [{ipBlock: {cidr: "fd00::/8", except: ["fd00:1::/32"]}}]', True),
    "selector": ("allowFrom: [{podSelector: {}}]", True),
}


@pytest.mark.parametrize("case", sorted(PEERS))
def test_values_schema_rejects_network_policy_peers_the_api_server_rejects(tmp_path: Path, helm: Path,
                                                                          case: str) -> None:
    peer, ok = PEERS[case]
    chart = generate(SPECS / "every-field.yaml", tmp_path)
    values = tmp_path / "peers.yaml"
    values.write_text(f"agents:\n  planner:\n    monitoring:\n      {peer}\n")
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(values), check=False)
    if ok:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and "allowFrom" in proc.stderr and "schema" in proc.stderr.lower(), proc.stderr
