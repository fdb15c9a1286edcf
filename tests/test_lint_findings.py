"""Real bugs that ruff's findings (issue #9) pointed at, each with the behaviour that proves the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

from helmgen.spec.check import load_spec
from tests.test_runtime_env import HEAD


def test_two_secret_references_that_upper_case_alike_in_one_value_stay_apart(tmp_path: Path) -> None:
    """B023 in runtime.py: the references of one value were only recorded after the whole value was
    rewritten, so a second reference that upper-cases like the first (a-b.c, a.b-c) took its variable."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        secrets:
          a-b: {keys: [c]}
          a: {keys: [b-c]}
        agents:
          x:
            image: nginx
            env:
              BOTH: "${secrets.a-b.c}/${secrets.a.b-c}/${secrets.a-b.c}"
        """))
    agent = load_spec(str(spec)).agents["x"]
    refs = {name: (e["secret"], e["key"]) for name, e in agent.env.items() if "secret" in e}
    assert sorted(refs.values()) == [("a", "b-c"), ("a-b", "c")] and len(refs) == 2
    by_ref = {v: k for k, v in refs.items()}
    one, two = by_ref[("a-b", "c")], by_ref[("a", "b-c")]
    assert agent.env["BOTH"]["value"] == f"$({one})/$({two})/$({one})"
    assert agent.envOrder.index(one) < agent.envOrder.index("BOTH")
    assert agent.envOrder.index(two) < agent.envOrder.index("BOTH")
