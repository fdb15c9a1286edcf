"""`helmgen template` and `helmgen diff` run the real Helm ($HELM_BIN) as users do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, by_kind, helm_path, helmgen_cli

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")
SECRETS = ["--set", "secrets.llm-keys.values.openai=a", "--set", "secrets.llm-keys.values.anthropic=b"]


@pytest.fixture(params=["4.3.1", "3.17.3"], ids=lambda v: f"helm{v}")
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    return {**os.environ, "HELM_BIN": str(helm_path(request.param))}


def test_template_prints_the_manifests_of_an_environment(env: dict[str, str]) -> None:
    base = helmgen_cli("template", str(SPEC), *SECRETS, env=env)
    assert base.returncode == 0, base.stderr
    objs = [d for d in yaml.safe_load_all(base.stdout) if d]
    assert "research-crew-evaluator" in by_kind(objs, "Deployment")
    dev = helmgen_cli("template", str(SPEC), "--env", "dev", "--release", "r1", *SECRETS, "--namespace", "team",
                      env=env)
    assert dev.returncode == 0, dev.stderr
    dobjs = [d for d in yaml.safe_load_all(dev.stdout) if d]
    deps = by_kind(dobjs, "Deployment")
    assert "r1-evaluator" not in deps and "r1-tracer" in deps  # removed in dev; only in dev
    assert deps["r1-planner"]["spec"]["replicas"] == 1
    assert "r1-planner" not in by_kind(dobjs, "HorizontalPodAutoscaler")
    rb = [o for o in dobjs if (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]  # helm test Jobs
    assert rb


def test_template_errors(env: dict[str, str], tmp_path: Path) -> None:
    missing = helmgen_cli("template", str(SPEC), env=env)  # secrets not given: Helm refuses, naming them
    assert missing.returncode == 1 and "secrets.llm-keys.values.openai" in missing.stderr
    unknown = helmgen_cli("template", str(SPEC), "--env", "staging", env=env)
    assert unknown.returncode == 2 and "dev, prod" in unknown.stderr
    nohelm = helmgen_cli("template", str(SPEC), env={**env, "HELM_BIN": "", "PATH": str(tmp_path)})
    assert nohelm.returncode == 1 and "Helm is not installed" in nohelm.stderr


def test_diff_between_environments(env: dict[str, str]) -> None:
    proc = helmgen_cli("diff", str(SPEC), "dev", "prod", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "--- /dev/null\n+++ prod: Deployment/default/research-crew-evaluator" in out
    assert "--- dev: Deployment/default/research-crew-tracer\n+++ /dev/null" in out
    assert "-  replicas: 1\n+  replicas: 6" in out
    assert "\033[" not in out  # not a terminal: no colour
    assert "objects differ between dev and prod" in proc.stderr
    coloured = helmgen_cli("diff", str(SPEC), "base", "prod", "--color", env=env)
    assert "\033[31m" in coloured.stdout or "\033[32m" in coloured.stdout
    same = helmgen_cli("diff", str(SPEC), "prod", "prod", env=env)
    assert same.stdout == "" and "0 objects differ" in same.stderr


CONFIG_SPEC = """\
apiVersion: agentgen/v1
name: cfg
version: 1.0.0
agents:
  app:
    image: nginx:1.27
    port: 8080
    config:
      files:
        app.conf: |
          listen 8080;
          mode base;
          workers 4;
        run.sh: "#!/bin/sh\\nexec app\\n"
environments:
  dev:
    agents:
      app:
        config:
          files:
            app.conf: |
              listen 8080;
              mode dev;
              workers 4;
  prod:
    agents:
      app: {replicas: 3}
"""


def test_diff_shows_a_changed_config_file_line_inside_a_block(env: dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "cfg.yaml"
    spec.write_text(CONFIG_SPEC)
    proc = helmgen_cli("diff", str(spec), "dev", "prod", env=env)
    assert proc.returncode == 0, proc.stderr
    hunk = proc.stdout.split("+++ prod: ConfigMap/default/cfg-app-config\n", 1)[1].split("\n--- ", 1)[0].splitlines()
    # the file is a literal block whose lines are diff lines of their own, not one escaped string
    assert "   app.conf: |" in hunk
    start = hunk.index("   app.conf: |")
    assert hunk[start + 1:start + 5] == ["     listen 8080;", "-    mode dev;", "+    mode base;", "     workers 4;"]
    assert "\\n" not in "".join(hunk)


def test_unified_pairs_objects_and_keeps_text_readable() -> None:
    from helmgen.diff import unified

    a = ("---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\n"
         "data: {x: '1'}\n"
         "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: ns}\n"
         "data: {script: \"#!/bin/sh\\necho one\\n\", port: '8080', notes: \"trailing \\nspace\"}\n"
         "---\napiVersion: v1\nkind: Secret\nmetadata: {name: gone}\n")
    b = ("---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\n"
         "data: {x: '1'}\n"
         "--- \napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: ns\n  name: cm\n"
         "data:\n  script: |\n    #!/bin/sh\n    echo two\n  port: 8080\n  notes: \"trailing \\nspace\"\n")
    text, changed = unified("a", a, "b", b)
    assert changed == 2  # cm changed, gone removed; `same` unchanged
    assert "ConfigMap/same" not in text
    assert "--- a: ConfigMap/ns/cm\n+++ b: ConfigMap/ns/cm\n" in text
    assert "   script: |\n     #!/bin/sh\n-    echo one\n+    echo two\n" in text
    assert "-  port: '8080'\n+  port: 8080\n" in text  # a change of type alone is a change
    assert "--- a: Secret/gone\n+++ /dev/null\n" in text
    assert unified("a", a, "a", a) == ("", 0)


def test_unified_is_the_same_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    from helmgen import diff

    a = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
         "data: {f: \"a: 1\\nb: [x, 'y']\\n\", n: '08', t: 'yes', e: ''}\n")
    b = a.replace("b: [x", "b: [z").replace("'yes'", "'no'")
    fast = diff.unified("a", a, "b", b)
    monkeypatch.delattr("yaml.CSafeLoader")
    monkeypatch.delattr("yaml.CSafeDumper")
    diff._yaml.cache_clear()
    try:
        assert diff._yaml()[0].__name__ == "SafeLoader"
        assert diff.unified("a", a, "b", b) == fast
    finally:
        monkeypatch.undo()
        diff._yaml.cache_clear()
    assert "   f: |\n     a: 1\n-    b: [x, 'y']\n+    b: [z, 'y']\n" in fast[0]
    assert "-  t: 'yes'\n+  t: 'no'\n" in fast[0]  # strings that read as booleans stay quoted


def test_unified_of_many_objects_is_the_same_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    from helmgen import diff

    def manifest(mode: str) -> str:
        return "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n"
                       f"data: {{f: \"n: {i}\\nmode: {mode if i % 2 else 'same'}\\n\"}}\n" for i in range(300))

    a, b = manifest("dev"), manifest("prod")
    parallel = diff.unified("a", a, "b", b)  # 150 changed objects a side: side b is parsed in a second process
    monkeypatch.setattr(diff, "_both", lambda x, y: (diff.objects(x), diff.objects(y)))
    assert diff.unified("a", a, "b", b) == parallel
    assert parallel[1] == 150 and "     n: 7\n-    mode: dev\n+    mode: prod\n" in parallel[0]


def test_diff_and_template_refuse_a_bad_release_name_once(env: dict[str, str]) -> None:
    for bad in ("Bad_Name", "a" * 54, "-x"):
        for args in (["diff", str(SPEC), "dev", "dev"], ["diff", str(SPEC), "dev", "prod"], ["template", str(SPEC)]):
            proc = helmgen_cli(*args, "--release", bad, env=env)
            assert proc.returncode == 2, proc.stderr  # bad input
            assert proc.stderr.count("invalid release name") == 1 and proc.stdout == ""
    for good in ("ok.name-1", "a" * 53):  # what Helm accepts passes
        proc = helmgen_cli("diff", str(SPEC), "dev", "prod", "--release", good, env=env)
        assert proc.returncode == 0, proc.stderr


def test_unified_shows_each_line_of_a_string_yaml_cannot_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRLF line endings, tabs and trailing spaces keep a string out of a literal block: it shows as a `!lines`
    list, one item a line, so a changed line is still one diff line (and the same without libyaml)."""
    from helmgen import diff

    a = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
         'data: {f: "one\\r\\nmode\\tdev\\r\\ntrail  \\nlast\\n", g: "x\\ny\\n"}\n')
    b = a.replace("dev", "prod")
    fast = diff.unified("a", a, "b", b)
    assert fast[0].splitlines()[3:] == [
        " data:", "   f: !lines", '   - "one\\r"', '-  - "mode\\tdev\\r"', '+  - "mode\\tprod\\r"', "   - 'trail  '",
        "   - last", "   - ''"]
    monkeypatch.delattr("yaml.CSafeLoader")
    monkeypatch.delattr("yaml.CSafeDumper")
    diff._yaml.cache_clear()
    try:
        assert diff.unified("a", a, "b", b) == fast
    finally:
        monkeypatch.undo()
        diff._yaml.cache_clear()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8), min_size=2,
                max_size=5))
def test_every_multiline_string_shows_one_line_a_line(lines: list[str]) -> None:
    """Whatever a multi-line string holds, its object's YAML has a line for each of its lines (a literal block
    or a `!lines` list) and reads back as the same string."""
    import yaml

    from helmgen import diff

    value = "\n".join(ln.replace("\n", "") for ln in lines)
    [text] = diff.objects(["\n" + yaml.safe_dump({"kind": "ConfigMap", "metadata": {"name": "cm"},
                                                  "data": {"f": value}})]).values()
    loader = type("L", (yaml.SafeLoader,), {})
    loader.add_constructor("!lines", lambda ld, node: "\n".join(ld.construct_sequence(node)))
    assert yaml.load(text, Loader=loader)["data"]["f"] == value
    assert "f: |" in text or "f: !lines" in text
    assert text.count("\n") >= value.count("\n") + 4  # no line break written as an escape
