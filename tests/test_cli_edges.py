"""Adversarial checks of promote / abort / deploy / rollback / history, run as a user runs them:
the CLI in a subprocess, bytes and exit codes compared. Commands that need a cluster run a recording
HELM_BIN (the `fake` fixture of test_deploy); `deploy --dry-run` runs the real Helm."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import helm_path, helmgen_cli
from tests.test_deploy import SECRETS, SPEC, calls, fake  # noqa: F401  (fake is a fixture)


def _real_helm_env(tmp_path: Path, version: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_BIN=str(helm_path(version)), KUBECONFIG=str(tmp_path / "no-such-kubeconfig"),
               HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hcfg"),
               HELM_DATA_HOME=str(tmp_path / "hd"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


@pytest.mark.parametrize("version", ["4.3.1", "3.17.3"])
def test_dry_run_with_upgrade_only_options(tmp_path: Path, version: str) -> None:
    """`helm template` refuses options only `helm upgrade` has (--history-max, --reuse-values, -i, ...):
    the dry run prints them in the command, renders without them, and says so."""
    env = _real_helm_env(tmp_path, version)
    upgrade_only = ["--history-max", "5", "--cleanup-on-fail", "-i", "--reset-values", "-o", "json"]
    if version.startswith("4"):
        upgrade_only += ["--server-side", "auto", "--hide-notes"]
    plain = helmgen_cli("deploy", str(SPEC), "--env", "dev", "--dry-run", "--timeout", "5m", *SECRETS, env=env)
    assert plain.returncode == 0, plain.stderr
    proc = helmgen_cli("deploy", str(SPEC), "--env", "dev", "--dry-run", "--timeout", "5m", *SECRETS, "--",
                       *upgrade_only, env=env)
    assert proc.returncode == 0, proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("would run: ")]
    assert line.endswith(" --timeout 5m " + " ".join(SECRETS) + " " + " ".join(upgrade_only))
    assert f"helm template leaves out (upgrade only): {' '.join(upgrade_only)}" in proc.stderr
    assert proc.stdout == plain.stdout
    assert any(o and o["kind"] == "Deployment" for o in yaml.safe_load_all(proc.stdout))


@pytest.mark.parametrize("args", [
    ["crew", "3", "-n", "agents", "--timeout", "2m"],
    ["crew", "-n", "agents", "3", "--timeout", "2m"],
    ["crew", "--namespace", "agents", "--timeout", "2m", "3"],
    ["crew", "-n", "agents", "--timeout", "2m", "--", "3"],
])
def test_rollback_revision_before_or_after_options(fake: dict[str, str], args: list[str]) -> None:  # noqa: F811
    """Helm takes `helm rollback RELEASE -n NS REVISION`: so does helmgen, and the argv keeps the option order."""
    proc = helmgen_cli("rollback", *args, env=fake)
    assert proc.returncode == 0, proc.stderr
    rest = [a for a in args[1:] if a not in ("3", "--")]
    assert calls(fake) == [["rollback", "crew", "3", "--wait", *rest]]


@pytest.mark.parametrize("bad", ["0", "two", "\u00b2", "\u0663"])
def test_rollback_to_a_revision_that_is_not_a_number(fake: dict[str, str], bad: str) -> None:  # noqa: F811
    proc = helmgen_cli("rollback", "crew", "-n", "agents", bad, env=fake)
    assert proc.returncode == 2 and "is not a revision number" in proc.stderr and "Traceback" not in proc.stderr
    assert calls(fake) == []


@pytest.mark.parametrize("text,message", [
    ("", "helm history printed something that is not JSON"),
    ("Error: nope", "helm history printed something that is not JSON"),
    ("null", "not a list of revisions"),
    ('{"revision": 1}', "not a list of revisions"),
    ('[{"revision": "\u00b2"}]', "a revision that is not a number"),
    ('[{"revision": 1.5}]', "a revision that is not a number"),
    ('[{"revision": null}]', "a revision that is not a number"),
])
def test_history_that_helmgen_cannot_read(fake: dict[str, str], text: str, message: str) -> None:  # noqa: F811
    """Garbage from `helm history -o json`: one clear line, exit code 1, no traceback, for history and rollback."""
    Path(fake["FAKE_HISTORY"]).write_text(text)
    for args in (["history", "crew"], ["rollback", "crew", "--to-version", "0.3.0"]):
        proc = helmgen_cli(*args, env=fake)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("helmgen: ") and message in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert [c[0] for c in calls(fake)] == ["history", "history"]


def test_an_empty_history(fake: dict[str, str]) -> None:  # noqa: F811
    Path(fake["FAKE_HISTORY"]).write_text("[]")
    proc = helmgen_cli("history", "crew", env=fake)
    assert proc.returncode == 0 and proc.stdout.split() == [
        "REVISION", "UPDATED", "STATUS", "CHART", "VERSION", "APP", "VERSION", "ENV", "DEPLOYMENT", "DESCRIPTION"]
    proc = helmgen_cli("rollback", "crew", "--to-version", "0.3.0", env=fake)
    assert proc.returncode == 2
    assert proc.stderr == "helmgen: crew: no revision ran chart version 0.3.0 (versions in the history: none)\n"
    assert [c[0] for c in calls(fake)] == ["history", "history"]


CANARY = """# the crew
apiVersion: agentgen/v1
name: crew
version: 0.1.0
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2   # stable
    port: 8080
    rollout:
      strategy: canary
      canary: {weight: 10, tag: "1.9.0"}
"""


@pytest.mark.parametrize("command", ["promote", "abort"])
def test_a_read_only_spec_is_not_rewritten(tmp_path: Path, command: str) -> None:
    """The atomic rename would replace a file without write permission (and root writes anything):
    a spec the user made read-only stays as it is, exit 1, nothing written."""
    spec = tmp_path / "crew.yaml"
    spec.write_text(CANARY)
    spec.chmod(0o444)
    proc = helmgen_cli(command, str(spec), "planner")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"helmgen: {spec}: cannot rewrite it (it is read-only (mode 0444)); nothing written\n"
    assert proc.stdout == ""
    assert spec.read_text() == CANARY and sorted(p.name for p in tmp_path.iterdir()) == ["crew.yaml"]
    spec.chmod(0o644)
    assert helmgen_cli(command, str(spec), "planner").returncode == 0 and spec.read_text() != CANARY


DEFAULTS_ROLLOUT = """apiVersion: agentgen/v1
name: crew
version: 0.1.0
defaults:
  rollout:
    strategy: {strategy}
    {key}: {value}
agents:
  a:
    image: ghcr.io/acme/a:1.0   # the agent has no rollout of its own
    port: 8080
"""


@pytest.mark.parametrize("command", ["promote", "abort"])
@pytest.mark.parametrize("strategy,key,value", [
    ("canary", "canary", '{weight: 10, tag: "2.0"}'),
    ("blueGreen", "blueGreen", '{active: blue, blue: {tag: "1.0"}, green: {tag: "2.0"}}'),
])
def test_a_rollout_from_defaults_is_named_not_edited(tmp_path: Path, command: str, strategy: str, key: str,
                                                     value: str) -> None:
    """The agent's canary (or slots) come from `defaults.rollout`: the error names that field (it applies to
    every agent), not "has no rollout"; exit 2, nothing written."""
    spec = tmp_path / "crew.yaml"
    text = DEFAULTS_ROLLOUT.format(strategy=strategy, key=key, value=value)
    spec.write_text(text)
    assert helmgen_cli("validate", str(spec)).returncode == 0
    proc = helmgen_cli(command, str(spec), "a")
    if command == "abort" and key == "blueGreen":
        assert proc.returncode == 2 and f"{spec}:7:5: defaults.rollout.blueGreen: " in proc.stderr
    else:
        assert proc.returncode == 2
        what = "canary comes" if key == "canary" else "blue-green slots come"
        assert proc.stderr.startswith(f"{spec}:7:5: defaults.rollout.{key}: agents.a's {what} from defaults: "), \
            proc.stderr
    assert proc.stderr.endswith("nothing written.\n") and proc.stdout == ""
    assert spec.read_text() == text and sorted(p.name for p in tmp_path.iterdir()) == ["crew.yaml"]


@pytest.mark.parametrize("short", [["-nother"], ["-n=other"], ["-nhello"], ["-n", "other"]])
def test_short_helm_options_reach_helm_whole(fake: dict[str, str], tmp_path: Path, short: list[str]) -> None:  # noqa: F811
    """`-nother` is Helm's `-n other`: click split it into letters and took its own `-o` out of it (the
    chart went to ./ther, the namespace was lost) or `-h`/`-o` errors. Extra options pass unchanged, in order,
    for deploy, rollback and history."""
    work = tmp_path / "cwd"
    work.mkdir()
    proc = helmgen_cli("deploy", str(SPEC), "--set", "a=1", *short, "--timeout", "1m", cwd=work,
                       env={**fake, "HELM_NAMESPACE": "team"})
    assert proc.returncode == 0, proc.stderr
    assert calls(fake)[1][calls(fake)[1].index("--description") + 2:] == ["--set", "a=1", *short, "--timeout", "1m"]
    assert list(work.iterdir()) == []
    proc = helmgen_cli("rollback", "crew", *short, "2", cwd=work, env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake)[-1] == ["rollback", "crew", "2", "--wait", *short]
    proc = helmgen_cli("history", "crew", *short, cwd=work, env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake)[-1] == ["history", "crew", "-o", "json", *short]
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("short", ["-nother", "-n=other"])
def test_dry_run_keeps_a_short_namespace_over_the_plugin_one(tmp_path: Path, short: str) -> None:
    """Inside the plugin Helm sets HELM_NAMESPACE; an explicit `-nother` still wins in the rendered manifests."""
    env = {**_real_helm_env(tmp_path, "4.3.1"), "HELM_NAMESPACE": "team"}
    proc = helmgen_cli("deploy", str(SPEC), "--dry-run", *SECRETS, short, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    spaces = {o["metadata"]["namespace"] for o in yaml.safe_load_all(proc.stdout) if o and "namespace" in o["metadata"]}
    assert spaces == {"other"}
    assert not (tmp_path / "ther").exists()


@pytest.mark.parametrize("args", [["deploy", str(SPEC)], ["deploy", str(SPEC), "--dry-run"], ["history", "crew"],
                                  ["rollback", "crew", "1"], ["rollback", "crew", "--to-version", "0.3.0"]])
@pytest.mark.parametrize("broken", ["missing", "not-executable"])
def test_a_helm_that_cannot_run(fake: dict[str, str], tmp_path: Path, args: list[str], broken: str) -> None:  # noqa: F811
    """HELM_BIN missing or not executable: one line naming it, exit 1, no Python error class."""
    helm = tmp_path / "no-helm"
    if broken == "not-executable":
        helm.write_text("#!/bin/sh\n")
        helm.chmod(0o644)
    proc = helmgen_cli(*args, env={**fake, "HELM_BIN": str(helm)})
    assert proc.returncode == 1
    reason = "No such file or directory" if broken == "missing" else "Permission denied"
    assert proc.stderr == f"helmgen: cannot run Helm ({helm}): {reason}\n"


def test_a_release_helm_does_not_know(fake: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """`helm history` of a missing release fails (Helm: "Error: release: not found", exit 1): helmgen says
    Helm's line, exit 1, and runs no rollback."""
    helm = tmp_path / "helm-no-release"
    helm.write_text(f"#!/bin/sh\necho \"$@\" >> '{tmp_path}/ran'\necho 'Error: release: not found' >&2\nexit 1\n")
    helm.chmod(0o755)
    env = {**fake, "HELM_BIN": str(helm)}
    for args in (["history", "gone"], ["rollback", "gone", "--to-version", "0.3.0", "-n", "agents"]):
        proc = helmgen_cli(*args, env=env)
        assert proc.returncode == 1 and proc.stderr == "helmgen: Error: release: not found\n" and proc.stdout == ""
    assert (tmp_path / "ran").read_text().splitlines() == ["history gone -o json", "history gone -o json -n agents"]


@pytest.mark.parametrize("version,flag", [("4.3.1", "--rollback-on-failure"), ("3.17.3", "--atomic")])
def test_the_roll_back_flag_follows_the_real_helm_version(tmp_path: Path, version: str, flag: str) -> None:
    """The real binary answers `version`; the upgrade itself is recorded, not run. The argv is exact."""
    import hashlib

    real = helm_path(version)
    wrapper = tmp_path / "helm"
    wrapper.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{tmp_path}/ran'\n"
                       f"if [ \"$1\" = version ]; then exec '{real}' \"$@\"; fi\nexit 0\n")
    wrapper.chmod(0o755)
    env = {**_real_helm_env(tmp_path, version), "HELM_BIN": str(wrapper)}
    out = tmp_path / "charts"
    proc = helmgen_cli("deploy", str(SPEC), "--env", "prod", "--release", "r1", "-o", str(out), "--set", "x=1",
                       "--namespace", "agents", "--timeout", "10m", env=env)
    assert proc.returncode == 0, proc.stderr
    digest = "sha256:" + hashlib.sha256(SPEC.read_bytes()).hexdigest()
    ident = hashlib.sha256(f"{digest}\nenv=prod".encode()).hexdigest()[:12]
    chart = out / "research-crew"
    assert (tmp_path / "ran").read_text().splitlines() == [
        "version --template {{.Version}}",
        f"upgrade --install r1 {chart} -f {chart}/values-prod.yaml --wait {flag} "
        f"--description agentgen {ident} env=prod spec={digest} --set x=1 --namespace agents --timeout 10m"]
    assert proc.stdout.splitlines()[0] == f"deployment {ident} (env prod, spec {digest})"


ALIASES = """apiVersion: agentgen/v1
name: crew
version: 0.1.0
x-m: &m gpt-5   # the model, used by alias
x-common: &common {MODEL: gpt-5, TEMP: "0.1"}
agents:
  a:
    image: ghcr.io/acme/a:1.0
    port: 8080
    env:
      MODEL: *m
      OTHER: *m
    rollout: {strategy: canary, canary: {weight: 10, env: {MODEL: gpt-6, NEW: &n y}, tag: "1.1"}}
  b:
    image: ghcr.io/acme/b:1.0
    port: 8080
    rollout:
      strategy: canary
      canary:
        weight: 10
        env: *common
  c:
    image: ghcr.io/acme/c:1.0
    port: 8080
    rollout:
      strategy: canary
      canary:
        weight: 10
        env:
          MODEL: &mm gpt-6
          X: *m
    env: {MODEL: *m}
"""


@pytest.mark.parametrize("agent,command,before,after", [
    ("a", "promote", """    image: ghcr.io/acme/a:1.0
    port: 8080
    env:
      MODEL: *m
      OTHER: *m
    rollout: {strategy: canary, canary: {weight: 10, env: {MODEL: gpt-6, NEW: &n y}, tag: "1.1"}}
""", """    image: ghcr.io/acme/a:1.1
    port: 8080
    env:
      MODEL: gpt-6
      OTHER: *m
      NEW: y
    rollout: {strategy: canary, canary: {weight: 10}}
"""),
    ("b", "promote", """        env: *common
""", """    env:
      MODEL: gpt-5
      TEMP: "0.1"
"""),
    ("b", "abort", """        env: *common
""", ""),
    ("c", "promote", """        env:
          MODEL: &mm gpt-6
          X: *m
    env: {MODEL: *m}
""", """    env: {MODEL: gpt-6, X: gpt-5}
"""),
    ("c", "abort", """        env:
          MODEL: &mm gpt-6
          X: *m
""", ""),
])
def test_aliases_in_and_around_the_canary(tmp_path: Path, agent: str, command: str, before: str, after: str) -> None:
    """An alias (`*name`) is the node of its anchor: its marks are where the anchor is. Spans computed from
    them cut the wrong text (a refusal, or a duplicated `agents:` key); an alias written as the last entry
    or the value replaced is its own `*name` text."""
    spec = tmp_path / "crew.yaml"
    spec.write_text(ALIASES)
    proc = helmgen_cli(command, str(spec), agent)
    assert proc.returncode == 0, proc.stderr
    assert ALIASES.count(before) == 1
    assert spec.read_text() == ALIASES.replace(before, after)


def test_removing_an_anchor_that_other_places_use_is_refused(tmp_path: Path) -> None:
    text = CANARY.replace('tag: "1.9.0"}', 'tag: &next "1.9.0"}') + "x-next: *next\n"
    spec = tmp_path / "crew.yaml"
    spec.write_text(text)
    assert helmgen_cli("validate", str(spec)).returncode == 0
    for command in ("promote", "abort"):
        proc = helmgen_cli(command, str(spec), "planner")
        assert proc.returncode == 2 and proc.stderr == (
            f"{spec}:11:33: agents.planner.rollout.canary.tag: holds the anchor &next that other places use "
            "(*next): removing it would break them (edit it by hand)\nnothing written.\n")
        assert spec.read_text() == text


@pytest.mark.parametrize("version,flag", [("v4.3.1", "--rollback-on-failure"), ("v3.17.3", "--atomic")])
def test_a_failed_upgrade_claims_no_roll_back(fake: dict[str, str], version: str, flag: str) -> None:  # noqa: F811
    """Helm fails before it changes anything when the cluster is unreachable: the message must not say
    that Helm rolled the release back; it names the flag that does, and exits with Helm's code."""
    proc = helmgen_cli("deploy", str(SPEC), env={**fake, "FAKE_EXIT": "3", "FAKE_VERSION": version})
    assert proc.returncode == 3
    assert proc.stderr == (f"helmgen: helm upgrade failed (exit code 3): Helm's message is above; with {flag} Helm "
                           "rolls back what it had begun to change (nothing, when it could not reach the cluster)\n")


@pytest.mark.parametrize("output", [["-o", "table"], ["--output", "yaml"], ["--output=yaml"], ["-oyaml"]])
def test_history_with_helms_output_option(fake: dict[str, str], output: list[str]) -> None:  # noqa: F811
    """helmgen history reads `helm history -o json`; a second -o after it made Helm print a table or YAML
    and helmgen say "not JSON". Refused as bad input, no Helm run."""
    proc = helmgen_cli("history", "crew", "-n", "agents", *output, env=fake)
    assert proc.returncode == 2 and "-o/--output: helmgen history prints its own table" in proc.stderr
    assert calls(fake) == []


def test_keys_yaml_1_1_reads_as_booleans_stay_quoted(tmp_path: Path) -> None:
    """A canary env or file named NO, on, Y... moved into the agent's block keeps quotes: YAML 1.1 readers
    (PyYAML, yamllint) take a plain NO or on as a boolean."""
    text = CANARY.replace('canary: {weight: 10, tag: "1.9.0"}', 'canary: {weight: 10, env: {"NO": "1", "Y": "2", '
                          '"OK": "3"}, config: {files: {"on": "z", "Off": "w", "null": "x", "a.txt": "t"}}}')
    spec = tmp_path / "crew.yaml"
    spec.write_text(text)
    proc = helmgen_cli("promote", str(spec), "planner")
    assert proc.returncode == 0, proc.stderr
    assert spec.read_text() == text.replace(
        'canary: {weight: 10, env: {"NO": "1", "Y": "2", "OK": "3"}, config: {files: {"on": "z", "Off": "w", '
        '"null": "x", "a.txt": "t"}}}\n',
        'canary: {weight: 10}\n    env:\n      "NO": "1"\n      "Y": "2"\n      OK: "3"\n    config:\n      files:\n'
        '        "on": "z"\n        "Off": "w"\n        "null": "x"\n        a.txt: "t"\n')
    promoted = yaml.safe_load(spec.read_text())["agents"]["planner"]
    assert promoted["env"] == {"NO": "1", "Y": "2", "OK": "3"}
    assert promoted["config"]["files"] == {"on": "z", "Off": "w", "null": "x", "a.txt": "t"}


def test_the_plugin_namespace_is_said_for_rollback_and_history(fake: dict[str, str]) -> None:  # noqa: F811
    """Inside the plugin (`helm agentgen -n team rollback crew 2`) Helm keeps -n and sets HELM_NAMESPACE:
    the printed command names it, as deploy's does, unless the options name a namespace."""
    env = {**fake, "HELM_NAMESPACE": "team"}
    proc = helmgen_cli("rollback", "crew", "2", "--timeout", "1m", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "running: helm rollback crew 2 --wait --namespace team --timeout 1m" in proc.stdout
    assert helmgen_cli("rollback", "crew", "--to-version", "0.3.0", env=env).returncode == 0
    assert helmgen_cli("history", "crew", "--max", "3", env=env).returncode == 0
    assert helmgen_cli("history", "crew", "-nother", env=env).returncode == 0
    assert calls(fake) == [["rollback", "crew", "2", "--wait", "--namespace", "team", "--timeout", "1m"],
                           ["history", "crew", "-o", "json", "--namespace", "team"],
                           ["rollback", "crew", "4", "--wait", "--namespace", "team"],
                           ["history", "crew", "-o", "json", "--namespace", "team", "--max", "3"],
                           ["history", "crew", "-o", "json", "-nother"]]


@pytest.mark.parametrize("args", [["deploy", "--timeout", "1m", str(SPEC)], ["deploy", "-nagents", str(SPEC)],
                                  ["history", "-nagents", "crew"], ["rollback", "--namespace", "x", "crew", "2"],
                                  ["template", "-nagents", str(SPEC)]])
def test_helm_options_before_the_spec_or_release(fake: dict[str, str], args: list[str]) -> None:  # noqa: F811
    """click gave a Helm option written first the place of SPEC / RELEASE ("--timeout: cannot read the file",
    or a ValueError): a usage error that says the order, exit 2, no Helm run."""
    proc = helmgen_cli(*args, env=fake)
    assert proc.returncode == 2, proc.stderr
    assert "comes before Helm's options" in proc.stderr and f"(found {args[1]!r} in its place" in proc.stderr
    assert "Error: " in proc.stderr and "ValueError" not in proc.stderr
    assert calls(fake) == []


def test_helmgen_options_may_come_first(fake: dict[str, str]) -> None:  # noqa: F811
    proc = helmgen_cli("deploy", "--env", "prod", "--release", "r2", str(SPEC), "-nagents", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake)[1][2] == "r2" and calls(fake)[1][-1] == "-nagents"


MULTI_LINE_FLOW = """apiVersion: agentgen/v1
name: crew
version: 0.1.0
agents:
  a:
    image: ghcr.io/acme/a:1.0
    port: 8080
    env: {
      A: "1",   # first, untouched
      B: "2"
    }
    rollout: {strategy: canary,
      canary: {
        weight: 10,   # ten percent
        tag: "1.1",
        env: {B: "3", C: "4"}
      }}
  b:
    image: ghcr.io/acme/b:1.0
    port: 8080
    env: {A: "1",
      B: "2"}  # end
    rollout: {strategy: canary,
      canary: {weight: 10,   # w
        tag: "1.1", env: {C: "3"}}}
"""


@pytest.mark.parametrize("agent,command,before,after", [
    ("a", "promote", """    image: ghcr.io/acme/a:1.0
    port: 8080
    env: {
      A: "1",   # first, untouched
      B: "2"
    }
    rollout: {strategy: canary,
      canary: {
        weight: 10,   # ten percent
        tag: "1.1",
        env: {B: "3", C: "4"}
      }}
""", """    image: ghcr.io/acme/a:1.1
    port: 8080
    env: {
      A: "1",   # first, untouched
      B: "3", C: "4"
    }
    rollout: {strategy: canary,
      canary: {
        weight: 10   # ten percent
      }}
"""),
    ("a", "abort", """        weight: 10,   # ten percent
        tag: "1.1",
        env: {B: "3", C: "4"}
""", """        weight: 10   # ten percent
"""),
    ("b", "promote", """    image: ghcr.io/acme/b:1.0
    port: 8080
    env: {A: "1",
      B: "2"}  # end
    rollout: {strategy: canary,
      canary: {weight: 10,   # w
        tag: "1.1", env: {C: "3"}}}
""", """    image: ghcr.io/acme/b:1.1
    port: 8080
    env: {A: "1",
      B: "2", C: "3"}  # end
    rollout: {strategy: canary,
      canary: {weight: 10   # w
        }}
"""),
])
def test_a_flow_map_over_several_lines_keeps_its_other_lines(tmp_path: Path, agent: str, command: str,
                                                             before: str, after: str) -> None:
    """A flow map written over several lines was rebuilt on one line: its untouched entries' lines and
    comments ("# first, untouched") were lost. Now only the entries that change are edited."""
    spec = tmp_path / "crew.yaml"
    spec.write_text(MULTI_LINE_FLOW)
    proc = helmgen_cli(command, str(spec), agent)
    assert proc.returncode == 0, proc.stderr
    assert MULTI_LINE_FLOW.count(before) == 1
    assert spec.read_text() == MULTI_LINE_FLOW.replace(before, after)
    assert helmgen_cli("validate", str(spec)).returncode == 0


AGENT_ALIAS = """apiVersion: agentgen/v1
name: crew
version: 0.1.0
x-base: &base
  image: ghcr.io/acme/a:1.0
  port: 8080
  rollout:
    strategy: canary
    canary: {weight: 10, tag: "1.1"}
agents:
  a: *base
  d: *base
"""


@pytest.mark.parametrize("command", ["promote", "abort"])
def test_an_agent_that_is_an_alias_is_not_edited(tmp_path: Path, command: str) -> None:
    """`a: *base` and `d: *base`: promoting a edited &base, so d was promoted too. Refused, naming the agent."""
    spec = tmp_path / "crew.yaml"
    spec.write_text(AGENT_ALIAS)
    assert helmgen_cli("validate", str(spec)).returncode == 0
    proc = helmgen_cli(command, str(spec), "a")
    assert proc.returncode == 2
    assert proc.stderr == (f"{spec}:11:3: agents.a: is shared through the anchor &base (written once, used in more "
                           "places): a change here would change the others too (edit it by hand)\nnothing written.\n")
    assert spec.read_text() == AGENT_ALIAS
