"""The `rollout` contract: its spec type, the model's tracks, and the refusals (positioned, exit 2)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helmgen.spec.check import load_spec
from tests.test_check import HEAD, errors

CANARY_AGENT = textwrap.dedent("""
    agents:
      a:
        image: ghcr.io/acme/a:1.0.0
        port: 80
        env: {MODEL: big}
        config: {files: {p.yaml: "v: 1"}}
        rollout:
          strategy: canary
          canary:
    """).lstrip("\n")


def spec_of(tmp_path: Path, body: str) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent(body).lstrip("\n"))
    return spec


def test_canary_track_merges_image_env_and_config(tmp_path: Path) -> None:
    model = load_spec(str(spec_of(tmp_path, CANARY_AGENT + "        tag: 1.1.0\n        weight: 10\n"
                                  "        env: {EXTRA: x}\n        config: {files: {q.yaml: 'w: 2'}}\n")))
    a = model.agents["a"]
    assert a.rollout["canary"] == {"tag": "1.1.0", "weight": 10, "env": {"EXTRA": {"value": "x"}},
                                   "config": {"files": {"q.yaml": "w: 2"}}}
    t = a.tracks["canary"]
    assert t["image"]["repository"] == "ghcr.io/acme/a" and t["image"]["tag"] == "1.1.0"
    assert t["env"] == {"MODEL": {"value": "big"}, "EXTRA": {"value": "x"}}
    assert t["config"]["files"] == {"p.yaml": "v: 1", "q.yaml": "w: 2"}
    assert t["config"]["mountPath"] == "/etc/a"


def test_canary_without_a_version_is_no_canary_in_flight(tmp_path: Path) -> None:
    model = load_spec(str(spec_of(tmp_path, CANARY_AGENT + "        weight: 10\n")))
    assert model.agents["a"].tracks == {}
    assert model.agents["a"].rollout["canary"] == {"weight": 10}


def test_blue_green_slots(tmp_path: Path) -> None:
    model = load_spec(str(spec_of(tmp_path, """
        agents:
          a:
            image: ghcr.io/acme/a:1.0.0
            rollout:
              strategy: blueGreen
              blueGreen: {active: green, blue: {}, green: {image: "ghcr.io/acme/b:2.0.0", env: {M: x}}}
        """)))
    a = model.agents["a"]
    assert a.rollout["blueGreen"]["active"] == "green"
    assert a.tracks["blue"]["image"]["tag"] == "1.0.0"
    assert a.tracks["green"]["image"]["repository"] == "ghcr.io/acme/b"
    assert a.tracks["green"]["env"] == {"M": {"value": "x"}}


BAD = {
    "weight-over-100": (CANARY_AGENT + "        tag: 1.1.0\n        weight: 101\n",
                        ["spec.yaml:14:17: agents.a.rollout.canary.weight: 101 is out of range (expected an integer "
                         "from 0 to 100)"]),
    "weight-negative": (CANARY_AGENT + "        tag: 1.1.0\n        weight: -1\n",
                        ["spec.yaml:14:17: agents.a.rollout.canary.weight: -1 is out of range (expected an integer "
                         "from 0 to 100)"]),
    "canary-identical": (CANARY_AGENT + "        tag: 1.0.0\n        weight: 5\n        env: {MODEL: big}\n",
                         ["spec.yaml:12:7: agents.a.rollout.canary: is identical to the stable version (same image, "
                          "env and config) (change its image, tag, env or config, or remove them to run no canary)"]),
    "canary-needs-weight": (CANARY_AGENT + "        tag: 1.1.0\n",
                            ["spec.yaml:12:7: agents.a.rollout.canary.weight: is required while a canary runs (the "
                             "percent of traffic the canary gets, 0..100)"]),
    "steps-on-native": (CANARY_AGENT + "        tag: 1.1.0\n        weight: 5\n        steps: [{setWeight: 5}]\n",
                        ["spec.yaml:15:9: agents.a.rollout.canary.steps: applies to engine argo, not to native "
                         "(steps need engine: argo)"]),
    "weight-on-argo": (CANARY_AGENT.replace("strategy: canary", "strategy: canary\n      engine: argo")
                       + "        tag: 1.1.0\n        weight: 5\n",
                       ["spec.yaml:15:9: agents.a.rollout.canary.weight: applies to engine native, not to argo "
                        "(argo moves traffic with steps)"]),
    "step-with-two-forms": (CANARY_AGENT.replace("strategy: canary", "strategy: canary\n      engine: argo")
                            + "        tag: 1.1.0\n        steps: [{setWeight: 5, pause: {}}]\n",
                            ["spec.yaml:15:17: agents.a.rollout.canary.steps[0]: gives setWeight and pause; a step "
                             "is one of them"]),
    "analysis-on-native": (CANARY_AGENT + "        tag: 1.1.0\n        weight: 5\n"
                           "      analysis: {prometheus: 'http://p:9090', query: q, maxErrorRate: 0.01}\n",
                           ["spec.yaml:15:7: agents.a.rollout.analysis: needs engine: argo (the native engine runs "
                            "no automatic checks)"]),
    "analysis-min-and-max": (CANARY_AGENT.replace("strategy: canary", "strategy: canary\n      engine: argo")
                             + "        tag: 1.1.0\n      analysis:\n        prometheus: 'http://p:9090'\n"
                             "        metrics: [{name: m, query: q, max: 1, min: 0}]\n",
                             ["spec.yaml:17:19: agents.a.rollout.analysis.metrics[0]: gives min and max together (a "
                              "check has one condition; use two metrics)"]),
    "analysis-without-threshold": (CANARY_AGENT.replace("strategy: canary", "strategy: canary\n      engine: argo")
                                   + "        tag: 1.1.0\n      analysis: {prometheus: 'http://p:9090', query: q}\n",
                                   ["spec.yaml:15:17: agents.a.rollout.analysis.maxErrorRate: is required (or give "
                                    "metrics) (query: the error rate as a PromQL expression; maxErrorRate: its highest "
                                    "accepted value)"]),
    "unknown-active-slot": ("""
        agents:
          a:
            image: nginx:1
            rollout: {strategy: blueGreen, blueGreen: {active: purple, blue: {}, green: {tag: "2"}}}
        """, ["spec.yaml:7:56: agents.a.rollout.blueGreen.active: 'purple' is not allowed (one of blue, green)"]),
    "blue-green-identical": ("""
        agents:
          a:
            image: nginx:1
            rollout: {strategy: blueGreen, blueGreen: {active: blue, blue: {tag: "2"}, green: {tag: "2"}}}
        """, ["spec.yaml:7:36: agents.a.rollout.blueGreen: blue and green are identical (same image, env and "
              "config) (give the new version to the inactive slot)"]),
    "blue-green-without-active": ("""
        agents:
          a:
            image: nginx:1
            rollout: {strategy: blueGreen, blueGreen: {green: {tag: "2"}}}
        """, ["spec.yaml:7:36: agents.a.rollout.blueGreen.active: is required (blue or green: the slot that serves "
              "live traffic)"]),
    "canary-field-under-blue-green": ("""
        agents:
          a:
            image: nginx:1
            rollout: {strategy: blueGreen, canary: {tag: "2"}, blueGreen: {active: blue, green: {tag: "2"}}}
        """, ["spec.yaml:7:36: agents.a.rollout.canary: applies to strategy canary, not to blueGreen (set strategy: "
              "canary)"]),
    "canary-on-cronjob": ("""
        agents:
          a:
            image: nginx:1
            schedule: "@daily"
            rollout: {strategy: canary, canary: {tag: "2", weight: 5}}
        """, ["spec.yaml:8:5: agents.a.rollout: applies to a Deployment or StatefulSet, not to a CronJob"]),
    "canary-on-job": ("""
        agents:
          a:
            image: nginx:1
            kind: Job
            rollout: {strategy: canary, canary: {tag: "2", weight: 5}}
        """, ["spec.yaml:8:5: agents.a.rollout: applies to a Deployment or StatefulSet, not to a Job"]),
    "statefulset-takes-rolling-only": ("""
        agents:
          a:
            image: nginx:1
            state: {size: 1Gi}
            rollout: {strategy: blueGreen, blueGreen: {active: blue, green: {tag: "2"}}}
        """, ["spec.yaml:8:15: agents.a.rollout.strategy: blueGreen is not possible for a StatefulSet: it takes "
              "rolling only (canary and blueGreen run a second workload beside the stable one, and a StatefulSet's "
              "pods own their volumes; use a Deployment (no state) or strategy: rolling)"]),
    "argo-rolling": ("""
        agents:
          a:
            image: nginx:1
            rollout: {strategy: rolling, engine: argo}
        """, ["spec.yaml:7:34: agents.a.rollout.engine: argo takes strategy canary or blueGreen (drop engine or "
              "choose a strategy)"]),
    "canary-env-names-an-undeclared-secret-key": (
        "secrets:\n  llm: {keys: [token]}\n" + CANARY_AGENT + "        weight: 5\n"
        "        env: {TOKEN: {secret: llm, key: tokn}}\n",
        ["spec.yaml:16:36: agents.a.rollout.canary.env.TOKEN.key: secret 'llm' has no key 'tokn' (declared keys: "
         "token)"]),
    "tag-and-image": (CANARY_AGENT + "        tag: 1.1.0\n        image: nginx:2\n        weight: 5\n",
                      ["spec.yaml:13:9: agents.a.rollout.canary.tag: gives tag together with image (put the tag in "
                       "image (repo:tag) or drop image)"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rollout(tmp_path: Path, case: str) -> None:
    body, expected = BAD[case]
    assert errors(tmp_path, body) == expected


def test_images_lists_every_track(tmp_path: Path) -> None:
    from helmgen.chart.images import images

    model = load_spec(str(spec_of(tmp_path, CANARY_AGENT + "        tag: 1.1.0\n        weight: 10\n" + "  b:\n    image: ghcr.io/acme/b:1.0.0\n"
                                  "    rollout: {strategy: blueGreen, blueGreen: {active: blue, blue: {tag: 2.0.0}, "
                                  "green: {tag: 2.1.0}}}\n")))
    assert images(model.agents) == ["busybox:1.37.0", "ghcr.io/acme/a:1.0.0", "ghcr.io/acme/a:1.1.0",
                                    "ghcr.io/acme/b:2.0.0", "ghcr.io/acme/b:2.1.0"]
