"""Dependencies: existing charts as subcharts, with a real chart of our own (tests/charts/kvstore)
served from a file:// path and from the local OCI registry, rendered by both Helm versions."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from helmgen.chart.render import render_chart
from helmgen.chart.values import values_tree
from helmgen.problems import SpecError
from helmgen.spec.check import load_spec
from helmgen.spec.dependencies import VALUES_KEYS
from helmgen.write import write_chart
from tests.conftest import HELM_VERSIONS, by_kind, generate, helm_path, helmgen_cli, run_helm, template
from tests.test_publish import registry  # noqa: F401 - the local OCI registry fixture

KVSTORE = Path(__file__).parent / "charts" / "kvstore"


def spec_text(repository: str, key: str = "cache", extra: str = "", dep_extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: agentgen/v1
        name: sys
        version: 0.1.0
        dependencies:
          {key}:
            repository: {repository}
            chart: kvstore
            version: 1.x
            values: {{auth: {{database: "3"}}}}
            port: 6379
        {dep_extra}
        agents:
          planner:
            image: ghcr.io/acme/planner:1.0
            port: 8080
            talksTo: [{key}]
          worker:
            image: ghcr.io/acme/worker:1.0
            port: 8080
        environments:
          dev:
            dependencies:
              {key}: {{enabled: false}}
            agents:
              planner: {{talksTo: []}}
          prod:
            dependencies:
              {key}: {{values: {{replicaCount: 3}}}}
        {extra}""")


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An isolated Helm home for `helm` and for helmgen (no user configuration leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hf"),
               HELM_DATA_HOME=str(tmp_path / "hd"))
    return env


def write_spec(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    return p


def kv_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The subchart's objects: every object of the generated chart carries helm.sh/chart, the subchart's do not."""
    return [o for o in objs if "helm.sh/chart" not in o["metadata"].get("labels", {})]


def env_of(objs: list[dict[str, Any]], deployment: str) -> dict[str, str]:
    d = by_kind(objs, "Deployment")[deployment]
    return {e["name"]: e.get("value", "") for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}


def validate_strict(objs: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    for obj in objs:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


# --- the chart's files ----------------------------------------------------------------------------

def test_chart_yaml_values_and_schema(tmp_path: Path) -> None:
    chart = generate(write_spec(tmp_path, spec_text("oci://registry.example.org/charts", key="cache")), tmp_path)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert meta["dependencies"] == [{"name": "kvstore", "alias": "cache", "version": "1.x",
                                     "repository": "oci://registry.example.org/charts", "condition": "cache.enabled"}]
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values["cache"] == {"enabled": True, "auth": {"database": "3"}}
    assert values["dependencies"] == {"cache": {"host": "", "port": 6379}}
    text = (chart / "values.yaml").read_text()
    assert "# Dependency cache: chart kvstore 1.x from oci://registry.example.org/charts." in text
    assert "# false: do not install it (Chart.yaml condition cache.enabled)." in text
    # values-<env>.yaml: only what differs
    assert yaml.safe_load((chart / "values-dev.yaml").read_text()) == {"cache": {"enabled": False},
                                                                       "agents": {"planner": {"talksTo": []}}}
    assert yaml.safe_load((chart / "values-prod.yaml").read_text()) == {"cache": {"replicaCount": 3}}
    # the schema: the block is open to the subchart's keys, only enabled is typed; the wiring is closed
    import jsonschema

    schema = json.loads((chart / "values.schema.json").read_text())
    jsonschema.validate({**values, "cache": {"enabled": False, "anything": {"the": "subchart"}}}, schema)
    for bad in ({**values, "cache": {"enabled": "no"}},
                {**values, "dependencies": {"cache": {"host": "", "port": 6379, "hots": "x"}}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    readme = (chart / "README.md").read_text()
    assert "helm dependency build ./sys   # fetch the subcharts: kvstore 1.x\nhelm install my-sys ./sys" in readme
    assert ".helmignore" in {p.name for p in chart.iterdir()}
    ignored = [ln.strip() for ln in (chart / ".helmignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")]
    assert not [p for p in ignored if p.rstrip("/") in ("charts", "charts/*", "*.tgz", "Chart.lock")]


def test_values_keys_cover_the_values_tree(tmp_path: Path) -> None:
    """A dependency key may not collide with a top-level values key: the list knows every one."""
    spec = load_spec(str(write_spec(tmp_path, spec_text("oci://registry.example.org/charts"))))
    assert set(values_tree(spec)) - set(spec.dependencies) <= set(VALUES_KEYS)


def test_generate_touches_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("generate opened a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for repo in ("https://127.0.0.1:1/unreachable", "oci://unreachable.invalid/charts", "file:///nonexistent/chart"):
        chart = generate(write_spec(tmp_path, spec_text(repo)), tmp_path / repo.split(":")[0])
        assert yaml.safe_load((chart / "Chart.yaml").read_text())["dependencies"][0]["repository"] == repo
        assert not (chart / "charts").exists()


def test_generate_cli_with_an_unreachable_repository(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, spec_text("https://127.0.0.1:1/unreachable"))
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "sys" / "Chart.yaml").exists()


def test_regeneration_keeps_charts_and_chart_lock(tmp_path: Path, home: dict[str, str]) -> None:
    spec = write_spec(tmp_path, spec_text(f"file://{KVSTORE}"))
    chart = generate(spec, tmp_path)
    run_helm(helm_path("4.3.1"), "dependency", "update", str(chart), env=home)
    kept = {p.relative_to(chart).as_posix(): p.read_bytes() for p in [chart / "Chart.lock", *(chart / "charts").iterdir()]}
    assert "charts/kvstore-1.2.3.tgz" in kept
    spec.write_text(spec.read_text().replace("version: 0.1.0", "version: 0.2.0"))
    model = load_spec(str(spec))
    write_chart(render_chart(model), chart)  # the atomic swap, as `helmgen generate` does it
    assert {rel: (chart / rel).read_bytes() for rel in kept} == kept
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["version"] == "0.2.0"
    run_helm(helm_path("4.3.1"), "lint", "--strict", str(chart), env=home)


# --- real subcharts, both Helm versions ---------------------------------------------------------------

@pytest.fixture(scope="module")
def file_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("filedep")
    return generate(write_spec(tmp, spec_text(f"file://{KVSTORE}")), tmp)


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_file_dependency_lint_and_template(file_chart: Path, version: str, tmp_path: Path) -> None:
    helm = helm_path(version)
    chart = tmp_path / "sys"
    shutil.copytree(file_chart, chart)
    env = {"HELM_CACHE_HOME": str(tmp_path / "hc"), "HELM_CONFIG_HOME": str(tmp_path / "hf"),
           "HELM_DATA_HOME": str(tmp_path / "hd"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    run_helm(helm, "dependency", "build", str(chart), env=env)
    assert (chart / "charts" / "kvstore-1.2.3.tgz").exists()
    for extra in ((), ("-f", str(chart / "values-dev.yaml")), ("-f", str(chart / "values-prod.yaml"))):
        run_helm(helm, "lint", "--strict", str(chart), *extra, env=env)

    # the subchart's defaults, with the spec's values
    for release, host in (("rel", "rel-cache"), ("my-cache-db", "my-cache-db")):
        objs = template(helm, chart, release=release, env=env)
        validate_strict(objs)
        kv = kv_objects(objs)
        assert sorted(o["kind"] for o in kv) == ["Deployment", "Service"]
        service = by_kind(kv, "Service")
        assert list(service) == [host]  # the default host is the subchart's real Service name
        assert env_of(objs, host)["KV_DATABASE"] == "3"
        assert env_of(objs, f"{release}-planner")["CACHE_URL"] == f"http://{host}:6379"
        assert "CACHE_URL" not in env_of(objs, f"{release}-worker")
        # helm test checks that the caller reaches it
        test_job = by_kind(objs, "Job")[f"{release}-planner-test"]
        assert f"tcp {host} 6379" in test_job["spec"]["template"]["spec"]["containers"][0]["command"]
    # an environment that disables it: no subchart objects, nobody is given its URL
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"), env=env)
    validate_strict(objs)
    assert kv_objects(objs) == []
    assert "CACHE_URL" not in env_of(objs, "rel-planner")
    assert not [a for o in by_kind(objs, "Job").values() for a in o["spec"]["template"]["spec"]["containers"][0]["command"]
                if "rel-cache" in a]
    # an environment that changes its values
    objs = template(helm, chart, "-f", str(chart / "values-prod.yaml"), env=env)
    assert by_kind(kv_objects(objs), "Deployment")["rel-cache"]["spec"]["replicas"] == 3
    # the subchart's own fullnameOverride and nameOverride move its Service: the host follows
    for sets, host in ((("--set", "cache.fullnameOverride=shared-kv"), "shared-kv"),
                       (("--set", "cache.nameOverride=store"), "rel-store")):
        objs = template(helm, chart, *sets, env=env)
        assert list(by_kind(kv_objects(objs), "Service")) == [host]
        assert env_of(objs, "rel-planner")["CACHE_URL"] == f"http://{host}:6379"
    # an agent added in a values file that talks to it gets its URL too
    objs = template(helm, chart, "--set", "agents.extra.image.repository=ghcr.io/acme/extra", "--set",
                    "agents.extra.ports.http.port=80", "--set", "agents.extra.talksTo={cache,planner}", env=env)
    assert env_of(objs, "rel-extra")["CACHE_URL"] == "http://rel-cache:6379"
    assert env_of(objs, "rel-extra")["PLANNER_URL"] == "http://rel-planner:8080"
    # a host written with ${release} / ${namespace}
    objs = template(helm, chart, "--set", "dependencies.cache.host=kv.${namespace}.${release}", "-n", "team", env=env)
    assert env_of(objs, "rel-planner")["CACHE_URL"] == "http://kv.team.rel:6379"


def test_key_equal_to_chart_name(tmp_path: Path, home: dict[str, str]) -> None:
    chart = generate(write_spec(tmp_path, spec_text(f"file://{KVSTORE}", key="kvstore")), tmp_path)
    helm = helm_path("3.17.3")
    run_helm(helm, "dependency", "build", str(chart), env=home)
    for release, host in (("rel", "rel-kvstore"), ("kvstore", "kvstore"), ("team-kvstore-prod", "team-kvstore-prod")):
        objs = template(helm, chart, release=release, env=home)
        assert list(by_kind(kv_objects(objs), "Service")) == [host]
        assert env_of(objs, f"{release}-planner")["KVSTORE_URL"] == f"http://{host}:6379"


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_spec_host_and_no_port(tmp_path: Path, home: dict[str, str], version: str) -> None:
    text = spec_text(f"file://{KVSTORE}").replace("    port: 6379\n", "    host: ${release}-shared.${namespace}.svc\n", 1)
    chart = generate(write_spec(tmp_path, text), tmp_path)
    helm = helm_path(version)
    run_helm(helm, "dependency", "build", str(chart), env=home)
    run_helm(helm, "lint", "--strict", str(chart), env=home)  # port: null in values.yaml (Helm 3 keeps it)
    objs = template(helm, chart, "-n", "ns1", env=home)
    assert env_of(objs, "rel-planner")["CACHE_URL"] == "http://rel-shared.ns1.svc"


# --- OCI and the commands that render -------------------------------------------------------------------

@pytest.fixture(scope="module")
def oci_repo(registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    tmp = tmp_path_factory.mktemp("push")
    env = {"HELM_CACHE_HOME": str(tmp / "hc"), "HELM_CONFIG_HOME": str(tmp / "hf"), "HELM_DATA_HOME": str(tmp / "hd")}
    helm = helm_path("4.3.1")
    run_helm(helm, "package", str(KVSTORE), "-d", str(tmp), env=env)
    run_helm(helm, "push", str(tmp / "kvstore-1.2.3.tgz"), f"oci://{registry}/deps", "--plain-http", env=env)
    return f"oci://{registry}/deps"


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_oci_dependency_lint_and_template(oci_repo: str, version: str, tmp_path: Path, home: dict[str, str]) -> None:
    helm = helm_path(version)
    chart = generate(write_spec(tmp_path, spec_text(oci_repo)), tmp_path)
    run_helm(helm, "dependency", "build", str(chart), "--plain-http", env=home)
    assert (chart / "charts" / "kvstore-1.2.3.tgz").exists()
    run_helm(helm, "lint", "--strict", str(chart), env=home)
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-dev.yaml"), env=home)
    objs = template(helm, chart, env=home)
    validate_strict(objs)
    assert list(by_kind(kv_objects(objs), "Service")) == ["rel-cache"]
    assert kv_objects(template(helm, chart, "-f", str(chart / "values-dev.yaml"), env=home)) == []


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_helmgen_template_fetches_the_subcharts_and_says_so(oci_repo: str, version: str, tmp_path: Path,
                                                            home: dict[str, str]) -> None:
    spec = write_spec(tmp_path, spec_text(oci_repo))
    proc = helmgen_cli("template", str(spec), "--release", "rel", "--plain-http", env={**home, "HELM_BIN": str(helm_path(version))})
    assert proc.returncode == 0, proc.stderr
    assert "fetching the dependencies charts/ lacks: kvstore (missing)" in proc.stderr
    objs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert list(by_kind(kv_objects(objs), "Service")) == ["rel-cache"]
    proc = helmgen_cli("template", str(spec), "--env", "dev", "--plain-http",
                       env={**home, "HELM_BIN": str(helm_path(version))})
    assert proc.returncode == 0, proc.stderr
    assert kv_objects([d for d in yaml.safe_load_all(proc.stdout) if d]) == []


def test_helmgen_template_with_a_file_dependency(tmp_path: Path, home: dict[str, str]) -> None:
    spec = write_spec(tmp_path, spec_text(f"file://{KVSTORE}"))
    proc = helmgen_cli("template", str(spec), env={**home, "HELM_BIN": str(helm_path("3.17.3"))})
    assert proc.returncode == 0, proc.stderr
    assert "helmgen: ran helm dependency build\n" in proc.stderr
    assert list(by_kind(kv_objects([d for d in yaml.safe_load_all(proc.stdout) if d]), "Service")) == ["sys-cache"]


def packaged(tgz: Path) -> set[str]:
    with tarfile.open(tgz) as t:
        return set(t.getnames())


def test_publish_a_spec_and_a_chart_folder_with_dependencies(oci_repo: str, registry: str, tmp_path: Path,  # noqa: F811
                                                             home: dict[str, str]) -> None:
    env = {**home, "HELM_BIN": str(helm_path("4.3.1"))}
    spec = write_spec(tmp_path, spec_text(oci_repo))
    proc = helmgen_cli("publish", str(spec), "--to", str(tmp_path / "repo"), "--plain-http", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fetching the dependencies charts/ lacks: kvstore" in proc.stderr
    assert "sys/charts/kvstore/templates/service.yaml" in packaged(tmp_path / "repo" / "sys-0.1.0.tgz")
    # a chart folder: its subcharts are fetched into it, then packaged with it
    chart = generate(spec, tmp_path / "gen")
    proc = helmgen_cli("publish", str(chart), "--to", f"oci://{registry}/apps", "--plain-http", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (chart / "charts" / "kvstore-1.2.3.tgz").exists() and (chart / "Chart.lock").exists()
    pulled = tmp_path / "pulled"
    pulled.mkdir()
    run_helm(helm_path("4.3.1"), "pull", f"oci://{registry}/apps/sys", "--version", "0.1.0", "--plain-http",
             "-d", str(pulled), env=home)
    assert "sys/charts/kvstore/templates/service.yaml" in packaged(pulled / "sys-0.1.0.tgz")
    # once there, nothing is fetched again
    proc = helmgen_cli("publish", str(chart), "--to", f"oci://{registry}/apps", "--plain-http", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fetching" not in proc.stderr


# --- bad input ------------------------------------------------------------------------------------------

def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_spec(str(write_spec(tmp_path, text)))
    return [f"{p.line}:{p.column}: {p.path}: {p.message}" + (f" ({p.hint})" if p.hint else "")
            for p in exc.value.problems]


BAD = """\
apiVersion: agentgen/v1
name: sys
version: 0.1.0
dependencies:
  ftp:
    repository: ftp://x/y
    version: 1.x
  nover:
    repository: oci://r.example/charts
  badver:
    repository: https://charts.example.org
    version: "not a version"
  misspelt:
    repository: file://../x
    version: 1.0.0
    valus: {}
  agents:
    repository: https://charts.example.org
    version: 1.0.0
  planner:
    repository: https://charts.example.org
    version: 1.0.0
  hosted:
    repository: https://charts.example.org
    version: 1.0.0
    host: ${releas}-x
  cache:
    repository: https://charts.example.org
    version: 1.0.0
    values: {enabled: maybe}
agents:
  planner:
    image: ghcr.io/acme/planner:1.0
    port: 8080
    talksTo: [hosted]
environments:
  dev:
    dependencies:
      hosted: {enabled: false, value: {}}
  qa:
    dependencies:
      hosted: {enabled: false}
      nosuch: {enabled: false}
    agents:
      planner: {talksTo: [hosted]}
"""


def test_bad_dependencies_are_positioned_errors(tmp_path: Path) -> None:
    got = problems(tmp_path, BAD)
    assert got == [
        "6:17: dependencies.ftp.repository: 'ftp://x/y' is not a chart repository URL (https://…, oci://… or "
        "file://…, for example oci://registry-1.docker.io/bitnamicharts)",
        "8:3: dependencies.nover.version: is required",
        "12:14: dependencies.badver.version: 'not a version' is not a valid version constraint (a SemVer range "
        "as Helm takes it, for example 16.4.x or ^1.2.0)",
        '16:5: dependencies.misspelt.valus: unknown field (did you mean "values"?)',
        "17:3: dependencies.agents: 'agents' is a top-level key of the chart's values, where the dependency's "
        "values block would go (choose another key)",
        "20:3: dependencies.planner: agent 'planner' has the same name: both would be the Service "
        "<release>-planner and the same talksTo target (rename one of them)",
        "26:11: dependencies.hosted.host: '${releas}-x' may hold only ${release} and ${namespace} "
        "(for example ${release}-postgresql)",
        "30:14: dependencies.cache.values.enabled: must be true or false (it is the subchart's Chart.yaml condition)",
        '39:32: environments.dev.dependencies.hosted.value: unknown field (did you mean "values"?)',
        "43:7: environments.qa.dependencies.nosuch: no dependency named 'nosuch' (dependencies: ftp, nover, "
        "badver, misspelt, agents, planner, hosted, cache)",
        "45:27: environments.qa.agents.planner.talksTo[0]: dependency 'hosted' is disabled here, so there is "
        "nothing to talk to (drop it from talksTo where it is disabled, enable it, or set dependencies.hosted.host "
        "to a service outside the chart)",
    ]


def test_bad_dependencies_cli_exit_2_nothing_written(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, BAD)
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{spec}:8:3: dependencies.nover.version: is required" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_plain_http_repository_is_a_warning(tmp_path: Path) -> None:
    spec = load_spec(str(write_spec(tmp_path, spec_text("http://charts.example.org"))))
    assert [(w.path, w.message) for w in spec.warnings] == [
        ("dependencies.cache.repository",
         "warning: is plain http: the chart travels unencrypted and unauthenticated")]
    assert spec.dependencies["cache"].repository == "http://charts.example.org"


@pytest.mark.parametrize("repository,message", [
    ("https:///charts", "has no host"),
    ("https://", "is not a chart repository URL"),
    ("charts.example.org", "is not a chart repository URL"),
    ("oci://", "is not a chart repository URL"),
])
def test_repository_urls(tmp_path: Path, repository: str, message: str) -> None:
    got = problems(tmp_path, spec_text(repository))
    assert len(got) == 1 and message in got[0] and "dependencies.cache.repository" in got[0]


def test_model(tmp_path: Path) -> None:
    spec = load_spec(str(write_spec(tmp_path, spec_text("oci://r.example/charts/"))))
    d = spec.dependencies["cache"]
    assert (d.name, d.repository, d.chart, d.version, d.values, d.host, d.port, d.enabled) == (
        "cache", "oci://r.example/charts", "kvstore", "1.x", {"auth": {"database": "3"}}, "", 6379, True)
    assert spec.environment_dependencies["dev"]["cache"].enabled is False
    assert spec.environment_dependencies["prod"]["cache"].values == {"auth": {"database": "3"}, "replicaCount": 3}
    assert spec.agents["planner"].talksTo == ["cache"]


def test_an_agent_only_an_environment_has_may_not_take_a_dependency_name(tmp_path: Path) -> None:
    text = spec_text("oci://r.example/charts") + "  qa:\n    agents:\n      cache: {image: ghcr.io/acme/cache:1.0, port: 80}\n"
    assert problems(tmp_path, text) == [
        "31:7: environments.qa.agents.cache: dependency 'cache' has the same name: both would be the Service "
        "<release>-cache and the same talksTo target (rename the agent)"]


def test_helmgen_diff_fetches_and_shows_the_disabled_subchart(tmp_path: Path, home: dict[str, str]) -> None:
    spec = write_spec(tmp_path, spec_text(f"file://{KVSTORE}"))
    proc = helmgen_cli("diff", str(spec), "base", "dev", "--no-color", env={**home, "HELM_BIN": str(helm_path("4.3.1"))})
    assert proc.returncode == 0, proc.stderr
    assert "fetching the dependencies charts/ lacks: kvstore (missing)" in proc.stderr
    assert "Service/sys-cache" in proc.stdout and "Deployment/sys-cache" in proc.stdout


HELPER_PROBE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependency-probe
data:
  {{- range $key := list "cache" "other" }}
  {{ $key }}: {{ include "agentgen.dependency" (dict "root" $ "name" $key) | fromYaml | toJson | quote }}
  {{- end }}
"""


def test_the_dependency_helper_contract(tmp_path: Path, home: dict[str, str]) -> None:
    """agentgen.dependency (templates/_dependencies.tpl), which ${deps.NAME.…} references use:
    (dict "root" $ "name" KEY) -> {enabled, host, port, url}."""
    text = spec_text(f"file://{KVSTORE}").replace(
        "agents:\n", f"  other:\n    repository: file://{KVSTORE}\n    chart: kvstore\n    version: 1.x\n"
                     "    host: ext-db.${namespace}.svc\nagents:\n", 1)
    chart = generate(write_spec(tmp_path, text), tmp_path)
    (chart / "templates" / "zz-probe.yaml").write_text(HELPER_PROBE)
    helm = helm_path("4.3.1")
    (chart / "charts").mkdir()
    run_helm(helm, "package", str(KVSTORE), "-d", str(chart / "charts"), env=home)
    args = ("--set", "other.enabled=false", "--show-only", "templates/zz-probe.yaml")
    (probe,) = template(helm, chart, *args, release="team-cache", env=home)
    assert json.loads(probe["data"]["cache"]) == {"enabled": True, "host": "team-cache", "port": 6379,
                                                  "url": "http://team-cache:6379"}
    assert json.loads(probe["data"]["other"]) == {"enabled": False, "host": "ext-db.default.svc", "port": None,
                                                  "url": "http://ext-db.default.svc"}
    (probe,) = template(helm, chart, *args, "--set", "cache.enabled=false", "-n", "prod", env=home)
    assert json.loads(probe["data"]["cache"])["enabled"] is False
    assert json.loads(probe["data"]["other"])["host"] == "ext-db.prod.svc"


def test_helmgen_template_reads_a_relative_file_path_as_generate_would_place_the_chart(
        tmp_path: Path, home: dict[str, str]) -> None:
    """Helm reads a relative file:// path from the chart folder; `helmgen template` builds the chart in a
    temporary folder, and reads the path from ./<name>/, where `helmgen generate SPEC` puts the chart."""
    shutil.copytree(KVSTORE, tmp_path / "vendor" / "kvstore")
    spec = write_spec(tmp_path, spec_text("file://../vendor/kvstore"))
    env = {**home, "HELM_BIN": str(helm_path("4.3.1"))}
    proc = helmgen_cli("template", str(spec), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert list(by_kind(kv_objects([d for d in yaml.safe_load_all(proc.stdout) if d]), "Service")) == ["sys-cache"]
    # the same as generating, then rendering the chart folder
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    run_helm(helm_path("4.3.1"), "dependency", "build", str(tmp_path / "sys"), env=home)
    objs = template(helm_path("4.3.1"), tmp_path / "sys", release="sys", env=home)
    assert list(by_kind(kv_objects(objs), "Service")) == ["sys-cache"]
