"""NetworkPolicies from talksTo, and the chart's `helm test` hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    by_kind,
    generate,
    helm_path,
    template,
)
from tests.rendered import helm_test_hooks, objects


def test_network_policies_follow_talks_to(rendered: Any) -> None:
    nps = by_kind(objects(rendered, "research-crew"), "NetworkPolicy")
    assert set(nps) == {"rel-planner", "rel-worker", "rel-retriever", "rel-evaluator", "rel-reindex", "rel-tests"}
    # the helm test pods listen on nothing: their own NetworkPolicy admits no ingress
    tests = nps.pop("rel-tests")
    assert tests["spec"] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "research-crew-test",
                                                             "app.kubernetes.io/instance": "rel"}},
                             "policyTypes": ["Ingress"], "ingress": []}

    def callers(np: dict[str, Any]) -> set[str]:
        out: set[str] = set()
        for rule in np["spec"].get("ingress", []):
            for src in rule.get("from", []):
                for expr in src["podSelector"].get("matchExpressions", []):
                    out |= set(expr["values"])
        return out

    assert callers(nps["rel-retriever"]) == {"planner", "worker"}
    assert callers(nps["rel-evaluator"]) == {"worker"}
    assert callers(nps["rel-worker"]) == {"planner"}
    assert nps["rel-reindex"]["spec"]["ingress"] == []
    # exposed port open to anyone; monitoring port open to the scraper
    assert {"ports": [{"port": 8080, "protocol": "TCP"}]} in nps["rel-planner"]["spec"]["ingress"]
    assert {"ports": [{"port": 9090, "protocol": "TCP"}]} in nps["rel-worker"]["spec"]["ingress"]
    for np in nps.values():
        assert np["spec"]["policyTypes"] == ["Ingress"]



def test_network_policy_off(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: s\nversion: 0.1.0\nnetworkPolicy: false\n"
                    "agents:\n  a: {image: nginx, port: 80}\n")
    objs = template(helm_path("4.3.1"), generate(spec, tmp_path))
    assert not by_kind(objs, "NetworkPolicy")



def test_helm_test_pods(rendered: Any) -> None:
    objs = objects(rendered, "research-crew")
    assert not by_kind(objs, "Pod")
    jobs = helm_test_hooks(objs)
    assert set(jobs) == {"rel-planner-test", "rel-worker-test", "rel-retriever-test", "rel-evaluator-test"}
    planner = jobs["rel-planner-test"]
    assert planner["kind"] == "Job" and planner["spec"]["backoffLimit"] == 0  # one failed check fails helm test
    assert planner["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # the pod template carries the stable labels only; the Job itself all of them
    assert planner["spec"]["template"]["metadata"]["labels"] == {
        k: v for k, v in planner["metadata"]["labels"].items()
        if k not in ("helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by")}
    args = planner["spec"]["template"]["spec"]["containers"][0]["command"]
    joined = " ".join(args)
    assert "http http://rel-planner:8080/.well-known/agent-card.json" in joined
    assert "tcp rel-worker 8080" in joined and "tcp rel-retriever 9000" in joined
    assert planner["metadata"]["labels"]["app.kubernetes.io/component"] == "planner"



def test_the_helm_test_script_runs_under_busybox(rendered: Any, tmp_path: Path) -> None:
    """The test pod's script with BusyBox's sh and nc (the test image's tools), against a port that
    answers on 127.0.0.1 and one that does not."""
    import shutil
    import socket
    import subprocess

    busybox = shutil.which("busybox")
    if not busybox:
        pytest.fail("busybox is not installed: run the tests with scripts/test.sh, which installs it")
    job = helm_test_hooks(objects(rendered, "research-crew"))["rel-worker-test"]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["sh", "-c"] and any(a.startswith("tcp rel-") for a in command[4:])
    script = command[2]
    for tool in ("nc", "wget"):  # as in the busybox image: applets on PATH
        (tmp_path / tool).symlink_to(busybox)
    env = {"PATH": str(tmp_path)}
    import threading

    def serve(sock: socket.socket) -> None:  # accept, read to the client's end, close: like a server
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                while conn.recv(1024):
                    pass

    with socket.socket() as listener, socket.socket() as closed:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        up, down = listener.getsockname()[1], closed.getsockname()[1]
        ok = subprocess.run([busybox, "sh", "-c", script, "check", f"tcp 127.0.0.1 {up}"], capture_output=True,
                            text=True, timeout=30, env=env)
        assert ok.returncode == 0 and "ok   127.0.0.1" in ok.stdout, ok.stdout + ok.stderr
        bad = subprocess.run([busybox, "sh", "-c", script, "check", f"tcp 127.0.0.1 {up}", f"tcp 127.0.0.1 {down}"],
                             capture_output=True, text=True, timeout=30, env=env)
        assert bad.returncode == 1 and f"FAIL 127.0.0.1:{down}" in bad.stdout, bad.stdout + bad.stderr

