"""Dependencies on specs of real systems: a PostgreSQL-like (tests/charts/sqldb) and a NATS-like
(tests/charts/msgbus) subchart, each with its own strict values.schema.json (closed at the root,
open to `global` and the `enabled` condition key, as cert-manager's is) and Services named by the
helm create / Bitnami fullname rule; the CLI run as a user runs it, real Helm on both versions."""

from __future__ import annotations

import shutil
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import HELM_VERSIONS, by_kind, generate, helm_path, helmgen_cli, run_helm, template

CHARTS = Path(__file__).parent / "charts"


def research_spec(deps: str = "postgresql nats") -> str:
    """A deep-research cluster on NATS JetStream and PostgreSQL (the shape of issue 10's systems)."""
    blocks = {
        "postgresql": (f"  postgresql:\n    repository: file://{CHARTS / 'sqldb'}\n    chart: sqldb\n    version: 16.4.x\n"
                       "    values:\n      auth: {username: planner, database: planner}\n"
                       "      global: {postgresql: {auth: {database: research}}}\n    port: 5432\n"),
        "nats": (f"  nats:\n    repository: file://{CHARTS / 'msgbus'}\n    chart: msgbus\n    version: ~1.3.0\n"
                 "    values:\n      config: {jetstream: {enabled: true}, cluster: {enabled: true, replicas: 3}}\n"
                 "    port: 4222\n")}
    talks = "".join(f"      - {d}\n" for d in deps.split())
    env = """\
        environments:
          dev:
            dependencies:
              nats: {enabled: false}
            agents:
              planner: {talksTo: [postgresql, researcher]}
              researcher: {talksTo: [postgresql]}
          prod:
            dependencies:
              postgresql: {values: {primary: {replicaCount: 2}}}
        """ if deps.split() == ["postgresql", "nats"] else ""
    return (textwrap.dedent("""\
        apiVersion: agentgen/v1
        name: deep-research
        version: 0.4.0
        appVersion: "2.1.0"
        dependencies:
        """) + "".join(blocks[d] for d in deps.split())
        + "agents:\n  planner:\n    image: ghcr.io/acme/planner:2.1.0\n    port: 8080\n    talksTo:\n"
        + talks + "      - researcher\n"
        + "  researcher:\n    image: ghcr.io/acme/researcher:2.1.0\n    port: 8081\n    talksTo:\n" + talks
        + textwrap.dedent(env))


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hf"),
               HELM_DATA_HOME=str(tmp_path / "hd"), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    return env


def sub_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The subcharts' objects (every object of the generated chart carries helm.sh/chart)."""
    return [o for o in objs if "helm.sh/chart" not in o["metadata"].get("labels", {})]


def env_of(objs: list[dict[str, Any]], deployment: str) -> dict[str, str]:
    d = by_kind(objs, "Deployment")[deployment]
    return {e["name"]: e.get("value", "") for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}


def test_the_subcharts_lint_on_their_own() -> None:
    """The test subcharts are valid charts whose schemas are strict: a misspelt key fails them."""
    helm = helm_path("4.3.1")
    for chart in ("sqldb", "msgbus"):
        run_helm(helm, "lint", "--strict", str(CHARTS / chart))
        bad = run_helm(helm, "lint", "--strict", str(CHARTS / chart), "--set", "nameOverid=x", check=False)
        assert bad.returncode != 0 and "nameOverid" in bad.stdout + bad.stderr


@pytest.fixture(scope="module")
def research_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("research")
    spec = tmp / "spec.yaml"
    spec.write_text(research_spec())
    return generate(spec, tmp)


def test_chart_files(research_chart: Path) -> None:
    meta = yaml.safe_load((research_chart / "Chart.yaml").read_text())
    assert meta["dependencies"] == [
        {"name": "sqldb", "alias": "postgresql", "version": "16.4.x", "repository": f"file://{CHARTS / 'sqldb'}",
         "condition": "postgresql.enabled"},
        {"name": "msgbus", "alias": "nats", "version": "~1.3.0", "repository": f"file://{CHARTS / 'msgbus'}",
         "condition": "nats.enabled"}]
    values = yaml.safe_load((research_chart / "values.yaml").read_text())
    assert values["postgresql"] == {"enabled": True, "auth": {"username": "planner", "database": "planner"},
                                    "global": {"postgresql": {"auth": {"database": "research"}}}}
    assert values["nats"] == {"enabled": True, "config": {"jetstream": {"enabled": True},
                                                          "cluster": {"enabled": True, "replicas": 3}}}
    assert values["dependencies"] == {"postgresql": {"host": "", "port": 5432}, "nats": {"host": "", "port": 4222}}
    assert yaml.safe_load((research_chart / "values-dev.yaml").read_text()) == {
        "nats": {"enabled": False},
        "agents": {"planner": {"talksTo": ["postgresql", "researcher"]}, "researcher": {"talksTo": ["postgresql"]}}}
    assert yaml.safe_load((research_chart / "values-prod.yaml").read_text()) == {
        "postgresql": {"primary": {"replicaCount": 2}}}


LONG = "research-production-europe-west-primary-cluster-abc1"  # 52 characters (Helm allows 53)
assert len(LONG) == 52


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_lint_and_template_with_strict_subcharts(research_chart: Path, version: str, tmp_path: Path,
                                                 home: dict[str, str]) -> None:
    import kubernetes_validate

    helm = helm_path(version)
    chart = tmp_path / "deep-research"
    shutil.copytree(research_chart, chart)
    run_helm(helm, "dependency", "build", str(chart), env=home)
    assert sorted(p.name for p in (chart / "charts").iterdir()) == ["msgbus-1.3.0.tgz", "sqldb-16.4.2.tgz"]
    for extra in ((), ("-f", str(chart / "values-dev.yaml")), ("-f", str(chart / "values-prod.yaml"))):
        run_helm(helm, "lint", "--strict", str(chart), *extra, env=home)
    # the subcharts' own schemas still hold: a misspelt subchart key fails, through the parent chart
    bad = run_helm(helm, "lint", "--strict", str(chart), "--set", "postgresql.auth.databse=x", check=False, env=home)
    assert bad.returncode != 0 and "databse" in bad.stdout + bad.stderr

    cases = [("rel", (), "rel-postgresql", "rel-nats"),
             ("team-postgresql", (), "team-postgresql", "team-postgresql-nats"),  # the release contains the key
             ("nats", (), "nats-postgresql", "nats"),
             (LONG + "x", (), (LONG + "x-postgresql")[:63], LONG + "x-nats"),
             (LONG, (), (LONG + "-postgresql")[:63].rstrip("-"), LONG + "-nats"),
             ("rel", ("--set", "fullnameOverride=platform"), "rel-postgresql", "rel-nats"),  # the parent's: no effect
             ("rel", ("--set", "postgresql.fullnameOverride=pg", "--set", "nats.nameOverride=bus"), "pg", "rel-bus")]
    for release, sets, pg, nats in cases:
        objs = template(helm, chart, *sets, release=release, env=home)
        for o in objs:
            kubernetes_validate.validate(o, "1.30.0", strict=True)
        services = set(by_kind(sub_objects(objs), "Service"))
        assert services == {pg, f"{pg}-hl", nats, f"{nats}-headless"}, release
        assert len(pg) <= 63 and len(nats) <= 63
        planner = next(n for n in by_kind(objs, "Deployment") if n.endswith("planner"))
        got = env_of(objs, planner)
        assert (got["POSTGRESQL_URL"], got["NATS_URL"]) == (f"http://{pg}:5432", f"http://{nats}:4222"), release
        # the subchart received the spec's values and its global
        db = by_kind(sub_objects(objs), "StatefulSet")[pg]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {e["name"]: e["value"] for e in db} == {"POSTGRES_USER": "planner", "POSTGRES_DB": "research"}
        assert by_kind(sub_objects(objs), "StatefulSet")[nats]["spec"]["replicas"] == 3

    # dev disables NATS: no object of it, nobody gets its URL; prod changes PostgreSQL's values only
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"), env=home)
    assert set(by_kind(sub_objects(objs), "Service")) == {"rel-postgresql", "rel-postgresql-hl"}
    assert not [o for o in sub_objects(objs) if "nats" in o["metadata"]["name"]]
    assert "NATS_URL" not in env_of(objs, "rel-planner") and "NATS_URL" not in env_of(objs, "rel-researcher")
    objs = template(helm, chart, "-f", str(chart / "values-prod.yaml"), env=home)
    assert by_kind(sub_objects(objs), "StatefulSet")["rel-postgresql"]["spec"]["replicas"] == 2


def test_helmgen_template_and_publish_with_strict_subcharts(tmp_path: Path, home: dict[str, str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec())
    env = {**home, "HELM_BIN": str(helm_path("3.17.3"))}
    for args, nats in (((), True), (("--env", "dev"), False), (("--env", "prod"), True)):
        proc = helmgen_cli("template", str(spec), "--release", "rel", *args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "fetching the dependencies charts/ lacks: sqldb (missing), msgbus (missing)" in proc.stderr
        objs = sub_objects([d for d in yaml.safe_load_all(proc.stdout) if d])
        assert ("rel-nats" in by_kind(objs, "Service")) is nats and "rel-postgresql" in by_kind(objs, "Service")
    proc = helmgen_cli("publish", str(spec), "--to", str(tmp_path / "repo"), env=env)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(tmp_path / "repo" / "deep-research-0.4.0.tgz") as t:
        names = set(t.getnames())
    assert {"deep-research/charts/postgresql/values.schema.json", "deep-research/charts/nats/Chart.yaml"} <= names \
        or {"deep-research/charts/sqldb/values.schema.json", "deep-research/charts/msgbus/Chart.yaml"} <= names


def test_publish_after_a_dependency_is_added_refreshes_the_stale_lock(tmp_path: Path, home: dict[str, str]) -> None:
    """Regeneration keeps Chart.lock; once the spec adds a dependency the lock no longer matches
    Chart.yaml and `helm dependency build` refuses it: helmgen updates it instead, and says so."""
    env = {**home, "HELM_BIN": str(helm_path("4.3.1"))}
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec("postgresql"))
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    chart = tmp_path / "deep-research"
    run_helm(helm_path("4.3.1"), "dependency", "update", str(chart), env=home)
    spec.write_text(research_spec())
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    assert (chart / "Chart.lock").exists() and (chart / "charts" / "sqldb-16.4.2.tgz").exists()
    proc = helmgen_cli("publish", str(chart), "--to", str(tmp_path / "repo"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fetching the dependencies charts/ lacks: msgbus (missing)" in proc.stderr
    assert "helm dependency update (Chart.lock was out of sync with Chart.yaml)" in proc.stderr
    lock = yaml.safe_load((chart / "Chart.lock").read_text())
    assert [d["name"] for d in lock["dependencies"]] == ["sqldb", "msgbus"]
    with tarfile.open(tmp_path / "repo" / "deep-research-0.4.0.tgz") as t:
        assert any(n.startswith("deep-research/charts/msgbus") for n in t.getnames())


def test_deploy_dry_run_fetches_the_subcharts(tmp_path: Path, home: dict[str, str]) -> None:
    """`helmgen deploy` renders (helm upgrade, or helm template with --dry-run): it needs the subcharts too.
    A relative file:// path is read from ./<name>/, as `helmgen generate SPEC` would place the chart."""
    shutil.copytree(CHARTS / "sqldb", tmp_path / "vendor" / "sqldb")
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec("postgresql").replace(f"file://{CHARTS / 'sqldb'}", "file://../vendor/sqldb"))
    env = {**home, "HELM_BIN": str(helm_path("4.3.1"))}
    proc = helmgen_cli("deploy", str(spec), "--dry-run", "--release", "rel", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fetching the dependencies charts/ lacks: sqldb (missing)" in proc.stderr
    objs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert set(by_kind(sub_objects(objs), "Service")) == {"rel-postgresql", "rel-postgresql-hl"}
    assert env_of(objs, "rel-planner")["POSTGRESQL_URL"] == "http://rel-postgresql:5432"
    # the second time the subcharts are there: nothing is fetched
    proc = helmgen_cli("deploy", str(spec), "--dry-run", "--release", "rel", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fetching" not in proc.stderr


BAD = """\
apiVersion: agentgen/v1
name: deep-research
version: 0.4.0
dependencies:
  postgresql:
    repository: https://charts.example.org
    chart: sqldb
  nats:
    repository: oci://registry.example.org/charts
    version: 1.x
    valeus: {config: {}}
  secrets:
    repository: https://charts.example.org
    version: 1.x
  planner:
    repository: https://charts.example.org
    version: 1.x
  creds:
    repository: https://ci-bot:s3cret@charts.example.org/stable
    version: 1.x
  robot:
    repository: oci://robot@registry.example.org/charts
    version: 1.x
  port:
    repository: https://charts.example.org:99999
    version: 1.x
  spaced:
    repository: https://charts.example .org
    version: 1.x
agents:
  planner:
    image: ghcr.io/acme/planner:2.1.0
    port: 8080
    talksTo: [postgresql, nats]
"""


def test_bad_dependencies_from_the_cli(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(BAD)
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
    hint = "(https://…, oci://… or file://…, for example oci://registry-1.docker.io/bitnamicharts)"
    creds = ("holds credentials, which Chart.yaml would carry to everyone who gets the chart: log in with helm "
             f"registry login or helm repo add --username instead {hint}")
    for line in [
            "5:3: dependencies.postgresql.version: is required",
            '11:5: dependencies.nats.valeus: unknown field (did you mean "values"?)',
            "12:3: dependencies.secrets: 'secrets' is a top-level key of the chart's values, where the dependency's "
            "values block would go (choose another key)",
            "15:3: dependencies.planner: agent 'planner' has the same name: both would be the Service "
            "<release>-planner and the same talksTo target (rename one of them)",
            f"19:17: dependencies.creds.repository: 'https://ci-bot:s3cret@charts.example.org/stable' {creds}",
            f"22:17: dependencies.robot.repository: 'oci://robot@registry.example.org/charts' {creds}",
            f"25:17: dependencies.port.repository: 'https://charts.example.org:99999' has an invalid port {hint}",
            "28:17: dependencies.spaced.repository: 'https://charts.example .org' is not a chart repository URL "
            + hint]:
        assert f"{spec}:{line}\n" in proc.stderr
    assert "8 problems found; nothing written." in proc.stderr


@pytest.fixture
def chart_repo(tmp_path: Path) -> Any:
    """A classic chart repository (index.yaml and packages) served on 127.0.0.1 at a free port."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve(root: Path, url: str, version: str, tmp_path: Path) -> None:
    """Package tests/charts/sqldb at `version` into the served folder and re-index it."""
    helm = helm_path("4.3.1")
    src = tmp_path / f"src-{version}" / "sqldb"
    shutil.copytree(CHARTS / "sqldb", src)
    (src / "Chart.yaml").write_text((src / "Chart.yaml").read_text().replace("version: 16.4.2", f"version: {version}"))
    run_helm(helm, "package", str(src), "-d", str(root))
    run_helm(helm, "repo", "index", str(root), "--url", url)


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_a_chart_repository_not_added_with_helm_repo_add(chart_repo: Any, version: str, tmp_path: Path,
                                                         home: dict[str, str]) -> None:
    """A chart with a Chart.lock (kept in git) and no charts/ (left out of git), from an https:// or
    http:// chart repository the user never `helm repo add`ed: `helm dependency build` refuses it;
    helmgen builds from the lock with a temporary repository entry, keeping the locked version."""
    root, url = chart_repo
    serve(root, url, "16.4.2", tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec("postgresql").replace(f"file://{CHARTS / 'sqldb'}", url))
    env = {**home, "HELM_BIN": str(helm_path(version))}
    proc = helmgen_cli("template", str(spec), "--release", "rel", env=env)  # no Chart.lock: build resolves 16.4.x
    assert proc.returncode == 0, proc.stderr
    assert "helmgen: ran helm dependency build\n" in proc.stderr
    assert "rel-postgresql" in by_kind(sub_objects([d for d in yaml.safe_load_all(proc.stdout) if d]), "Service")
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    chart = tmp_path / "deep-research"
    run_helm(helm_path(version), "dependency", "update", str(chart), env=home)
    lock = (chart / "Chart.lock").read_text()
    shutil.rmtree(chart / "charts")
    serve(root, url, "16.4.3", tmp_path)  # a newer match of 16.4.x: the lock still says 16.4.2
    proc = helmgen_cli("publish", str(chart), "--to", str(tmp_path / "repo"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"ran helm dependency build (with {url} as a temporary repository)" in proc.stderr
    assert sorted(p.name for p in (chart / "charts").iterdir()) == ["sqldb-16.4.2.tgz"]
    assert (chart / "Chart.lock").read_text() == lock
    assert not (Path(home["HELM_CONFIG_HOME"]) / "helm" / "repositories.yaml").exists()  # the user's config: untouched


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_a_dependency_dropped_from_the_spec_leaves_no_subchart_behind(version: str, tmp_path: Path,
                                                                      home: dict[str, str]) -> None:
    """Regeneration keeps charts/, and Helm installs every archive there, named in Chart.yaml or not:
    once the spec drops NATS, the commands that render or package drop its archive (as
    `helm dependency update` does) instead of failing on it or shipping it."""
    env = {**home, "HELM_BIN": str(helm_path(version))}
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec())
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    chart = tmp_path / "deep-research"
    run_helm(helm_path(version), "dependency", "build", str(chart), env=home)
    spec.write_text(research_spec("postgresql"))
    assert helmgen_cli("generate", str(spec), cwd=tmp_path, env=env).returncode == 0
    assert (chart / "charts" / "msgbus-1.3.0.tgz").exists()  # kept: not helmgen's file
    proc = helmgen_cli("publish", str(chart), "--to", str(tmp_path / "repo"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert ("helmgen: charts/ holds subcharts Chart.yaml no longer names, which Helm would still install: "
            "msgbus-1.3.0.tgz") in proc.stderr
    assert "lacks" not in proc.stderr
    assert sorted(p.name for p in (chart / "charts").iterdir()) == ["sqldb-16.4.2.tgz"]
    with tarfile.open(tmp_path / "repo" / "deep-research-0.4.0.tgz") as t:
        assert not [n for n in t.getnames() if "msgbus" in n]
    run_helm(helm_path(version), "lint", "--strict", str(chart), env=home)
    objs = template(helm_path(version), chart, env=home)
    assert set(by_kind(sub_objects(objs), "Service")) == {"rel-postgresql", "rel-postgresql-hl"}


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_the_default_host_follows_the_subcharts_own_defaults(version: str, tmp_path: Path,
                                                            home: dict[str, str]) -> None:
    """A subchart whose own values.yaml sets fullnameOverride or nameOverride (as some charts ship):
    Helm merges its defaults under the key, so the default host still equals its Service name."""
    for default, release, service in (('fullnameOverride: "nats-server"', "rel", "nats-server"),
                                      ('nameOverride: "bus"', "rel", "rel-bus"),
                                      ('nameOverride: "bus"', "team-bus", "team-bus")):
        work = tmp_path / default.split(":")[0] / release
        shutil.copytree(CHARTS / "msgbus", work / "msgbus")
        values = work / "msgbus" / "values.yaml"
        values.write_text(values.read_text().replace("\n" + default.split(":")[0] + ': ""', "\n" + default))
        spec = work / "spec.yaml"
        spec.write_text(research_spec("nats").replace(f"file://{CHARTS / 'msgbus'}", f"file://{work / 'msgbus'}"))
        chart = generate(spec, work)
        run_helm(helm_path(version), "dependency", "build", str(chart), env=home)
        objs = template(helm_path(version), chart, release=release, env=home)
        assert set(by_kind(sub_objects(objs), "Service")) == {service, f"{service}-headless"}
        assert env_of(objs, f"{release}-planner")["NATS_URL"] == f"http://{service}:4222"


def test_an_environment_may_not_say_enabled_twice_differently(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec().replace("      nats: {enabled: false}\n",
                                            "      nats: {enabled: false, values: {enabled: true}}\n"))
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2
    assert (f"{spec}:38:39: environments.dev.dependencies.nats.values.enabled: contradicts "
            "environments.dev.dependencies.nats.enabled (false) (set enabled once)\n") in proc.stderr
    assert "1 problem found" in proc.stderr


@pytest.mark.parametrize("repository,ok", [("oci://registry.example.org:0/charts", False),
                                           ("https://charts.example.org:70000", False),
                                           ("https://charts.example.org:8443/stable", True),
                                           ("oci://127.0.0.1:5000/charts", True)])
def test_repository_ports(tmp_path: Path, repository: str, ok: bool) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(research_spec("postgresql").replace(f"file://{CHARTS / 'sqldb'}", repository))
    proc = helmgen_cli("validate", str(spec))
    assert (proc.returncode == 0) is ok, proc.stderr
    assert ok or f"dependencies.postgresql.repository: '{repository}' has an invalid port" in proc.stderr
