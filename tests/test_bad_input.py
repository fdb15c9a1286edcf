"""Bad input of every kind ends in exit 2 with positioned messages, never a traceback, and
nothing written: the catalogue, run through the CLI as a user would (issue #8)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import helmgen_cli, run_helm

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"
BIG = "9" * 5000


def _spec(body: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / "spec.yaml"
        p.write_text(HEAD + body)
        return p
    return make


def _write(tmp: Path, text: str) -> Path:
    p = tmp / "spec.yaml"
    p.write_text(text)
    return p


def _fifo(tmp: Path) -> Path:
    p = tmp / "spec.yaml"
    os.mkfifo(p)  # opening it for reading would block until a writer comes
    return p


# id -> (how to make the spec path, a line of stderr that must appear: FILE stands for the path)
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "huge-int-x-key": (_spec(f"x-note: {BIG}\nagents: {{a: {{image: nginx}}}}\n"),
                       "FILE:4:9: x-note: an integer of 5000 digits is too large"),
    "huge-int-replicas": (_spec(f"agents: {{a: {{image: nginx, replicas: {BIG}}}}}\n"),
                          "FILE:4:38: agents.a.replicas: an integer of 5000 digits is too large"),
    "huge-int-tagged": (_spec(f"agents: {{a: {{image: nginx, replicas: !!int {BIG}}}}}\n"),
                        "FILE:4:38: agents.a.replicas: an integer of 5000 digits is too large"),
    "int64-pass-through": (_spec("agents: {a: {image: nginx, tolerations: [{tolerationSeconds: "
                                 "9223372036854775808}]}}\n"),
                           "FILE:4:62: agents.a.tolerations[0].tolerationSeconds: 9223372036854775808 is larger than "
                           "a 64-bit integer"),
    "infinite-pass-through": (_spec("agents: {a: {image: nginx}}\nextraManifests: [{apiVersion: v1, kind: ConfigMap, "
                                    "metadata: {name: x}, data: {a: 1e400}}]\n"),
                              "FILE:5:83: extraManifests[0].data.a: 1e400 is not a number Kubernetes can store"),
    "cpu-huge-exponent": (_spec("agents: {a: {image: nginx, resources: {cpu: 1e999999999}}}\n"),
                          "FILE:4:45: agents.a.resources.cpu: '1e999999999' is larger than Kubernetes can store"),
    "memory-beyond-int64": (_spec("agents: {a: {image: nginx, resources: {limits: {memory: 8Ei}}}}\n"),
                            "FILE:4:57: agents.a.resources.limits.memory: '8Ei' is larger than Kubernetes can store"),
    "replicas-int32": (_spec("agents: {a: {image: nginx, replicas: 2147483648}}\n"),
                       "FILE:4:38: agents.a.replicas: 2147483648 is out of range (Kubernetes stores this field as "
                       "a 32-bit integer: at most 2147483647)"),
    "max-replicas-int32": (_spec("agents: {a: {image: nginx, scaling: {maxReplicas: 4294967296}}}\n"),
                           "FILE:4:51: agents.a.scaling.maxReplicas: 4294967296 is out of range"),
    "probe-timing-int32": (_spec("agents: {a: {image: nginx, port: 80, health: {liveness: {path: /, "
                                 "periodSeconds: 3000000000}}}}\n"),
                           "FILE:4:82: agents.a.health.liveness.periodSeconds: 3000000000 is out of range"),
    "backoff-int32": (_spec("agents: {a: {image: nginx, kind: Job, job: {backoffLimit: 2147483648}}}\n"),
                      "FILE:4:59: agents.a.job.backoffLimit: 2147483648 is out of range"),
    "required-without-value": (lambda tmp: _write(tmp, "apiVersion: agentgen/v1\nname: demo\nversion:\n"
                                                       "agents: {a: {image: nginx}}\n"),
                               "FILE:3:1: version: is required (it has no value)"),
    "dev-zero": (lambda tmp: Path("/dev/zero"), "FILE:1:1: is a character device, not a regular file"),
    "fifo": (_fifo, "FILE:1:1: is a FIFO (named pipe), not a regular file"),
    "config-file-dot": (_spec("agents: {a: {image: nginx, config: {files: {.: x}}}}\n"),
                        "FILE:4:45: agents.a.config.files..: '.' is not allowed as a key"),
    "config-file-dotdot": (_spec("agents: {a: {image: nginx, config: {files: {..: x}}}}\n"),
                           "FILE:4:45: agents.a.config.files...: '..' is not allowed as a key"),
    "config-file-data": (_spec("agents: {a: {image: nginx, config: {files: {..data: x}}}}\n"),
                         "FILE:4:45: agents.a.config.files...data: '..data' starts with '..'"),
    "secret-key-dotdot": (_spec("secrets: {s: {keys: [..k]}}\nagents: {a: {image: nginx}}\n"),
                          "FILE:4:22: secrets.s.keys[0]: '..k' starts with '..'"),
    "kube-version": (_spec("kubeVersion: '>>1.29'\nagents: {a: {image: nginx}}\n"),
                     "FILE:4:14: kubeVersion: '>>1.29' is not a valid version constraint"),
    "kube-version-4-parts": (_spec("kubeVersion: '>=1.2.3.4'\nagents: {a: {image: nginx}}\n"),
                             "FILE:4:14: kubeVersion: '>=1.2.3.4' is not a valid version constraint"),
    "chart-home": (_spec("chart: {home: example.org}\nagents: {a: {image: nginx}}\n"),
                   "FILE:4:15: chart.home: 'example.org' is not an absolute URL"),
    "chart-icon": (_spec("chart: {icon: /icon.png}\nagents: {a: {image: nginx}}\n"),
                   "FILE:4:15: chart.icon: '/icon.png' is not an absolute URL"),
    "chart-sources": (_spec("chart: {sources: ['https://ok.example', 'git@github.com:a/b']}\n"
                            "agents: {a: {image: nginx}}\n"),
                      "FILE:4:41: chart.sources[1]: 'git@github.com:a/b' is not an absolute URL"),
    # the second round (issue #8): values that passed validate and crashed generate or images
    "image-tag-only": (_spec("agents: {a: {image: {tag: '1'}}}\n"),
                       "FILE:4:14: agents.a.image.repository: is required"),
    "image-empty": (_spec("agents: {a: {image: {}}}\n"), "FILE:4:14: agents.a.image.repository: is required"),
    "image-repository-null": (_spec("agents:\n  a:\n    image: {repository: null, tag: '1'}\n"),
                              "FILE:6:13: agents.a.image.repository: is required"),
    "image-repository-from-defaults": (_spec("defaults: {image: {tag: '1'}}\nagents: {a: {port: 80}}\n"),
                                       "FILE:4:12: agents.a.image.repository: is required"),
    "volume-name-list": (_spec("agents: {a: {image: nginx, volumes: [{name: [], emptyDir: {}}]}}\n"),
                         "FILE:4:39: agents.a.volumes[0].name: expected a volume name (a string), got a list"),
    "volume-name-mapping-in-defaults": (_spec("defaults: {volumes: [{name: {}, emptyDir: {}}]}\n"
                                              "agents: {a: {image: nginx}}\n"),
                                        "FILE:4:23: agents.a.volumes[0].name: expected a volume name"),
    "volume-name-list-in-environment": (_spec("agents: {a: {image: nginx}}\nenvironments: {dev: {agents: {a: "
                                              "{volumes: [{name: [], emptyDir: {}}]}}}}\n"),
                                        "FILE:5:46: environments.dev.agents.a.volumes[0].name: expected a volume "
                                        "name (a string), got a list"),
    # values Kubernetes or Helm would refuse later
    "min-available-over-100": (_spec("agents: {a: {image: nginx, disruption: {minAvailable: 150%}}}\n"),
                               "FILE:4:55: agents.a.disruption.minAvailable: '150%' is more than 100%"),
    "state-size-zero": (_spec("agents: {a: {image: nginx, state: {size: 0}}}\n"),
                        "FILE:4:42: agents.a.state.size: '0' must be more than 0"),
    "storage-class": (_spec("agents: {a: {image: nginx, state: {size: 1Gi, storageClass: 'Bad Class'}}}\n"),
                      "FILE:4:61: agents.a.state.storageClass: 'Bad Class' is not a StorageClass name"),
    "maintainer-email": (_spec("chart: {maintainers: [{name: a, email: nope}]}\nagents: {a: {image: nginx}}\n"),
                         "FILE:4:40: chart.maintainers[0].email: 'nope' is not an email address"),
    "env-field-ref": (_spec("agents: {a: {image: nginx, env: {E: {field: metadata.bogus}}}}\n"),
                      "FILE:4:45: agents.a.env.E.field: 'metadata.bogus' is not a field Kubernetes gives to env"),
    "image-empty-tag": (_spec("agents: {a: {image: 'x:'}}\n"), "FILE:4:21: agents.a.image: 'x:' has an empty tag"),
    "memory-half-byte": (_spec("agents: {a: {image: nginx, resources: {memory: 0.5}}}\n"),
                         "FILE:4:48: agents.a.resources.memory: '0.5' is a fraction of a byte"),
    "environment-agent-null": (_spec("agents: {a: {image: nginx}}\nenvironments: {dev: {agents: {a: null}}}\n"),
                               "FILE:5:34: environments.dev.agents.a: null cannot remove a whole agent "
                               "(use enabled: false to turn the agent off in this environment)"),
    "memory-tiny": (_spec("agents: {a: {image: nginx, resources: {memory: 1e-999999999}}}\n"),
                    "FILE:4:48: agents.a.resources.memory: '1e-999999999' is a fraction of a byte"),
}


@pytest.mark.parametrize("command", ["validate", "generate", "images"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_exit_2_with_a_positioned_message(tmp_path: Path, case: str, command: str) -> None:
    make, expected = CASES[case]
    spec = make(tmp_path)
    out = tmp_path / "out"
    args = ("generate", str(spec), "-o", str(out)) if command == "generate" else (command, str(spec))
    proc = helmgen_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error:" not in proc.stderr
    lines = proc.stderr.splitlines()
    want = expected.replace("FILE", str(spec))
    assert any(line.startswith(want) for line in lines), proc.stderr
    problems = lines[:-1]
    assert problems and all(re.match(rf"{re.escape(str(spec))}:\d+:\d+: ", line) for line in problems), proc.stderr
    assert not out.exists()
    assert proc.stdout == ""


# constraint -> a Kubernetes version inside it
GOOD_CONSTRAINTS = {">=1.29.0-0": "1.30.0", ">= 1.20, < 1.30": "1.29.1", "1.28 - 1.31": "1.30.0",
                    "~1.30.x": "1.30.2", "^1": "1.31.0", ">=1.29.0-0 || <1.2": "1.1.0", "1.x": "1.29.0",
                    "v1.30": "1.30.0", ">1.2 <2": "1.30.0", "=>1.20": "1.30.0"}
BAD_CONSTRAINTS = [">>1.29", ">=1.2.3.4", "foo", ">= 1.20,, < 1.30", "1.28 -", "<=>1.2"]


def _chart_with_kube_version(tmp: Path, constraint: str) -> Path:
    chart = tmp / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(yaml.safe_dump({"apiVersion": "v2", "name": "c", "version": "0.1.0",
                                                      "kubeVersion": constraint}))
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    return chart


@pytest.mark.parametrize("constraint", sorted(GOOD_CONSTRAINTS))
def test_kube_version_constraints_helm_takes_are_accepted(tmp_path: Path, helm: Path, constraint: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + f"kubeVersion: '{constraint}'\nagents: {{a: {{image: nginx}}}}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 0, proc.stderr
    chart = _chart_with_kube_version(tmp_path, constraint)
    run_helm(helm, "template", "r", str(chart), "--kube-version", GOOD_CONSTRAINTS[constraint])


@pytest.mark.parametrize("constraint", BAD_CONSTRAINTS)
def test_kube_version_constraints_helm_refuses_are_refused(tmp_path: Path, helm: Path, constraint: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + f"kubeVersion: '{constraint}'\nagents: {{a: {{image: nginx}}}}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2 and "kubeVersion: " in proc.stderr, proc.stderr
    chart = _chart_with_kube_version(tmp_path, constraint)
    for kube in ("1.2.0", "1.29.0", "1.30.0", "2.0.0"):  # a constraint Helm cannot parse fits no version
        assert run_helm(helm, "template", "r", str(chart), "--kube-version", kube, check=False).returncode != 0


@pytest.mark.parametrize("url", ["https://example.org", "http://example.org/a?b=c", "git+ssh://host/repo"])
def test_absolute_urls_are_accepted(tmp_path: Path, url: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + f"chart: {{home: '{url}', icon: '{url}', sources: ['{url}']}}\n"
                    "agents: {a: {image: nginx}}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 0, proc.stderr


def test_any_value_in_any_field_is_a_problem_or_a_model_never_an_exception() -> None:
    """Property: whatever value any spec field holds, checking ends in SpecError or in a model that renders."""
    import yaml
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from helmgen.chart.render import render_chart
    from helmgen.problems import SpecError
    from helmgen.spec.check import check_tree
    from helmgen.spec.fields import agent_type, spec_type
    from helmgen.spec.load import parse_text

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
        st.sampled_from(["*", ".", "..", "..data", "0", "-1", "1e999999999", "8Ei", "/tmp", "http", "a", "x-y",
                         ">>1", "${agents.a.host}", "null", "tmp", "config", "data"]),
    )
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "mountPath", "port", "path", "a",
                                                                      "privileged", "verbs", "files", "keys"]),
                                                     inner, max_size=3)), max_leaves=8)
    agent_fields = sorted(agent_type(()).fields)
    top_fields = sorted(f for f in spec_type().fields if f not in ("apiVersion", "agents"))

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(agent_fields), values, max_size=3),
           st.dictionaries(st.sampled_from(top_fields), values, max_size=2),
           st.dictionaries(st.sampled_from(agent_fields), values, max_size=2),
           st.dictionaries(st.sampled_from(agent_fields), values, max_size=2),
           st.dictionaries(st.sampled_from(["a", "b", "c"]), st.dictionaries(st.sampled_from(agent_fields), values,
                                                                           max_size=2), max_size=2))
    def check(agent: dict[str, object], top: dict[str, object], other: dict[str, object],
              defaults: dict[str, object], env: dict[str, object]) -> None:
        spec = {"apiVersion": "agentgen/v1", "name": "demo", "version": "0.1.0", **top, "defaults": defaults,
                "agents": {"a": {"image": "nginx", "port": 80, **agent}, "b": {"image": "nginx", **other}},
                "environments": {"dev": {"agents": env}}}
        text = yaml.safe_dump(spec)
        try:
            model = check_tree(parse_text(text, "spec.yaml"), "spec.yaml")
        except SpecError:
            return
        render_chart(model)  # a valid spec renders

    check()


def test_gpu_resource_null_in_an_environment_goes_back_to_the_default(tmp_path: Path) -> None:
    spec = _write(tmp_path, HEAD + "agents: {a: {image: nginx, resources: {gpu: {count: 1, resource: amd.com/gpu}}}}\n"
                  "environments: {dev: {agents: {a: {resources: {gpu: {count: 1, resource: null}}}}}}\n")
    for args in (("validate", str(spec)), ("images", str(spec), "--env", "dev"),
                 ("generate", str(spec), "-o", str(tmp_path / "out"))):
        proc = helmgen_cli(*args)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    values = yaml.safe_load((tmp_path / "out" / "demo" / "values-dev.yaml").read_text())
    assert values["agents"]["a"]["resources"]["limits"] == {"nvidia.com/gpu": 1, "amd.com/gpu": None}


_MUTANTS: list[object] = [None, [], {}, 5, "x", [None, [], {}, 5, "x"]]


def _field_paths(d: object, pre: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else []
    for k, v in items:
        out.append(pre + (k,))
        out.extend(_field_paths(v, pre + (k,)))
    return out


@pytest.mark.parametrize("where", ["agent", "defaults", "environment"])
def test_every_field_of_every_field_yaml_set_to_anything_is_a_problem_or_a_chart(where: str) -> None:
    """Mutation test (issue #8, second round): every field of every-field.yaml, in an agent, in defaults
    and in an environment's override (a full copy of the agent), set to null, [], {}, 5, "x" or a list of
    those: checking ends in SpecError or in a model that renders and lists its images; the partial
    check after problems never crashes either (nothing catches a crash there: it would surface here)."""
    import copy

    from helmgen.chart.images import images as list_images
    from helmgen.chart.render import render_chart
    from helmgen.problems import SpecError
    from helmgen.spec import check
    from helmgen.spec.load import parse_text

    base = yaml.safe_load((Path(__file__).parent / "specs" / "every-field.yaml").read_text())
    agent = base["agents"]["planner"]
    if where == "defaults":
        base["defaults"] = {k: v for k, v in agent.items() if k not in ("ports", "state", "service", "kind")}
    if where == "environment":
        base["environments"] = {"dev": {"agents": {"planner": copy.deepcopy(agent)}}}
    prefix = {"agent": ("agents", "planner"), "defaults": ("defaults",),
              "environment": ("environments", "dev", "agents", "planner")}[where]
    target = base
    for k in prefix:
        target = target[k]
    crashes = []
    for path in [p for p in _field_paths(target) if len(p) <= 3]:  # deeper is pass-through content
        for value in _MUTANTS:
            spec = copy.deepcopy(base)
            node = spec
            for k in prefix + path[:-1]:
                node = node[k]
            node[path[-1]] = copy.deepcopy(value)
            try:
                text = yaml.dump(spec, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
                model = check.check_tree(parse_text(text, "spec.yaml"), "spec.yaml")
                render_chart(model)
                list(list_images(model.agents))
                for agents in model.environments.values():
                    list(list_images(agents))
            except SpecError:
                pass
            except Exception as e:  # any crash is collected, to name every one at once
                crashes.append(f"{'.'.join(map(str, path))} = {value!r}: {type(e).__name__}: {e}")
    assert crashes == []
