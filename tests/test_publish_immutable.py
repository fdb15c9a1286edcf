"""Immutability decided from what a repository lists (the parsed index.yaml, Helm's version
equality), "published" only when it is true, credentials never printed, --bump touching only the
version value and only after a publish that succeeded."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import helm_path, helmgen_cli, run_helm
from tests.test_publish import SPEC, home, registry, spec  # noqa: F401 - fixtures
from tests.test_publish_hostile import snapshot


def package_as(tmp: Path, version: str, replicas: int = 3) -> Path:
    """research-crew packaged by Helm with Chart.yaml's version set to `version` as written."""
    out = tmp / f"gen-{version}-{replicas}"
    spec_file = tmp / f"crew-{version}-{replicas}.yaml"
    spec_file.write_text(SPEC.read_text().replace("replicas: 3", f"replicas: {replicas}"))
    assert helmgen_cli("generate", str(spec_file), "-o", str(out)).returncode == 0
    chart = out / "research-crew"
    meta = chart / "Chart.yaml"
    meta.write_text(re.sub(r"^version: .*$", f'version: "{version}"', meta.read_text(), count=1, flags=re.M))
    run_helm(helm_path("4.3.1"), "package", str(chart), "-d", str(tmp / f"pkg-{version}-{replicas}"))
    return next((tmp / f"pkg-{version}-{replicas}").glob("*.tgz"))


def entries(repo: Path) -> list[dict[str, object]]:
    return list(yaml.safe_load((repo / "index.yaml").read_text())["entries"]["research-crew"])


def test_listed_version_is_immutable_whatever_the_file_name(spec: Path, tmp_path: Path,  # noqa: F811
                                                            home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    assert helmgen_cli("publish", str(spec), "--to", str(repo), env=home).returncode == 0
    # the operator renamed the package; index.yaml still lists 0.3.0, now under the new name
    (repo / "research-crew-0.3.0.tgz").rename(repo / "crew-release.tgz")
    index = yaml.safe_load((repo / "index.yaml").read_text())
    index["entries"]["research-crew"][0]["urls"] = ["crew-release.tgz"]
    (repo / "index.yaml").write_text(yaml.safe_dump(index))
    before = snapshot(repo)
    same = helmgen_cli("publish", str(spec), "--to", str(repo), env=home)
    assert same.returncode == 0 and "already published, unchanged" in same.stdout, same.stderr
    assert str(repo / "crew-release.tgz") in same.stdout
    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    refused = helmgen_cli("publish", str(spec), "--to", str(repo), env=home)
    assert refused.returncode == 1 and "research-crew 0.3.0 is already published" in refused.stderr, refused.stderr
    assert "published" not in refused.stdout
    assert snapshot(repo) == before


@pytest.mark.parametrize("kind", ["folder", "oci"])
@pytest.mark.parametrize("listed", ["v0.3.0", "0.3.0+build.2"])
def test_a_version_helm_treats_as_the_same_is_refused(listed: str, kind: str, spec: Path, tmp_path: Path,  # noqa: F811
                                                      registry: str, home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    name = f"same-{listed.replace('+', '-')}"
    target, extra = (str(repo), []) if kind == "folder" else (f"oci://{registry}/{name}", ["--plain-http"])
    proc = helmgen_cli("publish", str(package_as(tmp_path, listed)), "--to", target, *extra, env=home)
    assert proc.returncode == 0, proc.stderr
    if kind == "folder":
        assert [e["version"] for e in entries(repo)] == [listed]
    before = snapshot(repo) if kind == "folder" else tags(registry, f"{name}/research-crew")
    for source in (spec, package_as(tmp_path, "0.3.0")):  # a spec, and a package: both 0.3.0
        refused = helmgen_cli("publish", str(source), "--to", target, *extra, env=home)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "research-crew 0.3.0 is already published" in refused.stderr
        assert f"as {listed}: Helm treats them as the same version" in refused.stderr and "0.3.1" in refused.stderr
        assert (snapshot(repo) if kind == "folder" else tags(registry, f"{name}/research-crew")) == before
    bumped = helmgen_cli("publish", str(package_as(tmp_path, "0.3.1")), "--to", target, *extra, env=home)
    assert bumped.returncode == 0 and "research-crew 0.3.1: published" in bumped.stdout, bumped.stderr


def tags(registry: str, repository: str) -> list[str]:  # noqa: F811
    with urllib.request.urlopen(f"http://{registry}/v2/{repository}/tags/list") as r:
        return sorted(json.load(r)["tags"])


def test_index_only_repository_is_protected(spec: Path, tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    """index.yaml lists 0.3.0 at a URL elsewhere (packages on a CDN): nothing to compare, so refuse."""
    full = tmp_path / "full"
    assert helmgen_cli("publish", str(spec), "--to", str(full), "--url", "https://cdn.example.org/charts",
                       env=home).returncode == 0
    repo = tmp_path / "index-only"
    repo.mkdir()
    (repo / "index.yaml").write_bytes((full / "index.yaml").read_bytes())
    before = snapshot(repo)
    for text in (spec.read_text(), spec.read_text().replace("replicas: 3", "replicas: 4")):
        spec.write_text(text)
        refused = helmgen_cli("publish", str(spec), "--to", str(repo), env=home)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "research-crew 0.3.0 is already listed" in refused.stderr
        assert "https://cdn.example.org/charts/research-crew-0.3.0.tgz" in refused.stderr
        assert "cannot be compared" in refused.stderr and "0.3.1" in refused.stderr
        assert snapshot(repo) == before


def unloadable_package(tmp: Path) -> Path:
    """A package every guard here accepts but Helm cannot load (an invalid chart type): `helm repo
    index` skips it without an error."""
    chart_yaml = b"apiVersion: v2\nname: odd\nversion: 1.0.0\ntype: weird\n"
    path = tmp / "odd-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as t:
        for name, data in (("odd/Chart.yaml", chart_yaml), ("odd/values.yaml", b"{}\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def test_published_only_when_the_index_lists_it(spec: Path, tmp_path: Path, registry: str,  # noqa: F811
                                                home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    assert helmgen_cli("publish", str(spec), "--to", str(repo), env=home).returncode == 0
    before = snapshot(repo)
    odd = unloadable_package(tmp_path)
    proc = helmgen_cli("publish", str(odd), "--to", str(repo), env=home)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "published" not in proc.stdout and "did not list odd 1.0.0" in proc.stderr
    assert snapshot(repo) == before  # neither the package nor a changed index.yaml
    proc = helmgen_cli("publish", str(odd), "--to", f"oci://{registry}/odd", "--plain-http", env=home)
    assert proc.returncode == 1 and "published" not in proc.stdout, (proc.stdout, proc.stderr)


def test_registry_credentials_are_never_printed(spec: Path, tmp_path: Path, registry: str,  # noqa: F811
                                                home: dict[str, str]) -> None:  # noqa: F811
    secret = "pa55-w0rd!x"
    target = f"oci://ci-bot:{secret}@{registry}/creds"
    first = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert first.returncode == 0, first.stderr.replace(secret, "SECRET-LEAKED")
    assert f"research-crew 0.3.0: published (oci://{registry}/creds/research-crew:0.3.0)" in first.stdout
    again = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert again.returncode == 0 and "already published, unchanged" in again.stdout
    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    refused = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert refused.returncode == 1 and "is already published" in refused.stderr
    # helm's own error echoed: no TLS on this registry, so without --plain-http helm fails talking to it
    failed = helmgen_cli("publish", str(spec), "--to", target, env=home)
    unreachable = helmgen_cli("publish", str(spec), "--to", f"oci://ci-bot:{secret}@127.0.0.1:1/x", "--plain-http",
                              env=home)
    for proc in (first, again, refused, failed, unreachable):
        assert secret not in proc.stdout + proc.stderr and "ci-bot:" not in proc.stdout + proc.stderr
    assert failed.returncode == 1 and unreachable.returncode == 1
    assert "cannot read" in failed.stderr and "cannot read" in unreachable.stderr


ODD_SPEC_HEAD = '''# yaml-language-server: $schema=../schemas/agentgen-v1.schema.json
apiVersion:    agentgen/v1
name: research-crew
version:   "0.3.0"    # the chart version, quoted on purpose; a very long comment that a YAML dumper would keep but move
appVersion: '1.8.2'
description: Research assistant with a planner, two workers, a retriever and an evaluator, described on one line far past eighty columns
'''


def odd_spec(path: Path) -> bytes:
    """research-crew with long lines, quoted scalars, odd indentation and flow maps."""
    text = SPEC.read_text()
    body = text[text.index("kubeVersion:"):]
    body = body.replace("defaults:\n  resources: {cpu: 100m, memory: 256Mi}\n  env:\n    LOG_LEVEL: info\n",
                        "defaults:\n     resources: { cpu: 100m,   memory: 256Mi }\n     env:\n"
                        "          LOG_LEVEL: info\n")
    data = (ODD_SPEC_HEAD + body).encode()
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("kind", ["folder", "oci"])
def test_bump_changes_only_the_version_value_and_only_on_success(kind: str, tmp_path: Path, registry: str,  # noqa: F811
                                                                 home: dict[str, str]) -> None:  # noqa: F811
    spec_file = tmp_path / "crew.yaml"
    original = odd_spec(spec_file)
    assert helmgen_cli("validate", str(spec_file)).returncode == 0
    target, extra = (str(tmp_path / "repo"), []) if kind == "folder" else (f"oci://{registry}/bump", ["--plain-http"])
    # 0.3.1 is already published with other content: the bumped publish is refused, the spec stays as it was
    other = package_as(tmp_path, "0.3.1", replicas=5)
    assert helmgen_cli("publish", str(other), "--to", target, *extra, env=home).returncode == 0
    refused = helmgen_cli("publish", str(spec_file), "--to", target, *extra, "--bump", "patch", env=home)
    assert refused.returncode == 1 and "research-crew 0.3.1 is already published" in refused.stderr
    assert spec_file.read_bytes() == original
    broken = helmgen_cli("publish", str(spec_file), "--to", str(tmp_path / "nope"), "--url", "ftp://x", "--bump",
                         "minor", env=home)
    assert broken.returncode == 2 and spec_file.read_bytes() == original
    bumped = helmgen_cli("publish", str(spec_file), "--to", target, *extra, "--bump", "minor", env=home)
    assert bumped.returncode == 0, bumped.stderr
    assert "version 0.3.0 -> 0.4.0" in bumped.stdout and "research-crew 0.4.0: published" in bumped.stdout
    assert spec_file.read_bytes() == original.replace(b'version:   "0.3.0"', b'version:   "0.4.0"', 1)
    assert list(tmp_path.glob(".crew.yaml*")) == []  # no temporary file left beside the spec


def test_bump_keeps_crlf_and_an_unquoted_version(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    spec_file = tmp_path / "crew.yaml"
    original = SPEC.read_bytes().replace(b"\n", b"\r\n")
    spec_file.write_bytes(original)
    proc = helmgen_cli("publish", str(spec_file), "--to", str(tmp_path / "repo"), "--bump", "patch", env=home)
    assert proc.returncode == 0, proc.stderr
    assert spec_file.read_bytes() == original.replace(b"version: 0.3.0\r\n", b"version: 0.3.1\r\n", 1)



def test_bump_through_a_linked_spec_raises_the_file_it_names(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    real = tmp_path / "specs" / "crew.yaml"
    real.parent.mkdir()
    real.write_bytes(SPEC.read_bytes())
    link = tmp_path / "crew.yaml"
    link.symlink_to(real)
    proc = helmgen_cli("publish", str(link), "--to", str(tmp_path / "repo"), "--bump", "patch", env=home)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == SPEC.read_bytes().replace(b"version: 0.3.0\n", b"version: 0.3.1\n", 1)


def test_build_metadata_is_no_pre_release(spec: Path, tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    """1.4.0+build.2 is followed by 1.4.1 (the refusal's hint and --bump), not by itself."""
    repo = tmp_path / "repo"
    assert helmgen_cli("publish", str(package_as(tmp_path, "1.4.0+build.2")), "--to", str(repo), env=home).returncode == 0
    refused = helmgen_cli("publish", str(package_as(tmp_path, "1.4.0+build.2", replicas=5)), "--to", str(repo), env=home)
    assert refused.returncode == 1 and "Publish it as 1.4.1 " in refused.stderr, refused.stderr
    spec_file = tmp_path / "crew.yaml"
    original = SPEC.read_bytes().replace(b"version: 0.3.0\n", b"version: 0.3.0+build.2\n", 1)
    spec_file.write_bytes(original)
    proc = helmgen_cli("publish", str(spec_file), "--to", str(repo), "--bump", "patch", env=home)
    assert proc.returncode == 0 and "version 0.3.0+build.2 -> 0.3.1" in proc.stdout, proc.stderr
    assert spec_file.read_bytes() == original.replace(b"version: 0.3.0+build.2\n", b"version: 0.3.1\n", 1)


@pytest.mark.parametrize("written, raised", [
    (b"version: !!str 0.3.0\n", b"version: !!str 0.3.1\n"),
    (b"version: &v 0.3.0\nappVersion: *v\n", b"version: &v 0.3.1\nappVersion: *v\n"),
])
def test_bump_keeps_a_tag_or_an_anchor(written: bytes, raised: bytes, tmp_path: Path,
                                       home: dict[str, str]) -> None:  # noqa: F811
    """Only the scalar's characters change; a value that aliases the version follows it."""
    spec_file = tmp_path / "crew.yaml"
    original = SPEC.read_bytes().replace(b"version: 0.3.0\n", written, 1)
    if b"appVersion: *v" in written:
        original = original.replace(b'appVersion: "1.8.2"\n', b"", 1)
    spec_file.write_bytes(original)
    repo = tmp_path / "repo"
    proc = helmgen_cli("publish", str(spec_file), "--to", str(repo), "--bump", "patch", env=home)
    assert proc.returncode == 0 and "research-crew 0.3.1: published" in proc.stdout, proc.stderr
    assert spec_file.read_bytes() == original.replace(written, raised, 1)
    entry = entries(repo)[0]
    assert entry["version"] == "0.3.1"
    assert entry["appVersion"] == ("0.3.1" if b"*v" in written else "1.8.2")


@pytest.mark.parametrize("args, message", [
    (["--to", ""], "--to is empty"),
    (["--to", "oci://ci:s3cr3t-pw@"], "no registry host"),
    (["--to", "oci://127.0.0.1:5000/Charts"], "not a valid OCI repository name"),
    (["--to", "oci://ci:s3cr3t-pw@127.0.0.1:99999/charts"], "not a valid registry address"),
    (["--to", "oci://127.0.0.1:port/charts"], "not a valid registry address"),
    (["--to", "REPO", "--sign", "--key", "k", "--keyring", "/nonexistent/secring.gpg"], "--keyring"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, spec: Path, tmp_path: Path,  # noqa: F811
                                          home: dict[str, str]) -> None:  # noqa: F811
    args = [str(tmp_path / "repo") if a == "REPO" else a for a in args]
    proc = helmgen_cli("publish", str(spec), *args, env=home, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert "s3cr3t-pw" not in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec.name]  # nothing written, not even in the cwd


def test_a_package_named_otherwise_and_its_provenance(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    """SOURCE is a package by its gzip bytes, whatever its name; a .prov beside it is published with it."""
    source = tmp_path / "crew.tar.gz"
    source.write_bytes(package_as(tmp_path, "0.3.0").read_bytes())
    prov = tmp_path / "crew.tar.gz.prov"
    prov.write_bytes(b"-----BEGIN PGP SIGNED MESSAGE-----\n(a provenance file)\n")
    repo = tmp_path / "repo"
    proc = helmgen_cli("publish", str(source), "--to", str(repo), env=home)
    assert proc.returncode == 0 and "research-crew 0.3.0: published" in proc.stdout, proc.stderr
    assert (repo / "research-crew-0.3.0.tgz").read_bytes() == source.read_bytes()
    assert (repo / "research-crew-0.3.0.tgz.prov").read_bytes() == prov.read_bytes()


def test_a_fifo_as_source_is_refused(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    fifo = tmp_path / "crew.yaml"
    os.mkfifo(fifo)
    proc = helmgen_cli("publish", str(fifo), "--to", str(tmp_path / "repo"), env=home)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1 and not (tmp_path / "repo").exists()
