"""Publish a chart to an OCI registry or a classic chart repository, never overwriting a version.

A published version is immutable: publishing the same content again is a no-op that succeeds,
different content under a version that is already there is refused. "The same" compares what
the chart contains (file names and bytes), not the package's timestamps or file order.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helmgen import helm


class PublishError(Exception):
    pass


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


def chart_contents(tgz: Path) -> dict[str, bytes]:
    """The files of a packaged chart by path, without the top folder: what "identical" compares."""
    out: dict[str, bytes] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                f = tar.extractfile(member)
                assert f is not None
                out[member.name.split("/", 1)[-1]] = f.read()
    return out


def chart_meta(tgz: Path) -> tuple[str, str]:
    import yaml

    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml":
                f = tar.extractfile(member)
                assert f is not None
                meta = yaml.safe_load(io.BytesIO(f.read()))
                return str(meta["name"]), str(meta["version"])
    raise PublishError(f"{tgz} is not a Helm chart package (no Chart.yaml)")


def next_version(version: str, part: str = "patch") -> str:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if not m:
        raise PublishError(f"{version!r} is not a SemVer version")
    major, minor, patch = (int(x) for x in m.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if re.fullmatch(r"\d+\.\d+\.\d+", version):
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


def _pull(reference: str, version: str, dest: Path, plain_http: bool) -> Path | None:
    """The package already in the registry under that version, or None when there is none."""
    args = ["pull", reference, "--version", version, "-d", str(dest)]
    if plain_http:
        args.append("--plain-http")
    try:
        helm.run(*args)
    except helm.HelmError as exc:
        text = str(exc).lower()
        if "not found" in text or "manifest unknown" in text or "name unknown" in text:
            return None
        hint = " (a registry without TLS needs --plain-http)" if "HTTP response to HTTPS client" in str(exc) else ""
        raise PublishError(f"cannot read {reference} {version}: {exc}{hint}") from None
    return next(dest.glob("*.tgz"))


def to_oci(tgz: Path, target: str, plain_http: bool) -> Result:
    name, version = chart_meta(tgz)
    base = target.rstrip("/")
    reference = f"{base}/{name}"
    with tempfile.TemporaryDirectory(prefix="helmgen-pull-") as tmp:
        existing = _pull(reference, version, Path(tmp), plain_http)
        if existing is not None:
            if chart_contents(existing) == chart_contents(tgz):
                return Result(name, version, f"{reference}:{version}", "unchanged")
            raise _refuse(name, version, reference)
    args = ["push", str(tgz), base]
    if plain_http:
        args.append("--plain-http")
    helm.run(*args)
    return Result(name, version, f"{reference}:{version}", "published")


def to_folder(tgz: Path, folder: Path, url: str) -> Result:
    """A classic repository: the package (and .prov) in the folder, index.yaml merged so that
    earlier versions stay listed exactly as they were."""
    name, version = chart_meta(tgz)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / tgz.name
    index = folder / "index.yaml"
    if dest.exists():
        if chart_contents(dest) != chart_contents(tgz):
            raise _refuse(name, version, str(folder))
        if index.exists() and tgz.name in index.read_text():
            return Result(name, version, str(dest), "unchanged")
    with tempfile.TemporaryDirectory(prefix="helmgen-index-", dir=folder) as tmp:
        staged = Path(tmp)
        shutil.copy2(dest if dest.exists() else tgz, staged / tgz.name)
        prov = tgz.with_name(tgz.name + ".prov")
        if prov.exists():
            shutil.copy2(prov, staged / prov.name)
        args = ["repo", "index", str(staged)]
        if url:
            args += ["--url", url.rstrip("/")]
        if index.exists():
            args += ["--merge", str(index)]
        helm.run(*args)
        for f in sorted(staged.iterdir()):
            if f.name != "index.yaml":
                shutil.copy2(f, folder / f.name)
        (staged / "index.yaml").replace(index)  # the index last: it never lists a missing package
    return Result(name, version, str(dest), "published")


def bump_spec(spec: Path, part: str) -> str:
    """Raise the spec's version in place, keeping its comments and layout (ruamel round-trip)."""
    from ruamel.yaml import YAML

    y = YAML()
    y.preserve_quotes = True
    data = y.load(spec.read_text())
    new = next_version(str(data["version"]), part)
    data["version"] = new
    buf = io.StringIO()
    y.dump(data, buf)
    spec.write_text(buf.getvalue())
    return new
