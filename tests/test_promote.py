"""`helmgen promote` / `helmgen abort`: the spec is edited in its own text, every other byte kept."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helmgen.problems import SpecError
from helmgen.promote import abort, promote
from tests.conftest import by_kind, generate, helmgen_cli, template

LONG = "x" * 200
# Everything outside the changed lines is hostile to a YAML emitter: a `---`, comments everywhere,
# flow maps, both quote styles, an anchor and its alias, a 200-character line, blank lines.
SPEC = f"""---
# yaml-language-server: $schema=./agentgen.schema.json
name: crew      # the chart
version: "0.1.0"
x-notes: &notes {{a: 1, 'b': "two", c: [x, y]}}   # flow map, anchored
x-copy: *notes
agents:

  planner:   # the one that plans
    image: "ghcr.io/acme/planner:1.8.2"   # keep the quotes
    env:
      MODEL: gpt-5          # the model
      LONG: {LONG}

      QUOTED: 'it''s'
    config:
      files:
        prompts.yaml: |
          you are a planner
    rollout:
      strategy: canary
      # the canary
      canary:
        # new tag
        tag: "1.9.0"
        weight: 10    # ten percent
        env: {{MODEL: gpt-5-mini, NEW: "yes"}}
        config:
          files:
            prompts.yaml: |
              you are a better planner
            extra.txt: hi
    port: 8080    # after the rollout
  writer:
    image: {{repository: ghcr.io/acme/writer, tag: "1.0"}}
    rollout: {{strategy: canary, canary: {{tag: "1.1"}}}}
  web:
    image: nginx:1.0
    rollout:
      strategy: blueGreen
      blueGreen: {{active: 'blue', blue: {{tag: "1.0"}}, green: {{tag: "2.0"}}}}
# the end
"""

PROMOTED_PLANNER = SPEC.replace(
    'image: "ghcr.io/acme/planner:1.8.2"', 'image: "ghcr.io/acme/planner:1.9.0"').replace(
    "MODEL: gpt-5          #", "MODEL: gpt-5-mini          #").replace(
    "QUOTED: 'it''s'\n", "QUOTED: 'it''s'\n      NEW: \"yes\"\n").replace(
    "          you are a planner\n", "          you are a better planner\n        extra.txt: hi\n").replace(
    """        # new tag
        tag: "1.9.0"
""", "").replace("""        env: {MODEL: gpt-5-mini, NEW: "yes"}
        config:
          files:
            prompts.yaml: |
              you are a better planner
            extra.txt: hi
""", "")

ABORTED_PLANNER = SPEC.replace("""        # new tag
        tag: "1.9.0"
""", "").replace("""        env: {MODEL: gpt-5-mini, NEW: "yes"}
        config:
          files:
            prompts.yaml: |
              you are a better planner
            extra.txt: hi
""", "")


def test_promote_a_canary_changes_only_its_lines() -> None:
    edit = promote(SPEC, "s.yaml", "planner")
    assert edit.text == PROMOTED_PLANNER
    assert edit.changes == ["image ghcr.io/acme/planner:1.9.0", "env MODEL, NEW", "config prompts.yaml, extra.txt"]


def test_abort_drops_the_version_fields_and_keeps_the_settings() -> None:
    assert abort(SPEC, "s.yaml", "planner").text == ABORTED_PLANNER
    assert "weight: 10    # ten percent" in ABORTED_PLANNER


def test_a_flow_canary_with_nothing_left_goes_and_an_image_object_gets_its_tag() -> None:
    expected = SPEC.replace('writer, tag: "1.0"}', 'writer, tag: "1.1"}').replace(
        'rollout: {strategy: canary, canary: {tag: "1.1"}}', "rollout: {strategy: canary}")
    assert promote(SPEC, "s.yaml", "writer").text == expected
    assert abort(SPEC, "s.yaml", "writer").text == SPEC.replace(
        'rollout: {strategy: canary, canary: {tag: "1.1"}}', "rollout: {strategy: canary}")


def test_promote_blue_green_flips_the_active_slot_in_its_quotes() -> None:
    once = promote(SPEC, "s.yaml", "web")
    assert once.text == SPEC.replace("active: 'blue'", "active: 'green'")
    assert promote(once.text, "s.yaml", "web").text == SPEC  # and back


def test_crlf_and_no_final_newline_are_kept() -> None:
    text = SPEC.replace("\n", "\r\n").rstrip("\r\n")
    out = promote(text, "s.yaml", "planner").text
    assert out == PROMOTED_PLANNER.replace("\n", "\r\n").rstrip("\r\n")


def test_a_string_image_without_a_tag_and_an_agent_without_env_or_config() -> None:
    text = """agents:
  a:
    image: ghcr.io/acme/a@sha256:0123456789abcdef0123456789abcdef
    rollout:
      strategy: canary
      canary: {image: ghcr.io/acme/a2:2.0, env: {K: v}, config: {files: {p.txt: new}}}
"""
    assert promote(text, "s.yaml", "a").text == """agents:
  a:
    image: ghcr.io/acme/a2:2.0
    rollout:
      strategy: canary
    env:
      K: v
    config:
      files:
        p.txt: new
"""


def test_an_image_object_with_a_digest_loses_the_digest() -> None:
    text = """agents:
  a:
    image:
      repository: r/a
      tag: "1"
      digest: sha256:0123456789abcdef0123456789abcdef
    rollout: {strategy: canary, canary: {tag: "2", weight: 5}}
"""
    assert promote(text, "s.yaml", "a").text == """agents:
  a:
    image:
      repository: r/a
      tag: "2"
    rollout: {strategy: canary, canary: {weight: 5}}
"""


def _problem(fn: object, text: str, agent: str) -> str:
    with pytest.raises(SpecError) as exc:
        fn(text, "s.yaml", agent)  # type: ignore[operator]
    return exc.value.lines()[0]


def test_refusals_are_positioned() -> None:
    assert _problem(promote, SPEC, "nobody") == \
        "s.yaml:7:1: agents: no agent named 'nobody' (agents: planner, writer, web)"
    assert _problem(abort, SPEC, "web").startswith("s.yaml:41:7: agents.web.rollout.blueGreen: a blue-green agent "
                                                   "has no canary to abort (")
    no_canary = ABORTED_PLANNER
    assert _problem(promote, no_canary, "planner") == (
        "s.yaml:23:7: agents.planner.rollout.canary: no canary in flight (a canary is in flight while "
        "rollout.canary sets image, tag, env or config)")
    plain = "agents:\n  a: {image: x}\n"
    assert _problem(abort, plain, "a").startswith("s.yaml:2:6: agents.a: has no rollout")


def test_an_environment_only_canary_is_a_clear_error() -> None:
    text = """agents:
  a: {image: x}
environments:
  prod:
    agents:
      b: {image: y, rollout: {strategy: canary, canary: {tag: "2"}}}
"""
    assert _problem(promote, text, "b") == (
        "s.yaml:6:7: environments.prod.agents.b: promote and abort change agents written under agents:, "
        "not an environment's (move the rollout into agents: or edit the environment by hand)")


def test_what_an_anchor_or_merge_key_shares_is_not_edited() -> None:
    shared = """x-env: &env {MODEL: a}
agents:
  a:
    image: r/a:1
    env: *env
    rollout: {strategy: canary, canary: {env: {MODEL: b}}}
  b: {image: r/b:1, env: *env}
"""
    assert "is shared with other places through an anchor" in _problem(promote, shared, "a")
    merged = """x-base: &base {image: r/a:1}
agents:
  a:
    <<: *base
    rollout: {strategy: canary, canary: {tag: "2"}}
"""
    assert "image comes from a '<<' merge key" in _problem(promote, merged, "a")


# --- the commands, on a spec that validates ------------------------------------------------------

CREW = """---
# The crew.   Comments everywhere must survive.
apiVersion: agentgen/v1
name: crew            # chart name
version: "0.1.0"
x-notes: &notes {owner: 'team-a', "long": LONG}
x-copy: *notes
agents:
  planner:   # plans
    image: "ghcr.io/acme/planner:1.8.2"
    port: 8080
    env: {MODEL: gpt-5, TEMPERATURE: "0.2"}
    config:
      files:
        prompts.yaml: |
          you are a planner
    rollout:
      strategy: canary
      canary:
        tag: "1.9.0"        # the new build
        weight: 10
        env:
          MODEL: gpt-5-mini
        config:
          files:
            prompts.yaml: |
              you are a better planner
  web:
    image: nginx:1.27
    port: 80
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue    # live
        blue: {tag: "1.27"}
        green: {tag: "1.28"}
""".replace("LONG", LONG)

CREW_PROMOTED = CREW.replace('"ghcr.io/acme/planner:1.8.2"', '"ghcr.io/acme/planner:1.9.0"').replace(
    "{MODEL: gpt-5, ", "{MODEL: gpt-5-mini, ").replace("          you are a planner\n",
                                                       "          you are a better planner\n").replace(
    """        tag: "1.9.0"        # the new build
""", "").replace("""        env:
          MODEL: gpt-5-mini
        config:
          files:
            prompts.yaml: |
              you are a better planner
""", "")


def test_promote_command_edits_in_place_and_the_chart_follows(tmp_path: Path, helm: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(CREW)
    real.chmod(0o640)
    link = tmp_path / "crew.yaml"
    link.symlink_to(real.name)
    proc = helmgen_cli("promote", str(link), "planner")
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and real.read_text() == CREW_PROMOTED
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert proc.stdout.splitlines() == [
        f"{link}: promoted planner's canary (image ghcr.io/acme/planner:1.9.0; env MODEL; config prompts.yaml)",
        f"apply it: helmgen generate {link} -o . && helm upgrade crew ./crew --wait",
        f"      or: helmgen deploy {link}   (add --env ENV for an environment)"]
    objs = template(helm, generate(link, tmp_path / "out"))
    planner = by_kind(objs, "Deployment")["rel-planner"]
    assert planner["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/planner:1.9.0"
    env = {e["name"]: e.get("value") for e in planner["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL"] == "gpt-5-mini"
    assert by_kind(objs, "ConfigMap")["rel-planner-config"]["data"]["prompts.yaml"] == "you are a better planner\n"
    assert "rel-planner-canary" not in by_kind(objs, "Deployment")
    again = helmgen_cli("promote", str(link), "planner")
    assert again.returncode == 2 and "no canary in flight" in again.stderr and real.read_text() == CREW_PROMOTED


def test_promote_and_abort_commands_on_blue_green(tmp_path: Path) -> None:
    spec = tmp_path / "crew.yaml"
    spec.write_bytes(CREW.replace("\n", "\r\n").encode())
    assert helmgen_cli("promote", str(spec), "web").returncode == 0
    assert spec.read_bytes() == CREW.replace("active: blue    #", "active: green    #").replace("\n", "\r\n").encode()
    proc = helmgen_cli("abort", str(spec), "web")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"{spec}:33:7: agents.web.rollout.blueGreen: a blue-green agent has no canary")
    assert helmgen_cli("abort", str(spec), "planner").returncode == 0
    assert "tag: \"1.9.0\"" not in spec.read_text() and "weight: 10" in spec.read_text()


def test_refused_commands_write_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "crew.yaml"
    spec.write_text(CREW)
    proc = helmgen_cli("promote", str(spec), "nobody")
    assert proc.returncode == 2 and proc.stderr == (
        f"{spec}:8:1: agents: no agent named 'nobody' (agents: planner, web)\nnothing written.\n")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(CREW.replace("weight: 10", "weight: 200"))
    proc = helmgen_cli("abort", str(invalid), "planner")
    assert proc.returncode == 2 and "weight" in proc.stderr
    assert spec.read_text() == CREW and invalid.read_text() == CREW.replace("weight: 10", "weight: 200")


def test_a_result_that_does_not_validate_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import helmgen.promote
    from helmgen.cli import cli

    spec = tmp_path / "crew.yaml"
    spec.write_text(CREW)
    broken = CREW.replace("port: 80\n", "port: 800000\n")
    monkeypatch.setattr(helmgen.promote, "promote", lambda text, name, agent: helmgen.promote.Edit(broken, "x"))
    result = CliRunner().invoke(cli, ["promote", str(spec), "web"])
    assert result.exit_code == 2
    assert "port" in result.output
    assert "problem(s) found after the change (places as in the changed spec); nothing written." in result.output
    assert spec.read_text() == CREW


def test_image_forms_and_flow_agents() -> None:
    text = """agents:
  a: {image: {repository: r/a, tag: '1', digest: "sha256:0123456789abcdef0123456789abcdef"}, rollout: {strategy: canary, canary: {image: "r/a2:1.10", weight: 5}}}
  b: {image: r/b:1, rollout: {strategy: canary, canary: {tag: "2", env: {K: v}, config: {files: {p.txt: x}}, weight: 5}}}
  c:
    image: 'r/c:1'
    rollout: {strategy: canary, canary: {image: {repository: r/c, tag: "1.10"}, weight: 5}}
  d:
    image: r/d:1@sha256:0123456789abcdef0123456789abcdef
    rollout: {strategy: canary, canary: {image: "r/d@sha256:fedcba9876543210fedcba9876543210", weight: 5}}
"""
    out = text
    for agent in "abcd":
        out = promote(out, "s.yaml", agent).text
    assert out == """agents:
  a: {image: {repository: r/a2, tag: '1.10'}, rollout: {strategy: canary, canary: {weight: 5}}}
  b: {image: r/b:2, rollout: {strategy: canary, canary: {weight: 5}}, env: {K: v}, config: {files: {p.txt: x}}}
  c:
    image: 'r/c:1.10'
    rollout: {strategy: canary, canary: {weight: 5}}
  d:
    image: r/d@sha256:fedcba9876543210fedcba9876543210
    rollout: {strategy: canary, canary: {weight: 5}}
"""


def test_multi_line_values_move_with_their_lines() -> None:
    text = """agents:
  a:
    image: r/a:1
    env:
      OLD: |
        two
        lines
    rollout:
      strategy: canary
      canary:
        weight: 5
        env:
          OLD: new  # one line now
          PROMPT: |
            first
              indented
          LIST: [a,
            b]
        config:
          files:
            system.md: |-
              # a heading, not a comment

              after a blank line
"""
    assert promote(text, "s.yaml", "a").text == """agents:
  a:
    image: r/a:1
    env:
      OLD: new
      PROMPT: |
        first
          indented
      LIST: [a,
        b]
    rollout:
      strategy: canary
      canary:
        weight: 5
    config:
      files:
        system.md: |-
          # a heading, not a comment

          after a blank line
"""
    flow = promote(text.replace("    env:\n      OLD: |\n        two\n        lines\n", "    env: {OLD: x}\n"),
                   "s.yaml", "a").text
    assert '    env: {OLD: new, PROMPT: "first\\n  indented\\n", LIST: ["a", "b"]}\n' in flow


# --- any layout: the data changes as promote says, and nothing else moves --------------------------

VALUES = st.sampled_from(["v", "1.10", "yes", "a: b", "#x", "it's", "x y", "100", "", "é"])
KEYS = st.sampled_from(["A", "B", "MODEL", "x-y"])


def _scalar(v: str, style: str) -> str:
    if style == "plain" and v and v == v.strip() and v.replace(".", "").replace("-", "").isalpha():
        return v
    if style == "single":
        return "'" + v.replace("'", "''") + "'"
    return json.dumps(v, ensure_ascii=False)


def _map(d: dict[str, Any], flow: bool, indent: int, style: str) -> str:
    def value(v: Any) -> str:
        if isinstance(v, dict):  # a secret reference
            return _map(v, flow, indent + 2, style).lstrip(" ") if flow else _map(v, flow, indent + 2, style)
        return _scalar(v, style)

    if flow or not d:
        return " {" + ", ".join(f"{k}: {value(v)}" for k, v in d.items()) + "}"
    return "".join(f"\n{' ' * indent}{k}:" + (value(v) if isinstance(v, dict) else f" {value(v)}  # c")
                   for k, v in d.items())


@st.composite
def layouts(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    style = draw(st.sampled_from(["plain", "single", "double"]))
    img_obj = draw(st.booleans())
    env = draw(st.none() | st.dictionaries(KEYS, VALUES, max_size=3))
    files = draw(st.none() | st.dictionaries(st.sampled_from(["p.txt", "q.md"]), VALUES, min_size=1, max_size=2))
    c_env = draw(st.dictionaries(KEYS, VALUES | st.just({"secret": "s", "key": "k"}), max_size=3))
    c_files = draw(st.dictionaries(st.sampled_from(["p.txt", "r.md"]), VALUES, max_size=2))
    c_image = draw(st.sampled_from([None, "tag", "image"]))
    if c_image is None and not c_env and not c_files:
        c_image = "tag"
    flow_canary = draw(st.booleans())
    lines = ["---", "# head", "name: crew  # n", f"x-long: {'y' * 200}", "x-flow: &f {a: 1, 'b': \"2\"}",
             "x-alias: *f", "agents:", "  before: {image: r/b:1}  # first", "", "  a:   # the agent"]
    if img_obj:
        lines.append(f"    image: {{repository: r/a, tag: {_scalar('1.0', style)}}}")
    else:
        lines.append(f"    image: {_scalar('r/a:1.0', style)}")
    if env is not None:
        lines.append("    # env comment")
        lines.append("    env:" + _map(env, draw(st.booleans()), 6, style))
    if files is not None:
        lines.append("    config:\n      files:" + _map(files, False, 8, style))
    parts = []
    if c_image == "tag":
        parts.append(("tag", '"2.0"'))
    elif c_image == "image":
        parts.append(("image", "r/a2:2.0"))
    parts.append(("weight", "10"))
    nested_block = not flow_canary and draw(st.booleans())
    if c_env:
        parts.append(("env", _map(c_env, not nested_block, 10, style).strip(" ")))
    if c_files:
        parts.append(("config", "\n          files:" + _map(c_files, False, 12, style) if nested_block
                      else "{files:" + _map(c_files, True, 0, style) + "}"))
    lines.append("    rollout:\n      strategy: canary  # s")
    if flow_canary:
        lines.append("      canary: {" + ", ".join(f"{k}: {v}" for k, v in parts) + "}")
    else:
        lines.append("      canary:" + "".join(f"\n        {k}: {v}" for k, v in parts))
    lines += ["    port: 8080  # after", "  after:", "    image: r/c:1   # last", "# tail", ""]
    return "\n".join(lines), {"c_image": c_image, "c_env": c_env, "c_files": c_files}


@settings(max_examples=100, deadline=None)
@given(layouts())
def test_promote_any_layout(case: tuple[str, dict[str, Any]]) -> None:
    from helmgen.spec.load import parse_text, to_python

    text, what = case
    before = to_python(parse_text(text, "s.yaml"))
    out = promote(text, "s.yaml", "a").text
    after = to_python(parse_text(out, "s.yaml"))
    expected = json.loads(json.dumps(before))
    a = expected["agents"]["a"]
    canary = a["rollout"].pop("canary")
    new_repo = "r/a2" if what["c_image"] == "image" else "r/a"
    if what["c_image"] and isinstance(a["image"], dict):
        a["image"].update(repository=new_repo, tag="2.0")
    elif what["c_image"]:
        a["image"] = f"{new_repo}:2.0"
    if canary.get("env"):
        a["env"] = {**(a.get("env") or {}), **canary["env"]}
    if "config" in canary and canary["config"]["files"]:
        a.setdefault("config", {"files": {}})
        a["config"]["files"] = {**a["config"]["files"], **canary["config"]["files"]}
    a["rollout"]["canary"] = {"weight": 10}
    assert after == expected
    # the lines before and after the agent are the same bytes; so is every line of the agent that holds no value
    # promote changes
    head, tail = text.split("  a:   # the agent\n")[0], text.split("    port: 8080  # after\n")[1]
    assert out.startswith(head + "  a:   # the agent\n") and out.endswith(tail) and "    port: 8080  # after\n" in out
    assert "    # env comment\n" in out or "# env comment" not in text
    assert abort(text, "s.yaml", "a").text.count("\n") <= text.count("\n")


def test_a_byte_order_mark_stays(tmp_path: Path) -> None:
    spec = tmp_path / "crew.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + CREW.encode())
    proc = helmgen_cli("abort", str(spec), "planner")
    assert proc.returncode == 0, proc.stderr
    assert spec.read_bytes() == b"\xef\xbb\xbf" + CREW.replace('        tag: "1.9.0"        # the new build\n', "").replace(
        """        env:
          MODEL: gpt-5-mini
        config:
          files:
            prompts.yaml: |
              you are a better planner
""", "").encode()


def test_an_environment_canary_that_becomes_identical_stops_the_promote(tmp_path: Path) -> None:
    spec = tmp_path / "crew.yaml"
    text = """apiVersion: agentgen/v1
name: crew
version: "0.1.0"
agents:
  planner:
    image: r/p:1.0
    port: 8080
    rollout: {strategy: canary, canary: {tag: "2.0", weight: 10}}
environments:
  prod:
    agents:
      planner: {rollout: {canary: {tag: "2.0", weight: 50}}}
"""
    spec.write_text(text)
    proc = helmgen_cli("promote", str(spec), "planner")
    assert proc.returncode == 2 and spec.read_text() == text
    assert proc.stderr.startswith(f"{spec}:12:27: environments.prod.agents.planner.rollout.canary: is identical")
    assert proc.stderr.endswith("1 problem(s) found after the change (places as in the changed spec); "
                                "nothing written.\n")


def test_block_collections_start_on_the_line_after_their_key() -> None:
    text = """agents:
  a:
    image: r/a:1
    env:
      # the key
      KEY: old
      Z: z
    rollout:
      strategy: canary
      canary:
        weight: 5
        env:
          KEY:
            secret: s3
            key: k3
          NEW:
              secret: s2
              key: k2
"""
    assert promote(text, "s.yaml", "a").text == """agents:
  a:
    image: r/a:1
    env:
      # the key
      KEY:
        secret: s3
        key: k3
      Z: z
      NEW:
        secret: s2
        key: k2
    rollout:
      strategy: canary
      canary:
        weight: 5
"""
    no_env = text.replace("    env:\n      # the key\n      KEY: old\n      Z: z\n", "")
    assert "\n    env:\n      KEY:\n        secret: s3\n        key: k3\n      NEW:\n        secret: s2\n" in \
        promote(no_env, "s.yaml", "a").text


def test_a_kept_block_scalar_keeps_its_trailing_lines() -> None:
    text = "agents:\n  a:\n    image: r/a:1\n    config:\n      files:\n        p.txt: |+\n          keep\n\n\n" \
           "    rollout: {strategy: canary, canary: {env: {K: v}, weight: 5}}\n"
    out = promote(text, "s.yaml", "a").text
    assert out == "agents:\n  a:\n    image: r/a:1\n    config:\n      files:\n        p.txt: |+\n          keep\n\n\n" \
                  "    rollout: {strategy: canary, canary: {weight: 5}}\n    env:\n      K: v\n"
    tail = "agents:\n  a:\n    image: r/a:1\n    rollout: {strategy: canary, canary: {tag: '2'}}\n    x-note: |+\n      n\n\n"
    assert promote(tail, "s.yaml", "a").text == tail.replace("r/a:1", "r/a:2").replace(
        "rollout: {strategy: canary, canary: {tag: '2'}}", "rollout: {strategy: canary}")
    last = "agents:\n  a:\n    image: r/a:1\n    rollout: {strategy: canary, canary: {env: {K: v}}}\n    x-note: |+\n" \
           "      n\n\n  b: {image: x}\n"
    assert promote(last, "s.yaml", "a").text == "agents:\n  a:\n    image: r/a:1\n    rollout: {strategy: canary}\n" \
                                               "    x-note: |+\n      n\n\n    env:\n      K: v\n  b: {image: x}\n"
