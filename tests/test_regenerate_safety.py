"""Regeneration stays inside the chart and cleans up after itself: links inside the chart are
refused, --force lists what it replaces, a symlinked or read-only chart folder is handled as
the user set it up, and a run killed with kill -9 at any point leaves nothing behind."""

from __future__ import annotations

import os
import shutil
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


# round 2: concurrency, owners, conflicts, I/O errors, stale folders

def test_parallel_runs_into_one_chart_lose_no_user_file_and_leave_nothing_behind(chart: Path, tmp_path: Path) -> None:
    """Concurrent runs are serialized: none deletes another's temporary folder (which held the user's files)."""
    user = {f"mine/{i // 20}/file-{i}.txt": f"user file {i}\n".encode() for i in range(300)}
    for rel, data in user.items():
        (chart / rel).parent.mkdir(parents=True, exist_ok=True)
        (chart / rel).write_bytes(data)
    specs = [str(SPEC), str(_changed_spec(tmp_path))]
    for _ in range(2):  # the race this guards against does not show on every round
        procs = [subprocess.Popen([sys.executable, "-m", "helmgen", "generate", specs[i % 2], "-o", str(chart.parent)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(10)]
        results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
        assert [r[0] for r in results] == [0] * 10, results
        assert not [r for r in results if "Traceback" in r[2]]
        after = tree_bytes(chart)
        assert {k: after.get(k) for k in user} == user
        assert {k: after.get(k) for k in USER_FILES} == USER_FILES
        assert sorted(os.listdir(chart.parent)) == ["research-crew"]  # hidden temporary folders included
    assert any(helmgen_cli("generate", s, "-o", str(chart.parent), "--check").returncode == 0 for s in specs)


def test_as_root_the_chart_keeps_its_owners_and_hard_links(chart: Path, tmp_path: Path) -> None:
    assert os.geteuid() == 0  # the tests run as root (scripts/test.sh, CI)
    outside = tmp_path / "shared-values.yaml"
    os.link(chart / "ci" / "lint-values.yaml", outside)  # a hard link from outside the chart to a user file
    for p in [chart, *chart.rglob("*")]:
        os.lchown(p, 1000, 1000)
    proc = helmgen_cli("generate", str(_changed_spec(tmp_path)), "-o", str(chart.parent))
    assert proc.returncode == 0, proc.stderr
    assert "replicas: 4" in (chart / "values.yaml").read_text()
    owners = {p.relative_to(chart).as_posix(): (p.lstat().st_uid, p.lstat().st_gid) for p in [chart, *chart.rglob("*")]}
    assert {k: v for k, v in owners.items() if v != (1000, 1000)} == {}
    assert os.stat(outside).st_ino == os.stat(chart / "ci" / "lint-values.yaml").st_ino
    outside.write_text("changed through the link\n")
    assert (chart / "ci" / "lint-values.yaml").read_text() == "changed through the link\n"


@pytest.mark.parametrize("conflict", ["file-for-folder", "folder-for-file"])
def test_a_file_where_the_chart_needs_a_folder_is_named_up_front(chart: Path, conflict: str) -> None:
    if conflict == "file-for-folder":  # a user file named templates
        shutil.rmtree(chart / "templates")
        (chart / "templates").write_text("mine\n")
        rel, what = "templates", "a file where the chart needs a folder"
    else:  # a user folder named values.yaml
        (chart / "values.yaml").unlink()
        (chart / "values.yaml").mkdir()
        (chart / "values.yaml" / "notes.txt").write_text("mine\n")
        rel, what = "values.yaml", "a folder where the chart needs a file"
    before, parent_before = _tree(chart), sorted(os.listdir(chart.parent))
    for args in ((), ("--force",)):
        proc = _generate(chart.parent, *args)
        assert proc.returncode == 2, proc.stderr
        assert f"helmgen: {chart}/{rel}: {what}" in proc.stderr
        assert ".helmgen-tmp" not in proc.stderr and "Traceback" not in proc.stderr
        assert _tree(chart) == before and sorted(os.listdir(chart.parent)) == parent_before


def test_a_link_to_a_file_inside_the_chart_is_refused_with_accurate_words(chart: Path) -> None:
    (chart / "ci" / "alias.yaml").symlink_to(Path("..", "values.yaml"))
    proc = _generate(chart.parent)
    assert proc.returncode == 2
    assert (f"{chart}/ci/alias.yaml: a symbolic link (to ../values.yaml); links are not allowed inside the chart "
            "folder") in proc.stderr
    assert "out of the chart" not in proc.stderr


def test_a_read_only_error_says_nothing_written_once(chart: Path, tmp_path: Path) -> None:
    os.chmod(chart, 0o555)
    try:
        proc = helmgen_cli("generate", str(_changed_spec(tmp_path)), "-o", str(chart.parent))
    finally:
        os.chmod(chart, 0o755)
    assert proc.returncode == 2 and proc.stderr.count("nothing written") == 1, proc.stderr


@pytest.mark.parametrize("args", [("--check",), ()])
def test_an_unreadable_chart_folder_is_exit_2_naming_it(chart: Path, monkeypatch: pytest.MonkeyPatch,
                                                        args: tuple[str, ...]) -> None:
    """--check keeps exit 1 for "out of date": a chart it cannot read is an error. The tests run as root, who
    reads every folder, so the unreadable ci/ is simulated where os.walk lists it."""
    from click.testing import CliRunner

    from helmgen.cli import cli

    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fsdecode(path)) == chart / "ci":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    before = tree_bytes(chart)
    monkeypatch.setattr(os, "scandir", scandir)
    result = CliRunner().invoke(cli, ["generate", str(SPEC), "-o", str(chart.parent), *args])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert f"helmgen: {chart}/ci: Permission denied" in result.output and "Traceback" not in result.output
    assert tree_bytes(chart) == before and sorted(os.listdir(chart.parent)) == ["research-crew"]


def test_only_helmgens_own_temporary_folders_are_cleaned(chart: Path) -> None:
    keep = [".research-crew.helmgen-backup", ".research-crew.helmgen-tmp-mine", ".research-crew.helmgen-old-x",
            ".research-crew.helmgen-tmp-abcd1234", ".research-crew.helmgen-old-123"]  # helmgen's names, not its mark
    for name in keep:
        (chart.parent / name).mkdir()
        (chart.parent / name / "Chart.yaml").write_text("my backup\n")
    assert _generate(chart.parent).returncode == 0
    assert sorted(os.listdir(chart.parent)) == sorted([*keep, "research-crew"])
    assert all((chart.parent / name / "Chart.yaml").read_text() == "my backup\n" for name in keep)


@pytest.mark.parametrize("fallback", [False, True])
def test_a_mount_point_chart_folder_is_a_clear_error(chart: Path, monkeypatch: pytest.MonkeyPatch,
                                                     fallback: bool) -> None:
    """rename(2) of a mount point fails with EBUSY: the message says why and what to do (no mount in tests)."""
    import errno

    import helmgen.write as w

    def busy(a: Path, b: Path) -> bool:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(b))

    real_rename = os.rename

    def rename(a: object, b: object) -> None:
        if Path(str(a)) == chart:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(a))
        real_rename(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(w, "_exchange", (lambda a, b: False) if fallback else busy)
    monkeypatch.setattr(os, "rename", rename)
    before = tree_bytes(chart)
    with pytest.raises(w.WriteError, match="the chart folder is a mount point") as raised:
        w.write_chart(render_chart(load_spec(str(SPEC))), chart)
    assert str(raised.value).startswith(f"{chart}: ") and "mount its parent" in str(raised.value)
    assert tree_bytes(chart) == before and sorted(os.listdir(chart.parent)) == ["research-crew"]


def test_the_mark_a_run_killed_right_after_its_swap_left_in_the_chart_goes(chart: Path) -> None:
    from helmgen.write import TEMP_MARK

    (chart / TEMP_MARK).write_text("left by a killed run\n")
    assert _generate(chart.parent, "--check").returncode == 0  # helmgen's name, not a file of the chart
    assert _generate(chart.parent).returncode == 0
    assert not (chart / TEMP_MARK).exists()
    assert sorted(os.listdir(chart.parent)) == ["research-crew"]


def test_a_temporary_folder_that_vanishes_mid_run_is_an_error_not_recreated(chart: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Something else deleted the run's temporary folder half-way: recreating it would swap in a chart
    without the user's files. The run fails, naming the chart, and the previous chart stays."""
    import helmgen.write as w

    def vanish(point: str) -> None:
        if point == "writing":
            (tmp,) = [p for p in chart.parent.iterdir() if p.name != "research-crew"]
            shutil.rmtree(tmp)

    shutil.rmtree(chart / "ci")  # user files only in folders helmgen writes too, so nothing else fails first
    (chart / "notes.txt").write_text("mine\n")
    monkeypatch.setattr(w, "_pause", vanish)
    before = tree_bytes(chart)
    files = render_chart(load_spec(str(SPEC)))
    files["values.yaml"] = b"# Generated by helmgen\nchanged: true\n"
    with pytest.raises(w.WriteError, match="No such file or directory; the previous chart is left as it was") as raised:
        w.write_chart(files, chart)
    assert str(raised.value).startswith(f"{chart}/")
    assert tree_bytes(chart) == before and sorted(os.listdir(chart.parent)) == ["research-crew"]
