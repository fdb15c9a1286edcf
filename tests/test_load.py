"""Loading: positions, YAML 1.2 scalars, duplicate keys, and hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from helmgen.problems import SpecError
from helmgen.spec.load import Mapping, Scalar, load_file, parse_text
from tests.conftest import helmgen_cli, tree_bytes

GOOD = "apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents:\n  a:\n    image: nginx\n"


def problems(text: str) -> list[str]:
    """The YAML reader's problems: raised when the file cannot be read as a spec, else kept on the tree
    (checked with the fields, reported at once)."""
    try:
        root = parse_text(text, "spec.yaml")
    except SpecError as exc:
        return exc.lines()
    found = SpecError("spec.yaml", getattr(root, "parse_problems", [])).lines()
    assert found, "no problem found"
    return found


def test_positions_are_one_based_line_and_column() -> None:
    root = parse_text(GOOD, "spec.yaml")
    assert isinstance(root, Mapping)
    key, agents = root.items["agents"]
    assert (key.line, key.column) == (4, 1)
    assert isinstance(agents, Mapping)
    _, a = agents.items["a"]
    assert isinstance(a, Mapping)
    _, image = a.items["image"]
    assert (image.line, image.column) == (6, 12)


@pytest.mark.parametrize("text,value", [
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("0123", 123), ("1e3", 1000.0), ("true", True),
    ("~", None), ("0x1F", 31), ("1.10", 1.1), ('"0123"', "0123"), ("'no'", "no"), ("!!str 12", "12"),
])
def test_scalars_follow_yaml_1_2_and_keep_their_text(text: str, value: object) -> None:
    root = parse_text(f"k: {text}\n", "spec.yaml")
    assert isinstance(root, Mapping)
    node = root.items["k"][1]
    assert isinstance(node, Scalar)
    assert node.value == value and type(node.value) is type(value)
    assert node.text == text.strip("'\"").replace("!!str ", "")


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    lines = problems("a: 1\nb: 2\na: 3\n")
    assert lines == ["spec.yaml:3:1: a: duplicate key 'a' (first given at line 1; the first is used)"]


def test_merge_keys_work_and_explicit_keys_override_them() -> None:
    root = parse_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "spec.yaml")
    assert isinstance(root, Mapping)
    c = root.items["c"][1]
    assert isinstance(c, Mapping)
    assert {k: v.value for k, (_, v) in c.items.items() if isinstance(v, Scalar)} == {"x": 1, "y": 3}


@pytest.mark.parametrize("text,expected", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("a: [1, 2\n", "invalid YAML"),
    ("a: 1\n---\nb: 2\n", "more than one YAML document"),
    ("a: *nope\n", "unknown alias"),
    ("a: !custom 1\n", "unsupported YAML tag"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
    ("- " * 200000 + "x\n", "nesting deeper than"),
    ("a: \x00\x01binary", "binary"),
    ("agents:\n" + "".join(f"  a{i}: {{image: n}}\n" for i in range(30000)), "more than 100000 values"),
])
def test_hostile_or_broken_text_is_a_problem_not_a_crash(text: str, expected: str) -> None:
    assert any(expected in line for line in problems(text))


def billion_laughs(levels: int = 10) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused() -> None:
    assert any("aliases expand" in line for line in problems(billion_laughs()))


def test_huge_and_binary_and_non_utf8_files(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (5 * 1024 * 1024) + "\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(bytes(range(256)) * 100)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    for path, expected in ((huge, "too large"), (binary, "binary"), (latin, "not UTF-8")):
        with pytest.raises(SpecError) as exc:
            load_file(path)
        assert expected in exc.value.lines()[0], exc.value.lines()


HOSTILE = {
    "bomb.yaml": billion_laughs(),
    "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-block.yaml": "".join("  " * i + f"k{i}:\n" for i in range(1200)),
    "empty.yaml": "",
    "garbage.yaml": None,
    "huge.yaml": "a: " + "x" * (5 * 1024 * 1024) + "\n",
    "many-values.yaml": "agents:\n" + "".join(f"  a{i}: {{image: n}}\n" for i in range(150000)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_on_hostile_files_exits_2_and_leaves_existing_chart_alone(tmp_path: Path, name: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    out = tmp_path / "out"
    assert helmgen_cli("generate", str(good), "-o", str(out)).returncode == 0
    before = tree_bytes(out)
    spec = tmp_path / "x.yaml"
    text = HOSTILE[name]
    if text is None:
        spec.write_bytes(bytes((i * 7919) % 256 for i in range(20000)))
    else:
        spec.write_text(text)
    proc = helmgen_cli("generate", str(spec), "-o", str(out), "--force")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{spec}:"), proc.stderr
    assert tree_bytes(out) == before


def _cli_problems(tmp_path: Path, text: str) -> list[str]:
    from tests.conftest import helmgen_cli

    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    return [line.replace(str(spec), "spec.yaml") for line in proc.stderr.splitlines()[:-1] if ": warning: " not in line]


HEAD2 = "apiVersion: agentgen/v1\nname: t\nversion: 1.0.0\n"


def test_problems_the_yaml_reader_finds_hide_no_field_problems(tmp_path: Path) -> None:
    """Issue #8, second round (the tester's dup2.yaml, h2.yaml): a duplicate key, a too large integer,
    a tag or an unknown alias is reported with its path, and the fields are checked too."""
    assert _cli_problems(tmp_path, "apiVersion: agentgen/v1\nname: Bad_Name\nversion: 1.0.0\nagents:\n  a:\n"
                                   "    image: x/a:1\n    replicas: 1\n    replicas: 2\n    port: 0\n"
                                   f"    x-big: {'9' * 2000}\n    command: !!python/object:os.system x\n"
                                   "    args: *nope\n") == [
        "spec.yaml:2:7: name: 'Bad_Name' is not a valid chart name (lowercase letters, digits and '-')",
        "spec.yaml:8:5: agents.a.replicas: duplicate key 'replicas' (first given at line 7; the first is used)",
        "spec.yaml:9:11: agents.a.port: 0 is out of range (expected an integer from 1 to 65535)",
        "spec.yaml:10:12: agents.a.x-big: an integer of 2000 digits is too large (at most 1000 digits; "
        "quote it if it is text)",
        "spec.yaml:11:14: agents.a.command: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system' "
        "(remove the tag; the spec uses plain YAML)",
        "spec.yaml:12:11: agents.a.args: unknown alias *nope",
    ]  # no follow-on: neither `command` nor `args` is said to be of the wrong type


def test_complex_keys_cause_no_duplicate_key_follow_on(tmp_path: Path) -> None:
    assert _cli_problems(tmp_path, HEAD2 + "agents:\n  a:\n    image: x/a:1\n    ? [a, b]\n    : 1\n"
                                           "    {x: 1}: 2\n") == [
        "spec.yaml:7:7: agents.a: a mapping key must be a plain value",
        "spec.yaml:9:5: agents.a: a mapping key must be a plain value",
    ]


def test_yaml_positions_count_only_yaml_line_breaks(tmp_path: Path) -> None:
    """U+0085, U+2028 and U+2029 are not line breaks in YAML 1.2 (PyYAML's marks count them)."""
    lines = _cli_problems(tmp_path, HEAD2 + 'agents:\n  a:\n    image: x/a:1\n'
                                            '    env: {A: "x\u2028y\u0085z", B: "\u2029"}\n    replicas: -1\n')
    assert lines == ["spec.yaml:8:15: agents.a.replicas: -1 is out of range (expected an integer >= 0)"]


def test_a_control_character_is_positioned_on_one_line(tmp_path: Path) -> None:
    # after non-ASCII text: libyaml counts the position in bytes
    lines = _cli_problems(tmp_path, HEAD2 + 'description: "ééé"\nagents:\n  a:\n    image: x/a:1\n'
                                            "    description: a\x01b\n")
    assert lines == ["spec.yaml:8:19: invalid YAML: the control character U+0001 is not allowed (write it as an "
                     'escape in a double-quoted string, for example "\\x01")']


def test_an_alias_bomb_is_positioned_at_the_alias(tmp_path: Path) -> None:
    rows = ["x-a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        rows.append(f"x-{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines = _cli_problems(tmp_path, "\n".join(rows) + "\n" + HEAD2 + "agents: {a: {image: x}}\n")
    assert len(lines) == 1 and lines[0].startswith("spec.yaml:6:10: x-f[0]: aliases expand to more than 100000 "
                                                   "values"), lines
