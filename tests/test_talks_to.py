"""talksTo items as a name or {agent, port, scheme, path, env: NAME | false} (issue #10): the
variable each sets, the NetworkPolicy each opens, in spec and values-file agents, and their bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRD_KINDS, generate, helmgen_cli, run_helm, secret_sets, template

HEAD = "apiVersion: agentgen/v1\nname: talk\nversion: 0.1.0\n"
AGENTS = """\
agents:
  nats: {image: nats:2.10, ports: {client: 4222, monitor: 8222}}
  api: {image: ghcr.io/acme/api:1, port: 8080}
  db: {image: ghcr.io/acme/db:1, port: 5432}
  caller:
    image: ghcr.io/acme/caller:1
    port: 9000
"""
SPEC = HEAD + AGENTS + """\
    talksTo:
      - api
      - {agent: nats, port: client, scheme: nats}
      - {agent: nats, port: monitor, path: /varz, env: NATS_MONITOR}
      - {agent: api, scheme: https, path: /v1, env: API_V1}
      - {agent: db, env: false}
"""
LONG = "a-release-name-that-is-long-enough-to-shorten-names-x"


def _env(objs: list[dict[str, Any]], agent: str) -> dict[str, str]:
    dep = next(o for o in objs if o["kind"] == "Deployment"
               and o["metadata"]["labels"]["app.kubernetes.io/component"] == agent)
    env = dep["spec"]["template"]["spec"]["containers"][0].get("env", [])
    assert len(env) == len({e["name"] for e in env}), env  # no variable twice
    return {e["name"]: e["value"] for e in env}


def _service(objs: list[dict[str, Any]], agent: str) -> str:
    return str(next(o for o in objs if o["kind"] == "Service"
                    and o["metadata"]["labels"]["app.kubernetes.io/component"] == agent)["metadata"]["name"])


def _callers(objs: list[dict[str, Any]], agent: str) -> list[str]:
    np = next(o for o in objs if o["kind"] == "NetworkPolicy"
              and o["metadata"]["labels"].get("app.kubernetes.io/component") == agent)
    return [v for rule in np["spec"]["ingress"] for peer in rule.get("from", [])
            for e in peer.get("podSelector", {}).get("matchExpressions", []) for v in e["values"]]


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("talk")
    (tmp / "talk.yaml").write_text(SPEC)
    return generate(tmp / "talk.yaml", tmp / "out")


@pytest.mark.parametrize("release,args", [("rel", ()), ("rel", ("--set", "fullnameOverride=fo")), (LONG, ())],
                         ids=["release", "fullnameOverride", "long-release"])
def test_each_form_sets_its_variable(chart: Path, helm: Path, release: str, args: tuple[str, ...]) -> None:
    objs = template(helm, chart, *args, release=release)
    nats, api = _service(objs, "nats"), _service(objs, "api")
    assert _env(objs, "caller") == {
        "API_URL": f"http://{api}:8080",
        "NATS_URL": f"nats://{nats}:4222",
        "NATS_MONITOR": f"http://{nats}:8222/varz",
        "API_V1": f"https://{api}:8080/v1",
    }  # env: false injects nothing
    for target in ("nats", "api", "db"):
        assert _callers(objs, target) == ["caller"]


def test_objects_are_valid_kubernetes(chart: Path, helm: Path) -> None:
    import kubernetes_validate

    for obj in template(helm, chart, release=LONG):
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_values_file_talks_to_objects(chart: Path, helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"extra": {
        "image": {"repository": "ghcr.io/acme/extra", "tag": "1"},
        "talksTo": ["db", {"agent": "nats", "port": "client", "scheme": "nats", "env": "BUS"},
                    {"agent": "api", "env": False}]}}}))
    objs = template(helm, chart, "-f", str(values))
    assert _env(objs, "extra") == {"DB_URL": "http://rel-db:5432", "BUS": "nats://rel-nats:4222"}
    assert _callers(objs, "api") == ["caller", "extra"]
    assert _callers(objs, "nats") == ["caller", "extra"]


def test_values_schema_rejects_a_misspelt_talks_to_key(chart: Path, helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"caller": {"talksTo": [{"agent": "api", "prot": "http"}]}}}))
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(values), check=False)
    assert proc.returncode != 0
    assert "prot" in proc.stderr


def test_values_schema_takes_env_false_but_not_true(chart: Path, helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"caller": {"talksTo": [{"agent": "api", "env": True}]}}}))
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(values), check=False)
    assert proc.returncode != 0 and "talksTo" in proc.stderr


def test_a_values_file_port_the_target_lacks_fails_the_render(chart: Path, helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"caller": {"talksTo": [{"agent": "api", "port": "grpc"}]}}}))
    proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "-f", str(values), check=False)
    assert proc.returncode != 0
    assert 'agents.caller.talksTo: agent "api" has no port named "grpc"' in proc.stderr


@pytest.mark.parametrize("items,expected", [
    ("[{agent: ghost}]", "11:15: agents.caller.talksTo[0]: no agent named 'ghost' (agents: nats, api, db, caller)"),
    ("[{agent: nats, port: clinet}]", "11:29: agents.caller.talksTo[0].port: agent 'nats' has no port named "
                                      "'clinet' (did you mean \"client\"?)"),
    ("[{agent: nats, env: 1BAD}]", "11:34: agents.caller.talksTo[0].env: '1BAD' is not a valid environment "
                                   "variable name"),
    ("[{agent: nats, env: [X]}]", "11:34: agents.caller.talksTo[0].env: expected a variable name or false"),
    ("[{agent: nats, scheme: 'Not A Scheme'}]", "11:37: agents.caller.talksTo[0].scheme: 'Not A Scheme' is not a URL scheme"),
    ("[{agent: nats, path: v1}]", "11:35: agents.caller.talksTo[0].path: 'v1' is not a path starting with '/'"),
    ("[{agent: nats, prot: x}]", "11:29: agents.caller.talksTo[0].prot: unknown field (did you mean \"port\"?)"),
    ("[nats, {agent: nats, port: monitor}]", "11:21: agents.caller.talksTo[1]: sets NATS_URL, as talksTo[0] does"),
    ("[{agent: api, env: HOME}]\n    env: {HOME: /x}", "11:28: agents.caller.talksTo[0].env: HOME is also set in env"),
    ("[{agent: caller, env: SELF}]", "11:15: agents.caller.talksTo[0]: an agent cannot talk to itself"),
])
def test_bad_talks_to_items(tmp_path: Path, items: str, expected: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(HEAD + AGENTS + f"    talksTo: {items}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / "out").exists()
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{expected}"), proc.stderr


def test_a_renamed_variable_allows_a_target_that_starts_with_a_digit(tmp_path: Path) -> None:
    spec = tmp_path / "ok.yaml"
    spec.write_text(HEAD + AGENTS + "  9lives: {image: x:1, port: 80}\n"
                    "  c2:\n    image: x:1\n    talksTo: [{agent: 9lives, env: LIVES}]\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr


def test_helm_test_checks_each_called_port_once(chart: Path, helm: Path) -> None:
    objs = template(helm, chart)
    job = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["labels"].get("app.kubernetes.io/component") == "caller"
               and "helm.sh/hook" in o["metadata"].get("annotations", {}))
    text = yaml.safe_dump(job["spec"]["template"]["spec"]["containers"])
    checks = [line.strip().strip("-").strip().strip("'\"") for line in text.splitlines() if "tcp rel-" in line]
    # its own port; api (primary port, twice in talksTo), nats client and monitor, db (env: false still calls it)
    assert sorted(checks) == ["tcp rel-api 8080", "tcp rel-caller 9000", "tcp rel-db 5432", "tcp rel-nats 4222", "tcp rel-nats 8222"]
