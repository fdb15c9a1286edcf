"""A classic repository folder under pressure: concurrent publishes, indexes Helm's own merge would
damage (a short version, a key that differs from the entry's name, entries Helm drops or chokes
on, top-level keys it forgets), and the index helmgen writes read back by the real Helm."""

from __future__ import annotations

import difflib
import functools
import http.server
import io
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import helm_path, helmgen_cli, run_helm
from tests.test_publish import home  # noqa: F401 - fixture
from tests.test_publish_hostile import snapshot


def mini(tmp: Path, name: str, version: str, note: str = "") -> Path:
    """A minimal chart package Helm loads: Chart.yaml (version written as given) and values.yaml."""
    files = {f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode(),
             f"{name}/values.yaml": f"note: {note or version!r}\n".encode()}
    path = tmp / f"src-{name}-{version.strip(chr(34))}-{note}.tgz"
    with tarfile.open(path, "w:gz") as t:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def publish(src: Path, repo: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return helmgen_cli("publish", str(src), "--to", str(repo), *extra, env=env)


def listed(repo: Path) -> set[tuple[str, str, str]]:
    """(key, name, version) of every entry, versions as Helm reads them (the scalar's text)."""
    node = yaml.compose((repo / "index.yaml").read_text())
    entries = next(v for k, v in node.value if k.value == "entries")
    out = set()
    for key, seq in entries.value:
        for item in seq.value:
            fields = {k.value: v.value for k, v in item.value}
            out.add((key.value, fields["name"], fields["version"]))
    return out


def only_insertions(before: str, after: str) -> bool:
    """`after` is `before` with lines added: not one earlier byte changed or moved."""
    ops = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True), autojunk=False).get_opcodes()
    return all(op in ("equal", "insert") for op, *_ in ops)


def test_parallel_publishes_to_one_folder_are_all_listed(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    sources = [mini(tmp_path, "par", f"1.0.{i}") for i in range(8)]
    procs = [subprocess.Popen([sys.executable, "-m", "helmgen", "publish", str(s), "--to", str(repo)], env=home,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in sources]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    for i, (code, out, err) in enumerate(results):
        assert code == 0 and f"par 1.0.{i}: published" in out, (out, err)
    assert listed(repo) == {("par", "par", f"1.0.{i}") for i in range(8)}
    assert sorted(p.name for p in repo.iterdir()) == ["index.yaml"] + [f"par-1.0.{i}.tgz" for i in range(8)]


HELM_ENTRY = """  - apiVersion: v2
    created: "2026-01-01T00:00:00Z"
    digest: 0000000000000000000000000000000000000000000000000000000000000000
    name: {name}
    urls:
    - {name}-{version}.tgz
    version: {version}
"""


def index_text(*entries: tuple[str, str, str], tail: str = "") -> str:
    """An index.yaml as Helm writes it; entries are (key, name, version as written)."""
    text = "apiVersion: v1\nentries:\n"
    for key in dict.fromkeys(k for k, _, _ in entries):
        text += f"  {key}:\n" + "".join(HELM_ENTRY.format(name=n, version=v) for k, n, v in entries if k == key)
    return text + 'generated: "2026-01-01T00:00:00Z"\n' + tail


@pytest.mark.parametrize("case", ["short-version", "key-differs-from-name", "server-info", "empty", "null"])
def test_every_earlier_entry_stays_as_it_was(case: str, tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    """Helm's `repo index --merge` drops 1.4 when 1.4.7 arrives, overwrites an entry filed under
    another key, forgets serverInfo: helmgen only adds lines."""
    repo = tmp_path / "repo"
    repo.mkdir()
    if case == "short-version":
        before = index_text(("par", "par", "1.4"))
    elif case == "key-differs-from-name":
        before = index_text(("legacy", "par", "1.0.0"), ("other", "other", "0.1.0"))
    elif case == "server-info":
        before = index_text(("par", "par", "0.9.0"), tail="serverInfo:\n  contextPath: /charts\n")
    elif case == "empty":
        before = "apiVersion: v1\nentries: {}\ngenerated: \"2026-01-01T00:00:00Z\"\n"
    else:
        before = "apiVersion: v1\nentries:\ngenerated: \"2026-01-01T00:00:00Z\"\nserverInfo: {contextPath: /x}\n"
    (repo / "index.yaml").write_text(before)
    old = listed(repo) if "entries: {}" not in before and "entries:\ng" not in before else set()
    proc = publish(mini(tmp_path, "par", "1.4.7"), repo, home)
    assert proc.returncode == 0 and "par 1.4.7: published" in proc.stdout, proc.stderr
    after = (repo / "index.yaml").read_text()
    assert only_insertions(before.replace("entries: {}", "entries:"), after), after
    assert listed(repo) == old | {("par", "par", "1.4.7")}
    assert yaml.safe_load(after).get("serverInfo") == yaml.safe_load(before).get("serverInfo")


def test_same_version_listed_under_another_key_is_refused(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.yaml").write_text(index_text(("legacy", "par", "1.0.0")))
    before = snapshot(repo)
    proc = publish(mini(tmp_path, "par", "1.0.0"), repo, home)
    assert proc.returncode == 1 and "par 1.0.0 is already listed" in proc.stderr, (proc.stdout, proc.stderr)
    assert "published" not in proc.stdout and snapshot(repo) == before
    proc = publish(mini(tmp_path, "par", "1.4.0"), repo, home)  # 1.4 is 1.4.0 to Helm
    assert proc.returncode == 0
    proc = publish(mini(tmp_path, "par", '"1.4"'), repo, home)
    assert proc.returncode == 1 and "as 1.4.0: Helm treats them as the same version" in proc.stderr, proc.stderr


@pytest.mark.parametrize("entry, problem", [
    ("  - null\n", "entries.par[1] is empty (null)"),
    ("  - apiVersion: v2\n    name: par\n    version: latest\n", "entries.par[1] (par): version 'latest' is not SemVer"),
    ("  - apiVersion: v2\n    name: par\n    urls: [par-2.0.0.tgz]\n", "entries.par[1] (par) has no version"),
    ("  - apiVersion: v2\n    name: par\n    version: [1, 2]\n", "entries.par[1] (par) has no version, or one that"),
    ("  - apiVersion: v2\n    version: 2.0.0\n", "entries.par[1] has no name"),
])
def test_entries_helm_would_drop_are_refused(entry: str, problem: str, tmp_path: Path,
                                             home: dict[str, str]) -> None:  # noqa: F811
    """An entry Helm drops when it merges (or panics on: a null one, Helm 3.17) is named; nothing changes."""
    repo = tmp_path / "repo"
    repo.mkdir()
    text = index_text(("par", "par", "1.0.0"))
    text = text.replace('generated:', entry + "  other:\n  - null\ngenerated:", 1)
    (repo / "index.yaml").write_text(text)
    before = snapshot(repo)
    proc = publish(mini(tmp_path, "par", "1.4.7"), repo, home)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert any(problem in ln for ln in lines), proc.stderr
    assert any("entries.other[0] is empty (null)" in ln for ln in lines), proc.stderr
    assert all(ln.startswith(f"helmgen: {repo / 'index.yaml'}: entries.") for ln in lines), proc.stderr
    assert "Traceback" not in proc.stderr and "published" not in proc.stdout
    assert snapshot(repo) == before


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1 (a free port)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_helm_reads_every_version_of_the_index_helmgen_wrote(served: tuple[Path, str], tmp_path: Path,
                                                             home: dict[str, str]) -> None:  # noqa: F811
    repo, url = served
    for version in ('"1.4"', "1.4.7", "0.9.0"):
        proc = publish(mini(tmp_path, "par", version), repo, home, "--url", url)
        assert proc.returncode == 0, proc.stderr
    assert publish(mini(tmp_path, "other", "0.1.0"), repo, home, "--url", url).returncode == 0
    for version in ("3.17.3", "4.3.1"):
        for chart, wanted in (("par", "1.4"), ("par", "1.4.7"), ("par", "0.9.0"), ("other", "0.1.0")):
            dest = tmp_path / f"pulled-{version}-{chart}-{wanted}"
            dest.mkdir()
            run_helm(helm_path(version), "pull", chart, "--repo", url, "--version", wanted, "-d", str(dest),
                     env=home)
            with tarfile.open(next(dest.glob("*.tgz"))) as t:
                values = t.extractfile(f"{chart}/values.yaml").read()  # type: ignore[union-attr]
            assert yaml.safe_load(values) == {"note": wanted if wanted != "1.4" else '"1.4"'}


def test_an_index_in_flow_style_is_refused_not_rewritten(tmp_path: Path, home: dict[str, str]) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.yaml").write_text("{apiVersion: v1, entries: {par: [{apiVersion: v2, name: par, version: 1.0.0, "
                                     "urls: [par-1.0.0.tgz]}]}}\n")
    before = snapshot(repo)
    proc = publish(mini(tmp_path, "par", "1.4.7"), repo, home)
    assert proc.returncode == 2 and "not laid out as Helm writes it" in proc.stderr, (proc.stdout, proc.stderr)
    assert len(proc.stderr.splitlines()) == 1 and snapshot(repo) == before
