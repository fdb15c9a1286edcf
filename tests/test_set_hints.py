"""The `--set` hints for chart-managed secrets (the chart README's install example, the "missing values"
message of `helm install`) work as written, also for a key with a dot, which Helm's --set reads as nesting."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import yaml

from tests.conftest import generate, run_helm

SPEC = """\
apiVersion: agentgen/v1
name: certs
version: 1.0.0
secrets:
  certs: {keys: [tls.crt, plain]}
agents:
  web:
    image: nginx:1.27
    port: 8080
    env:
      CERT: {secret: certs, key: tls.crt}
      PLAIN: {secret: certs, key: plain}
"""


def _render_with(helm: Path, chart: Path, hints: list[str], value: str) -> dict[str, str]:
    """`helm template` with the hints pasted into a shell command line, $VALUE set; the Secret's data."""
    script = f'"$HELM" template r "$CHART" {" ".join(hints)}'
    proc = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True,
                          env={"HELM": str(helm), "CHART": str(chart), "VALUE": value, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    [secret] = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "Secret"]
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_readme_install_hints_set_a_dotted_key(helm: Path, tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SPEC)
    chart = generate(tmp_path / "s.yaml", tmp_path / "out")
    block = (chart / "README.md").read_text().split("```sh\n")[1].split("```")[0]
    hints = [ln.strip().rstrip("\\").strip() for ln in block.splitlines() if ln.strip().startswith("--set")]
    assert hints == ["--set 'secrets.certs.values.tls\\.crt'=$VALUE", "--set secrets.certs.values.plain=$VALUE"]
    assert _render_with(helm, chart, hints, "v1") == {"tls.crt": "v1", "plain": "v1"}


def test_missing_values_message_hint_sets_a_dotted_key(helm: Path, tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SPEC)
    chart = generate(tmp_path / "s.yaml", tmp_path / "out")
    proc = run_helm(helm, "template", "r", str(chart), "--set", "secrets.certs.values.plain=p", check=False)
    assert proc.returncode != 0
    assert "missing values for chart-managed secrets: secrets.certs.values.tls\\.crt (" in proc.stderr
    hint = re.search(r"for example (--set \S+)\)", proc.stderr)
    assert hint, proc.stderr
    data = _render_with(helm, chart, [hint.group(1), "--set secrets.certs.values.plain=p"], "v2")
    assert data == {"tls.crt": "v2", "plain": "p"}
