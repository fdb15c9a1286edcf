"""The catalogue of bad specs: each gives every problem at once, naming file, line, column and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helmgen.problems import SpecError
from helmgen.spec.check import load_spec
from tests.conftest import EXAMPLES, SPECS, helmgen_cli, tree_bytes

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"


def errors(tmp_path: Path, body: str, head: str = HEAD) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(head + textwrap.dedent(body).lstrip("\n"))
    with pytest.raises(SpecError) as exc:
        load_spec(str(spec))
    return [line.replace(str(spec), "spec.yaml") for line in exc.value.lines()]


# (body, expected lines) — line numbers count the three-line HEAD.
CATALOGUE = {
    "unknown-field-suggests": ("""
        agents:
          planner:
            image: nginx
            replica: 2
        """, ['spec.yaml:7:5: agents.planner.replica: unknown field (did you mean "replicas"?)']),
    "unknown-top-level": ("""
        agent:
          a: {image: nginx}
        """, ["spec.yaml:1:1: agents: is required", 'spec.yaml:4:1: agent: unknown field (did you mean "agents"?)']),
    "missing-image": ("""
        agents:
          a: {port: 80}
        """, ["spec.yaml:5:3: agents.a.image: is required"]),
    "wrong-type-replicas": ("""
        agents:
          a: {image: nginx, replicas: three}
        """, ["spec.yaml:5:31: agents.a.replicas: expected an integer >= 0, got the string 'three'"]),
    "negative-replicas": ("""
        agents:
          a: {image: nginx, replicas: -1}
        """, ["spec.yaml:5:31: agents.a.replicas: -1 is out of range (expected an integer >= 0)"]),
    "bad-agent-name": ("""
        agents:
          Planner_1: {image: nginx}
        """, ["spec.yaml:5:3: agents.Planner_1: 'Planner_1' is not a valid agent name (a DNS-1123 label: lowercase "
              "letters, digits and '-', starting and ending with a letter or digit)"]),
    "agent-name-too-long": ("""
        agents:
          a-very-long-agent-name-that-goes-on-and-on-x: {image: nginx}
        """, ["spec.yaml:5:3: agents.a-very-long-agent-name-that-goes-on-and-on-x: 'a-very-long-agent-name-that-goes"
              "-on-and-'... is 44 characters long; the limit is 40"]),
    "bad-cpu": ("""
        agents:
          a: {image: nginx, resources: {cpu: lots, memory: 1Gi}}
        """, ["spec.yaml:5:38: agents.a.resources.cpu: 'lots' is not a CPU quantity (for example 250m, 0.5 or 2)"]),
    "millibytes-memory": ("""
        agents:
          a: {image: nginx, resources: {memory: 512m}}
        """, ["spec.yaml:5:41: agents.a.resources.memory: '512m' is millibytes (did you mean 512Mi?)"]),
    "bad-port": ("""
        agents:
          a: {image: nginx, port: 70000}
        """, ["spec.yaml:5:27: agents.a.port: 70000 is out of range (expected an integer from 1 to 65535)"]),
    "bad-port-name": ("""
        agents:
          a:
            image: nginx
            ports: {http_api: 80}
        """, ["spec.yaml:7:13: agents.a.ports.http_api: 'http_api' is not a valid port name (IANA_SVC_NAME: at most "
              "15 lowercase letters, digits and '-', with at least one letter)"]),
    "min-greater-than-max": ("""
        agents:
          a:
            image: nginx
            scaling: {minReplicas: 5, maxReplicas: 2}
        """, ["spec.yaml:7:15: agents.a.scaling.minReplicas: 5 is greater than maxReplicas (2)"]),
    "hpa-to-zero": ("""
        agents:
          a:
            image: nginx
            scaling: {minReplicas: 0, maxReplicas: 2}
        """, ["spec.yaml:7:15: agents.a.scaling.minReplicas: 0 needs engine: keda (the HPA scales down to 1 at least)"]),
    "talks-to-missing-agent": ("""
        agents:
          a: {image: nginx, port: 80, talksTo: [wrker]}
          worker: {image: nginx, port: 80}
        """, ["spec.yaml:5:41: agents.a.talksTo[0]: no agent named 'wrker' (did you mean \"worker\"?)"]),
    "missing-secret-key": ("""
        secrets:
          llm: {keys: [openai]}
        agents:
          a:
            image: nginx
            env:
              KEY: {secret: llm, key: anthropic}
        """, ["spec.yaml:10:26: agents.a.env.KEY.key: secret 'llm' has no key 'anthropic' (declared keys: openai)"]),
    "bad-cron": ("""
        agents:
          a: {image: nginx, schedule: "61 * * * *"}
        """, ["spec.yaml:5:31: agents.a.schedule: '61 * * * *' has '61' in the minute field (allowed 0-59) "
              "(for example '*/15 * * * *' or @hourly)"]),
    "cron-wrong-field-count": ("""
        agents:
          a: {image: nginx, schedule: "* * *"}
        """, ["spec.yaml:5:31: agents.a.schedule: '* * *' has 3 fields; a cron schedule has 5 (minute hour "
              "day-of-month month day-of-week) (for example '*/15 * * * *' or @hourly)"]),
    "duplicate-key": ("""
        agents:
          a: {image: nginx}
          a: {image: redis}
        """, ["spec.yaml:6:3: agents.a: duplicate key 'a' (first given at line 5; the first is used)"]),
    "wrong-api-version": ("""
        agents:
          a: {image: nginx}
        """, ["spec.yaml:1:13: apiVersion: 'agentgen/v2' is not supported (supported: agentgen/v1)"]),
    "bad-version": ("""
        agents:
          a: {image: nginx}
        """, ["spec.yaml:3:10: version: '1.0' is not a SemVer 2 version (for example 0.3.0)"]),
    "bad-chart-name": ("""
        agents:
          a: {image: nginx}
        """, ["spec.yaml:2:7: name: 'My_Chart' is not a valid chart name (lowercase letters, digits and '-')"]),
    "no-agents": ("""
        agents: {}
        """, ["spec.yaml:4:9: agents: needs at least 1 entry"]),
    "health-port-unknown": ("""
        agents:
          a:
            image: nginx
            port: 80
            health: {liveness: {path: /x, port: admin}}
        """, ["spec.yaml:8:35: agents.a.health.liveness.port: names port 'admin', which the agent does not have "
              "(ports: http)"]),
    "state-on-deployment": ("""
        agents:
          a: {image: nginx, kind: Deployment, state: {size: 1Gi}}
        """, ["spec.yaml:5:39: agents.a.state: needs kind StatefulSet, not Deployment (drop kind or set it to "
              "StatefulSet)"]),
    "bool-yes": ("""
        networkPolicy: yes
        agents:
          a: {image: nginx}
        """, ["spec.yaml:4:16: networkPolicy: expected true or false, got the string 'yes' (YAML 1.2: write true "
              "or false)"]),
    "bad-image": ("""
        agents:
          a: {image: "Nginx:latest"}
        """, ["spec.yaml:5:14: agents.a.image.repository: 'Nginx' is not a valid image repository (lowercase, for "
              "example ghcr.io/acme/planner)"]),
    "expose-without-port": ("""
        agents:
          a: {image: nginx, expose: {host: a.example.org}}
        """, ["spec.yaml:5:21: agents.a.expose: the agent has no port to expose (add port or ports)"]),
    "keda-without-triggers": ("""
        agents:
          a: {image: nginx, scaling: {engine: keda, maxReplicas: 3}}
        """, ["spec.yaml:5:30: agents.a.scaling.triggers: is required with engine keda (for example a prometheus "
              "or queue trigger)"]),
    "env-two-sources": ("""
        agents:
          a:
            image: nginx
            env:
              X: {secret: s, configMap: c, key: k}
        """, ["spec.yaml:8:10: agents.a.env.X: gives secret and configMap; an env value has one source"]),
    "unknown-enum": ("""
        agents:
          a: {image: nginx, kind: Deploymnt}
        """, ['spec.yaml:5:27: agents.a.kind: \'Deploymnt\' is not allowed (did you mean "Deployment"?)']),
    "limit-below-request": ("""
        agents:
          a:
            image: nginx
            resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}
        """, ["spec.yaml:7:51: agents.a.resources.limits.memory: 1Gi is less than the request 2Gi"]),
    "expose-port-not-a-port": ("""
        agents:
          a: {image: nginx, port: 80, expose: {host: a.example.org, port: 1234}}
        """, ["spec.yaml:5:61: agents.a.expose.port: 1234 is not one of the agent's ports (ports: http=80)"]),
    "a2a-without-port": ("""
        agents:
          a: {image: nginx, protocol: a2a, health: false}
        """, ["spec.yaml:5:21: agents.a.protocol: a2a needs a port (add port or ports)"]),
    "cron-field-on-job": ("""
        agents:
          a: {image: nginx, kind: Job, job: {timeZone: UTC}}
        """, ["spec.yaml:5:38: agents.a.job.timeZone: applies to a CronJob, not to a Job"]),
    "inherited-problem-points-at-defaults": ("""
        defaults:
          scaling: {minReplicas: 4, maxReplicas: 2}
        agents:
          a: {image: nginx}
        """, ["spec.yaml:5:13: agents.a.scaling.minReplicas: 4 is greater than maxReplicas (2)"]),
    "service-account-created-twice": ("""
        agents:
          a: {image: nginx, serviceAccount: {name: shared}}
          b: {image: nginx, serviceAccount: {name: shared}}
        """, ["spec.yaml:6:38: agents.b.serviceAccount.name: 'shared' is already created by agent 'a' (set create: "
              "false here to share it, or choose another name)"]),
    "talks-to-a-digit-name": ("""
        agents:
          a: {image: nginx, talksTo: ["9lives"]}
          9lives: {image: nginx, port: 80}
        """, ["spec.yaml:5:31: agents.a.talksTo[0]: agent '9lives' starts with a digit, so its variable 9LIVES_URL "
              "would be an invalid name (give the agent a name that starts with a letter)"]),
    "app-version-not-a-tag": ("""
        agents:
          a: {image: nginx}
        """, ["spec.yaml:6:7: agents.a.image: has no tag, and the appVersion 'one two' is not a valid image tag "
              "(give the image a tag, or set appVersion to one)"]),
}
HEADS = {
    "app-version-not-a-tag": "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nappVersion: one two\n",
    "wrong-api-version": "apiVersion: agentgen/v2\nname: demo\nversion: 0.1.0\n",
    "bad-version": "apiVersion: agentgen/v1\nname: demo\nversion: '1.0'\n",
    "bad-chart-name": "apiVersion: agentgen/v1\nname: My_Chart\nversion: 0.1.0\n",
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_bad_spec_catalogue(tmp_path: Path, case: str) -> None:
    body, expected = CATALOGUE[case]
    assert errors(tmp_path, body, HEADS.get(case, HEAD)) == expected


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        agents:
          a:
            image: nginx
            replica: 2
            port: 0
          b:
            imag: nginx
        """)
    assert [line.split(": ")[1] for line in lines] == ["agents.a.replica", "agents.a.port", "agents.b.imag"]


def test_cross_field_problems_are_reported_with_field_problems(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        secrets:
          s: {keys: [k]}
        agents:
          a:
            image: nginx
            resources: {cpu: lots}
          b:
            image: nginx
            port: 80
            scaling: {minReplicas: 5, maxReplicas: 2}
            talksTo: [zz, a]
            env: {K: {secret: s, key: nope}}
        """)
    assert lines == [
        "spec.yaml:9:22: agents.a.resources.cpu: 'lots' is not a CPU quantity (for example 250m, 0.5 or 2)",
        "spec.yaml:13:15: agents.b.scaling.minReplicas: 5 is greater than maxReplicas (2)",
        "spec.yaml:14:15: agents.b.talksTo[0]: no agent named 'zz' (agents: a, b)",
        # a's problem is in resources; that it has no port is a problem of its own, not a follow-on
        "spec.yaml:14:19: agents.b.talksTo[1]: agent 'a' has no port to call (give it port or ports)",
        "spec.yaml:15:26: agents.b.env.K.key: secret 's' has no key 'nope' (declared keys: k)",
    ]


def test_defaults_errors_point_at_defaults(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        defaults:
          resources: {cpu: fast}
        agents:
          a: {image: nginx}
          b: {image: nginx}
        """)
    assert lines == ["spec.yaml:5:20: defaults.resources.cpu: 'fast' is not a CPU quantity (for example 250m, 0.5 or 2)"]


def test_x_keys_are_free_where_the_spec_names_fields(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "x-top: 1\nagents:\n  a:\n    image: nginx\n    x-note: {any: thing}\n"
                    "    env: {x-var: kept}\n")
    model = load_spec(str(spec))
    assert model.agents["a"].env == {"x-var": {"value": "kept"}}


@pytest.mark.parametrize("spec", [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))], ids=lambda p: p.name)
def test_good_specs_validate(spec: Path) -> None:
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 0, proc.stderr


def test_cli_reports_problems_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(HEAD + "agents:\n  a:\n    image: nginx\n    replica: 2\n")
    out = tmp_path / "out"
    proc = helmgen_cli("generate", str(spec), "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f'{spec}:7:5: agents.a.replica: unknown field (did you mean "replicas"?)'
    assert "Traceback" not in proc.stderr
    assert not out.exists() or tree_bytes(out) == {}


def test_one_bad_field_causes_no_follow_on_problems(tmp_path: Path) -> None:
    # A's rollout is invalid, B calls A and a missing agent, C names an undeclared secret key; an
    # environment overrides A and B: exactly the three problems, nothing said twice or in other words
    lines = errors(tmp_path, """
        secrets:
          s: {keys: [k]}
        agents:
          a:
            image: nginx
            port: 80
            rollout: {strategy: sideways}
          b:
            image: nginx
            port: 80
            talksTo: [a, nope]
          c:
            image: nginx
            env: {K: {secret: s, key: other}}
        environments:
          dev:
            agents:
              a: {replicas: 2}
              b: {replicas: 2}
        """)
    assert lines == [
        "spec.yaml:10:25: agents.a.rollout.strategy: 'sideways' is not allowed (one of rolling, canary, blueGreen)",
        "spec.yaml:14:18: agents.b.talksTo[1]: no agent named 'nope' (agents: a, b, c)",
        "spec.yaml:17:26: agents.c.env.K.key: secret 's' has no key 'other' (declared keys: k)",
    ]


def test_a_bad_default_hides_only_the_agents_that_inherit_it(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        defaults:
          replicas: many
        agents:
          a: {image: nginx, port: 80}
          b: {image: nginx, port: 80, replicas: 1, talksTo: [a, c]}
        """)
    assert lines == [
        "spec.yaml:5:13: defaults.replicas: expected an integer >= 0, got the string 'many'",
        "spec.yaml:8:57: agents.b.talksTo[1]: no agent named 'c' (agents: a, b)",
    ]


def test_a_long_number_as_an_env_literal_stays_text(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "agents: {a: {image: nginx, env: {ID: 123456789012345678901234567890}}}\n")
    assert load_spec(str(spec)).agents["a"].env["ID"] == {"value": "123456789012345678901234567890"}


def test_a_bad_override_in_an_environment_hides_nothing_else(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        agents:
          a: {image: nginx, port: 80}
          b: {image: nginx, port: 80}
        environments:
          dev:
            agents:
              a: {replicas: many}
              b: {talksTo: [a, nope]}
              c: {image: nginx, port: 80, talksTo: [b]}
        """)
    assert lines == [
        "spec.yaml:10:21: environments.dev.agents.a.replicas: expected an integer >= 0, got the string 'many'",
        "spec.yaml:11:24: environments.dev.agents.b.talksTo[1]: no agent named 'nope' (agents: a, b, c)",
    ]


def test_a_bad_field_hides_none_of_the_agents_own_cross_field_problems(tmp_path: Path) -> None:
    """Issue #8, second round: the skip is per field, not per agent (the tester's same.yaml, st.yaml)."""
    assert errors(tmp_path, """
        secrets:
          s: {keys: [a]}
        agents:
          a:
            image: x/a:1
            replicas: -1
            talksTo: [nope]
            env:
              K: {secret: s, key: zz}
              L: {secret: s}
          b:
            image: x/b:1
            podLabels: {a: [1]}
            scaling: {minReplicas: 5, maxReplicas: 2}
            ports: {http: 80, bad: 0}
            expose: {host: b.example.org, port: nope}
        """) == [
        "spec.yaml:9:15: agents.a.replicas: -1 is out of range (expected an integer >= 0)",
        "spec.yaml:10:15: agents.a.talksTo[0]: no agent named 'nope' (agents: a, b)",
        "spec.yaml:12:22: agents.a.env.K.key: secret 's' has no key 'zz' (declared keys: a)",
        "spec.yaml:13:10: agents.a.env.L.key: is required with secret",
        "spec.yaml:16:20: agents.b.podLabels.a: expected a valid label value, got a list",
        "spec.yaml:17:15: agents.b.scaling.minReplicas: 5 is greater than maxReplicas (2)",
        "spec.yaml:18:28: agents.b.ports.bad: 0 is out of range (expected an integer from 1 to 65535)",
    ]  # b's expose.port may name the port with the problem: not checked


def test_a_bad_default_hides_no_cross_field_problem_elsewhere(tmp_path: Path) -> None:
    """The tester's same2.yaml: one bad field in defaults, and every other problem still reported."""
    assert errors(tmp_path, """
        defaults:
          replicas: -1
          bogus: 1
        agents:
          a:
            image: x/a:1
            talksTo: [nope]
          b:
            image: x/b:1
            port: 80
            resources: {requests: {cpu: 2}, limits: {cpu: 1}}
        environments:
          dev:
            defaults: {replicas: x}
            agents:
              a: {replicas: abc, talksTo: [nope2]}
              b: {talksTo: [nope3]}
        """) == [
        "spec.yaml:5:13: defaults.replicas: -1 is out of range (expected an integer >= 0)",
        "spec.yaml:6:3: defaults.bogus: unknown field (known fields: " + ", ".join(sorted(
            __import__("helmgen.spec.fields", fromlist=["agent_type"]).agent_type(()).fields)) + ")",
        "spec.yaml:10:15: agents.a.talksTo[0]: no agent named 'nope' (agents: a, b)",
        "spec.yaml:14:46: agents.b.resources.limits.cpu: 1 is less than the request 2",
        "spec.yaml:17:26: environments.dev.defaults.replicas: expected an integer >= 0, got the string 'x'",
        "spec.yaml:19:21: environments.dev.agents.a.replicas: expected an integer >= 0, got the string 'abc'",
        "spec.yaml:19:36: environments.dev.agents.a.talksTo[0]: no agent named 'nope2' (agents: a, b)",
        "spec.yaml:20:21: environments.dev.agents.b.talksTo[0]: no agent named 'nope3' (agents: a, b)",
    ]


def test_problems_inside_one_list_do_not_hide_each_other(tmp_path: Path) -> None:
    assert errors(tmp_path, """
        agents:
          a: {image: nginx, port: 80}
          b:
            image: nginx
            talksTo: [a, a, zz, 5x!]
            volumes: [oops, {name: tmp, emptyDir: {}}, {name: v, emptyDir: {}}]
            volumeMounts: [{name: v, mountPath: /tmp}, {name: gone, mountPath: /x}]
        """) == [
        "spec.yaml:8:18: agents.b.talksTo[1]: 'a' is listed twice",
        "spec.yaml:8:21: agents.b.talksTo[2]: no agent named 'zz' (agents: a, b)",
        "spec.yaml:8:25: agents.b.talksTo[3]: '5x!' is not a valid agent name (a DNS-1123 label: lowercase letters, "
        "digits and '-', starting and ending with a letter or digit)",
        "spec.yaml:9:15: agents.b.volumes[0]: expected a mapping, got the string 'oops'",
        "spec.yaml:9:22: agents.b.volumes[1].name: 'tmp' is the name of the chart's own volume for the writable "
        "/tmp (give your volume another name)",
        "spec.yaml:10:30: agents.b.volumeMounts[0].mountPath: '/tmp' is where the chart mounts the writable /tmp "
        "(mount your volume at another path)",
    ]  # `gone` may be the volume with the problem: not reported
