"""The only module that touches the output folder.

Ownership is a record, never a guess from a file's text: every chart helmgen writes holds
MANIFEST (`.helmgen-manifest.json`), the relative path and sha256 of each file helmgen wrote,
written in the same atomic swap as the chart. On regeneration helmgen replaces the files the
manifest names (one the user edited too: the path is helmgen's, and the run says it replaced an
edited file), drops those it no longer generates (a removed environment's values file) unless
the user edited them (those are kept and become the user's), and keeps every other file exactly
as it was, whatever its text says. A file of the user's at a path the chart needs is replaced
only with --force, which lists each one. A folder with files but no manifest (a chart from
helmgen 0.1.0 included) is foreign: it is written only with --force, on the same terms.

Safety: a symbolic link inside the chart folder is refused, a read-only chart folder or parent is
refused, a file where the chart needs a folder (or the reverse) is refused, and nothing is
written before the checks pass. A symlinked chart folder is regenerated where it points, so the
link stays as it was. Run as root, the chart keeps its owners: the user's files are hard-linked
into the new chart (same inode: owner, mode and other hard links kept; copied with their owner
where a link is impossible), the user's folders get their owner back, and helmgen's files get
the chart folder's owner.

Atomicity: the new chart, with the user's files brought over, is built in a temporary sibling
folder named `.<chart>.helmgen-tmp-XXXXXXXX` and swapped in with one rename (RENAME_EXCHANGE
where Linux offers it). A failure at any point leaves the previous chart as it was. Runs writing
beside the same chart are serialized by an flock on the parent folder itself (no lock file), held
from before the scan through the swap; holding it, a run deletes any temporary folder of that
exact name pattern that carries TEMP_MARK (a run killed with kill -9 left it), so nothing is left
behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, NamedTuple

from helmgen.errors import EXIT_BAD_INPUT, HelmgenError

MANIFEST = ".helmgen-manifest.json"
TEMP_MARK = ".helmgen-temporary"  # inside a temporary folder of a live or killed run: what _clean_stale may delete
TEMP_INFIX = ".helmgen-"  # temporary folders are `.<chart>.helmgen-tmp-XXXXXXXX` / `-old-PID` beside the chart
PAUSE_ENV = "HELMGEN_TEST_PAUSE_AT"  # TEST-ONLY: the writer waits (at most PAUSE_SECONDS) so a test can kill -9 it
PAUSE_SECONDS = 60
_HASH = re.compile(r"sha256:[0-9a-f]{64}\Z")
_NO_RECORD_HINT = (f"helmgen writes into a folder without its record ({MANIFEST}) only with --force, "
                   "which lists every file it replaces")


class WriteError(HelmgenError):
    """The output folder cannot be written as asked; the CLI prints it and exits 2."""

    exit_code = EXIT_BAD_INPUT


@dataclass
class Chart:
    """What is in a chart folder, and what of it helmgen owns."""

    files: dict[str, Path]  # every regular file by relative path (the manifest excluded)
    dirs: list[str]  # every folder by relative path
    hashes: dict[str, str] | None  # the manifest: path -> sha256 of what helmgen wrote; None: no manifest

    @property
    def recorded(self) -> bool:
        return self.hashes is not None


@dataclass
class Report:
    """What a write did besides writing helmgen's files, for the CLI to tell."""

    replaced_user_files: list[str] = field(default_factory=list)  # with --force
    replaced_edited_files: list[str] = field(default_factory=list)  # owned, edited since helmgen wrote them
    kept_edited_files: list[str] = field(default_factory=list)  # owned, no longer written, edited: now the user's


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    """The record of what helmgen writes (deterministic: same files, same bytes)."""
    record = {
        "about": "helmgen's record of the files it wrote in this chart: regeneration replaces these and "
                 "only these. Do not edit; files you add to the chart are yours and are kept.",
        "files": {rel: _sha256(data) for rel, data in sorted(files.items())},
    }
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()


def _valid_rel(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    p = PurePosixPath(rel)
    return not p.is_absolute() and p.as_posix() == rel and ".." not in p.parts and rel != MANIFEST


def _manifest_hint(shown: Path) -> str:
    return (f"restore it from version control, or regenerate into a new folder; if you delete it, {shown.parent} "
            f"has no record and {_NO_RECORD_HINT}")


def _read_manifest(path: Path, shown: Path) -> dict[str, str]:
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WriteError(f"{shown}: not a helmgen manifest ({reason}; {_manifest_hint(shown)})") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not all(_valid_rel(k) and isinstance(v, str) and _HASH.match(v)
                                              for k, v in files.items()):
        raise WriteError(f"{shown}: not a helmgen manifest (expected {{\"files\": {{relative path: "
                         f"\"sha256:<64 hex digits>\"}}}}; {_manifest_hint(shown)})")
    return files


def _real_folder(target: Path) -> Path:
    """The folder to write: the target, or where it points when the target is a symbolic link."""
    if target.is_symlink():
        real = Path(os.path.realpath(target))
        if not real.is_dir():
            raise WriteError(f"{target}: a symbolic link to {real}, which is not a folder "
                             "(point it at a folder, or remove the link)")
        return real
    if target.exists() and not target.is_dir():
        raise WriteError(f"{target}: exists and is not a folder")
    return Path(os.path.abspath(target))


def _shown(exc: OSError, target: Path, *bases: Path | None) -> str:
    """`PATH: what went wrong`, naming the user's path (a temporary folder's name mapped back to the chart)."""
    name = os.fsdecode(exc.filename) if exc.filename is not None else None
    shown = str(target)
    if name:
        shown = name
        for base in bases:
            if base is not None and (name == str(base) or name.startswith(f"{base}/")):
                shown = str(target) + name[len(str(base)):]
                break
    return f"{shown}: {exc.strerror or exc}"


def scan(target: Path) -> Chart:
    """Read the chart folder without following any link; a link or special file inside is an error."""
    target = Path(target)
    real = _real_folder(target)
    files: dict[str, Path] = {}
    dirs: list[str] = []
    problems: list[str] = []
    try:
        if real.is_dir():
            for root, dirnames, filenames in os.walk(real, onerror=_raise):
                for name in sorted(dirnames) + sorted(filenames):
                    p = Path(root) / name
                    rel = p.relative_to(real).as_posix()
                    mode = p.lstat().st_mode
                    if stat.S_ISLNK(mode):
                        problems.append(f"{target}/{rel}: a symbolic link (to {os.readlink(p)}); links are not allowed "
                                        "inside the chart folder (replace it with a real file or folder)")
                    elif rel == MANIFEST and not stat.S_ISREG(mode):
                        problems.append(f"{target}/{rel}: not a helmgen manifest (not a regular file; "
                                        f"{_manifest_hint(target / MANIFEST)})")
                    elif stat.S_ISDIR(mode):
                        dirs.append(rel)
                    elif stat.S_ISREG(mode):
                        files[rel] = p
                    else:
                        problems.append(f"{target}/{rel}: not a regular file or folder (remove it from the chart)")
                dirnames[:] = [d for d in dirnames if not (Path(root) / d).is_symlink()
                               and (Path(root) / d) != real / MANIFEST]
    except OSError as exc:
        raise WriteError(f"{_shown(exc, target, real)} (helmgen must read the whole chart folder)") from None
    if problems:
        raise WriteError("\n".join(sorted(problems)))
    files.pop(TEMP_MARK, None)  # a run killed right after its swap left its mark: helmgen's name, never copied
    manifest = files.pop(MANIFEST, None)
    if manifest is None:
        return Chart(files, dirs, None)
    return Chart(files, dirs, _read_manifest(manifest, target / MANIFEST))


def _raise(exc: OSError) -> None:
    raise exc


def lock_folder(folder: Path, waiting: str = "") -> int:
    """flock on a folder itself (no lock file left behind), waiting for the run that holds it and
    saying `waiting` on stderr first when it has to; returns the descriptor that holds the lock
    (close it to unlock). Raises OSError."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                sys.stderr.write(f"helmgen: {waiting}\n")
                sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lock_parent(parent: Path) -> int:
    """Serialize the runs writing beside one chart: the parent folder locked."""
    try:
        return lock_folder(parent, f"waiting for another helmgen run writing in {parent}")
    except OSError as exc:
        if exc.filename is not None:
            raise WriteError(f"{_shown(exc, parent)} (helmgen locks this folder while it writes the chart)") from None
        raise WriteError(f"{parent}: cannot lock the folder ({exc.strerror or exc}); "
                         "helmgen locks it while it writes the chart") from None


class Difference(NamedTuple):
    """A file `generate` would change: `missing`, `differs` (its content) or `stale` (owned, no longer generated)."""

    path: str  # relative to the chart folder
    kind: Literal["missing", "differs", "stale"]


def differences(files: dict[str, bytes], target: Path) -> list[Difference]:
    """What `generate` would change: owned files that differ, are missing, or are stale, and the manifest."""
    target = Path(target)
    real = _real_folder(target)
    lock = _lock_parent(real.parent) if real.parent.is_dir() else None
    try:
        if lock is not None:
            _clean_stale(real)
        chart = scan(target)
        owned = chart.hashes or {}
        out: list[Difference] = []
        try:
            for rel, data in {**files, MANIFEST: manifest_bytes(files)}.items():
                p = real / rel if rel == MANIFEST else chart.files.get(rel)
                if p is None or not p.exists():
                    out.append(Difference(rel, "missing"))
                elif p.read_bytes() != data:
                    out.append(Difference(rel, "differs"))
        except OSError as exc:
            raise WriteError(_shown(exc, target, real)) from None
        for rel in chart.files:
            if rel not in files and rel in owned:
                out.append(Difference(rel, "stale"))
        return out
    finally:
        if lock is not None:
            os.close(lock)


def _writable(path: Path) -> bool:
    """Writable by this process; a folder without any write bit counts as read-only even for root."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK) and bool(mode & 0o222)


def _check_writable(target: Path, real: Path) -> None:
    if real.exists():
        if not _writable(real):
            raise WriteError(f"{target}: the chart folder is read-only (make it writable: chmod u+w)")
        where = real.parent
    else:
        where = real.parent
        while not where.exists():
            where = where.parent
    if not _writable(where):
        raise WriteError(f"{where}: the folder is read-only, and helmgen builds the chart beside {target} before "
                         "swapping it in (make it writable: chmod u+w)")


def _pause(point: str) -> None:
    """TEST-ONLY (HELMGEN_TEST_PAUSE_AT=point): say so on stderr and wait to be killed.

    The wait is bounded (PAUSE_SECONDS), so a variable left set by mistake never hangs a user's run.
    """
    if os.environ.get(PAUSE_ENV) == point:
        import time

        sys.stderr.write(f"helmgen: test pause at {point}\n")
        sys.stderr.flush()
        time.sleep(PAUSE_SECONDS)


def _temp_pattern(real: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(real.name)}\.helmgen-(?:tmp-[a-z0-9_]{{8}}|old-[0-9]+)\Z")


def _clean_stale(real: Path) -> None:
    """Remove the temporary folders runs killed before they finished left beside the chart.

    Called with the parent's lock held, so no live run owns such a folder. Only folders with
    helmgen's exact temporary names that carry its TEMP_MARK (or are empty: killed right after
    mkdtemp) are touched, never a user's `.<chart>.helmgen-backup`.
    `.<chart>.helmgen-old-PID` holds the previous chart when a run died between the two renames of
    the fallback swap: it is put back when the chart folder is missing.
    """
    pattern = _temp_pattern(real)
    try:
        leftovers = sorted(p for p in real.parent.iterdir()
                           if pattern.match(p.name) and not p.is_symlink() and p.is_dir()
                           and ((p / TEMP_MARK).is_file() or not any(p.iterdir())))
    except OSError:
        return
    for p in sorted(leftovers, key=lambda p: f"{TEMP_INFIX}old-" not in p.name):  # restore before deleting
        try:
            if f"{TEMP_INFIX}old-" in p.name and not os.path.lexists(real):
                os.rename(p, real)
                continue
        except OSError:
            pass
        _remove(p)


def _remove(folder: Path) -> None:
    """Delete a folder of ours, read-only subfolders (a user's 0555 ci/) included."""
    try:
        os.chmod(folder, 0o700)
        for root, dirnames, _ in os.walk(folder):
            for d in dirnames:
                if not os.path.islink(os.path.join(root, d)):
                    os.chmod(os.path.join(root, d), 0o700)
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # no renameat2, or this file system lacks the flag
        return False
    raise OSError(err, os.strerror(err), str(b))


def _conflicts(files: dict[str, bytes], chart: Chart, target: Path) -> list[str]:
    """A folder of the user's where the chart needs a file, or a file where it needs a folder."""
    dirs = set(chart.dirs)
    problems = set()
    for rel in files:
        if rel in dirs:
            problems.add(f"{target}/{rel}: a folder where the chart needs a file (move it away)")
        for up in PurePosixPath(rel).parents:
            if up.as_posix() in chart.files:
                problems.add(f"{target}/{up.as_posix()}: a file where the chart needs a folder (move it away)")
    return sorted(problems)


def _plan(files: dict[str, bytes], chart: Chart, target: Path, force: bool) -> tuple[Report, set[str]]:
    """What the write replaces, reports and drops; raise WriteError when it needs --force or cannot be done."""
    problems = _conflicts(files, chart, target)
    if problems:
        raise WriteError("\n".join(problems))
    if not chart.recorded and chart.files and not force:
        raise WriteError(f"{target}: holds files that helmgen did not generate: it has no {MANIFEST}, helmgen's record "
                         "of the files it wrote (use --force to write the chart there anyway: your files at paths the "
                         "chart needs are replaced and each is listed, the others are kept; a chart from helmgen 0.1.0 "
                         "is taken over this way, once)")
    owned = chart.hashes or {}
    mine = sorted(rel for rel in files if rel in chart.files and rel not in owned)
    if mine and not force:
        raise WriteError(f"{target}: helmgen would replace files it does not own: "
                         f"{', '.join(mine)} (move them away, or use --force to replace them; each is listed)")
    edited = {rel for rel in owned if rel in chart.files and _sha256(chart.files[rel].read_bytes()) != owned[rel]}
    report = Report(replaced_user_files=mine,
                    replaced_edited_files=sorted(rel for rel in edited if rel in files),
                    kept_edited_files=sorted(rel for rel in edited if rel not in files))
    drop = {rel for rel in owned if rel not in files and rel not in edited}
    return report, drop


def write_chart(files: dict[str, bytes], target: Path, force: bool = False) -> Report:
    """Write the chart to target (see the module docstring); raise WriteError, having written nothing."""
    target = Path(target)
    real = _real_folder(target)
    parent = real.parent
    if not parent.is_dir():
        _check_writable(target, real)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(_shown(exc, target)) from None
    lock = _lock_parent(parent)
    tmp: Path | None = None
    try:
        _clean_stale(real)  # may put back the chart a run killed mid-swap left aside
        chart = scan(target)
        try:
            report, drop = _plan(files, chart, target, force)
            _check_writable(target, real)
            tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}{TEMP_INFIX}tmp-", dir=parent))
            _mark(tmp)
            _build(files, chart, drop, real, tmp)
            _swap(tmp, real, target)
        except OSError as exc:
            raise WriteError(f"{_shown(exc, target, tmp, real)}; the previous chart is left as it was") from None
    finally:
        try:
            if tmp is not None and tmp.exists():
                _remove(tmp)
        finally:
            os.close(lock)
    return report


def _build(files: dict[str, bytes], chart: Chart, drop: set[str], real: Path, tmp: Path) -> None:
    """The new chart in tmp: the user's files and folders as they were, helmgen's files, the manifest."""
    _pause("started")
    as_root = os.geteuid() == 0
    owner = real.lstat() if real.exists() else None
    for rel in chart.dirs:  # the user's folders, empty ones too (os.walk lists a folder before its subfolders)
        _mkdir(tmp, rel)
    _copy_user_files(files, chart, drop, tmp, as_root)
    _write_files(files, tmp, owner if as_root else None)
    _keep_modes(chart, real, tmp, owner, as_root)
    _pause("built")


def _copy_user_files(files: dict[str, bytes], chart: Chart, drop: set[str], tmp: Path, as_root: bool) -> None:
    """The user's files come along untouched (those helmgen writes or drops stay behind)."""
    for rel, p in chart.files.items():
        if rel in files or rel in drop:
            continue
        dest = tmp / rel
        try:
            os.link(p, dest, follow_symlinks=False)  # the same inode: owner, mode, times and hard links kept
        except OSError:
            shutil.copy2(p, dest, follow_symlinks=False)
            if as_root:
                st = p.lstat()
                os.lchown(dest, st.st_uid, st.st_gid)


def _write_files(files: dict[str, bytes], tmp: Path, owner: os.stat_result | None) -> None:
    """helmgen's files and the manifest, mode 0644, and the folders they need; owned as the chart folder
    (`owner`, when running as root and the folder exists)."""
    for n, (rel, data) in enumerate({**files, MANIFEST: manifest_bytes(files)}.items()):
        if n == len(files) // 2:
            _pause("writing")
        p = tmp / rel
        for up in reversed(PurePosixPath(rel).parents):
            if up.as_posix() != "." and not (tmp / up).is_dir():
                _mkdir(tmp, up.as_posix())
                if owner is not None:
                    os.lchown(tmp / up, owner.st_uid, owner.st_gid)
        p.write_bytes(data)
        os.chmod(p, 0o644)
        if owner is not None:
            os.lchown(p, owner.st_uid, owner.st_gid)


def _keep_modes(chart: Chart, real: Path, tmp: Path, owner: os.stat_result | None, as_root: bool) -> None:
    """The user's folders and the chart folder keep their modes and owners; a new chart folder gets the umask's mode."""
    for rel in reversed(chart.dirs):  # last: a read-only folder is filled first
        st = (real / rel).lstat()
        if as_root:
            os.lchown(tmp / rel, st.st_uid, st.st_gid)
        os.chmod(tmp / rel, stat.S_IMODE(st.st_mode))
    if owner is not None:
        if as_root:
            os.lchown(tmp, owner.st_uid, owner.st_gid)
        os.chmod(tmp, stat.S_IMODE(owner.st_mode))  # the chart folder keeps its mode (0750 stays 0750)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)


def _mkdir(tmp: Path, rel: str) -> None:
    """One folder inside tmp, its parent already there: a temporary folder that vanished is never recreated."""
    try:
        (tmp / rel).mkdir()
    except FileExistsError:
        if not (tmp / rel).is_dir():
            raise


def _mark(folder: Path) -> None:
    (folder / TEMP_MARK).write_bytes(b"helmgen: a temporary folder of a helmgen run; the next run deletes it\n")


def _unmark(folder: Path) -> None:
    (folder / TEMP_MARK).unlink(missing_ok=True)


def _swap(tmp: Path, real: Path, target: Path) -> None:
    """Put the new chart in place with one rename; the previous chart goes, the folder keeps its place.

    Both sides carry TEMP_MARK while they are swapped, so whichever a kill -9 leaves beside the chart
    is cleaned by the next run; the mark is taken out of the chart right after.
    """
    try:
        if not real.exists():
            os.rename(tmp, real)
            _unmark(real)
            return
        _mark(real)
        try:
            if _exchange(tmp, real):
                _unmark(real)
                _pause("swapped")
                _remove(tmp)  # tmp now holds the previous chart
                return
            old = real.parent / f".{real.name}{TEMP_INFIX}old-{os.getpid()}"
            os.rename(real, old)
            _pause("moved-aside")
            try:
                os.rename(tmp, real)
            except BaseException:
                os.rename(old, real)
                raise
            _unmark(real)
            _remove(old)
        except BaseException:  # not swapped: the previous chart is in place, without the mark
            with contextlib.suppress(OSError):
                _unmark(real)
            raise
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise WriteError(f"{target}: the chart folder is a mount point (or in use), and helmgen replaces the "
                             "whole folder with one rename so that a failed run changes nothing; mount its parent "
                             "folder instead, or write the chart to a folder inside the mount") from None
        raise
