"""Publish a chart to an OCI registry or a classic chart repository, never overwriting a version.

A published version is immutable: publishing the same content again is a no-op that succeeds,
different content under a version that is already there is refused. "The same" compares what
the chart contains (file names and bytes), not the package's timestamps or file order. In a
classic repository, what is published is what the parsed index.yaml lists, compared as Helm
compares versions (`v1.4.0` is `1.4.0`; `+build` metadata does not make another version).

Every package read here (the one to publish, the one already in a repository folder) may be
hostile: members are read with size limits, YAML with an alias and nesting guard.
"""

from __future__ import annotations

import array
import contextlib
import errno
import gzip
import hashlib
import itertools
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import unquote, urlsplit

from helmgen import helm
from helmgen.errors import EXIT_BAD_INPUT, EXIT_FAILURE, HelmgenError

# Helm 4's limits when it loads a chart archive: a package beyond them is not a chart Helm 4 installs.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CHART_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_CHART_YAML_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024  # a GNU long name or a PAX header: a path, a few attributes
# the whole decompressed tar stream: the files plus a header and padding for each
MAX_STREAM_BYTES = MAX_CHART_BYTES + MAX_MEMBERS * 1024 + MAX_HEADER_BYTES * 4
MAX_CHART_YAML_VALUES = 100_000
# A real repository index: thousands of entries, a few MiB; parsing 20 MiB takes seconds, not minutes.
MAX_INDEX_BYTES = 20 * 1024 * 1024
MAX_INDEX_VALUES = 2_000_000
MAX_YAML_DEPTH = 64
TMP_PREFIX = ".helmgen-tmp-"  # hidden staging folders inside a repository folder (only while it is locked)
WORK_PREFIX = ".helmgen-work-"  # hidden work folders in the temporary folder, named with their run's pid


class PublishError(HelmgenError):
    """Publishing failed or was refused (exit 1)."""

    exit_code = EXIT_FAILURE


class BadInput(PublishError):
    """The input itself is unusable: a crafted package, a chart with a link out of it, a bad URL (exit 2)."""

    exit_code = EXIT_BAD_INPUT


@dataclass
class Signing:
    key: str
    keyring: str
    passphrase_file: str = ""


@dataclass
class Result:
    name: str
    version: str
    reference: str
    status: str  # "published" or "unchanged"


@dataclass
class Package:
    path: Path
    name: str
    version: str
    digests: dict[str, str] = field(repr=False)  # path inside the chart (top folder stripped) -> sha256


# --- reading packages and YAML that may be hostile -------------------------------------------------

def _events(text: str, what: str, max_values: int) -> Iterator[tuple[Any, tuple[Any, ...] | None, bool]]:
    """The parser's events with where each one is (the path of keys and list positions, and whether
    it is a mapping key), under a guard: what the document holds once every alias is expanded is
    counted (no billion laughs) and nesting is shallow; it stops at the limit, before anything is built."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    expanded = 0
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    stack: list[list[Any]] = []  # [is a mapping, path, expecting a key, current key, next list position]

    def done(key: Any) -> None:  # a node ended: in a mapping, a key is followed by its value and back
        if stack and stack[-1][0]:
            frame = stack[-1]
            if frame[2]:
                frame[3] = key
            frame[2] = not frame[2]

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.ScalarEvent, yaml.AliasEvent)):
            if isinstance(event, yaml.AliasEvent):
                expanded += sizes.get(event.anchor or "", 1)
            else:
                expanded += 1
            if expanded > max_values:
                raise BadInput(f"{what}: more than {max_values} values once its aliases are expanded "
                               "(an alias bomb?)")
            if not stack:
                path, is_key = (), False
            elif stack[-1][0]:
                frame = stack[-1]
                path, is_key = (frame[1], True) if frame[2] else (frame[1] + (frame[3],), False)
            else:
                frame = stack[-1]
                path, is_key = frame[1] + (frame[4],), False
                frame[4] += 1
            yield event, path, is_key
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_nodes.append((event.anchor, expanded - 1))
                if len(open_nodes) > MAX_YAML_DEPTH:
                    raise BadInput(f"{what}: nested deeper than {MAX_YAML_DEPTH} levels")
                stack.append([isinstance(event, yaml.MappingStartEvent), path, True, None, 0])
            else:
                if isinstance(event, yaml.ScalarEvent) and event.anchor:
                    sizes[event.anchor] = 1
                done(event.value if is_key and isinstance(event, yaml.ScalarEvent) else None)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, start = open_nodes.pop()
            if anchor:
                sizes[anchor] = expanded - start
            frame = stack.pop()
            yield event, frame[1], False
            done(None)
        else:
            yield event, None, False


def _guard(text: str, what: str, max_values: int) -> None:
    for _ in _events(text, what, max_values):
        pass


def compose_yaml(data: bytes, what: str, max_values: int = MAX_CHART_YAML_VALUES) -> tuple[Any, Any]:
    """(node tree with its positions, value) of a YAML document that may be hostile: guarded first
    (see _guard), then composed once and built from that tree."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = data.decode("utf-8")
        _guard(text, what, max_values)
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            value = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        return node, value
    except UnicodeDecodeError:
        raise BadInput(f"{what}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{what}: invalid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise BadInput(f"{what}: nested too deeply") from None


def load_yaml(data: bytes, what: str, max_values: int = MAX_CHART_YAML_VALUES) -> Any:
    """Safe YAML with a guard on alias expansion and nesting."""
    return compose_yaml(data, what, max_values)[1]


_SEMVER = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def version_key(version: str) -> tuple[Any, ...]:
    """What Helm compares (Masterminds semver): a leading v and +build metadata do not count."""
    m = _SEMVER.fullmatch(version.strip())
    if not m:
        return ("not semver", version)
    major, minor, patch, pre, _build = m.groups()
    return (int(major), int(minor or 0), int(patch or 0), pre or "")


class _Capped:
    """A read-only stream that refuses to hand out more than `limit` bytes (a decompression bomb
    ends here, whatever the headers claim)."""

    def __init__(self, raw: Any, limit: int, message: str) -> None:
        self.raw, self.left, self.message = raw, limit, message

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        data: bytes = self.raw.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise BadInput(self.message)
        return data


class _GuardedTarInfo(tarfile.TarInfo):
    """tarfile reads a GNU long name or a PAX header whole into memory: refuse a big one first."""

    def _proc_gnulong(self, tarfile: Any) -> Any:  # tarfile's own signature (shadows the module name)
        self._check_header()
        return super()._proc_gnulong(tarfile)  # type: ignore[misc]

    def _proc_pax(self, tarfile: Any) -> Any:
        self._check_header()
        return super()._proc_pax(tarfile)  # type: ignore[misc]

    def _check_header(self) -> None:
        if self.size > MAX_HEADER_BYTES:
            raise BadInput(f"a {self.size}-byte long-name or PAX header; the limit is {MAX_HEADER_BYTES}")


def _open_regular(path: Path, what: str) -> Any:
    """A regular file opened for reading; a FIFO, a device or a folder is refused without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BadInput(f"{what} {path}: does not exist") from None
    except OSError as exc:
        raise BadInput(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BadInput(f"{what} {path}: not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class _Members:
    """The running totals of one package's members, and each member's checks."""

    def __init__(self, tgz: Path, what: str) -> None:
        self.where = f"{what} {tgz}"
        self.digests: dict[str, str] = {}
        self.chart_yaml: bytes | None = None
        self.total = self.count = 0
        self.tops: set[str] = set()

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = self._place(member)
        if member.isdir():
            return
        name = member.name
        if not member.isfile():
            raise BadInput(f"{self.where}: the member {name!r} is not a plain file")
        if len(parts) < 2:
            raise BadInput(f"{self.where}: the member {name!r} is not in the chart's top folder")
        is_chart_yaml = len(parts) == 2 and parts[1] == "Chart.yaml"
        self._size(member, is_chart_yaml)
        f = tar.extractfile(member)
        data = f.read(MAX_FILE_BYTES + 1) if f else b""
        if len(data) != member.size:
            raise BadInput(f"{self.where}: the member {name!r} is truncated")
        self.digests["/".join(parts[1:])] = hashlib.sha256(data).hexdigest()
        if is_chart_yaml:
            self.chart_yaml = data

    def _place(self, member: tarfile.TarInfo) -> list[str]:
        """The member's path parts, once it is known to stay inside the package's one top folder."""
        self.count += 1
        if self.count > MAX_MEMBERS:
            raise BadInput(f"{self.where}: more than {MAX_MEMBERS} files")
        name = member.name
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts or "\\" in name or not parts:
            raise BadInput(f"{self.where}: the member {name!r} points outside the chart")
        if member.issym() or member.islnk():
            raise BadInput(f"{self.where}: the member {name!r} is a link (to {member.linkname!r}); "
                           "a chart package holds plain files only")
        self.tops.add(parts[0])
        if len(self.tops) > 1:
            raise BadInput(f"{self.where}: more than one top folder ({', '.join(sorted(self.tops))}); "
                           "a chart package holds one chart")
        return parts

    def _size(self, member: tarfile.TarInfo, is_chart_yaml: bool) -> None:
        if member.size > MAX_FILE_BYTES:
            raise BadInput(f"{self.where}: the member {member.name!r} is {member.size} bytes; "
                           f"the limit is {MAX_FILE_BYTES} a file (Helm 4's own)")
        if is_chart_yaml and member.size > MAX_CHART_YAML_BYTES:
            raise BadInput(f"{self.where}: Chart.yaml is {member.size} bytes; the limit is {MAX_CHART_YAML_BYTES}")
        self.total += member.size
        if self.total > MAX_CHART_BYTES:
            raise BadInput(f"{self.where}: more than {MAX_CHART_BYTES} bytes unpacked (Helm 4's own limit)")


def _read_members(tgz: Path, what: str) -> _Members:
    members = _Members(tgz, what)
    try:
        with _open_regular(tgz, what) as raw:
            if raw.read(2) != b"\x1f\x8b":
                raise BadInput(f"{what} {tgz}: not a chart package (not gzip-compressed)")
            raw.seek(0)
            # gzip, not tarfile's own "r|gz": Helm writes an extra header field that tarfile's stream misreads
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                capped = _Capped(unzipped, MAX_STREAM_BYTES, f"{what} {tgz}: more than {MAX_STREAM_BYTES} bytes "
                                                             f"once decompressed; the limit is {MAX_CHART_BYTES} of files")
                with tarfile.open(fileobj=cast(IO[bytes], capped), mode="r|", tarinfo=_GuardedTarInfo) as tar:
                    for member in tar:
                        members.add(tar, member)
    except BadInput as exc:
        text = str(exc)
        raise BadInput(text if text.startswith(what) else f"{what} {tgz}: {text}") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise BadInput(f"{what} {tgz}: a truncated or corrupt package ({exc})") from None
    return members


def read_package(tgz: Path, what: str) -> Package:
    """Name, version and file digests of a chart package, refusing anything Helm should never load."""
    members = _read_members(tgz, what)
    if members.chart_yaml is None:
        raise BadInput(f"{what} {tgz}: not a Helm chart package (no Chart.yaml in its top folder)")
    meta = load_yaml(members.chart_yaml, f"{what} {tgz}: Chart.yaml")
    if not isinstance(meta, dict):
        raise BadInput(f"{what} {tgz}: Chart.yaml is not a mapping")
    name, version = meta.get("name"), meta.get("version")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"{what} {tgz}: Chart.yaml: name {str(name)[:80]!r} is not a chart name")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not _SEMVER.fullmatch(version):
        raise BadInput(f"{what} {tgz}: Chart.yaml: version {str(version)[:80]!r} is not a SemVer version")
    return Package(tgz, name, version, members.digests)


def check_chart_links(chart: Path) -> None:
    """Helm packages what a symlink points to: a link out of the chart would publish that file, a
    link to a folder that holds it would be packaged forever. Also: Helm 4's size limit."""
    root = chart.resolve()
    bad = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(chart):
        for n in sorted(dirnames + filenames):
            p = Path(dirpath) / n
            if not p.is_symlink():
                if n in filenames:
                    with contextlib.suppress(OSError):
                        total += p.stat().st_size
                continue
            target = os.readlink(p)
            try:
                resolved = p.resolve(strict=True)
            except RuntimeError:
                bad.append(f"{p}: a symlink to {target}, a loop of links")
                continue
            except OSError as exc:
                why = "a loop of links" if exc.errno == errno.ELOOP else "which does not exist"
                bad.append(f"{p}: a symlink to {target}, {why}")
                continue
            if resolved != root and root not in resolved.parents:
                bad.append(f"{p}: a symlink to {target}, outside the chart (Helm would package {resolved}; "
                           "copy the file into the chart instead)")
            elif resolved.is_dir() and (resolved == p.parent.resolve() or resolved in p.parent.resolve().parents):
                bad.append(f"{p}: a symlink to {target}, a folder that holds the link itself "
                           "(Helm would package it forever)")
            elif resolved.is_file():
                total += resolved.stat().st_size
    if bad:
        raise BadInput("\n".join(bad))
    if total > MAX_CHART_BYTES:
        raise BadInput(f"{chart}: {total} bytes of files; the limit is {MAX_CHART_BYTES} (Helm 4's own)")


# --- versions, packaging --------------------------------------------------------------------------

def next_version(version: str, part: str = "patch") -> str:
    m = _SEMVER.fullmatch(version.strip())
    if not m:
        raise PublishError(f"{version!r} is not a SemVer version")
    major, minor, patch = (int(x or 0) for x in m.groups()[:3])
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if m.group(4) is None:  # +build metadata is no pre-release: 1.4.0+build.2 is 1.4.0, followed by 1.4.1
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor}.{patch}"  # a pre-release (1.2.3-rc.1) is followed by its release


def package(chart_dir: Path, dest: Path, signing: Signing | None) -> Path:
    args = ["package", str(chart_dir), "-d", str(dest)]
    if signing:
        args += ["--sign", "--key", signing.key, "--keyring", signing.keyring]
        if signing.passphrase_file:
            args += ["--passphrase-file", signing.passphrase_file]
    helm.run(*args)
    return next(dest.glob("*.tgz"))


def _refuse(name: str, version: str, where: str) -> PublishError:
    return PublishError(
        f"{name} {version} is already published at {where} with different content; a published version "
        f"never changes. Publish it as {next_version(version)} (for a spec: --bump patch)")


# --- OCI ------------------------------------------------------------------------------------------

@dataclass
class OciTarget:
    base: str  # oci://host[:port]/path, without credentials
    username: str = ""
    password: str = ""

    def auth_args(self) -> list[str]:
        return ["--username", self.username, "--password", self.password] if self.username or self.password else []


_OCI_PATH = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")


def oci_target(target: str, strict: bool = False) -> OciTarget:
    """oci://[user[:password]@]host[:port]/path: Helm takes no credentials in a reference, so they go
    apart. strict: a reference Helm would refuse (no host, a bad port, upper case in the path) is bad input."""
    rest = target[len("oci://"):].rstrip("/")
    host, _, path = rest.partition("/")
    userinfo, at, host = host.rpartition("@")
    if strict:
        shown = f"oci://{'***@' if at else ''}{host}/{path}" if path else f"oci://{'***@' if at else ''}{host}"
        try:
            parts = urlsplit(f"//{host}")
            port = parts.port
        except ValueError as exc:
            raise BadInput(f"--to {shown}: not a valid registry address ({exc})") from None
        if not parts.hostname or any(c.isspace() for c in host):
            raise BadInput(f"--to {shown}: no registry host (oci://HOST[:PORT]/PATH)")
        if port == 0:
            raise BadInput(f"--to {shown}: port 0 is no registry port")
        if path and not _OCI_PATH.fullmatch(path):
            raise BadInput(f"--to {shown}: the repository path {path!r} is not a valid OCI repository name "
                           "(lower-case letters, digits, and . _ - between them, / between parts)")
    if not at:
        return OciTarget(f"oci://{rest}")
    user, _, password = userinfo.partition(":")
    return OciTarget(f"oci://{host}/{path}" if path else f"oci://{host}", unquote(user), unquote(password))


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A hidden work folder in the temporary folder, named with this run's pid; the folders of runs
    that no longer exist (killed with -9) are removed first."""
    base = Path(tempfile.gettempdir())
    for d in base.glob(WORK_PREFIX + "*"):
        m = re.match(re.escape(WORK_PREFIX) + r"(\d+)-", d.name)
        if m and d.is_dir() and not d.is_symlink() and not _alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
    d = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=base))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def redact(text: str, target: str = "") -> str:
    """Credentials never reach the terminal: URL user info, and the password itself wherever it appears."""
    text = re.sub(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)
    if target.startswith("oci://"):
        t = oci_target(target)
        raw = target[len("oci://"):].split("/", 1)[0].rpartition("@")[0].partition(":")[2]
        for secret in {t.password, raw}:
            if len(secret) >= 3:
                text = text.replace(secret, "***")
    return text


def _pull(t: OciTarget, reference: str, version: str, dest: Path, plain_http: bool) -> Path | None:
    """The package the registry holds for that version (or constraint), or None when there is none."""
    dest.mkdir(parents=True, exist_ok=True)
    args = ["pull", reference, "--version", version, "-d", str(dest), *t.auth_args()]
    if plain_http:
        args.append("--plain-http")
    try:
        helm.run(*args)
    except helm.HelmError as exc:
        text = str(exc).lower()
        if any(s in text for s in ("not found", "manifest unknown", "name unknown", "could not locate a version",
                                                  "unable to locate any tags")):
            return None
        hint = " (a registry without TLS needs --plain-http)" if "HTTP response to HTTPS client" in str(exc) else ""
        raise PublishError(f"cannot read {reference} {version}: {exc}{hint}") from None
    return next(dest.glob("*.tgz"))


def _published_as(t: OciTarget, reference: str, version: str, tmp: Path, plain_http: bool) -> Path | None:
    """The package a registry holds under this version or one Helm treats as the same: the exact tag,
    then the constraint `=1.4.0` (Helm lists the tags and ignores +build metadata), then the other
    spelling with or without a leading v (a tag Helm's tag listing leaves out)."""
    m = _SEMVER.fullmatch(version)
    core = version.lstrip("v").split("+", 1)[0] if m else version
    tries = [version] + ([f"={core}", core if version.startswith("v") else f"v{core}"] if m else [])
    for i, attempt in enumerate(dict.fromkeys(tries)):
        found = _pull(t, reference, attempt, tmp / str(i), plain_http)
        if found is not None:
            return found
    return None


def to_oci(pkg: Package, target: str, plain_http: bool, work: Path) -> Result:
    t = oci_target(target)
    reference = f"{t.base}/{pkg.name}"
    # the pulls go to the run's hidden work folder
    found = _published_as(t, reference, pkg.version, work / "pull", plain_http)
    if found is not None:
        existing = read_package(found, "the package in the registry")
        if existing.version != pkg.version:
            raise PublishError(
                f"{pkg.name} {pkg.version} is already published at {reference} as {existing.version}: Helm "
                f"treats them as the same version (a leading v and +build metadata do not count). Publish it "
                f"as {next_version(pkg.version)} (for a spec: --bump patch)")
        if existing.digests == pkg.digests:
            return Result(pkg.name, pkg.version, f"{reference}:{pkg.version}", "unchanged")
        raise _refuse(pkg.name, pkg.version, reference)
    args = ["push", str(pkg.path), t.base, *t.auth_args()]
    if plain_http:
        args.append("--plain-http")
    helm.run(*args)  # raises unless the push succeeded
    return Result(pkg.name, pkg.version, f"{reference}:{pkg.version}", "published")


# --- a classic repository folder ------------------------------------------------------------------

def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--url {url!r}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"--url {url!r}: the repository's public URL must be absolute, http:// or https:// "
                       "and name a host")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise BadInput(f"--url {url!r}: a URL holds no spaces or control characters (write a space as %20)")
    if port == 0:
        raise BadInput(f"--url {url!r}: port 0 is no port a repository is served on")


@dataclass
class Entry:
    key: str  # its key under entries
    position: int  # its place in that list
    name: str
    version: str  # as written (the scalar's text)
    urls: list[str]


@dataclass
class Index:
    """What publishing needs of a repository's index.yaml, from one guarded pass over its parser
    events: its entries (name and version as written), where entries and each chart's list are in
    the text (to add one entry without touching any other byte), and a hash of every event (to
    check the new text means the old one plus that entry and nothing else)."""

    path: Path
    text: str | None = None  # None: there is no index.yaml
    entries: list[Entry] = field(default_factory=list)
    signatures: Any = field(default_factory=lambda: array.array("q"))  # one int64 an event
    root_block: bool = False
    root_end: int = -1  # event number of the root mapping's end
    entries_kind: str = "absent"  # absent, null, map
    entries_event: int = -1  # event number of entries' value (its start, or the null scalar)
    entries_end_event: int = -1
    entries_span: tuple[int, int] = (0, 0)  # text offsets of entries' value ({} or null)
    entries_flow: bool = False
    entries_end_mark: Any = None  # where the block mapping ends (insert a last key there)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # chart key -> marks and event numbers


_NULLS = ("", "~", "null", "Null", "NULL")


def _is_null(event: Any) -> bool:
    return event.tag == "tag:yaml.org,2002:null" or (event.tag in (None, "!") and not event.style
                                                      and event.value in _NULLS)


def _signature(event: Any) -> int:
    """An event as far as its meaning goes (not its style or position)."""
    return hash((type(event).__name__, getattr(event, "value", None), getattr(event, "anchor", None),
                 getattr(event, "tag", None), getattr(event, "implicit", None)))


def read_index(index: Path, text: str | None = None) -> Index:
    """The repository's index.yaml (or `text`, read as if it were that file), parsed with the YAML
    guard; an entry Helm would drop or choke on (null, no name, no or an invalid version, a version
    that is not a string) is refused, so that adding a version never makes another one vanish."""
    if text is None:
        if index.is_symlink():
            target = os.readlink(index)
            if not index.exists():
                raise BadInput(f"{index}: a dangling symlink (to {target}); remove it or point it at its file")
            raise BadInput(f"{index}: a symlink (to {target}); publishing replaces index.yaml with a new file, "
                           "so make it a plain file")
        if not index.exists():
            return Index(index)
        if not index.is_file():
            raise BadInput(f"{index}: not a file")
        with _open_regular(index, "the index") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_INDEX_BYTES:
                raise BadInput(f"{index}: {size} bytes; the limit is {MAX_INDEX_BYTES}")
            try:
                data = f.read(MAX_INDEX_BYTES + 1)
            except OSError as exc:
                raise PublishError(f"cannot read {index}: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{index}: not UTF-8 text") from None
    try:
        return _scan_index(index, text)
    except __import__("yaml").YAMLError as exc:
        raise BadInput(f"{index}: invalid YAML ({' '.join(str(exc).split())})") from None


def _offset(mark: Any) -> int:
    """A parser event's text offset (PyYAML's marks are typed optional; the events it yields have them)."""
    return int(mark.index)


class _IndexScanner:
    """One pass over index.yaml's parser events, by depth: the root, `entries`, a chart's list, an
    entry, an entry's fields. Problems with entries are collected; a file that is no index is refused."""

    def __init__(self, index: Path, text: str) -> None:
        self.index = index
        self.out = Index(index, text)
        self.problems: list[str] = []
        self.not_index = BadInput(f"{index}: not a Helm repository index (no entries mapping)")
        self.item: dict[str, Any] | None = None
        self.bad_keys: set[Any] = set()

    def feed(self, n: int, event: Any, path: tuple[Any, ...] | None, is_key: bool) -> None:
        self.out.signatures.append(_signature(event))
        if path is None:
            return
        if not path:
            self._root(n, event, is_key)
        elif path[0] != "entries":
            return
        elif len(path) == 1:
            self._entries(n, event, is_key)
        elif path[1] in self.bad_keys or (is_key and len(path) < 4):
            return
        elif len(path) == 2:
            self._chart_list(n, event, path[1])
        elif len(path) == 3:
            self._entry(event, path)
        elif self.item is not None and not is_key:
            self._field(event, path)

    def _root(self, n: int, event: Any, is_key: bool) -> None:
        import yaml

        if isinstance(event, yaml.MappingStartEvent):
            self.out.root_block = not event.flow_style
        elif isinstance(event, yaml.MappingEndEvent):
            self.out.root_end = n
        elif not (isinstance(event, yaml.ScalarEvent) and (is_key or _is_null(event))):
            raise self.not_index

    def _entries(self, n: int, event: Any, is_key: bool) -> None:
        import yaml

        out = self.out
        if is_key:
            if not isinstance(event, yaml.ScalarEvent):
                raise self.not_index
            out.keys[event.value] = {"key": event.start_mark, "key_event": n}
        elif isinstance(event, yaml.MappingStartEvent):
            out.entries_kind, out.entries_event, out.entries_flow = "map", n, bool(event.flow_style)
            out.entries_span = (_offset(event.start_mark), -1)
        elif isinstance(event, yaml.MappingEndEvent):
            out.entries_end_event, out.entries_end_mark = n, event.start_mark
            out.entries_span = (out.entries_span[0], _offset(event.end_mark))
        elif isinstance(event, yaml.ScalarEvent) and _is_null(event):
            out.entries_kind, out.entries_event = "null", n
            out.entries_span = (_offset(event.start_mark), _offset(event.end_mark))
        else:
            raise self.not_index

    def _chart_list(self, n: int, event: Any, key: Any) -> None:
        import yaml

        if isinstance(event, yaml.SequenceStartEvent):
            self.out.keys[key].update(seq=event.start_mark, seq_event=n, seq_flow=bool(event.flow_style))
        elif not isinstance(event, yaml.SequenceEndEvent):
            self.problems.append(f"{self.index}: entries.{key} is not a list")
            self.bad_keys.add(key)

    def _entry(self, event: Any, path: tuple[Any, ...]) -> None:
        import yaml

        where = f"{self.index}: entries.{path[1]}[{path[2]}]"
        if isinstance(event, yaml.MappingStartEvent):
            self.item = {"name": None, "version": None, "urls": []}
        elif isinstance(event, yaml.MappingEndEvent) and self.item is not None:
            self._close_entry(where, path)
        elif isinstance(event, yaml.ScalarEvent) and _is_null(event):
            self.problems.append(f"{where} is empty (null); Helm drops or chokes on it: remove it or fill it in")
        elif not isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.problems.append(f"{where} is not a mapping; Helm drops or chokes on it: remove it")

    def _close_entry(self, where: str, path: tuple[Any, ...]) -> None:
        assert self.item is not None
        name, version = self.item["name"], self.item["version"]
        if not isinstance(name, str) or not name:
            self.problems.append(f"{where} has no name; Helm drops it: fill it in or remove it")
        elif not isinstance(version, str):
            self.problems.append(f"{where} ({name}) has no version, or one that is not a string; Helm drops "
                                 "or chokes on it: fill it in or remove it")
        elif not _SEMVER.fullmatch(version):
            self.problems.append(f"{where} ({name}): version {version[:80]!r} is not SemVer; Helm drops it: "
                                 "correct it or remove it")
        else:
            self.out.entries.append(Entry(str(path[1]), path[2], name, version, self.item["urls"]))
        self.item = None

    def _field(self, event: Any, path: tuple[Any, ...]) -> None:
        import yaml

        assert self.item is not None
        field_name = path[3]
        if len(path) == 4 and field_name in ("name", "version"):
            if isinstance(event, yaml.ScalarEvent) and not _is_null(event):
                self.item[field_name] = event.value
            elif not isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self.item[field_name] = False  # null, a list, a mapping, an alias: not a string
        elif len(path) == 5 and field_name == "urls" and isinstance(event, yaml.ScalarEvent):
            self.item["urls"].append(event.value)


def _scan_index(index: Path, text: str) -> Index:
    scanner = _IndexScanner(index, text)
    for n, (event, path, is_key) in enumerate(_events(text, str(index), MAX_INDEX_VALUES)):
        scanner.feed(n, event, path, is_key)
    if scanner.problems:
        raise BadInput("\n".join(scanner.problems))
    return scanner.out


def _listed(index: Index, name: str, version: str) -> list[Entry]:
    """Entries of that chart (by key and by name: Helm reads both) Helm treats as that version."""
    key = version_key(version)
    return [e for e in index.entries if name in (e.key, e.name) and version_key(e.version) == key]


def _url_files(urls: list[str]) -> list[str]:
    """File names an index entry's urls point to (the last path segment: never a path out of the folder)."""
    names = []
    for u in urls:
        last = unquote(urlsplit(str(u)).path).rsplit("/", 1)[-1]
        if last and last not in (".", ".."):
            names.append(last)
    return names


def check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder}: not a folder")
    if folder.is_symlink() and not folder.exists():
        raise BadInput(f"{folder}: a dangling symlink (to {os.readlink(folder)})")
    if not folder.exists():
        return
    dangling = [f"{p}: a dangling symlink (to {os.readlink(p)}); remove it or point it at its file"
                for p in sorted(folder.iterdir()) if p.is_symlink() and not p.exists()]
    if dangling:
        raise BadInput("\n".join(dangling))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The repository folder locked (flock on the folder itself: no lock file left behind) from
    reading index.yaml to the last rename; concurrent publishes to one folder take turns."""
    from helmgen.write import lock_folder

    try:
        fd = lock_folder(folder)
    except OSError as exc:
        raise PublishError(f"{folder}: cannot lock the repository folder ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        os.close(fd)


def clean_stale(folder: Path) -> None:
    """Remove the staging folders of runs that were killed; called with the folder locked, so no
    live run has one."""
    for d in folder.glob(TMP_PREFIX + "*"):
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)


def to_folder(pkg: Package, folder: Path, url: str, prov: Path | None = None) -> Result:
    """A classic repository: the package (and .prov) in the folder, and one entry added to
    index.yaml; every other byte of index.yaml stays as it was."""
    check_folder(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(folder):
            check_folder(folder)
            clean_stale(folder)
            return _to_locked_folder(pkg, folder, url, prov)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when it is still empty
        raise


def _to_locked_folder(pkg: Package, folder: Path, url: str, prov: Path | None) -> Result:
    index = read_index(folder / "index.yaml")
    listed = _listed(index, pkg.name, pkg.version)
    if listed:
        entry = next((e for e in listed if e.version == pkg.version), listed[0])
        if entry.version != pkg.version:
            raise PublishError(
                f"{pkg.name} {pkg.version} is already published in {index.path} as {entry.version}: Helm treats "
                f"them as the same version (a leading v, a missing .0 and +build metadata do not count). Publish "
                f"it as {next_version(pkg.version)} (for a spec: --bump patch)")
        local = [folder / n for n in _url_files(entry.urls) if (folder / n).is_file()]
        if not local:
            urls = ", ".join(entry.urls) or "none"
            raise PublishError(
                f"{pkg.name} {pkg.version} is already listed in {index.path} (urls: {urls}), but its package is "
                f"not in {folder}, so its content cannot be compared: a published version never changes. "
                f"Publish it as {next_version(pkg.version)} (for a spec: --bump patch)")
        if read_package(local[0], "the package in the repository").digests == pkg.digests:
            return Result(pkg.name, pkg.version, str(local[0]), "unchanged")
        raise _refuse(pkg.name, pkg.version, str(folder))
    dest = folder / f"{pkg.name}-{pkg.version}.tgz"
    if (dest.exists() or dest.is_symlink()) and \
            read_package(dest, "the package in the repository").digests != pkg.digests:
        raise PublishError(f"{dest} is already in the folder with different content, though index.yaml does not "
                           f"list {pkg.name} {pkg.version}; move it away and publish again")
    staged = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=folder))
    try:
        return _stage_and_commit(pkg, folder, staged, dest, url, prov, index)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _stage_and_commit(pkg: Package, folder: Path, staged: Path, dest: Path, url: str, prov: Path | None,
                      index: Index) -> Result:
    """Helm indexes the new package alone (its entry exactly as Helm writes one); that entry is added
    to index.yaml's text; the result is checked to mean the old index plus that entry."""
    build = staged / "index"
    build.mkdir()
    shutil.copyfile(pkg.path, build / dest.name)
    args = ["repo", "index", str(build)]
    if url:
        args += ["--url", url.rstrip("/")]
    helm.run(*args)
    data = _with_entry(index, (build / "index.yaml").read_text(encoding="utf-8"), pkg).encode("utf-8")
    (staged / "index.yaml").write_bytes(data)
    if prov is not None and prov.is_file():
        shutil.copyfile(prov, staged / (dest.name + ".prov"))
        os.replace(staged / (dest.name + ".prov"), folder / (dest.name + ".prov"))
    os.replace(build / dest.name, dest)
    os.replace(staged / "index.yaml", index.path)  # the index last: it never lists a missing package
    if index.path.read_bytes() != data:  # the folder is locked: only another program could change it
        raise PublishError(f"{index.path} changed while it was written (another program?); check it")
    return Result(pkg.name, pkg.version, str(dest), "published")


def _means(text: str, expected: Iterator[int]) -> bool:
    """Whether text's events are exactly `expected` (signatures), compared as they stream."""
    import yaml

    try:
        for event, _, _ in _events(text, "the new index", MAX_INDEX_VALUES + 1000):
            if next(expected, None) != _signature(event):
                return False
    except (BadInput, yaml.YAMLError):
        return False
    return next(expected, None) is None


@dataclass
class _Splice:
    """What adding Helm's entry for a package to index.yaml's text needs: the index as it is, the entry's
    lines (as Helm indents them under `entries:`) and the event signatures of Helm's new index that the
    spliced text must add."""

    index: Index
    pkg: Package
    block: list[str]  # the entry's lines, "  - " first
    key_block: array.array[int]  # chart key, list start, entry, list end
    entry_block: array.array[int]  # the entry alone
    entries_open: array.array[int]  # "entries" key, mapping start
    entries_close: array.array[int]  # mapping end

    def indented(self, column: int) -> str:
        """The entry's lines for a chart key at `column`."""
        if column >= 2:
            return "".join(" " * (column - 2) + ln if ln.strip() else ln for ln in self.block)
        return "".join(ln[2 - column:] if ln.strip() else ln for ln in self.block)

    def spliced(self, at: int, inserted: array.array[int], skip: int = 0) -> Iterable[int]:
        """The old index's signatures with `inserted` at event `at` (replacing `skip` events)."""
        old = self.index.signatures
        return itertools.chain(itertools.islice(old, at), inserted, itertools.islice(old, at + skip, None))


_Spliced = tuple[str, Iterable[int]]  # the new text and the signatures its events must have


def _into_empty_flow_map(sp: _Splice, text: str) -> _Spliced | None:
    """`entries: {}`: the chart's key becomes the first of a block mapping."""
    s, e = sp.index.entries_span
    if text[s:e].replace(" ", "") != "{}":
        return None
    new = text[:s].rstrip(" \t") + "\n  " + sp.pkg.name + ":\n" + sp.indented(2).rstrip("\n") + text[e:]
    return new, sp.spliced(sp.index.entries_event + 1, sp.key_block)


def _into_chart_list(sp: _Splice, text: str, same: dict[str, Any]) -> _Spliced | None:
    """The chart has a block list of versions already: the entry goes first in it."""
    mark = same.get("seq")
    if mark is None or same["seq_flow"]:
        return None
    start = mark.index - mark.column
    if text[start:mark.index].strip() != "" or text[mark.index] != "-":
        return None
    return text[:start] + sp.indented(mark.column) + text[start:], sp.spliced(same["seq_event"] + 1, sp.entry_block)


def _new_chart_key(sp: _Splice, text: str) -> _Spliced | None:
    """A chart the block mapping of entries does not have yet: its key goes in name order."""
    index = sp.index
    column = min(k["key"].column for k in index.keys.values()) if index.keys else 2
    later = sorted((name, k) for name, k in index.keys.items() if name > sp.pkg.name)
    mark, at = (later[0][1]["key"], later[0][1]["key_event"]) if later else \
        (index.entries_end_mark, index.entries_end_event)
    start = mark.index - mark.column
    if text[start:mark.index].strip() != "" or not (later or mark.column <= column):
        return None
    head = text[:start] if not text[:start] or text[:start].endswith("\n") else text[:start] + "\n"
    return head + " " * column + sp.pkg.name + ":\n" + sp.indented(column) + text[start:], sp.spliced(at, sp.key_block)


def _into_null_entries(sp: _Splice, text: str) -> _Spliced | None:
    """`entries:` with a null value: it becomes a block mapping with the chart's key."""
    s, e = sp.index.entries_span
    if text[s:e].strip() not in _NULLS:
        return None
    new = text[:s].rstrip(" \t") + "\n  " + sp.pkg.name + ":\n" + sp.indented(2).rstrip("\n") + text[e:]
    inserted = sp.entries_open[1:] + sp.key_block + sp.entries_close
    return new, sp.spliced(sp.index.entries_event, inserted, skip=1)


def _new_entries(sp: _Splice, text: str) -> _Spliced:
    """No `entries` key: it goes last in the root block mapping."""
    new = (text if text.endswith("\n") else text + "\n") + "entries:\n  " + sp.pkg.name + ":\n" + sp.indented(2)
    return new, sp.spliced(sp.index.root_end, sp.entries_open + sp.key_block + sp.entries_close)


def _splice(sp: _Splice, text: str) -> _Spliced | None:
    """The new text for the index's layout, or None when helmgen cannot add the entry to it in place."""
    index = sp.index
    if index.entries_kind == "map" and not index.keys and index.entries_flow:
        return _into_empty_flow_map(sp, text)
    if index.entries_kind == "map" and not index.entries_flow:
        same = index.keys.get(sp.pkg.name)
        return _new_chart_key(sp, text) if same is None else _into_chart_list(sp, text, same)
    if index.entries_kind == "null":
        return _into_null_entries(sp, text)
    if index.entries_kind == "absent" and index.root_block:
        return _new_entries(sp, text)
    return None


def _with_entry(index: Index, helm_text: str, pkg: Package) -> str:
    """index.yaml's text with Helm's entry for the package added; nothing else changes (checked:
    the new text's events are the old ones with the entry's inserted, and nothing else)."""
    helm_index = read_index(index.path, helm_text)
    mine = [e for e in helm_index.entries if e.key == pkg.name and e.version == pkg.version]
    if len(helm_index.entries) != 1 or not mine or "seq" not in helm_index.keys.get(pkg.name, {}):
        raise PublishError(f"Helm did not list {pkg.name} {pkg.version} in the new index.yaml (it skips a "
                           f"package it cannot load: check it with `helm lint`); {index.path.parent} is unchanged")
    if index.text is None or index.root_end < 0:  # no index yet (or an empty file): Helm's is the index
        return helm_text
    info = helm_index.keys[pkg.name]
    sigs = helm_index.signatures
    lines = helm_text.splitlines(keepends=True)
    first = info["key"].line + 1
    last = next((i for i in range(first, len(lines)) if lines[i].strip() and not lines[i].startswith(" ")),
                len(lines))
    block = [ln if ln.endswith("\n") else ln + "\n" for ln in lines[first:last]]
    if not block or not block[0].startswith("  - ") or any(ln.strip() and not ln.startswith("  ") for ln in block):
        raise PublishError(f"cannot read Helm's entry for {pkg.name} {pkg.version}; {index.path.parent} is unchanged")
    # Helm's events: entries' key and start, the chart's key, its list start, the entry, the list's end, entries' end
    sp = _Splice(index, pkg, block,
                 key_block=sigs[info["key_event"]:helm_index.entries_end_event],
                 entry_block=sigs[info["seq_event"] + 1:helm_index.entries_end_event - 1],
                 entries_open=sigs[helm_index.entries_event - 1:helm_index.entries_event + 1],
                 entries_close=sigs[helm_index.entries_end_event:helm_index.entries_end_event + 1])
    spliced = _splice(sp, index.text)
    if spliced is not None and _means(spliced[0], iter(spliced[1])):
        return spliced[0]
    raise BadInput(f"{index.path} is not laid out as Helm writes it (block style), so helmgen cannot add "
                       f"{pkg.name} {pkg.version} to it without rewriting it; {index.path.parent} is unchanged "
                       "(rewrite it once with `helm repo index`)")


# --- --bump ---------------------------------------------------------------------------------------

def bump_text(text: str, part: str) -> tuple[str, str, str]:
    """The spec with only its top-level version value raised (quotes, comments, layout, and a tag or
    an anchor on the value kept): (new text, old version, new version). A value that aliases the
    version (`appVersion: *v`) follows it, as YAML says."""
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise BadInput("the spec is not a mapping")
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "version":
            if not isinstance(value, yaml.ScalarNode) or value.style not in (None, "", '"', "'"):
                raise BadInput("version is not a one-line scalar: raise it by hand")
            old = value.value
            new = next_version(old, part)
            quote = value.style or ""
            # the node's span starts at its tag or anchor: replace only the scalar's own characters
            start, end = value.start_mark.index, value.end_mark.index
            token = [t for t in yaml.scan(text, Loader=yaml.SafeLoader)
                     if isinstance(t, yaml.ScalarToken) and start <= t.start_mark.index and t.end_mark.index == end]
            if not token:
                raise BadInput("cannot find the version's value in the spec: raise it by hand")
            start = token[-1].start_mark.index
            if "\n" in text[start:end]:
                raise BadInput("version is not a one-line scalar: raise it by hand")
            return text[:start] + quote + new + quote + text[end:], old, new
    raise BadInput("the spec has no top-level version")
