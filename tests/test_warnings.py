"""Warnings: valid but risky specs are said so on stderr (FILE:LINE:COL: path: warning: ...),
and the command still succeeds (exit 0, the chart is written)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import helmgen_cli

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"


def run_spec(tmp_path: Path, body: str, command: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`helmgen validate` or `generate` of HEAD + body; a successful run is asserted, generate's chart checked."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body)
    out = tmp_path / "out"
    args = ("generate", str(spec), "-o", str(out)) if command == "generate" else ("validate", str(spec))
    proc = helmgen_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert (out / "demo" / "Chart.yaml").exists() == (command == "generate")
    return spec, proc
SECRET_HINT = "(a secret in the spec ends up in values.yaml and in git; use {secret: NAME, key: KEY})"
RBAC_HINT = "(least privilege: list only what the agent needs)"
NO_PROBES = "warning: no ports and no health"  # tests/test_warnings_workloads.py

EXTRA_POD = ("extraManifests: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {%s: true, "
             "containers: [{name: c, image: x}]}}]\n")

# id -> (the spec after HEAD, the warning line: FILE stands for the path)
CASES = {
    "openai-key": ("agents: {a: {image: nginx, env: {K: sk-proj-abcdefghijklmnopqrstuvwxyz0123456789}}}\n",
                   f"FILE:4:34: agents.a.env.K: warning: the literal value looks like an API key (sk-...) {SECRET_HINT}"),
    "aws-key-id": ("agents: {a: {image: nginx, env: {K: AKIAIOSFODNN7EXAMPLE}}}\n",
                   f"FILE:4:34: agents.a.env.K: warning: the literal value looks like an AWS access key id "
                   f"{SECRET_HINT}"),
    "github-token": ("agents: {a: {image: nginx, env: {K: ghp_0123456789abcdefghijABCDEFGHIJ012345}}}\n",
                     f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a GitHub token {SECRET_HINT}"),
    "github-pat": ("agents: {a: {image: nginx, env: {K: github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstu}}}\n",
                   f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a GitHub token {SECRET_HINT}"),
    "slack-token": ("agents: {a: {image: nginx, env: {K: xoxb-123456789012-abcdefABCDEF}}}\n",
                    f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a Slack token {SECRET_HINT}"),
    "base64": ("agents: {a: {image: nginx, env: {K: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}}}\n",
               f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a base64-encoded secret "
               f"{SECRET_HINT}"),
    "hex": ("agents: {a: {image: nginx, env: {K: '0123456789abcdef0123456789abcdef'}}}\n",
            f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a hex-encoded secret {SECRET_HINT}"),
    "bearer": ("agents: {a: {image: nginx, env: {K: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9x}}}\n",
               f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a base64-encoded secret "
               f"{SECRET_HINT}"),
    "url-password": ("agents: {a: {image: nginx, env: {DSN: 'postgres://app:hunter2@db:5432/x'}}}\n",
                     f"FILE:4:34: agents.a.env.DSN: warning: the literal value looks like a password inside a URL "
                     f"{SECRET_HINT}"),
    "from-defaults-once": ("defaults: {env: {K: AKIAIOSFODNN7EXAMPLE}}\nagents: {a: {image: nginx}, b: {image: nginx}}\n",
                           f"FILE:4:18: defaults.env.K: warning: the literal value looks like an AWS access key id "
                           f"{SECRET_HINT}"),
    "rbac-verbs": ("agents: {a: {image: nginx, rbac: {rules: [{apiGroups: [''], resources: [pods], verbs: ['*']}]}}}\n",
                   f"FILE:4:80: agents.a.rbac.rules[0].verbs: warning: '*' grants every one of verbs {RBAC_HINT}"),
    "rbac-resources": ("agents: {a: {image: nginx, rbac: {rules: [{apiGroups: [''], resources: ['*'], verbs: [get]}]}}}\n",
                       f"FILE:4:61: agents.a.rbac.rules[0].resources: warning: '*' grants every one of resources "
                       f"{RBAC_HINT}"),
    "rbac-api-groups": ("agents: {a: {image: nginx, rbac: {rules: [{apiGroups: ['*'], resources: [pods], verbs: [get]}]}}}\n",
                        f"FILE:4:44: agents.a.rbac.rules[0].apiGroups: warning: '*' grants every one of apiGroups "
                        f"{RBAC_HINT}"),
    "privileged": ("agents: {a: {image: nginx, securityContext: {privileged: true}}}\n",
                   "FILE:4:46: agents.a.securityContext.privileged: warning: a privileged container has full access "
                   "to the node (drop privileged; add only the capabilities the container needs)"),
    "privileged-sidecar": ("agents: {a: {image: nginx, sidecars: [{name: s, image: busybox, securityContext: "
                           "{privileged: true}}]}}\n",
                           "FILE:4:83: agents.a.sidecars[0].securityContext.privileged: warning: a privileged "
                           "container has full access to the node"),
    "privileged-init": ("agents: {a: {image: nginx, initContainers: [{name: i, image: busybox, securityContext: "
                        "{privileged: true}}]}}\n",
                        "FILE:4:89: agents.a.initContainers[0].securityContext.privileged: warning: a privileged "
                        "container has full access to the node"),
    # hostNetwork, hostPID and hostIPC are pod fields: they come in only through extraManifests
    "host-network": ("agents: {a: {image: nginx}}\n" + EXTRA_POD % "hostNetwork",
                     "FILE:5:74: extraManifests[0].spec.hostNetwork: warning: hostNetwork shares the node's "
                     "namespace with the pod (a pod rarely needs this; it bypasses the pod's isolation)"),
    "host-pid": ("agents: {a: {image: nginx}}\n" + EXTRA_POD % "hostPID",
                 "FILE:5:74: extraManifests[0].spec.hostPID: warning: hostPID shares the node's namespace"),
    "host-ipc": ("agents: {a: {image: nginx}}\n" + EXTRA_POD % "hostIPC",
                 "FILE:5:74: extraManifests[0].spec.hostIPC: warning: hostIPC shares the node's namespace"),
    "extra-privileged-deployment": (
        "agents: {a: {image: nginx}}\nextraManifests: [{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, "
        "spec: {template: {spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}}}}]\n",
        "FILE:5:155: extraManifests[0].spec.template.spec.containers[0].securityContext.privileged: warning: a "
        "privileged container has full access to the node"),
    "extra-host-path-cronjob": (
        "agents: {a: {image: nginx}}\nextraManifests: [{apiVersion: batch/v1, kind: CronJob, metadata: {name: j}, "
        "spec: {jobTemplate: {spec: {template: {spec: {volumes: [{name: h, hostPath: {path: /}}]}}}}}}]\n",
        "FILE:5:143: extraManifests[0].spec.jobTemplate.spec.template.spec.volumes[0].hostPath: warning: a hostPath "
        "volume reads or writes the node's filesystem"),
    "extra-wildcard-cluster-role": (
        "agents: {a: {image: nginx}}\nextraManifests: [{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, "
        "metadata: {name: r}, rules: [{apiGroups: [''], resources: [pods], verbs: ['*']}]}]\n",
        f"FILE:5:146: extraManifests[0].rules[0].verbs: warning: '*' grants every one of verbs {RBAC_HINT}"),
    "jwt": ("agents: {a: {image: nginx, env: {K: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
            "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'}}}\n",
            f"FILE:4:34: agents.a.env.K: warning: the literal value looks like a JSON Web Token {SECRET_HINT}"),
    "url-password-empty-user": ("agents: {a: {image: nginx, env: {K: 'redis://:p4ssw0rd@redis:6379/0'}}}\n",
                                "FILE:4:34: agents.a.env.K: warning: the literal value looks like a password inside "
                                f"a URL {SECRET_HINT}"),
    "host-path": ("agents: {a: {image: nginx, volumes: [{name: h, hostPath: {path: /var/run}}]}}\n",
                  "FILE:4:48: agents.a.volumes[0].hostPath: warning: a hostPath volume reads or writes the node's "
                  "filesystem (use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim)"),
    "environment": ("agents: {a: {image: nginx}}\nenvironments: {dev: {agents: {a: {env: {K: AKIAIOSFODNN7EXAMPLE}}}}}\n",
                    "FILE:5:41: environments.dev.agents.a.env.K: warning: the literal value looks like an AWS "
                    "access key id"),
}


@pytest.mark.parametrize("command", ["validate", "generate"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_risky_specs_warn_and_succeed(tmp_path: Path, case: str, command: str) -> None:
    body, expected = CASES[case]
    spec, proc = run_spec(tmp_path, body, command)
    warnings = [w for w in proc.stderr.splitlines() if NO_PROBES not in w]  # these agents have no ports
    assert len(warnings) == 1 and warnings[0].startswith(expected.replace("FILE", str(spec))), proc.stderr


NOT_SECRETS = [
    "sentence-transformers/all-MiniLM-L6-v2",  # a model name with a slash
    "projects/my-project/topics/AgentEvents2024",
    "projects/p/secrets/OpenAIKey/versions/1",  # a reference to a secret, not one
    "https://research.example.org/api/v1/some/very/long/path/segment1",
    "postgres://app@db:5432/planner",
    "nats://nats.messaging.svc.cluster.local:4222",
    "${agents.planner.url}/v1/some-long-path/${release}",
    "$(OTHER_VARIABLE_WITH_A_LONG_NAME_1234567890)",
    "gpt-5-mini",
    "SOME_VERY_LONG_CONFIGURATION_VALUE_NAME_HERE",
    "123e4567-e89b-12d3-a456-426614174000",
    "/var/lib/agents/cache/a-long-file-name-1234567890.txt",
    "my-long-kubernetes-service-name-in-namespace-1",
    "task-runner-for-something-long-1234567",
    "You are a helpful research assistant. Answer in English.",
    "sk-learn",
    "desk-lamp-controller-service-version-2000000",
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",  # a sha256 digest
    "9fceb02d0ae598e95dc970b74767f19372d61af8",  # a git commit SHA
]


def test_ordinary_values_do_not_warn(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    env = "\n".join(f"      V{i}: {v!r}" for i, v in enumerate(NOT_SECRETS))
    spec.write_text(HEAD + "agents:\n  a:\n    image: nginx\n    port: 80\n    env:\n" + env + "\n"
                    "    envFrom: [{configMap: shared}]\n"  # may define the $(OTHER_…) above (else an error)
                    "    rbac: {rules: [{apiGroups: [''], resources: [configmaps], verbs: [get, list]}]}\n"
                    "    securityContext: {privileged: false}\n"
                    "    volumes: [{name: cache, emptyDir: {}}]\n"
                    "  planner: {image: nginx:1.27, port: 8080}\n")  # the agent a ${agents.planner.url} names
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_warnings_are_printed_with_the_problems(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "agents:\n  a: {image: nginx, env: {K: AKIAIOSFODNN7EXAMPLE}}\n  b: {image: nginx, replica: 2}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if NO_PROBES not in line]
    assert lines[0].startswith(f"{spec}:6:21: agents.b.replica: unknown field")
    assert lines[1].startswith(f"{spec}:5:27: agents.a.env.K: warning: the literal value looks like an AWS access key")
    assert lines[2] == "1 problem found."


@pytest.mark.parametrize("field, value, expected", [
    ("securityContext", "{hostNetwork: true}", "4:46: agents.a.securityContext.hostNetwork: is not a securityContext "
                                               "field"),
    ("podSecurityContext", "{hostPID: true}", "4:49: agents.a.podSecurityContext.hostPID: is not a "
                                              "podSecurityContext field"),
    ("rbac", "{rules: [{apiGroups: [''], resources: [pods], verbs: '*'}]}",
     "4:80: agents.a.rbac.rules[0].verbs: expected a list of strings (for example verbs: ['*'])"),
    ("rbac", "{rules: [5]}", "4:43: agents.a.rbac.rules[0]: expected a mapping, got the number 5"),
])
def test_what_kubernetes_would_refuse_is_an_error_not_a_warning(tmp_path: Path, field: str, value: str,
                                                                 expected: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + f"agents: {{a: {{image: nginx, {field}: {value}}}}}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0].startswith(f"{spec}:{expected}"), proc.stderr
