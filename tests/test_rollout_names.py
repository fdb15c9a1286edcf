"""An agent named like another agent's rollout objects (<agent>-canary, -stable, -blue, -green,
-preview) is an error: both would render objects of one kind under one name (issue #11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import helmgen_cli

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nagents:\n"
BG = "{strategy: blueGreen, engine: ENGINE, blueGreen: {active: blue, blue: {tag: '1'}, green: {tag: '2'}}}"

# id -> (agents, the line of stderr expected: LINE:COL: path: message)
CASES: dict[str, tuple[str, str]] = {
    "argo-preview": (f"  w: {{image: ghcr.io/acme/w:1, port: 8080, rollout: {BG.replace('ENGINE', 'argo')}}}\n"
                     "  w-preview: {image: ghcr.io/acme/x:1, port: 8080}\n",
                     "6:3: agents.w-preview: agent w-preview is named like agent w's preview objects "
                     "(<release>-w-preview): the two would collide"),
    "native-green": (f"  w: {{image: ghcr.io/acme/w:1, port: 8080, rollout: {BG.replace('ENGINE', 'native')}}}\n"
                     "  w-green: {image: ghcr.io/acme/x:1, port: 8080}\n",
                     "6:3: agents.w-green: agent w-green is named like agent w's green objects"),
    "native-canary": ("  c: {image: ghcr.io/acme/c:1, port: 8080,\n"
                      "      rollout: {strategy: canary, canary: {tag: '2', weight: 10}}}\n"
                      "  c-canary: {image: ghcr.io/acme/x:1, port: 8080}\n",
                      "7:3: agents.c-canary: agent c-canary is named like agent c's canary objects"),
    "environment": ("  c: {image: ghcr.io/acme/c:1, port: 8080}\nenvironments:\n  dev:\n    agents:\n"
                    "      c: {rollout: {strategy: canary, canary: {tag: '2', weight: 10}}}\n"
                    "      c-canary: {image: ghcr.io/acme/y:1, port: 8080}\n",
                    "10:7: environments.dev.agents.c-canary: agent c-canary is named like agent c's canary objects"),
    "spec-clash-in-an-environment-too": (
        f"  w: {{image: ghcr.io/acme/w:1, port: 8080, rollout: {BG.replace('ENGINE', 'argo')}}}\n"
        "  w-preview: {image: ghcr.io/acme/x:1, port: 8080}\nenvironments:\n  dev: {agents: {w: {replicas: 2}}}\n",
        "6:3: agents.w-preview: agent w-preview is named like agent w's preview objects"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_named_like_another_agents_rollout_objects_is_an_error(tmp_path: Path, case: str) -> None:
    agents, expected = CASES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + agents)
    out = tmp_path / "out"
    proc = helmgen_cli("generate", str(spec), "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert f"{spec}:{expected}" in proc.stderr
    assert proc.stderr.count("is named like") == 1  # once, not again for an environment that inherits it
    assert not out.exists()


def test_an_argo_canary_adds_no_names(tmp_path: Path) -> None:
    """An Argo canary runs in its one Rollout: an agent named <agent>-canary beside it is fine."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "  c: {image: ghcr.io/acme/c:1, port: 8080, rollout: {strategy: canary, engine: argo, "
                    "canary: {tag: '2', steps: [{setWeight: 10}]}}}\n"
                    "  c-canary: {image: ghcr.io/acme/x:1, port: 8080}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
