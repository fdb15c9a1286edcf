"""The YAML writer: any string, number or structure reads back exactly (PyYAML and real Helm)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helmgen.chart.emit import dump
from tests.conftest import helm_path, run_helm

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), text,
                    st.sampled_from(["no", "yes", "on", "0123", "1e3", "~", "null", "true", "- x", "a: b", "#c",
                                     "{{ .Values.x }}", "multi\nline\n", "trailing  \n", "\ttab", " lead"]))
trees = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(text, inner, max_size=4)), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(text, trees, max_size=6))
def test_dump_reads_back_identically(value: dict) -> None:
    assert yaml.safe_load(dump(value)) == (value or None)


def test_comments_sit_above_keys() -> None:
    out = dump({"a": {"b": 1}}, lambda p: "about " + ".".join(p))
    assert out == "# about a\na:\n  # about a.b\n  b: 1\n"


def test_helm_reads_tricky_strings_verbatim(tmp_path: Path) -> None:
    """Go's YAML reader must agree with ours: a chart that echoes values back through toJson."""
    samples = ["no", "0123", "1e3", "{{ fail \"x\" }}", "multi\nline\n", "é ✓ 🚀", "\ttab", " lead", "a\\b", "",
               "line\r\nwin", "null", "~", "- dash", "key: value", "#hash", "\x07bell", "\u2028sep", "trail \n"]
    chart = tmp_path / "echo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: echo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(dump({"items": samples}))
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: echo\ndata:\n  json: {{ toJson .Values.items | quote }}\n")
    for version in ("4.3.1", "3.17.3"):
        out = run_helm(helm_path(version), "template", "x", str(chart)).stdout
        import json
        assert json.loads(yaml.safe_load(out)["data"]["json"]) == samples
