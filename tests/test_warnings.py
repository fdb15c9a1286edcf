"""Warnings: valid but risky specs are said so on stderr (FILE:LINE:COL: path: warning: ...),
and the command still succeeds (exit 0, the chart is written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import helmgen_cli

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"
SECRET_HINT = "(a secret in the spec ends up in values.yaml and in git; use {secret: NAME, key: KEY})"
RBAC_HINT = "(least privilege: list only what the agent needs)"
NO_PROBES = "warning: no ports and no health"  # tests/test_warnings_workloads.py

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
    "host-network": ("agents: {a: {image: nginx, podSecurityContext: {hostNetwork: true}}}\n",
                     "FILE:4:49: agents.a.podSecurityContext.hostNetwork: warning: hostNetwork shares the node's "
                     "namespace with the pod (a pod rarely needs this; it bypasses the pod's isolation)"),
    "host-pid": ("agents: {a: {image: nginx, podSecurityContext: {hostPID: true}}}\n",
                 "FILE:4:49: agents.a.podSecurityContext.hostPID: warning: hostPID shares the node's namespace"),
    "host-ipc": ("agents: {a: {image: nginx, podSecurityContext: {hostIPC: true}}}\n",
                 "FILE:4:49: agents.a.podSecurityContext.hostIPC: warning: hostIPC shares the node's namespace"),
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
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body)
    out = tmp_path / "out"
    args = ("generate", str(spec), "-o", str(out)) if command == "generate" else ("validate", str(spec))
    proc = helmgen_cli(*args)
    assert proc.returncode == 0, proc.stderr
    warnings = [w for w in proc.stderr.splitlines() if NO_PROBES not in w]  # these agents have no ports
    assert len(warnings) == 1 and warnings[0].startswith(expected.replace("FILE", str(spec))), proc.stderr
    assert (out / "demo" / "Chart.yaml").exists() == (command == "generate")


NOT_SECRETS = [
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
]


def test_ordinary_values_do_not_warn(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    env = "\n".join(f"      V{i}: {v!r}" for i, v in enumerate(NOT_SECRETS))
    spec.write_text(HEAD + "agents:\n  a:\n    image: nginx\n    port: 80\n    env:\n" + env + "\n"
                    "    rbac: {rules: [{apiGroups: [''], resources: [configmaps], verbs: [get, list]}]}\n"
                    "    securityContext: {privileged: false}\n"
                    "    volumes: [{name: cache, emptyDir: {}}]\n")
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
