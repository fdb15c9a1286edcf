"""Pass-through Kubernetes fields: items are objects, nothing collides with what the chart adds,
and `null` in a securityContext removes that secure default from the rendered pod."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from tests.conftest import by_kind, generate, template
from tests.test_check import HEAD, errors


def test_items_of_pass_through_lists_are_objects(tmp_path: Path) -> None:
    assert errors(tmp_path, """
        agents:
          a:
            image: nginx
            volumes: [{name: extra, emptyDir: {}}, oops]
            volumeMounts: [/data]
            sidecars: [[busybox]]
            initContainers: [42]
        """) == [
        "spec.yaml:7:44: agents.a.volumes[1]: expected a mapping, got the string 'oops'",
        "spec.yaml:8:20: agents.a.volumeMounts[0]: expected a mapping, got the string '/data'",
        "spec.yaml:9:16: agents.a.sidecars[0]: expected a mapping, got a list",
        "spec.yaml:10:22: agents.a.initContainers[0]: expected a mapping, got the number 42",
    ]


def test_volumes_and_mounts_that_collide_with_the_charts_own_are_errors(tmp_path: Path) -> None:
    assert errors(tmp_path, """
        agents:
          a:
            image: nginx
            config: {mountPath: /etc/app/, files: {a.txt: x}}
            state: {size: 1Gi, mountPath: /var/lib/a}
            volumes:
              - {name: tmp, emptyDir: {}}
              - {name: config, emptyDir: {}}
              - {name: data, emptyDir: {}}
              - {name: cache, emptyDir: {}}
              - {name: cache, emptyDir: {}}
            volumeMounts:
              - {name: cache, mountPath: /tmp/}
              - {name: cache, mountPath: /etc/app}
              - {name: cache, mountPath: /var/lib/a}
              - {name: cache, mountPath: /tmp/cache}
          b:
            image: nginx
            volumes: [{name: config, emptyDir: {}}, {name: data, emptyDir: {}}]
            volumeMounts: [{name: config, mountPath: /etc/b}, {name: data, mountPath: /data}]
        """) == [
        "spec.yaml:10:10: agents.a.volumes[0].name: 'tmp' is the name of the chart's own volume for the writable "
        "/tmp (give your volume another name)",
        "spec.yaml:11:10: agents.a.volumes[1].name: 'config' is the name of the chart's own volume for config.files "
        "(give your volume another name)",
        "spec.yaml:12:10: agents.a.volumes[2].name: 'data' is the name of the chart's own volume for state (give "
        "your volume another name)",
        "spec.yaml:14:10: agents.a.volumes[4].name: 'cache' is listed twice",
        "spec.yaml:16:23: agents.a.volumeMounts[0].mountPath: '/tmp/' is where the chart mounts the writable /tmp "
        "(mount your volume at another path)",
        "spec.yaml:17:23: agents.a.volumeMounts[1].mountPath: '/etc/app' is where the chart mounts the config files "
        "(config.mountPath) (mount your volume at another path)",
        "spec.yaml:18:23: agents.a.volumeMounts[2].mountPath: '/var/lib/a' is where the chart mounts the state "
        "volume (state.mountPath) (mount your volume at another path)",
    ]


def test_mounts_name_a_volume_of_the_pod_and_a_path_once(tmp_path: Path) -> None:
    assert errors(tmp_path, """
        agents:
          a:
            image: nginx
            volumes: [{name: cache, emptyDir: {}}]
            volumeMounts:
              - {name: cache, mountPath: /cache}
              - {name: tmp, mountPath: /var/tmp}
              - {name: cache, mountPath: /cache/}
              - {name: cahce, mountPath: /other}
        """) == [
        "spec.yaml:11:23: agents.a.volumeMounts[2].mountPath: '/cache/' is mounted twice",
        "spec.yaml:12:10: agents.a.volumeMounts[3].name: names volume 'cahce', which the pod does not have "
        "(did you mean \"cache\"?)",
    ]


def test_null_below_the_top_of_a_security_context_is_an_error(tmp_path: Path) -> None:
    assert errors(tmp_path, """
        agents:
          a:
            image: nginx
            securityContext: {capabilities: {drop: null}}
        """) == [
        "spec.yaml:7:23: agents.a.securityContext.capabilities: null removes a whole field of the secure defaults, "
        "not part of one (set capabilities: null, or give capabilities in full)",
    ]


def test_null_in_a_security_context_removes_that_default(helm: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        agents:
          a:
            image: nginx
            securityContext: {runAsNonRoot: null, readOnlyRootFilesystem: false}
            podSecurityContext: {runAsUser: null, runAsGroup: null, fsGroup: 1000}
            sidecars: [{name: side, image: busybox}]
            initContainers: [{name: init, image: busybox, securityContext: {runAsUser: 1000}}]
          b: {image: nginx}
        """))
    chart = generate(spec, tmp_path / "out")
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values["agents"]["a"]["podSecurityContext"] == {"runAsUser": "", "runAsGroup": "", "fsGroup": 1000}
    pods = {n: d["spec"]["template"]["spec"] for n, d in by_kind(template(helm, chart), "Deployment").items()}
    a = pods["rel-a"]
    assert a["securityContext"] == {"runAsNonRoot": True, "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    main, side = a["containers"]
    for c in (main, side):
        assert "runAsNonRoot" not in c["securityContext"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is False
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    init = a["initContainers"][0]["securityContext"]
    assert "runAsNonRoot" not in init and init["runAsUser"] == 1000
    b = pods["rel-b"]  # untouched: every secure default
    assert b["securityContext"]["runAsUser"] == 65532 and b["containers"][0]["securityContext"]["runAsNonRoot"] is True
    # a values file says the same with "" (null reaches the templates on Helm 3 only)
    b2 = by_kind(template(helm, chart, "--set-string", "agents.b.podSecurityContext.runAsUser="), "Deployment")
    assert "runAsUser" not in b2["rel-b"]["spec"]["template"]["spec"]["securityContext"]


def test_null_in_an_environments_security_context_removes_that_default_too(helm: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        agents:
          a: {image: nginx, podSecurityContext: {fsGroup: 1000}}
        environments:
          dev:
            agents:
              a: {podSecurityContext: {runAsUser: null}, securityContext: {runAsNonRoot: null}}
        """))
    chart = generate(spec, tmp_path / "out")
    base = by_kind(template(helm, chart), "Deployment")["rel-a"]["spec"]["template"]["spec"]
    assert base["securityContext"]["runAsUser"] == 65532
    dev = by_kind(template(helm, chart, "-f", str(chart / "values-dev.yaml")), "Deployment")["rel-a"]
    pod = dev["spec"]["template"]["spec"]
    assert "runAsUser" not in pod["securityContext"] and pod["securityContext"]["fsGroup"] == 1000
    assert "runAsNonRoot" not in pod["containers"][0]["securityContext"]


def test_names_of_pass_through_volumes_and_containers_are_what_kubernetes_takes(tmp_path: Path) -> None:
    """A pod the API server would refuse is a spec problem: names are DNS-1123 labels, containers share one
    set of names with the agent's own, tolerations are objects (issue #8, second round)."""
    assert errors(tmp_path, """
        agents:
          a:
            image: nginx
            volumes: [{name: [], emptyDir: {}}, {name: 5}, {emptyDir: {}}, {name: Bad_Name}]
            volumeMounts: [{name: [x], mountPath: /x}, {mountPath: /y}]
            sidecars: [{name: a, image: busybox}, {image: busybox}, {name: s, image: busybox}]
            initContainers: [{name: s, image: busybox}, {name: -x, image: busybox}]
            tolerations: [x, {operator: Exists}]
        """) == [
        "spec.yaml:7:16: agents.a.volumes[0].name: expected a volume name (a string), got a list",
        "spec.yaml:7:42: agents.a.volumes[1].name: expected a volume name (a string), got the number 5",
        "spec.yaml:7:52: agents.a.volumes[2].name: is required (every volume needs a name)",
        "spec.yaml:7:69: agents.a.volumes[3].name: 'Bad_Name' is not a valid volume name "
        "(a DNS-1123 label: at most 63 lowercase letters, digits and '-')",
        "spec.yaml:8:21: agents.a.volumeMounts[0].name: expected a volume name (a string)",
        "spec.yaml:8:48: agents.a.volumeMounts[1].name: is required (the name of one of the pod's volumes)",
        "spec.yaml:9:17: agents.a.sidecars[0].name: 'a' is already the name of the agent's own container "
        "(init containers, sidecars and the agent's container share one set of names)",
        "spec.yaml:9:43: agents.a.sidecars[1].name: is required (every container needs a name)",
        "spec.yaml:9:62: agents.a.sidecars[2].name: 's' is already the name of initContainers[0] "
        "(init containers, sidecars and the agent's container share one set of names)",
        "spec.yaml:10:50: agents.a.initContainers[1].name: '-x' is not a valid container name "
        "(a DNS-1123 label: at most 63 lowercase letters, digits and '-')",
        "spec.yaml:11:19: agents.a.tolerations[0]: expected a toleration (a mapping) "
        "(for example {key: dedicated, operator: Exists, effect: NoSchedule})",
    ]


@pytest.mark.parametrize("files, want", [
    ("config: {mountPath: /tmp, files: {a: x}}", "agents.a.config.mountPath: '/tmp' is where the chart mounts the "
                                                 "writable /tmp"),
    ("state: {size: 1Gi, mountPath: /tmp/}", "agents.a.state.mountPath: '/tmp/' is where the chart mounts the "
                                             "writable /tmp"),
    ("config: {mountPath: /data, files: {a: x}}, state: {size: 1Gi}",
     "agents.a.config.mountPath: '/data' is also state.mountPath"),
])
def test_the_charts_own_mounts_do_not_collide(tmp_path: Path, files: str, want: str) -> None:
    found = errors(tmp_path, f"""
        agents:
          a: {{image: nginx, {files}}}
        """)
    assert len(found) == 1 and want in found[0], found
