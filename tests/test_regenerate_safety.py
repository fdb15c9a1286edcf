"""Regeneration stays inside the chart and cleans up after itself: links inside the chart are
refused, --force lists what it replaces, a symlinked or read-only chart folder is handled as
the user set it up, and a run killed with kill -9 at any point leaves nothing behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helmgen.chart.render import render_chart
from helmgen.spec.check import load_spec
from helmgen.write import MANIFEST, PAUSE_ENV, manifest_bytes
from tests.conftest import EXAMPLES, helmgen_cli, tree_bytes

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")
USER_FILES = {"templates/extra-cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n",
              "ci/lint-values.yaml": b"agents:\n  worker:\n    replicas: 2\n"}


def _generate(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return helmgen_cli("generate", str(SPEC), "-o", str(out), *args)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    assert _generate(tmp_path / "out").returncode == 0
    c = tmp_path / "out" / "research-crew"
    for rel, data in USER_FILES.items():
        (c / rel).parent.mkdir(parents=True, exist_ok=True)
        (c / rel).write_bytes(data)
    return c


def _changed_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "changed.yaml"
    spec.write_text(SPEC.read_text().replace("replicas: 3", "replicas: 4"))
    return spec


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under root, links as their target (never followed), files as their bytes."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else "dir" if p.is_dir() else p.read_bytes()
    return out


# item 2: a link inside the chart is never followed out of it

@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_link_inside_the_chart_is_refused_and_nothing_is_written(chart: Path, tmp_path: Path, kind: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "keep.txt").write_text("shared\n")
    if kind == "folder":  # templates -> ../../shared
        for p in sorted((chart / "templates").rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        (chart / "templates").rmdir()
        (chart / "templates").symlink_to(Path("..", "..", "shared"))
        link = "templates"
    else:  # a file link to a file outside the chart, at a path helmgen writes
        (chart / "values.yaml").unlink()
        (chart / "values.yaml").symlink_to(shared / "keep.txt")
        link = "values.yaml"
    shared_before, chart_before = _tree(shared), _tree(chart)
    parent_before = sorted(os.listdir(chart.parent))
    for args in ((), ("--force",), ("--check",)):
        proc = _generate(chart.parent, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert f"{chart}/{link}: a symbolic link" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert _tree(shared) == shared_before  # nothing written through the link
        assert _tree(chart) == chart_before
        assert sorted(os.listdir(chart.parent)) == parent_before


def test_a_link_deep_inside_the_chart_is_refused(chart: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (chart / "ci" / "more").symlink_to(tmp_path / "elsewhere")
    proc = _generate(chart.parent)
    assert proc.returncode == 2 and f"{chart}/ci/more: a symbolic link" in proc.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


# item 3: --force lists every user file it replaces, and keeps the others

def test_force_into_a_foreign_folder_lists_each_replaced_file_and_keeps_the_rest(tmp_path: Path) -> None:
    target = tmp_path / "out" / "research-crew"
    target.mkdir(parents=True)
    (target / "values.yaml").write_text("mine: true\n")
    (target / "Chart.yaml").write_text("apiVersion: v2\nname: other\nversion: 1.0.0\n")
    (target / "notes.txt").write_text("my notes\n")
    refused = _generate(tmp_path / "out")
    assert refused.returncode == 2 and f"{target}: holds files that helmgen did not generate" in refused.stderr
    assert (target / "values.yaml").read_text() == "mine: true\n"
    proc = _generate(tmp_path / "out", "--force")
    assert proc.returncode == 0, proc.stderr
    replaced = sorted(line for line in proc.stderr.splitlines() if "replaced your file" in line)
    assert replaced == [f"helmgen: replaced your file {target}/{rel} (--force)" for rel in ("Chart.yaml", "values.yaml")]
    assert (target / "notes.txt").read_text() == "my notes\n"
    fresh = render_chart(load_spec(str(SPEC)))
    assert {k: v for k, v in tree_bytes(target).items() if k in fresh} == fresh
    assert _generate(tmp_path / "out", "--check").returncode == 0  # the chart is helmgen's now


def test_a_user_file_where_a_regenerated_chart_needs_a_new_file_needs_force(chart: Path, tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(SPEC.read_text())
    data["environments"]["staging"] = {"agents": {"planner": {"replicas": 2}}}
    spec = tmp_path / "staging.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    (chart / "values-staging.yaml").write_text("# my own staging values\n")
    before = tree_bytes(chart)
    proc = helmgen_cli("generate", str(spec), "-o", str(chart.parent))
    assert proc.returncode == 2
    assert f"{chart}: helmgen would replace files it does not own: values-staging.yaml" in proc.stderr
    assert tree_bytes(chart) == before
    forced = helmgen_cli("generate", str(spec), "-o", str(chart.parent), "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"helmgen: replaced your file {chart}/values-staging.yaml (--force)" in forced.stderr
    assert b"Environment staging" in (chart / "values-staging.yaml").read_bytes()


# item 4: the chart folder as the user set it up

def test_a_symlinked_chart_folder_stays_a_link_to_the_same_place(tmp_path: Path) -> None:
    real_out = tmp_path / "elsewhere"
    assert _generate(real_out).returncode == 0
    (tmp_path / "out").mkdir()
    link = tmp_path / "out" / "research-crew"
    link.symlink_to(Path("..", "elsewhere", "research-crew"))
    (real_out / "research-crew" / "notes.txt").write_text("mine\n")
    proc = helmgen_cli("generate", str(_changed_spec(tmp_path)), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("..", "elsewhere", "research-crew"))
    assert "replicas: 4" in (real_out / "research-crew" / "values.yaml").read_text()
    assert (real_out / "research-crew" / "notes.txt").read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path / "out")) == ["research-crew"]
    assert sorted(os.listdir(real_out)) == ["research-crew"]


def test_a_chart_folder_link_to_nowhere_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "research-crew").symlink_to(tmp_path / "missing")
    proc = _generate(tmp_path / "out")
    assert proc.returncode == 2 and f"{tmp_path}/out/research-crew: a symbolic link to" in proc.stderr
    assert not (tmp_path / "missing").exists() and os.listdir(tmp_path / "out") == ["research-crew"]


def test_the_chart_folder_keeps_its_mode(chart: Path, tmp_path: Path) -> None:
    os.chmod(chart, 0o750)
    os.chmod(chart / "ci", 0o700)
    assert helmgen_cli("generate", str(_changed_spec(tmp_path)), "-o", str(chart.parent)).returncode == 0
    assert stat.S_IMODE(chart.stat().st_mode) == 0o750
    assert stat.S_IMODE((chart / "ci").stat().st_mode) == 0o700
    assert "replicas: 4" in (chart / "values.yaml").read_text()


@pytest.mark.parametrize("read_only", ["chart", "parent"])
def test_a_read_only_folder_is_an_error_not_a_silent_replacement(chart: Path, tmp_path: Path, read_only: str) -> None:
    folder = chart if read_only == "chart" else chart.parent
    before, parent_before = tree_bytes(chart), sorted(os.listdir(chart.parent))
    os.chmod(folder, 0o555)
    try:
        proc = helmgen_cli("generate", str(_changed_spec(tmp_path)), "-o", str(chart.parent))
        assert stat.S_IMODE(folder.stat().st_mode) == 0o555
    finally:
        os.chmod(folder, 0o755)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{folder}: " in proc.stderr and "read-only" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(chart) == before
    assert sorted(os.listdir(chart.parent)) == parent_before


def test_a_read_only_parent_of_a_new_chart_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o555)
    try:
        proc = _generate(out)
    finally:
        os.chmod(out, 0o755)
    assert proc.returncode == 2 and f"{out}: the folder is read-only" in proc.stderr
    assert list(out.iterdir()) == []


# item 4: kill -9 at any point leaves nothing behind once the next run is done

NO_EXCHANGE = ("import helmgen.write as w; w._exchange = lambda a, b: False; "  # the rename fallback (no renameat2)
               "from helmgen.cli import main; main()")


def _killed_run(out: Path, point: str, fallback: bool = False) -> None:
    """Start `generate`, wait until the writer pauses at POINT (test-only hook), kill -9 it."""
    env = {**os.environ, PAUSE_ENV: point}
    cmd = [sys.executable, "-c", NO_EXCHANGE] if fallback else [sys.executable, "-m", "helmgen"]
    proc = subprocess.Popen([*cmd, "generate", str(SPEC), "-o", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line == f"helmgen: test pause at {point}\n", line + proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point,fallback", [("started", False), ("writing", False), ("built", False),
                                            ("swapped", False), ("writing", True), ("moved-aside", True)])
def test_after_a_kill_9_the_next_run_leaves_only_the_chart(chart: Path, point: str, fallback: bool) -> None:
    out = chart.parent
    _killed_run(out, point, fallback)
    if point != "moved-aside":
        assert (chart / "Chart.yaml").exists()  # killed before or after the swap: a whole chart in place
    assert len(os.listdir(out)) > 1  # the killed run left its temporary folder
    proc = _generate(out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["research-crew"]  # hidden temporary folders included
    after = tree_bytes(chart)
    fresh = render_chart(load_spec(str(SPEC)))
    assert {k: after[k] for k in fresh} == fresh
    assert {k: after[k] for k in USER_FILES} == USER_FILES
    assert after[MANIFEST] == manifest_bytes(fresh)


def test_after_a_kill_9_during_the_first_generation_the_next_run_leaves_only_the_chart(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _killed_run(out, "writing")
    assert not (out / "research-crew").exists() and len(os.listdir(out)) == 1
    assert _generate(out).returncode == 0
    assert sorted(os.listdir(out)) == ["research-crew"]


def test_a_second_run_waits_for_the_running_one_and_cleans_up_after_it_is_killed(chart: Path) -> None:
    """Runs beside one chart are serialized (flock on the parent folder): a concurrent run's work is
    never deleted under it; once the holder is killed with kill -9, the waiting run finishes cleanly."""
    env = {**os.environ, PAUSE_ENV: "built"}
    slow = subprocess.Popen([sys.executable, "-m", "helmgen", "generate", str(SPEC), "-o", str(chart.parent)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    second = None
    try:
        assert slow.stderr is not None and slow.stderr.readline() == "helmgen: test pause at built\n"
        (held,) = [p for p in os.listdir(chart.parent) if p != "research-crew"]
        second = subprocess.Popen([sys.executable, "-m", "helmgen", "generate", str(SPEC), "-o", str(chart.parent)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert second.stderr is not None
        assert second.stderr.readline() == f"helmgen: waiting for another helmgen run writing in {chart.parent}\n"
        assert held in os.listdir(chart.parent)  # the waiting run touched nothing
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=60)
        assert second.wait(timeout=120) == 0, second.stderr.read()
    finally:
        for proc in (slow, second):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=60)
                if proc.stderr is not None:
                    proc.stderr.close()
    assert sorted(os.listdir(chart.parent)) == ["research-crew"]
    after = tree_bytes(chart)
    assert {k: after[k] for k in USER_FILES} == USER_FILES
