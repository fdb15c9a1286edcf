"""Secrets at runtime: secretMounts (no subPath), a checksum per chart-managed Secret on the pods that
read it through env, stakater Reloader's annotation for existing and external Secrets (issue 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import by_kind, generate, run_helm, template
from tests.test_check import errors

HEAD = "apiVersion: agentgen/v1\nname: sm\nversion: 0.1.0\n"
SPEC = HEAD + textwrap.dedent("""
    secrets:
      db: {keys: [password]}
      tls: {keys: [tls.crt]}
      ext: {keys: [token], external: {store: vault, remoteKey: app}, reload: restart}
      prod: {keys: [k], existingSecret: prod-keys}
    agents:
      api:
        image: ghcr.io/acme/api:1.0
        port: 8080
        env:
          DB_PASSWORD: {secret: db, key: password}
          TOKEN: {secret: ext, key: token}
        secretMounts:
          tls: {mountPath: /etc/tls}
          prod: {mountPath: /etc/prod, reload: restart}
          some.existing: {mountPath: /etc/x, reload: restart}
      web:
        image: ghcr.io/acme/web:1.0
        port: 80
        secretMounts:
          tls: {mountPath: /etc/tls, reload: restart}
          db: {mountPath: /etc/db}
      quiet:
        image: ghcr.io/acme/quiet:1.0
        port: 80
    """)
VALUES = ("--set", "secrets.db.values.password=one", "--set", "secrets.tls.values.tls\\.crt=cert")


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return generate(spec, tmp_path / "out")


def _pod(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    pod: dict[str, Any] = by_kind(objs, "Deployment")[name]["spec"]["template"]
    return pod


def test_secret_mounts_are_whole_secret_volumes(chart: Path, helm: Path) -> None:
    import kubernetes_validate

    objs = template(helm, chart, *VALUES, with_secrets=False)
    spec = _pod(objs, "rel-api")["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["secret-tls"] == {"name": "secret-tls", "secret": {"secretName": "rel-tls"}}
    assert volumes["secret-prod"]["secret"]["secretName"] == "prod-keys"
    assert volumes["secret-some-existing"]["secret"]["secretName"] == "some.existing"
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/etc/tls"] == {"name": "secret-tls", "mountPath": "/etc/tls", "readOnly": True}
    assert not any("subPath" in m for m in mounts.values())
    for o in objs:
        if o["kind"] == "Deployment":
            kubernetes_validate.validate(o, "1.30.0", strict=True)


def test_checksum_only_of_the_secret_a_pod_reads(chart: Path, helm: Path) -> None:
    before = template(helm, chart, *VALUES, with_secrets=False)
    api = _pod(before, "rel-api")["metadata"]["annotations"]
    web = _pod(before, "rel-web")["metadata"]["annotations"]
    assert set(k for k in api if k.startswith("checksum/")) == {"checksum/secret-db"}  # env; tls is mounted live
    assert set(k for k in web if k.startswith("checksum/")) == {"checksum/secret-tls"}  # reload: restart; db is live
    assert "annotations" not in _pod(before, "rel-quiet")["metadata"]
    after = template(helm, chart, "--set", "secrets.db.values.password=two", *VALUES[2:], with_secrets=False)
    assert _pod(after, "rel-api")["metadata"]["annotations"]["checksum/secret-db"] != api["checksum/secret-db"]
    assert _pod(after, "rel-web") == _pod(before, "rel-web")  # mounts db live: unchanged
    assert _pod(after, "rel-quiet") == _pod(before, "rel-quiet")


def test_reloader_annotation_for_existing_and_external_secrets(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, *VALUES, with_secrets=False)
    deps = by_kind(objs, "Deployment")
    assert deps["rel-api"]["metadata"]["annotations"] == {
        "secret.reloader.stakater.com/reload": "prod-keys,rel-ext,some.existing"}
    assert "annotations" not in deps["rel-web"]["metadata"]


def test_values_file_agent_gets_secret_mounts_and_checksum(chart: Path, helm: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"agents": {"late": {
        "image": {"repository": "nginx"}, "ports": {"http": {"port": 80}},
        "env": {"P": {"secret": "db", "key": "password"}},
        "secretMounts": {"tls": {"mountPath": "/etc/tls", "reload": "restart"}}}}}))
    objs = template(helm, chart, "-f", str(extra), *VALUES, with_secrets=False)
    pod = _pod(objs, "rel-late")
    assert set(k for k in pod["metadata"]["annotations"] if k.startswith("checksum/")) == {
        "checksum/secret-db", "checksum/secret-tls"}
    assert {"name": "secret-tls", "secret": {"secretName": "rel-tls"}} in pod["spec"]["volumes"]


def test_secret_mounts_lint(chart: Path, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(chart), *VALUES)


def _errors(tmp_path: Path, body: str) -> list[str]:
    return errors(tmp_path, body, HEAD)


def test_secret_mount_collisions_are_errors(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            config: {mountPath: /etc/a, files: {x: y}}
            volumes: [{name: secret-tls, emptyDir: {}}]
            volumeMounts: [{name: secret-tls, mountPath: /mnt/x}]
            secretMounts:
              tls: {mountPath: /tmp}
              other: {mountPath: /etc/a/}
              more: {mountPath: /mnt/x}
        """)
    assert sorted(lines) == sorted([
        "spec.yaml:11:13: agents.a.secretMounts.tls.mountPath: '/tmp' is already the mount path of the writable /tmp "
        "(mount the secret at another path)",
        "spec.yaml:11:7: agents.a.secretMounts.tls: its volume 'secret-tls' is already the name of volumes[0] "
        "(rename that volume)",
        "spec.yaml:12:15: agents.a.secretMounts.other.mountPath: '/etc/a/' is already the mount path of the config "
        "files (mount the secret at another path)",
        "spec.yaml:13:14: agents.a.secretMounts.more.mountPath: '/mnt/x' is already the mount path of volumeMounts[0] "
        "(mount the secret at another path)",
    ])


def test_reload_restart_on_a_created_secret_is_an_error(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        secrets:
          db: {keys: [a], reload: restart}
        agents:
          a: {image: nginx}
        """)
    assert len(lines) == 1 and lines[0].startswith("spec.yaml:5:") and "secrets.db.reload: applies to an " \
        "existingSecret or external secret" in lines[0]


def test_plain_job_pod_template_does_not_change_with_the_secret(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        secrets:
          db: {keys: [password]}
        agents:
          once:
            kind: Job
            image: nginx
            env: {P: {secret: db, key: password}}
          hooked:
            kind: Job
            image: nginx
            job: {hook: [post-upgrade]}
            env: {P: {secret: db, key: password}}
          nightly:
            image: nginx
            schedule: "0 3 * * *"
            env: {P: {secret: db, key: password}}
        """))
    chart = generate(spec, tmp_path / "out")
    one = template(helm, chart, "--set", "secrets.db.values.password=one", with_secrets=False)
    two = template(helm, chart, "--set", "secrets.db.values.password=two", with_secrets=False)
    # a Job's pod template is immutable: a checksum there would fail the upgrade
    assert by_kind(one, "Job")["rel-once"] == by_kind(two, "Job")["rel-once"]

    def checksum(objs: list[dict[str, Any]], kind: str, name: str) -> str:
        o = by_kind(objs, kind)[name]["spec"]
        pod = o["jobTemplate"]["spec"]["template"] if kind == "CronJob" else o["template"]
        value: str = pod["metadata"]["annotations"]["checksum/secret-db"]
        return value

    assert checksum(one, "Job", "rel-hooked") != checksum(two, "Job", "rel-hooked")  # replaced each release
    assert checksum(one, "CronJob", "rel-nightly") != checksum(two, "CronJob", "rel-nightly")
