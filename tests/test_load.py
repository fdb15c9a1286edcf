"""Loading: positions, YAML 1.2 scalars, duplicate keys, and hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from helmgen.problems import SpecError
from helmgen.spec.load import Mapping, Scalar, load_file, parse_text
from tests.conftest import helmgen_cli, tree_bytes

GOOD = "apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents:\n  a:\n    image: nginx\n"


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        parse_text(text, "spec.yaml")
    return exc.value.lines()


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
    assert lines == ["spec.yaml:3:1: duplicate key 'a' (first given at line 1)"]


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
