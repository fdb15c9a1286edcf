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

import fcntl
import gzip
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from helmgen import helm

# Helm 4's limits when it loads a chart archive: a package beyond them is not a chart Helm 4 installs.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CHART_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_INDEX_BYTES = 32 * 1024 * 1024
MAX_YAML_VALUES = 2_000_000
MAX_YAML_DEPTH = 64
TMP_PREFIX = ".helmgen-tmp-"  # hidden staging folders inside a repository folder
STALE_UNLOCKED_SECONDS = 60


class PublishError(Exception):
    """Publishing failed or was refused (exit 1)."""

    exit_code = 1


class BadInput(PublishError):
    """The input itself is unusable: a crafted package, a chart with a link out of it, a bad URL (exit 2)."""

    exit_code = 2


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

def load_yaml(data: bytes, what: str) -> Any:
    """Safe YAML with a guard: what aliases expand to is counted (no billion laughs), nesting is shallow."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = data.decode("utf-8")
        expanded = 0  # values the document holds once every alias is expanded
        sizes: dict[str, int] = {}
        open_nodes: list[tuple[str | None, int]] = []
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_nodes.append((event.anchor, expanded))
                expanded += 1
                if len(open_nodes) > MAX_YAML_DEPTH:
                    raise BadInput(f"{what}: nested deeper than {MAX_YAML_DEPTH} levels")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, start = open_nodes.pop()
                if anchor:
                    sizes[anchor] = expanded - start
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                expanded += sizes.get(event.anchor or "", 1)
            if expanded > MAX_YAML_VALUES:
                raise BadInput(f"{what}: more than {MAX_YAML_VALUES} values once its aliases are expanded "
                               "(an alias bomb?)")
        return yaml.load(text, Loader=loader)
    except UnicodeDecodeError:
        raise BadInput(f"{what}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{what}: invalid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise BadInput(f"{what}: nested too deeply") from None


_SEMVER = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def version_key(version: str) -> tuple[Any, ...]:
    """What Helm compares (Masterminds semver): a leading v and +build metadata do not count."""
    m = _SEMVER.fullmatch(version.strip())
    if not m:
        return ("not semver", version)
    major, minor, patch, pre, _build = m.groups()
    return (int(major), int(minor or 0), int(patch or 0), pre or "")


def read_package(tgz: Path, what: str) -> Package:
    """Name, version and file digests of a chart package, refusing anything Helm should never load."""
    digests: dict[str, str] = {}
    chart_yaml: bytes | None = None
    total = members = 0
    try:
        with open(tgz, "rb") as raw:
            if raw.read(2) != b"\x1f\x8b":
                raise BadInput(f"{what} {tgz}: not a chart package (not gzip-compressed)")
            raw.seek(0)
            # gzip, not tarfile's own "r|gz": Helm writes an extra header field that tarfile's stream misreads
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped, tarfile.open(fileobj=unzipped, mode="r|") as tar:
                for member in tar:
                    members += 1
                    if members > MAX_MEMBERS:
                        raise BadInput(f"{what} {tgz}: more than {MAX_MEMBERS} files")
                    name = member.name
                    parts = [p for p in name.split("/") if p not in ("", ".")]
                    if name.startswith("/") or ".." in parts or "\\" in name or not parts:
                        raise BadInput(f"{what} {tgz}: the member {name!r} points outside the chart")
                    if member.issym() or member.islnk():
                        raise BadInput(f"{what} {tgz}: the member {name!r} is a link (to {member.linkname!r}); "
                                       "a chart package holds plain files only")
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise BadInput(f"{what} {tgz}: the member {name!r} is not a plain file")
                    if member.size > MAX_FILE_BYTES:
                        raise BadInput(f"{what} {tgz}: the member {name!r} is {member.size} bytes; "
                                       f"the limit is {MAX_FILE_BYTES} a file (Helm 4's own)")
                    total += member.size
                    if total > MAX_CHART_BYTES:
                        raise BadInput(f"{what} {tgz}: more than {MAX_CHART_BYTES} bytes unpacked (Helm 4's own limit)")
                    f = tar.extractfile(member)
                    data = f.read(MAX_FILE_BYTES + 1) if f else b""
                    if len(data) != member.size:
                        raise BadInput(f"{what} {tgz}: the member {name!r} is truncated")
                    rel = "/".join(parts[1:]) if len(parts) > 1 else parts[0]
                    digests[rel] = hashlib.sha256(data).hexdigest()
                    if len(parts) == 2 and parts[1] == "Chart.yaml":
                        chart_yaml = data
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, FileNotFoundError) and not tgz.exists():
            raise BadInput(f"{what} {tgz}: does not exist") from None
        raise BadInput(f"{what} {tgz}: a truncated or corrupt package ({exc})") from None
    if chart_yaml is None:
        raise BadInput(f"{what} {tgz}: not a Helm chart package (no Chart.yaml in its top folder)")
    meta = load_yaml(chart_yaml, f"{what} {tgz}: Chart.yaml")
    if not isinstance(meta, dict):
        raise BadInput(f"{what} {tgz}: Chart.yaml is not a mapping")
    name, version = meta.get("name"), meta.get("version")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"{what} {tgz}: Chart.yaml: name {str(name)[:80]!r} is not a chart name")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not _SEMVER.fullmatch(version):
        raise BadInput(f"{what} {tgz}: Chart.yaml: version {str(version)[:80]!r} is not a SemVer version")
    return Package(tgz, name, version, digests)


def check_chart_links(chart: Path) -> None:
    """Helm packages what a symlink points to: a link out of the chart would publish that file."""
    root = chart.resolve()
    bad = []
    for dirpath, dirnames, filenames in os.walk(chart):
        for n in sorted(dirnames + filenames):
            p = Path(dirpath) / n
            if not p.is_symlink():
                continue
            target = os.readlink(p)
            try:
                resolved = p.resolve(strict=True)
            except (OSError, RuntimeError):
                bad.append(f"{p}: a symlink to {target}, which does not exist")
                continue
            if resolved != root and root not in resolved.parents:
                bad.append(f"{p}: a symlink to {target}, outside the chart (Helm would package {resolved}; "
                           "copy the file into the chart instead)")
    if bad:
        raise BadInput("\n".join(bad))


# --- versions, packaging --------------------------------------------------------------------------

def next_version(version: str, part: str = "patch") -> str:
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    if not m:
        raise PublishError(f"{version!r} is not a SemVer version")
    major, minor, patch = (int(x) for x in m.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if re.fullmatch(r"v?\d+\.\d+\.\d+", version):
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


def oci_target(target: str) -> OciTarget:
    """oci://[user[:password]@]host[:port]/path: Helm takes no credentials in a reference, so they go apart."""
    rest = target[len("oci://"):].rstrip("/")
    host, _, path = rest.partition("/")
    if "@" not in host:
        return OciTarget(f"oci://{rest}")
    userinfo, _, host = host.rpartition("@")
    user, _, password = userinfo.partition(":")
    return OciTarget(f"oci://{host}/{path}" if path else f"oci://{host}", unquote(user), unquote(password))


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


def to_oci(pkg: Package, target: str, plain_http: bool) -> Result:
    t = oci_target(target)
    reference = f"{t.base}/{pkg.name}"
    with tempfile.TemporaryDirectory(prefix="helmgen-pull-") as tmp:
        found = _published_as(t, reference, pkg.version, Path(tmp), plain_http)
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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"--url {url!r}: the repository's public URL must be absolute, http:// or https://")


def read_index(index: Path) -> dict[str, list[dict[str, Any]]]:
    """The entries of a repository's index.yaml (empty when there is none), parsed with the YAML guard."""
    if not index.exists():
        return {}
    if not index.is_file():
        raise BadInput(f"{index}: not a file")
    try:
        size = index.stat().st_size
        if size > MAX_INDEX_BYTES:
            raise BadInput(f"{index}: {size} bytes; the limit is {MAX_INDEX_BYTES}")
        data = index.read_bytes()
    except OSError as exc:
        raise PublishError(f"cannot read {index}: {exc.strerror or exc}") from None
    doc = load_yaml(data, str(index))
    if doc is None:
        return {}
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(entries, (dict, type(None))):
        raise BadInput(f"{index}: not a Helm repository index (no entries mapping)")
    out: dict[str, list[dict[str, Any]]] = {}
    for name, versions in (entries or {}).items():
        if not isinstance(versions, list):
            raise BadInput(f"{index}: entries.{name} is not a list")
        out[str(name)] = [e for e in versions if isinstance(e, dict)]
    return out


def _listed(entries: dict[str, list[dict[str, Any]]], name: str, version: str) -> list[dict[str, Any]]:
    key = version_key(version)
    return [e for e in entries.get(name, []) if version_key(str(e.get("version", ""))) == key]


def _url_files(entry: dict[str, Any]) -> list[str]:
    """File names an index entry's urls point to (the last path segment: never a path out of the folder)."""
    urls = entry.get("urls")
    names = []
    for u in urls if isinstance(urls, list) else []:
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


def clean_stale(folder: Path) -> None:
    """Remove the staging folders of runs that were killed (their lock is free)."""
    if not folder.is_dir():
        return
    for d in folder.glob(TMP_PREFIX + "*"):
        if not d.is_dir() or d.is_symlink():
            continue
        lock = d / ".lock"
        try:
            if lock.exists():
                with open(lock, "rb") as f:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif time.time() - d.stat().st_mtime < STALE_UNLOCKED_SECONDS:
                continue  # just created by a run that has not locked it yet
        except OSError:
            continue  # another run is using it
        shutil.rmtree(d, ignore_errors=True)


def to_folder(pkg: Package, folder: Path, url: str, prov: Path | None = None) -> Result:
    """A classic repository: the package (and .prov) in the folder, index.yaml merged so that
    earlier versions stay listed exactly as they were."""
    check_folder(folder)
    clean_stale(folder)
    index = folder / "index.yaml"
    entries = read_index(index)
    listed = _listed(entries, pkg.name, pkg.version)
    if listed:
        entry = listed[0]
        there = str(entry.get("version"))
        if there != pkg.version:
            raise PublishError(
                f"{pkg.name} {pkg.version} is already published in {index} as {there}: Helm treats them as the "
                f"same version (a leading v and +build metadata do not count). Publish it as "
                f"{next_version(pkg.version)} (for a spec: --bump patch)")
        local = [folder / n for n in _url_files(entry) if (folder / n).is_file()]
        if not local:
            urls = ", ".join(str(u) for u in entry.get("urls") or []) or "none"
            raise PublishError(
                f"{pkg.name} {pkg.version} is already listed in {index} (urls: {urls}), but its package is not "
                f"in {folder}, so its content cannot be compared: a published version never changes. "
                f"Publish it as {next_version(pkg.version)} (for a spec: --bump patch)")
        if read_package(local[0], "the package in the repository").digests == pkg.digests:
            return Result(pkg.name, pkg.version, str(local[0]), "unchanged")
        raise _refuse(pkg.name, pkg.version, str(folder))
    dest = folder / f"{pkg.name}-{pkg.version}.tgz"
    if dest.exists() and read_package(dest, "the package in the repository").digests != pkg.digests:
        raise PublishError(f"{dest} is already in the folder with different content, though index.yaml does not "
                           f"list {pkg.name} {pkg.version}; move it away and publish again")
    folder.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=folder))
    try:
        with open(staged / ".lock", "wb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _stage_and_commit(pkg, folder, staged, dest, url, prov)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _stage_and_commit(pkg: Package, folder: Path, staged: Path, dest: Path, url: str, prov: Path | None) -> Result:
    index = folder / "index.yaml"
    build = staged / "index"
    build.mkdir()
    shutil.copyfile(pkg.path, build / dest.name)
    if prov is not None and prov.exists():
        shutil.copyfile(prov, build / (dest.name + ".prov"))
    args = ["repo", "index", str(build)]
    if url:
        args += ["--url", url.rstrip("/")]
    if index.exists():
        args += ["--merge", str(index)]
    helm.run(*args)
    if not _listed_exactly(read_index(build / "index.yaml"), pkg):
        raise PublishError(f"Helm did not list {pkg.name} {pkg.version} in the new index.yaml (it skips a package "
                           f"it cannot load: check it with `helm lint`); {folder} is unchanged")
    for f in sorted(build.iterdir()):
        if f.name != "index.yaml":
            os.replace(f, folder / f.name)
    os.replace(build / "index.yaml", index)  # the index last: it never lists a missing package
    if not _listed_exactly(read_index(index), pkg):
        raise PublishError(f"{index} does not list {pkg.name} {pkg.version} after writing it "
                           "(another process replaced it?)")
    return Result(pkg.name, pkg.version, str(dest), "published")


def _listed_exactly(entries: dict[str, list[dict[str, Any]]], pkg: Package) -> bool:
    return any(str(e.get("version")) == pkg.version for e in entries.get(pkg.name, []))


# --- --bump ---------------------------------------------------------------------------------------

def bump_text(text: str, part: str) -> tuple[str, str, str]:
    """The spec with only its top-level version value raised (quotes, comments and layout kept):
    (new text, old version, new version)."""
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise PublishError("the spec is not a mapping")
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "version":
            if not isinstance(value, yaml.ScalarNode) or value.style not in (None, "", '"', "'"):
                raise PublishError("version is not a one-line scalar: raise it by hand")
            old = value.value
            new = next_version(old, part)
            quote = value.style or ""
            start, end = value.start_mark.index, value.end_mark.index
            return text[:start] + quote + new + quote + text[end:], old, new
    raise PublishError("the spec has no top-level version")
