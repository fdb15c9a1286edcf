"""Publishing against real servers started here on 127.0.0.1: Debian's docker-registry
(distribution 2.8) for OCI, and an HTTP server over a classic repository folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, HELM_VERSIONS, helm_path, helmgen_cli, run_helm

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if not binary:
        pytest.fail("docker-registry is not installed: run the tests with scripts/test.sh, which installs it")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hf"),
               HELM_DATA_HOME=str(tmp_path / "hd"), HELM_BIN=str(helm_path("4.3.1")))
    return env


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    p = tmp_path / "research-crew.yaml"
    p.write_text(SPEC.read_text())
    return p


def contents(tgz: Path) -> dict[str, bytes]:
    with tarfile.open(tgz) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_oci_publish_read_back_republish_and_refuse(registry: str, spec: Path, home: dict[str, str],
                                                    tmp_path: Path) -> None:
    target = f"oci://{registry}/charts"
    first = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert first.returncode == 0, first.stderr
    assert "research-crew 0.3.0: published" in first.stdout
    for version in HELM_VERSIONS:
        dest = tmp_path / f"pull-{version}"
        dest.mkdir()
        run_helm(helm_path(version), "pull", f"{target}/research-crew", "--version", "0.3.0", "--plain-http",
                 "-d", str(dest), env=home)
        pulled = contents(next(dest.glob("*.tgz")))
        assert yaml.safe_load(pulled["research-crew/Chart.yaml"])["version"] == "0.3.0"
        assert "research-crew/values-prod.yaml" in pulled
    again = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert again.returncode == 0, again.stderr
    assert "already published, unchanged" in again.stdout
    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    refused = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", env=home)
    assert refused.returncode == 1
    assert "research-crew 0.3.0 is already published" in refused.stderr and "0.3.1" in refused.stderr
    bumped = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", "--bump", "patch", env=home)
    assert bumped.returncode == 0, bumped.stderr
    assert "research-crew 0.3.1: published" in bumped.stdout
    text = spec.read_text()
    assert "version: 0.3.1\n" in text and text.startswith("# yaml-language-server")  # comments kept
    assert "appVersion: \"1.8.2\"" in text  # layout and quoting kept


def test_classic_repository_two_versions(spec: Path, home: dict[str, str], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert helmgen_cli("publish", str(spec), "--to", str(repo), "--url", url, env=home).returncode == 0
    index_before = yaml.safe_load((repo / "index.yaml").read_text())
    spec.write_text(spec.read_text().replace("version: 0.3.0", "version: 0.4.0"))
    proc = helmgen_cli("publish", str(spec), "--to", str(repo), "--url", url, env=home)
    assert proc.returncode == 0, proc.stderr
    index = yaml.safe_load((repo / "index.yaml").read_text())
    entries = {e["version"]: e for e in index["entries"]["research-crew"]}
    assert set(entries) == {"0.3.0", "0.4.0"}
    assert entries["0.3.0"] == index_before["entries"]["research-crew"][0]  # earlier version untouched
    assert entries["0.4.0"]["urls"] == [f"{url}/research-crew-0.4.0.tgz"]
    assert helmgen_cli("publish", str(spec), "--to", str(repo), "--url", url, env=home).stdout.endswith(
        "already published, unchanged (" + str(repo / "research-crew-0.4.0.tgz") + ")\n")
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(repo)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"{url}/index.yaml", server)
        for version in HELM_VERSIONS:
            helm = helm_path(version)
            run_helm(helm, "repo", "add", f"crew{version[0]}", url, env=home)
            out = run_helm(helm, "search", "repo", f"crew{version[0]}/research-crew", "--versions", env=home).stdout
            assert "0.3.0" in out and "0.4.0" in out
            for chart_version in ("0.3.0", "0.4.0"):
                dest = tmp_path / f"pull-{version}-{chart_version}"
                dest.mkdir()
                run_helm(helm, "pull", f"crew{version[0]}/research-crew", "--version", chart_version, "-d", str(dest),
                         env=home)
                assert (dest / f"research-crew-{chart_version}.tgz").exists()
    finally:
        stop(server)


@pytest.fixture
def gpg_keys(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An RSA signing key (so Helm 3 can verify too) with a passphrase, in legacy keyring files."""
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("s3cret\n")
    base = ["gpg", "--homedir", str(gnupg), "--batch", "--pinentry-mode", "loopback", "--passphrase", "s3cret"]
    subprocess.run([*base, "--quick-gen-key", "helmgen test <test@example.org>", "rsa3072", "sign", "never"],
                   check=True, capture_output=True)
    secring, pubring = tmp_path / "secring.gpg", tmp_path / "pubring.gpg"
    secring.write_bytes(subprocess.run([*base, "--export-secret-keys"], check=True, capture_output=True).stdout)
    pubring.write_bytes(subprocess.run([*base, "--export"], check=True, capture_output=True).stdout)
    subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "all"], capture_output=True)
    return secring, pubring, passphrase


def test_signed_package_verifies(spec: Path, home: dict[str, str], tmp_path: Path, registry: str,
                                 gpg_keys: tuple[Path, Path, Path]) -> None:
    secring, pubring, passphrase = gpg_keys
    repo = tmp_path / "signed"
    sign = ["--sign", "--key", "helmgen test", "--keyring", str(secring), "--passphrase-file", str(passphrase)]
    proc = helmgen_cli("publish", str(spec), "--to", str(repo), *sign, env=home)
    assert proc.returncode == 0, proc.stderr
    tgz = repo / "research-crew-0.3.0.tgz"
    assert (repo / "research-crew-0.3.0.tgz.prov").exists()
    for version in HELM_VERSIONS:
        out = run_helm(helm_path(version), "verify", str(tgz), "--keyring", str(pubring), env=home)
        assert "Signed by: helmgen test" in out.stdout + out.stderr
    target = f"oci://{registry}/signed"
    proc = helmgen_cli("publish", str(spec), "--to", target, "--plain-http", *sign, env=home)
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "pulled"
    dest.mkdir()
    run_helm(helm_path("4.3.1"), "pull", f"{target}/research-crew", "--version", "0.3.0", "--plain-http", "--prov",
             "-d", str(dest), env=home)
    assert (dest / "research-crew-0.3.0.tgz.prov").exists()  # the provenance travelled with the chart
    out = run_helm(helm_path("3.17.3"), "verify", str(dest / "research-crew-0.3.0.tgz"), "--keyring", str(pubring),
                   env=home)
    assert "Signed by: helmgen test" in out.stdout + out.stderr


def test_publish_usage_errors(spec: Path, home: dict[str, str], tmp_path: Path) -> None:
    assert helmgen_cli("publish", str(spec), "--to", str(tmp_path / "r"), "--sign", env=home).returncode == 2
    assert helmgen_cli("publish", str(spec), "--to", "https://example.org/x", env=home).returncode == 2
    nohelm = helmgen_cli("publish", str(spec), "--to", str(tmp_path / "r"),
                         env={**home, "HELM_BIN": "", "PATH": str(tmp_path)})
    assert nohelm.returncode == 1 and "Helm is not installed" in nohelm.stderr


def test_publish_a_chart_folder_and_a_package(spec: Path, home: dict[str, str], tmp_path: Path) -> None:
    assert helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out")).returncode == 0
    repo = tmp_path / "repo"
    proc = helmgen_cli("publish", str(tmp_path / "out" / "research-crew"), "--to", str(repo), env=home)
    assert proc.returncode == 0, proc.stderr
    # the same chart packaged again (new timestamps) is recognised as identical
    run_helm(helm_path("3.17.3"), "package", str(tmp_path / "out" / "research-crew"), "-d", str(tmp_path / "pkg"),
             env=home)
    proc = helmgen_cli("publish", str(tmp_path / "pkg" / "research-crew-0.3.0.tgz"), "--to", str(repo), env=home)
    assert proc.returncode == 0 and "unchanged" in proc.stdout


def test_images_lists_what_a_release_pulls(tmp_path: Path) -> None:
    out = helmgen_cli("images", str(SPEC)).stdout.splitlines()
    assert out == sorted(out)
    assert "ghcr.io/acme/planner:1.8.2" in out and "ghcr.io/acme/evaluator:1.8.2" in out and "busybox:1.37.0" in out
    dev = helmgen_cli("images", str(SPEC), "--env", "dev").stdout.splitlines()
    assert "ghcr.io/acme/tracer:0.2.0" in dev and "ghcr.io/acme/evaluator:1.8.2" not in dev
    every = helmgen_cli("images", str(SPEC.parent.parent / "tests" / "specs" / "every-field.yaml")).stdout
    assert "envoyproxy/envoy:v1.32.0" in every and "retired" not in every
