"""Publishing hostile input: crafted packages (as SOURCE and inside the repository folder), chart
folders with links out of the chart, bad --url, dangling links in the repository, a run killed
with kill -9. Every refusal exits 2 with a message, leaves the repository byte-identical, and
stays within a memory bound enforced by RLIMIT_AS on the subprocess (speed: bench/bench.py)."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import helm_path, helmgen_cli, run_helm
from tests.test_publish import SPEC, free_port, home, registry, spec  # noqa: F401 - fixtures

MEMORY_LIMIT = 256 * 1024 * 1024  # the interpreter (~40 MB) + 200 MB
CHART_YAML = b"apiVersion: v2\nname: crew\nversion: 1.0.0\n"


def stream_member(tar_out: Any, name: str, size: int, chunks: Iterable[bytes], kind: bytes = tarfile.REGTYPE) -> None:
    """A member written as a stream: its bytes never exist in memory or on disk as a whole."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    tar_out.write(info.tobuf(format=tarfile.GNU_FORMAT))
    written = 0
    for chunk in chunks:
        tar_out.write(chunk)
        written += len(chunk)
    assert written == size
    tar_out.write(b"\0" * (-size % 512))


def zeros(size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    block = b"\0" * chunk
    for _ in range(size // chunk):
        yield block
    yield b"\0" * (size % chunk)


def build(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]],
          streamed: tuple[str, int, Callable[[], Iterable[bytes]]] | None = None,
          header: tuple[bytes, int] | None = None) -> Path:
    """A gzip-compressed tar of `members`, then `streamed`; `header`: first a GNU long-name or PAX
    header of that type and size (zeros), as a header bomb."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as gz:
        if header:
            stream_member(gz, "././@LongLink", header[1], zeros(header[1]), header[0])
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                gz.write(m.tobuf(format=tarfile.GNU_FORMAT))
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                gz.write(info.tobuf(format=tarfile.GNU_FORMAT) + m[1] + b"\0" * (-len(m[1]) % 512))
        if streamed:
            stream_member(gz, streamed[0], streamed[1], streamed[2]())
        gz.write(b"\0" * 1024)
    return path


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


ALIAS_BOMB = (b"apiVersion: v2\nname: crew\nversion: 1.0.0\na: &a [x, x, x, x, x, x, x, x, x]\n"
              + b"".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n".encode()
                         for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + b"description: *i\n")
HUGE = 200 * 1024 * 1024


def crafted(kind: str, tmp: Path, legit: Path) -> Path:
    """One crafted package; `legit` is a real package (for the truncated one)."""
    p = tmp / f"{kind}.tgz"
    ok = ("crew/Chart.yaml", CHART_YAML)
    if kind == "traversal":
        return build(p, [ok, ("crew/../../x", b"owned")])
    if kind == "absolute":
        return build(p, [ok, ("/tmp/helmgen-owned", b"owned")])
    if kind == "gigabyte":
        return build(p, [ok], ("crew/files/big.bin", 1 << 30, lambda: zeros(1 << 30)))
    if kind == "alias-bomb":
        return build(p, [("crew/Chart.yaml", ALIAS_BOMB)])
    if kind == "huge-chart-yaml":
        head = b"apiVersion: v2\nname: crew\nversion: 1.0.0\ndescription: "
        block = b"a" * (1 << 20)
        return build(p, [], ("crew/Chart.yaml", HUGE, lambda: itertools.chain(
            [head], itertools.repeat(block, 199), [block[len(head):]])))
    if kind == "longname-bomb":
        return build(p, [ok], header=(tarfile.GNUTYPE_LONGNAME, 300 << 20))
    if kind == "pax-bomb":
        return build(p, [ok], header=(tarfile.XHDTYPE, 300 << 20))
    if kind == "two-charts":
        return build(p, [ok, ("other/Chart.yaml", CHART_YAML.replace(b"crew", b"other"))])
    if kind == "alias-bomb-under-2m":  # 1.97 million values once expanded (1.77 million in f)
        bomb = b"a: &a [" + b", ".join([b"x"] * 11) + b"]\n" + b"".join(
            f"{c}: &{c} [{', '.join([f'*{q}'] * (11 if c != 'f' else 10))}]\n".encode()
            for q, c in zip("abcde", "bcdef", strict=True))
        return build(p, [("crew/Chart.yaml", CHART_YAML + bomb)])
    if kind == "many-values-chart-yaml":  # 3.8 MB, 1.9 million values
        return build(p, [("crew/Chart.yaml", CHART_YAML + b"x: [" + b"1," * 1_900_000 + b"1]\n")])
    if kind == "truncated":
        data = legit.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p
    if kind == "symlink":
        return build(p, [ok, link("crew/templates/creds.yaml", "/etc/hostname", tarfile.SYMTYPE)])
    if kind == "hardlink":
        return build(p, [ok, link("crew/templates/creds.yaml", "/etc/hostname", tarfile.LNKTYPE)])
    if kind == "not-gzip":
        with tarfile.open(p, "w") as t:  # a plain tar named .tgz
            info = tarfile.TarInfo("crew/Chart.yaml")
            info.size = len(CHART_YAML)
            t.addfile(info, io.BytesIO(CHART_YAML))
        return p
    raise AssertionError(kind)


EXPECTED = {
    "traversal": "points outside the chart", "absolute": "points outside the chart",
    "gigabyte": "the limit is", "alias-bomb": "alias", "huge-chart-yaml": "the limit is",
    "truncated": "truncated or corrupt", "symlink": "is a link", "hardlink": "is a link",
    "not-gzip": "not gzip-compressed", "longname-bomb": "the limit is", "pax-bomb": "the limit is",
    "two-charts": "more than one top folder", "alias-bomb-under-2m": "alias",
    "many-values-chart-yaml": "the limit is",
}


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli_limited(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helmgen", *args], capture_output=True, text=True, env=env,
                          timeout=120, preexec_fn=limited)


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under root (hidden ones too): file bytes, link targets, folders."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes() if p.is_file() else "dir"
    return out


@pytest.fixture(scope="module")
def legit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """research-crew 0.3.0 packaged by Helm."""
    tmp = tmp_path_factory.mktemp("legit")
    assert helmgen_cli("generate", str(SPEC), "-o", str(tmp / "out")).returncode == 0
    run_helm(helm_path("4.3.1"), "package", str(tmp / "out" / "research-crew"), "-d", str(tmp / "pkg"))
    return tmp / "pkg" / "research-crew-0.3.0.tgz"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory, legit: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("crafted")
    return {kind: crafted(kind, tmp, legit) for kind in EXPECTED}


@pytest.fixture
def repo(tmp_path: Path, legit: Path, home: dict[str, str]) -> Path:  # noqa: F811
    """A classic repository holding research-crew 0.3.0."""
    r = tmp_path / "repo"
    proc = helmgen_cli("publish", str(legit), "--to", str(r), env=home)
    assert proc.returncode == 0, proc.stderr
    return r


def catalog(registry: str) -> list[str]:  # noqa: F811
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog") as r:
        return list(json.load(r)["repositories"])


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_crafted_source_package(kind: str, packages: dict[str, Path], repo: Path, registry: str,  # noqa: F811
                                home: dict[str, str]) -> None:  # noqa: F811
    before = snapshot(repo)
    proc = cli_limited("publish", str(packages[kind]), "--to", str(repo), env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert EXPECTED[kind] in proc.stderr and "Traceback" not in proc.stderr and "published" not in proc.stdout
    assert snapshot(repo) == before
    assert not Path("/tmp/helmgen-owned").exists()
    target = f"oci://{registry}/hostile-{kind}"
    proc = cli_limited("publish", str(packages[kind]), "--to", target, "--plain-http", env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert EXPECTED[kind] in proc.stderr and "Traceback" not in proc.stderr
    assert not any(r.startswith(f"hostile-{kind}") for r in catalog(registry))


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_crafted_package_in_the_repository(kind: str, packages: dict[str, Path], legit: Path, repo: Path,
                                           home: dict[str, str]) -> None:  # noqa: F811
    """The package index.yaml lists for the version being published is crafted: comparing with it fails cleanly."""
    shutil.copyfile(packages[kind], repo / "research-crew-0.3.0.tgz")
    before = snapshot(repo)
    proc = cli_limited("publish", str(legit), "--to", str(repo), env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert EXPECTED[kind] in proc.stderr and "the package in the repository" in proc.stderr
    assert "Traceback" not in proc.stderr and "published" not in proc.stdout
    assert snapshot(repo) == before


@pytest.fixture
def linked_chart(tmp_path: Path) -> Path:
    assert helmgen_cli("generate", str(SPEC), "-o", str(tmp_path / "out")).returncode == 0
    chart = tmp_path / "out" / "research-crew"
    (tmp_path / "credentials").write_text("password: hunter2\n")
    (chart / "files").mkdir()
    (chart / "files" / "hostname").symlink_to("/etc/hostname")
    (chart / "files" / "creds.yaml").symlink_to("../../../credentials")
    (chart / "files" / "inside.yaml").symlink_to("../values.yaml")  # a link inside the chart is fine
    return chart


def test_chart_folder_with_links_out_of_it(linked_chart: Path, repo: Path, registry: str,  # noqa: F811
                                           home: dict[str, str]) -> None:  # noqa: F811
    before = snapshot(repo)
    for target, extra in ((str(repo), []), (f"oci://{registry}/linked", ["--plain-http"])):
        proc = helmgen_cli("publish", str(linked_chart), "--to", target, *extra, env=home)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        lines = proc.stderr.splitlines()
        assert all(ln.startswith("helmgen: ") for ln in lines), proc.stderr  # one problem a line, each prefixed
        assert any(str(linked_chart / "files" / "hostname") in ln and "/etc/hostname" in ln for ln in lines)
        assert any(str(linked_chart / "files" / "creds.yaml") in ln and "outside the chart" in ln for ln in lines)
        assert "inside.yaml" not in proc.stderr
    assert snapshot(repo) == before
    assert not any(r.startswith("linked") for r in catalog(registry))
    (linked_chart / "files" / "hostname").unlink()
    (linked_chart / "files" / "creds.yaml").unlink()
    proc = helmgen_cli("publish", str(linked_chart), "--to", str(repo.parent / "other"), env=home)
    assert proc.returncode == 0, proc.stderr  # a link that stays inside the chart is packaged as Helm does


@pytest.mark.parametrize("url", ["charts.example.org", "/srv/charts", "ftp://charts.example.org", "https://",
                                 "file:///srv/charts", "https://:0", "http://exa mple.org", "http://[::1",
                                 "https://example.org:0/charts", "https://example.org:99999"])
def test_url_must_be_absolute_http(url: str, legit: Path, repo: Path, home: dict[str, str]) -> None:  # noqa: F811
    before = snapshot(repo)
    proc = helmgen_cli("publish", str(legit), "--to", str(repo), "--url", url, env=home)
    assert proc.returncode == 2 and "--url" in proc.stderr and "http" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert snapshot(repo) == before


@pytest.mark.parametrize("name", ["index.yaml", "research-crew-0.2.0.tgz"])
def test_dangling_symlink_in_the_repository(name: str, legit: Path, repo: Path, tmp_path: Path,
                                            home: dict[str, str]) -> None:  # noqa: F811
    if name == "index.yaml":
        (repo / "index.yaml").unlink()
    (repo / name).symlink_to(tmp_path / "gone")
    before = snapshot(repo)
    proc = helmgen_cli("publish", str(legit), "--to", str(repo), env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert str(repo / name) in proc.stderr and "dangling symlink" in proc.stderr
    assert snapshot(repo) == before


def test_killed_run_leaves_no_visible_temporary_folder(legit: Path, repo: Path, tmp_path: Path,
                                                       home: dict[str, str]) -> None:  # noqa: F811
    """kill -9 while Helm writes the index: nothing visible is left, and the next run cleans up."""
    signal_file = tmp_path / "indexing"
    wrapper = tmp_path / "slow-helm"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1 $2" = "repo index" ]; then touch {signal_file}; sleep 60; fi\n'
                       f'exec {helm_path("4.3.1")} "$@"\n')
    wrapper.chmod(0o755)
    spec_text = SPEC.read_text().replace("version: 0.3.0", "version: 0.4.0")
    (tmp_path / "crew.yaml").write_text(spec_text)
    visible_before = sorted(p.name for p in repo.iterdir() if not p.name.startswith("."))
    tmpdir = tmp_path / "tmpdir"  # helmgen's own work folder (the chart it generates and packages)
    tmpdir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "helmgen", "publish", str(tmp_path / "crew.yaml"), "--to",
                             str(repo)], env={**home, "HELM_BIN": str(wrapper), "TMPDIR": str(tmpdir)},
                            start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if signal_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert signal_file.exists(), "helmgen never reached `helm repo index`"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the session started above: helmgen and its helm
        proc.wait()
    assert sorted(p.name for p in repo.iterdir() if not p.name.startswith(".")) == visible_before
    assert [p.name for p in tmpdir.iterdir() if not p.name.startswith(".")] == []
    index = yaml.safe_load((repo / "index.yaml").read_text())
    assert [e["version"] for e in index["entries"]["research-crew"]] == ["0.3.0"]
    again = helmgen_cli("publish", str(tmp_path / "crew.yaml"), "--to", str(repo), env={**home, "TMPDIR": str(tmpdir)})
    assert again.returncode == 0 and "research-crew 0.4.0: published" in again.stdout, again.stderr
    assert sorted(p.name for p in repo.iterdir()) == ["index.yaml", "research-crew-0.3.0.tgz",
                                                      "research-crew-0.4.0.tgz"]
    assert list(tmpdir.iterdir()) == []  # the killed run's hidden work folder too



@pytest.mark.parametrize("case", ["alias-bomb", "binary", "entries-list", "directory"])
def test_hostile_index_yaml(case: str, legit: Path, repo: Path, home: dict[str, str]) -> None:  # noqa: F811
    """index.yaml is parsed (with the YAML guard) before Helm ever merges it."""
    index = repo / "index.yaml"
    if case == "alias-bomb":
        index.write_bytes(ALIAS_BOMB.replace(b"apiVersion: v2", b"apiVersion: v1\nentries: {}"))
    elif case == "binary":
        index.write_bytes(bytes(range(256)) * 4)
    elif case == "entries-list":
        index.write_text("apiVersion: v1\nentries: [research-crew]\n")
    else:
        index.unlink()
        index.mkdir()
    before = snapshot(repo)
    proc = cli_limited("publish", str(legit), "--to", str(repo), env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert str(index) in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(repo) == before


def test_fifo_at_the_package_name_is_refused(legit: Path, repo: Path, home: dict[str, str]) -> None:  # noqa: F811
    """A FIFO where the package would go: refused before it is opened (opening it would wait forever)."""
    (repo / "index.yaml").unlink()
    (repo / "research-crew-0.3.0.tgz").unlink()
    os.mkfifo(repo / "research-crew-0.3.0.tgz")
    before = snapshot_names(repo)
    proc = helmgen_cli("publish", str(legit), "--to", str(repo), env=home)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr, (proc.stdout, proc.stderr)
    assert str(repo / "research-crew-0.3.0.tgz") in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert snapshot_names(repo) == before


def snapshot_names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_symlink_loop_in_the_chart(linked_chart: Path, repo: Path, home: dict[str, str]) -> None:  # noqa: F811
    (linked_chart / "files" / "hostname").unlink()
    (linked_chart / "files" / "creds.yaml").unlink()
    (linked_chart / "templates" / "up").symlink_to("..")
    before = snapshot(repo)
    proc = helmgen_cli("publish", str(linked_chart), "--to", str(repo), env=home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.splitlines() == [f"helmgen: {linked_chart / 'templates' / 'up'}: a symlink to .., a folder "
                                        "that holds the link itself (Helm would package it forever)"]
    assert snapshot(repo) == before


def test_chart_folder_over_the_size_limit(linked_chart: Path, repo: Path, home: dict[str, str]) -> None:  # noqa: F811
    (linked_chart / "files" / "hostname").unlink()
    (linked_chart / "files" / "creds.yaml").unlink()
    with open(linked_chart / "files" / "big.bin", "wb") as f:  # sparse: nothing is written to disk
        f.truncate(101 * 1024 * 1024)
    before = snapshot(repo)
    proc = helmgen_cli("publish", str(linked_chart), "--to", str(repo), env=home)
    assert proc.returncode == 2 and "the limit is" in proc.stderr, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1
    assert snapshot(repo) == before


def test_symlinked_index_is_refused(legit: Path, repo: Path, tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    """Publishing replaces index.yaml with a new file: a link would be replaced, not what it points to."""
    real = tmp_path / "shared-index.yaml"
    (repo / "index.yaml").rename(real)
    (repo / "index.yaml").symlink_to(real)
    before = snapshot(repo)
    proc = helmgen_cli("publish", str(legit), "--to", str(repo), env=home)
    assert proc.returncode == 2 and "a symlink (to" in proc.stderr and "plain file" in proc.stderr, proc.stderr
    assert snapshot(repo) == before
