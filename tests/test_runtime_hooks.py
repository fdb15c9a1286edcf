"""Hook Jobs (job.hook, hookWeight) and what a pre-* hook needs existing before it runs (issue 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import by_kind, generate, run_helm, template
from tests.test_check import errors

HEAD = "apiVersion: agentgen/v1\nname: hooks\nversion: 0.1.0\n"
SPEC = HEAD + textwrap.dedent("""
    secrets:
      db: {keys: [password]}
      vault: {keys: [token], external: {store: vault, remoteKey: prod/app}}
      prod: {keys: [k], existingSecret: prod-keys}
    agents:
      migrate:
        kind: Job
        image: ghcr.io/acme/migrate:1.0
        job: {hook: [pre-install, pre-upgrade], hookWeight: -5, backoffLimit: 1}
        env:
          DB_PASSWORD: {secret: db, key: password}
          TOKEN: {secret: vault, key: token}
          K: {secret: prod, key: k}
        config: {files: {schema.sql: "select 1"}}
        rbac:
          rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
          clusterRules: [{apiGroups: [""], resources: [namespaces], verbs: [get]}]
      notify:
        kind: Job
        image: ghcr.io/acme/notify:1.0
        job: {hook: [post-install]}
        env:
          DB_PASSWORD: {secret: db, key: password}
      api:
        image: ghcr.io/acme/api:1.0
        port: 8080
        env:
          DB_PASSWORD: {secret: db, key: password}
    """)


def _annotations(o: dict[str, Any]) -> dict[str, str]:
    return dict(o["metadata"].get("annotations") or {})


def _hook(o: dict[str, Any]) -> tuple[set[str], int] | None:
    ann = _annotations(o)
    if "helm.sh/hook" not in ann:
        return None
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation"
    return set(ann["helm.sh/hook"].split(",")), int(ann.get("helm.sh/hook-weight", "0"))


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return generate(spec, tmp_path / "out")


def test_hook_job_annotations(chart: Path, helm: Path) -> None:
    import kubernetes_validate

    objs = template(helm, chart)
    jobs = by_kind(objs, "Job")
    assert _hook(jobs["rel-migrate"]) == ({"pre-install", "pre-upgrade"}, -5)
    assert _hook(jobs["rel-notify"]) == ({"post-install"}, 0)
    for name in ("rel-migrate", "rel-notify"):
        assert "hook" not in jobs[name]["spec"] and "hookWeight" not in jobs[name]["spec"]
        kubernetes_validate.validate(jobs[name], "1.30.0", strict=True)
    assert jobs["rel-migrate"]["spec"]["backoffLimit"] == 1


def test_everything_a_pre_hook_job_reads_is_a_hook_with_a_lower_weight(chart: Path, helm: Path) -> None:
    objs = template(helm, chart)
    job = by_kind(objs, "Job")["rel-migrate"]
    events, weight = _hook(job) or (set(), 0)
    pod = job["spec"]["template"]["spec"]
    needed = [("ServiceAccount", pod["serviceAccountName"])]
    needed += [("ConfigMap", v["configMap"]["name"]) for v in pod["volumes"] if "configMap" in v]
    needed += [("Role", "rel-migrate"), ("RoleBinding", "rel-migrate")]
    needed += [("ClusterRole", "default-rel-migrate"), ("ClusterRoleBinding", "default-rel-migrate")]
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in pod["containers"][0]["env"]}
    assert secret_refs == {"DB_PASSWORD": "rel-db-hook", "TOKEN": "rel-vault-hook", "K": "prod-keys"}
    needed += [("Secret", "rel-db-hook"), ("ExternalSecret", "rel-vault-hook")]
    for kind, name in needed:
        obj = by_kind(objs, kind)[name]
        hook = _hook(obj)
        assert hook is not None, f"{kind} {name} is not a hook"
        assert events <= hook[0] and hook[1] < weight, (kind, name, hook)
    # the hook copy of the ExternalSecret creates the Secret the Job reads
    assert by_kind(objs, "ExternalSecret")["rel-vault-hook"]["spec"]["target"]["name"] == "rel-vault-hook"
    # the release's own Secret stays an ordinary object, read by the other agents
    assert _hook(by_kind(objs, "Secret")["rel-db"]) is None
    api = by_kind(objs, "Deployment")["rel-api"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert api[0]["valueFrom"]["secretKeyRef"]["name"] == "rel-db"
    # a post-install hook runs after the release's objects exist: nothing of its own is a hook
    notify = by_kind(objs, "Job")["rel-notify"]["spec"]["template"]["spec"]
    assert _hook(by_kind(objs, "ServiceAccount")[notify["serviceAccountName"]]) is None
    assert notify["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "rel-db"


def test_every_rendered_object_is_valid(chart: Path, helm: Path) -> None:
    import json

    import jsonschema
    import kubernetes_validate

    schema = json.loads((Path(__file__).parent / "crd-schemas" / "external-secrets.io" / "externalsecret_v1.json")
                        .read_text())
    for o in template(helm, chart):
        if o["kind"] == "ExternalSecret":
            jsonschema.validate(o, schema)
        else:
            kubernetes_validate.validate(o, "1.30.0", strict=True)


def test_hook_secret_copy_is_not_demanded_twice(chart: Path, helm: Path) -> None:
    proc = run_helm(helm, "template", "rel", str(chart), check=False)
    assert proc.returncode != 0
    assert "missing values for chart-managed secrets: secrets.db.values.password " in proc.stderr


def test_values_file_agent_can_be_a_hook_job(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "--set", "agents.seed.image.repository=busybox", "--set", "agents.seed.kind=Job",
                    "--set", "agents.seed.job.hook={post-install,post-upgrade}", "--set", "agents.seed.job.hookWeight=3")
    job = by_kind(objs, "Job")["rel-seed"]
    assert _hook(job) == ({"post-install", "post-upgrade"}, 3)
    assert "hook" not in job["spec"]


def _errors(tmp_path: Path, body: str) -> list[str]:
    return errors(tmp_path, body, HEAD)


def test_hook_on_a_cronjob_is_an_error(tmp_path: Path) -> None:
    assert _errors(tmp_path, """
        agents:
          a:
            image: nginx
            schedule: "0 * * * *"
            job: {hook: [pre-install]}
        """) == ["spec.yaml:8:11: agents.a.job.hook: applies to a Job, not to a CronJob (set kind: Job, or drop hook)"]


def test_hook_weight_without_hook_and_unknown_event(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            kind: Job
            job: {hookWeight: 2}
          b:
            image: nginx
            kind: Job
            job: {hook: [pre-delete]}
        """)
    assert lines[0] == ("spec.yaml:8:11: agents.a.job.hookWeight: orders hooks, and this Job is not one "
                        "(give job.hook, for example [pre-install])")
    assert lines[1].startswith("spec.yaml:12:18: agents.b.job.hook[0]: 'pre-delete' is not allowed"), lines


def test_hook_chart_lints(chart: Path, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(chart), "--set", "secrets.db.values.password=x")


def test_a_secret_named_like_a_hook_copy_is_an_error(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        secrets:
          db: {keys: [a]}
          db-hook: {keys: [b]}
        agents:
          m:
            image: nginx
            kind: Job
            job: {hook: [pre-install]}
            env: {A: {secret: db, key: a}}
        """)
    assert lines == ["spec.yaml:6:3: secrets.db-hook: its Secret <release>-db-hook is also the hook copy of secret "
                     "'db', which the pre-* hook Job 'm' reads (give this secret another name)"]


def test_sharing_a_pre_hook_jobs_service_account_is_an_error(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          m:
            image: nginx
            kind: Job
            job: {hook: [pre-install]}
            serviceAccount: {name: setup}
          api:
            image: nginx
            serviceAccount: {create: false, name: setup}
        """)
    assert lines == ["spec.yaml:12:37: agents.api.serviceAccount.name: 'setup' is the ServiceAccount of the pre-* "
                     "hook Job 'm', which each release deletes and creates anew (give this agent a ServiceAccount of "
                     "its own)"]
