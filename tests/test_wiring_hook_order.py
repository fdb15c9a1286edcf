"""A pre-install hook Job runs before Helm creates the release's other objects: on the first install the
agents and dependencies it calls do not exist yet, so the Job waits in vain and the install times out.
The generator says so (a warning; the chart is still written)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import helmgen_cli

SPEC = """\
apiVersion: agentgen/v1
name: hooks
version: 0.1.0
secrets:
  db: {keys: [password]}
dependencies:
  cache: {repository: oci://registry.example.org/charts, chart: redis, version: 19.x}
agents:
  mysql: {image: mysql:8.4, port: 3306}
  api: {image: ghcr.io/acme/api:1, port: 8080}
  migrate:
    image: ghcr.io/acme/migrate:1
    kind: Job
    job: {hook: [pre-install, pre-upgrade]}
    talksTo: [cache]
    env:
      DSN: root:${secrets.db.password}@tcp(${agents.mysql.host}:3306)/app
  schema:
    image: ghcr.io/acme/migrate:1
    kind: Job
    job: {hook: [pre-install]}
    talksTo: [mysql]
  first:
    image: ghcr.io/acme/first:1
    kind: Job
    job: {hook: [pre-install], hookWeight: -5}
    health: false
  second:
    image: ghcr.io/acme/second:1
    kind: Job
    job: {hook: [pre-install, post-install]}
    env: {PEER: '${agents.api.url}'}
  seed:
    image: ghcr.io/acme/seed:1
    kind: Job
    job: {hook: [post-install, pre-upgrade]}
    talksTo: [api, cache]
"""


def test_a_pre_install_hook_that_calls_what_install_creates_later_is_warned(tmp_path: Path) -> None:
    spec = tmp_path / "hooks.yaml"
    spec.write_text(SPEC)
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "hooks" / "Chart.yaml").exists()
    warned = [line.removeprefix(f"{spec}:") for line in proc.stderr.splitlines() if "pre-install hook" in line]
    assert warned == [
        "14:11: agents.migrate.job.hook: warning: a pre-install hook runs before Helm creates the release's other "
        "objects, so on the first install dependency 'cache' and agent 'mysql', which it calls, do not exist yet "
        "(run it post-install (with pre-upgrade for upgrades), or reach a service outside the release)",
        "21:11: agents.schema.job.hook: warning: a pre-install hook runs before Helm creates the release's other "
        "objects, so on the first install agent 'mysql', which it calls, does not exist yet "
        "(run it post-install (with pre-upgrade for upgrades), or reach a service outside the release)",
        "31:11: agents.second.job.hook: warning: a pre-install hook runs before Helm creates the release's other "
        "objects, so on the first install agent 'api', which it calls, does not exist yet "
        "(run it post-install (with pre-upgrade for upgrades), or reach a service outside the release)",
    ]


def test_an_agent_card_on_an_agent_that_is_not_a2a_is_warned(tmp_path: Path) -> None:
    spec = tmp_path / "card.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: card\nversion: 0.1.0\n"
                    "defaults: {agentCard: /.well-known/agent.json}\n"
                    "agents:\n"
                    "  api: {image: x:1, port: 80, agentCard: /card.json}\n"
                    "  tools: {image: x:1, port: 80, protocol: mcp}\n"
                    "  planner: {image: x:1, port: 80, protocol: a2a, agentCard: /card.json}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    warned = [line.removeprefix(f"{spec}:") for line in proc.stderr.splitlines() if "agentCard" in line]
    # said where the agent sets it; the default reaching every agent is left alone
    assert warned == ["6:31: agents.api.agentCard: warning: only an a2a agent serves an agent card; this agent's "
                      "protocol is http, so nothing reads it (set protocol: a2a, or drop agentCard)"]
