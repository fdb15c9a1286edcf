"""The command line as a user runs it: commands, exit codes, and what is (not) written."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from tests.conftest import EXAMPLES, ROOT, SPECS, helmgen_cli, tree_bytes


def test_version_and_help() -> None:
    import helmgen

    assert helmgen_cli("--version").stdout.strip() == f"helmgen, version {helmgen.__version__}"
    out = helmgen_cli("--help").stdout
    for cmd in ("generate", "validate", "schema", "init"):
        assert cmd in out
    for flag in ("--namespace", "--debug", "--kube"):
        for cmd in ("generate", "validate", "init"):
            assert flag not in helmgen_cli(cmd, "--help").stdout


def test_spec_alone_means_generate_into_the_current_folder(tmp_path: Path) -> None:
    spec = EXAMPLES[0]
    proc = helmgen_cli(str(spec), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    name = yaml.safe_load(spec.read_text())["name"]
    assert (tmp_path / name / "Chart.yaml").exists()
    assert tree_bytes(tmp_path / name) == tree_bytes(_generate(spec, tmp_path / "explicit"))


def _generate(spec: Path, out: Path) -> Path:
    proc = helmgen_cli("generate", str(spec), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out / yaml.safe_load(spec.read_text())["name"]


def test_existing_chart_needs_force_and_force_replaces_it(tmp_path: Path) -> None:
    spec = EXAMPLES[0]
    chart = _generate(spec, tmp_path)
    (chart / "values.yaml").write_text("# edited\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path))
    assert proc.returncode == 2 and "--force" in proc.stderr
    assert (chart / "values.yaml").read_text() == "# edited\n"
    assert helmgen_cli("generate", str(spec), "-o", str(tmp_path), "--force").returncode == 0
    assert (chart / "values.yaml").read_text() != "# edited\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left behind


def test_validate_exit_codes(tmp_path: Path) -> None:
    assert helmgen_cli("validate", str(EXAMPLES[0])).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents: {}\n")
    proc = helmgen_cli("validate", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"{bad}:4:9: agents: needs at least 1 entry"
    assert helmgen_cli("validate", str(tmp_path / "missing.yaml")).returncode == 2
    assert helmgen_cli("frobnicate-option", "--nope").returncode == 2  # usage error


def test_schema_command_matches_the_published_schema_and_accepts_the_specs() -> None:
    printed = json.loads(helmgen_cli("schema").stdout)
    published = json.loads((ROOT / "schemas" / "agentgen-v1.schema.json").read_text())
    assert printed == published
    jsonschema.Draft7Validator.check_schema(published)
    for spec in [*EXAMPLES, *SPECS.glob("*.yaml")]:
        jsonschema.validate(yaml.safe_load(spec.read_text()), published)
    bad = yaml.safe_load("apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents: {a: {image: x, replica: 2}}\n")
    assert list(jsonschema.Draft7Validator(published).iter_errors(bad))


def test_examples_reference_the_published_schema() -> None:
    for spec in EXAMPLES:
        assert spec.read_text().startswith("# yaml-language-server: $schema=../schemas/agentgen-v1.schema.json")


def test_init_writes_a_valid_starter_spec(tmp_path: Path) -> None:
    proc = helmgen_cli("init", "my-crew", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    starter = tmp_path / "my-crew.yaml"
    assert "# " in starter.read_text()
    assert helmgen_cli("validate", str(starter)).returncode == 0
    assert helmgen_cli("init", "my-crew", cwd=tmp_path).returncode == 2  # will not overwrite
    assert helmgen_cli("init", "Bad_Name", cwd=tmp_path).returncode == 2
