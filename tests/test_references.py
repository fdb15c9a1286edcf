"""References between agents (issue #10): `${release}`, `${namespace}`, `${agents.NAME.…}`, `${self.…}`
resolved when Helm renders (so they follow the release name, fullnameOverride, shortened names and
values files), `$${` and every other `${…}` left as written, and the bad references refused at
generate time with their position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRD_KINDS, by_kind, generate, helmgen_cli, template

HEAD = "apiVersion: agentgen/v1\nname: wired\nversion: 0.1.0\n"
SPEC = HEAD + """\
secrets:
  db: {keys: [password]}
agents:
  nats:
    image: nats:2.10
    ports: {client: 4222, monitor: 8222}
  planner:
    image: ghcr.io/acme/planner:1
    port: 8080
    command: [sh, -c, 'exec planner --nats ${agents.nats.host}:${agents.nats.ports.client} --home ${HOME}']
    args: ['--self=${self.url}', '--escaped=$${agents.nats.host}', '{{ .Values.x }}']
    env:
      NATS_URL: nats://${agents.nats.host}:${agents.nats.ports.client}
      NATS_FQDN: ${agents.nats.fqdn}
      NATS_PORT: ${agents.nats.port}
      NATS_HTTP: ${agents.nats.url}
      SERVICE_URL: ${self.url}
      WHERE: ${release}/${namespace}
      SHELL_STYLE: ${HOME} ${role} ${NATS_URL} {{ x }}
      LITERAL: $${agents.nats.host}
      PUBLIC_URL: https://research.example.org/api
    config:
      files:
        run.sh: |
          #!/bin/sh
          echo "${NATS_URL}" > /tmp/x
          curl ${agents.worker.url}/ready
          echo '$${self.host}'
  worker:
    image: ghcr.io/acme/worker:1
    port: 9000
    env:
      PLANNER: ${agents.planner.host}
      SELF_HOST: ${self.host}
  lonely:
    image: ghcr.io/acme/lonely:1
    port: 7000
extraManifests:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: wiring}
    data:
      nats: ${agents.nats.fqdn}:${agents.nats.ports.monitor}
      release: ${release}
      literal: $${release} {{ y }}
"""
LONG_RELEASE = "a-release-name-that-is-long-enough-to-shorten-names-x"  # 53 characters, Helm's limit


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("refs")
    spec = tmp / "wired.yaml"
    spec.write_text(SPEC.replace("  planner:", "  planner-with-a-rather-long-agent-name-xy:")
                    .replace("agents.planner.", "agents.planner-with-a-rather-long-agent-name-xy."))
    return generate(spec, tmp / "out")


PLANNER = "planner-with-a-rather-long-agent-name-xy"


def _service(objs: list[dict[str, Any]], agent: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == "Service"
             and o["metadata"]["labels"].get("app.kubernetes.io/component") == agent]
    assert len(found) == 1, [o["metadata"]["name"] for o in found]
    return found[0]


def _container(objs: list[dict[str, Any]], agent: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == "Deployment"
             and o["metadata"]["labels"].get("app.kubernetes.io/component") == agent]
    assert len(found) == 1
    c: dict[str, Any] = found[0]["spec"]["template"]["spec"]["containers"][0]
    return c


def _env(c: dict[str, Any]) -> dict[str, str]:
    names = [e["name"] for e in c.get("env", [])]
    assert len(names) == len(set(names)), names  # no variable twice
    return {e["name"]: e.get("value") for e in c.get("env", [])}


@pytest.mark.parametrize("release,args", [
    ("rel", ()),
    ("rel", ("--set", "fullnameOverride=custom")),
    (LONG_RELEASE, ()),
], ids=["release", "fullnameOverride", "long-release"])
def test_references_resolve_to_the_names_of_the_same_render(chart: Path, helm: Path, release: str,
                                                           args: tuple[str, ...]) -> None:
    objs = template(helm, chart, "--namespace", "team-a", *args, release=release)
    nats = _service(objs, "nats")["metadata"]["name"]
    planner = _service(objs, PLANNER)["metadata"]["name"]
    worker = _service(objs, "worker")["metadata"]["name"]
    if release == LONG_RELEASE:
        assert len(planner) <= 63 and planner != f"{release}-{PLANNER}"  # shortened
    if args:
        assert nats == "custom-nats"
    c = _container(objs, PLANNER)
    env = _env(c)
    assert env["NATS_URL"] == f"nats://{nats}:4222"
    assert env["NATS_FQDN"] == f"{nats}.team-a.svc"
    assert env["NATS_PORT"] == "4222"
    assert env["NATS_HTTP"] == f"http://{nats}:4222"  # the first port (alphabetically: client)
    assert env["SERVICE_URL"] == f"http://{planner}:8080"
    assert env["WHERE"] == f"{release}/team-a"
    assert env["SHELL_STYLE"] == "${HOME} ${role} ${NATS_URL} {{ x }}"
    assert env["LITERAL"] == "${agents.nats.host}"
    assert env["PUBLIC_URL"] == "https://research.example.org/api"
    assert c["command"] == ["sh", "-c", f"exec planner --nats {nats}:4222 --home ${{HOME}}"]
    assert c["args"] == [f"--self=http://{planner}:8080", "--escaped=${agents.nats.host}", "{{ .Values.x }}"]
    cms = by_kind(objs, "ConfigMap")
    script = next(cm for cm in cms.values() if "run.sh" in cm.get("data", {}))["data"]["run.sh"]
    assert script == (f'#!/bin/sh\necho "${{NATS_URL}}" > /tmp/x\ncurl http://{worker}:9000/ready\n'
                      "echo '${self.host}'\n")
    assert _env(_container(objs, "worker")) == {"PLANNER": planner, "SELF_HOST": worker}
    wiring = cms["wiring"]["data"]
    assert wiring == {"nats": f"{nats}.team-a.svc:8222", "release": release, "literal": "${release} {{ y }}"}


def test_rendered_objects_are_valid_kubernetes(chart: Path, helm: Path) -> None:
    import kubernetes_validate

    for obj in template(helm, chart, release=LONG_RELEASE):
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)


def _callers(objs: list[dict[str, Any]], agent: str) -> list[str]:
    np = next(o for o in objs if o["kind"] == "NetworkPolicy"
              and o["metadata"]["labels"].get("app.kubernetes.io/component") == agent)
    out: list[str] = []
    for rule in np["spec"]["ingress"]:
        for peer in rule.get("from", []):
            for e in peer.get("podSelector", {}).get("matchExpressions", []):
                out += e["values"]
    return out


def test_network_policy_admits_referrers_not_the_agent_itself(chart: Path, helm: Path) -> None:
    objs = template(helm, chart)
    assert _callers(objs, "nats") == [PLANNER]
    assert _callers(objs, "worker") == [PLANNER]  # through its config file
    assert _callers(objs, PLANNER) == ["worker"]  # ${self.…} in planner is not a caller
    assert _callers(objs, "lonely") == []


def test_a_change_of_a_referenced_port_changes_the_config_checksum(chart: Path, helm: Path) -> None:
    def checksum(*args: str) -> str:
        objs = template(helm, chart, *args)
        dep = next(o for o in objs if o["kind"] == "Deployment"
                   and o["metadata"]["labels"]["app.kubernetes.io/component"] == PLANNER)
        return str(dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum() != checksum("--set", "agents.worker.ports.http.port=9001")


VALUES_AGENT = {"agents": {
    "extra": {"image": {"repository": "ghcr.io/acme/extra", "tag": "1"}, "ports": {"http": {"port": 7070}},
              "env": {"NATS": {"value": "nats://${agents.nats.host}:${agents.nats.ports.client}"},
                      "ME": {"value": "${self.fqdn}"}},
              "command": ["run", "--planner=${agents.%s.url}" % PLANNER]},  # noqa: UP031 - ${...} reads better than ${{...}}
    PLANNER: {"env": {"EXTRA_URL": {"value": "${agents.extra.url}/v1"}}},
}}


def test_an_agent_added_in_a_values_file_references_and_is_referenced(chart: Path, helm: Path,
                                                                      tmp_path: Path) -> None:
    values = tmp_path / "extra.yaml"
    values.write_text(yaml.safe_dump(VALUES_AGENT))
    objs = template(helm, chart, "-f", str(values), "--set", "fullnameOverride=fo")
    extra = _service(objs, "extra")["metadata"]["name"]
    planner = _service(objs, PLANNER)["metadata"]["name"]
    assert extra == "fo-extra"
    c = _container(objs, "extra")
    assert _env(c) == {"NATS": "nats://fo-nats:4222", "ME": "fo-extra.default.svc"}
    assert c["command"] == ["run", f"--planner=http://{planner}:8080"]
    assert _env(_container(objs, PLANNER))["EXTRA_URL"] == "http://fo-extra:7070/v1"
    assert _callers(objs, "nats") == ["extra", PLANNER]
    assert _callers(objs, "extra") == [PLANNER]
    assert _callers(objs, PLANNER) == ["extra", "worker"]


def test_a_values_file_agent_with_references_renders_as_the_same_spec_agent(tmp_path: Path, helm: Path) -> None:
    base = HEAD + "agents:\n  nats: {image: nats:2.10, ports: {client: 4222}}\n"
    agent = "  extra:\n    image: ghcr.io/acme/extra:1\n    port: 7070\n    env: {NATS: 'nats://${agents.nats.host}:${agents.nats.port}'}\n"
    (tmp_path / "a.yaml").write_text(base + agent)
    (tmp_path / "b.yaml").write_text(base)
    in_spec = generate(tmp_path / "a.yaml", tmp_path / "a")
    without = generate(tmp_path / "b.yaml", tmp_path / "b")
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"extra": {
        "image": {"repository": "ghcr.io/acme/extra", "tag": "1"}, "ports": {"http": {"port": 7070}},
        "env": {"NATS": {"value": "nats://${agents.nats.host}:${agents.nats.port}"}}}}}))
    want = {(o["kind"], o["metadata"]["name"]): o for o in template(helm, in_spec)}
    got = {(o["kind"], o["metadata"]["name"]): o for o in template(helm, without, "-f", str(values))}
    assert got == want
    assert _env(_container(list(got.values()), "extra"))["NATS"] == "nats://rel-nats:4222"


@pytest.mark.parametrize("ref,message", [
    ("${agents.ghost.host}", 'no agent named "ghost"'),
    ("${agents.nats.ports.nope}", 'unknown attribute or port "ports.nope"'),
    ("${agents.nats.hots}", 'unknown attribute or port "hots"'),
])
def test_a_bad_reference_written_in_a_values_file_fails_the_render(chart: Path, helm: Path, tmp_path: Path,
                                                                   ref: str, message: str) -> None:
    from tests.conftest import run_helm, secret_sets

    values = tmp_path / "bad.yaml"
    values.write_text(yaml.safe_dump({"agents": {"worker": {"env": {"X": {"value": ref}}}}}))
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(values), check=False)
    assert proc.returncode != 0
    assert f"agents.worker.env.X: {ref}: {message}" in proc.stderr


# --- bad input at generate time: exit 2, FILE:LINE:COL: path: message (hint), nothing written ---

BAD_HEAD = HEAD + """\
secrets:
  db: {keys: [password]}
agents:
  nats: {image: nats:2.10, ports: {client: 4222}}
  off: {image: x:1, port: 80, enabled: false}
  batch: {image: x:1, kind: Job}
  quiet: {image: x:1, health: false}
  me:
    image: x:1
    port: 8080
"""  # the line after this header is line 14


@pytest.mark.parametrize("body,expected", [
    ("    env: {A: '${agent.nats.host}'}",
     "14:11: agents.me.env.A: ${agent.nats.host} is not a reference: 'agent' is not a root "
     "(did you mean ${agents.nats.host}? write $${ for a literal ${)"),
    ("    env: {A: '${Agents.nats.host}'}", "14:11: agents.me.env.A: ${Agents.nats.host} is not a reference"),
    ("    env: {A: '${secret.db.password}'}", "did you mean ${secrets.db.password}?"),
    ("    env: {A: '${dep.pg.host}'}", "did you mean ${deps.pg.host}?"),
    ("    env: {A: '${Release}'}", "did you mean ${release}?"),
    ("    env: {A: '${self}'}", "14:11: agents.me.env.A: ${self} has no attribute"),
    ("    env: {A: '${agents.natz.host}'}", "14:11: agents.me.env.A: ${agents.natz.host}: no agent named 'natz' "
                                          '(did you mean "nats"?)'),
    ("    env: {A: '${agents.off.host}'}", "agents.me.env.A: ${agents.off.host}: agent 'off' is disabled"),
    ("    env: {A: '${agents.nats.ports.http}'}", "${agents.nats.ports.http}: agent 'nats' has no port named 'http'"),
    ("    env: {A: '${agents.nats.address}'}", "${agents.nats.address}: unknown attribute 'address'"),
    ("    env: {A: '${agents.quiet.host}'}", "agent 'quiet' has no ports, so no Service"),
    ("    env: {A: '${agents.batch.url}'}", "agent 'batch' is a Job or CronJob, which has no Service"),
    ("    env: {A: '${deps.pg.host}'}", "${deps.pg.host}: no dependency named 'pg' (declare it under dependencies)"),
    ("    env: {A: '${secrets.vault.token}'}", "${secrets.vault.token}: no secret named 'vault' under secrets"),
    ("    env: {A: '${secrets.db.pass}'}", "${secrets.db.pass}: secret 'db' has no key 'pass' (declared keys: password)"),
    ("    command: [sh, -c, 'x ${secrets.db.password}']",
     "14:23: agents.me.command[2]: ${secrets.db.password}: secrets may be referenced only in env values"),
    ("    args: [a, '${agents.nats.nope}']", "14:15: agents.me.args[1]: ${agents.nats.nope}: unknown attribute"),
    ("    config: {files: {app.yaml: 'k: ${secrets.db.password}'}}",
     "14:22: agents.me.config.files.app.yaml: ${secrets.db.password}: secrets may be referenced only in env values"),
    ("    env: {A: '${release.name}'}", "${release.name}: ${release} has no attributes"),
    ("extraManifests:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: '${self.host}'}}",
     "15:67: extraManifests[0].data.a: ${self.host}: no agent holds this string"),
    ("extraManifests:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: '${agents.off.url}'}}",
     "extraManifests[0].data.a: ${agents.off.url}: agent 'off' is disabled"),
])
def test_bad_references_are_positioned_errors(tmp_path: Path, body: str, expected: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD_HEAD + body + "\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    lines = proc.stderr.splitlines()
    assert any(line.startswith(f"{spec}:") and expected in line for line in lines), proc.stderr
    assert len(lines) == 2, proc.stderr  # one problem, and the summary


def test_a_reference_to_an_agent_an_environment_disables(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD_HEAD + "    env: {A: '${agents.nats.host}'}\n"
                    "environments:\n  prod:\n    agents:\n      nats: {enabled: false}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        f"{spec}:14:11: environments.prod.agents.me.env.A: ${{agents.nats.host}}: agent 'nats' is disabled in "
        "environment 'prod' (enable 'nats', or remove the reference)")


def test_references_in_an_environment_override_are_checked(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD_HEAD + "environments:\n  prod:\n    agents:\n      me: {env: {B: '${agents.nats.ports.x}'}}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0].startswith(
        f"{spec}:17:18: environments.prod.agents.me.env.B: ${{agents.nats.ports.x}}: agent 'nats' has no port")


def test_text_that_only_looks_like_a_reference_is_accepted(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "ok.yaml"
    spec.write_text(BAD_HEAD + "    env: {A: '${HOME} ${NAMESPACE} ${role} ${NATS_URL:-x} $${agent.x} {{ .Values }}'}\n")
    chart = generate(spec, tmp_path / "out")
    env = _env(_container(template(helm, chart), "me"))
    assert env["A"] == "${HOME} ${NAMESPACE} ${role} ${NATS_URL:-x} ${agent.x} {{ .Values }}"


def test_a_secret_reference_in_env_is_accepted_at_generate_time(tmp_path: Path) -> None:
    spec = tmp_path / "ok.yaml"
    spec.write_text(BAD_HEAD + "    env: {DSN: 'root:${secrets.db.password}@tcp(${agents.nats.host}:3306)/x'}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr



# --- ${deps.NAME.…} and talksTo to a dependency (the dependencies contract of spec/dependencies.py) ---

KVSTORE = Path(__file__).resolve().parent / "charts" / "kvstore"


def _deps_spec(tmp: Path, agent: str, extra: str = "") -> Path:
    spec = tmp / "deps.yaml"
    spec.write_text(HEAD + f"""\
dependencies:
  kv: {{repository: 'file://{KVSTORE}', chart: kvstore, version: 1.2.3, port: 6379}}
  ext: {{repository: 'file://{KVSTORE}', chart: kvstore, version: 1.2.3, host: '${{release}}-outside.${{namespace}}'}}
agents:
  app:
    image: ghcr.io/acme/app:1
    port: 8080
{agent}{extra}""")
    return spec


def test_dependency_references_and_talks_to_resolve(tmp_path: Path, helm: Path) -> None:
    from tests.conftest import run_helm

    spec = _deps_spec(tmp_path, "    talksTo: [kv, {agent: kv, scheme: redis, path: /0, env: REDIS_URL}, ext]\n"
                                "    env: {KV: '${deps.kv.host}:${deps.kv.port}', EXT: '${deps.ext.url}'}\n")
    chart = generate(spec, tmp_path / "out")
    run_helm(helm, "dependency", "build", str(chart))
    for release, args in (("rel", ()), ("my-kv-release", ("--set", "kv.fullnameOverride=kvfo"))):
        objs = template(helm, chart, "--namespace", "ns1", *args, release=release)
        kv = [o["metadata"]["name"] for o in objs if o["kind"] == "Service"
              and o["metadata"]["labels"].get("app.kubernetes.io/name") == "kv"]
        assert len(kv) == 1
        assert _env(_container(objs, "app")) == {
            "KV": f"{kv[0]}:6379", "EXT": f"http://{release}-outside.ns1",
            "KV_URL": f"http://{kv[0]}:6379", "REDIS_URL": f"redis://{kv[0]}:6379/0",
            "EXT_URL": f"http://{release}-outside.ns1"}


@pytest.mark.parametrize("agent,extra,expected", [
    ("    env: {A: '${deps.kvv.host}'}\n", "", "11:11: agents.app.env.A: ${deps.kvv.host}: no dependency named 'kvv' "
                                            '(did you mean "kv"?)'),
    ("    env: {A: '${deps.kv.hots}'}\n", "", "11:11: agents.app.env.A: ${deps.kv.hots}: unknown attribute 'hots'"),
    ("    env: {A: '${deps.ext.port}'}\n", "", "11:11: agents.app.env.A: ${deps.ext.port}: dependency 'ext' has no "
                                             "port (set dependencies.ext.port)"),
    ("    env: {A: '${deps.kv.url}'}\n", "environments:\n  prod:\n    dependencies:\n      kv: {enabled: false}\n",
     "11:11: environments.prod.agents.app.env.A: ${deps.kv.url}: dependency 'kv' is disabled in environment 'prod'"),
    ("    talksTo: [{agent: kv, port: http}]\n", "",
     "11:27: agents.app.talksTo[0].port: dependency 'kv' has one port, so talksTo names none"),
])
def test_bad_dependency_references(tmp_path: Path, agent: str, extra: str, expected: str) -> None:
    spec = _deps_spec(tmp_path, agent, extra)
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0].startswith(f"{spec}:{expected}"), proc.stderr


def test_a_dependency_an_environment_disables_may_be_reached_through_its_host(tmp_path: Path) -> None:
    spec = _deps_spec(tmp_path, "    env: {A: '${deps.ext.host}'}\n",
                      "environments:\n  prod:\n    dependencies:\n      ext: {enabled: false}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr


def test_the_readme_topology_shows_reference_edges_once(tmp_path: Path) -> None:
    spec = tmp_path / "t.yaml"
    spec.write_text(HEAD + "agents:\n  a: {image: x:1, port: 80, talksTo: [b, {agent: b, env: B2}]}\n"
                    "  b: {image: x:1, port: 80}\n"
                    "  c: {image: x:1, port: 80, env: {X: '${agents.a.url} ${agents.b.host} ${self.url}'}}\n")
    readme = (generate(spec, tmp_path / "out") / "README.md").read_text()
    edges = [line.strip() for line in readme.splitlines() if " --> " in line and line.startswith("  ")]
    assert sorted(edges) == ["a_a --> a_b", "a_c --> a_a", "a_c --> a_b"]


def test_a_reference_an_environment_adds_resolves_and_admits(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "e.yaml"
    spec.write_text(HEAD + "agents:\n  a: {image: x:1, port: 80}\n  b: {image: x:1, port: 81}\n"
                    "environments:\n  prod:\n    agents:\n      b: {env: {A: '${agents.a.fqdn}:${agents.a.port}'}}\n")
    chart = generate(spec, tmp_path / "out")
    assert _callers(template(helm, chart), "a") == []
    objs = template(helm, chart, "-f", str(chart / "values-prod.yaml"), "--namespace", "prod", release="r")
    assert _env(_container(objs, "b")) == {"A": "r-a.prod.svc:80"}
    assert _callers(objs, "a") == ["b"]


def test_the_chart_and_the_checker_read_the_same_grammar(tmp_path: Path, helm: Path) -> None:
    """Strings built at random from the grammar's pieces: each one the checker accepts renders as the
    checker's reading of it says (references resolved, `$${` unescaped, everything else verbatim)."""
    import random

    from helmgen.problems import SpecError
    from helmgen.spec.check import load_spec
    from helmgen.spec.references import TOKEN

    pieces = ["$", "$$", "{", "}", "${", "$${", "release", "namespace", "HOME", ".", "x", " ", "\\", "{{", "}}",
              "'", '"', "${release}", "${namespace}", "${agents.a.host}", "${self.port}", "${agents.a.ports.http}",
              "${HOME}", "$${release}", "${x.y}", "$(VAR)", "\n"]
    rng = random.Random(10)
    values = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(400)]
    known = {"release": "rel", "namespace": "default", "agents.a.host": "rel-a", "self.port": "8080",
             "agents.a.ports.http": "80"}

    def reading(text: str) -> str:
        return TOKEN.sub(lambda m: "${" if m.group(1) is None else known.get(m.group(1), m.group(0)), text)

    accepted = []
    for i, v in enumerate(values):
        one = tmp_path / "one.yaml"
        one.write_text(yaml.safe_dump({"apiVersion": "agentgen/v1", "name": "g", "version": "0.1.0", "agents": {
            "a": {"image": "x:1", "port": 80}, "b": {"image": "x:1", "port": 8080, "env": {"V": v}}}}))
        try:
            load_spec(str(one))
        except SpecError:
            continue
        accepted.append((f"V{i}", v))
    assert len(accepted) > 150
    for piece in ("$${", "${agents.a.host}", "${self.port}", "${release}", "${HOME}"):
        assert any(piece in v for _, v in accepted), piece
    assert any(reading(v) != v for _, v in accepted)
    spec = tmp_path / "g.yaml"
    spec.write_text(yaml.safe_dump({"apiVersion": "agentgen/v1", "name": "g", "version": "0.1.0", "agents": {
        "a": {"image": "x:1", "port": 80}, "b": {"image": "x:1", "port": 8080, "env": dict(accepted)}}}))
    env = _env(_container(template(helm, generate(spec, tmp_path / "out")), "b"))
    for name, v in accepted:
        assert env[name] == reading(v), (v, env[name])
