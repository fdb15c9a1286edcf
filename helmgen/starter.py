"""The commented starter spec written by `helmgen init`."""

STARTER = """\
# yaml-language-server: $schema=https://helmgen.dev/schemas/agentgen-v1.schema.json
# An agent spec: `helmgen generate {name}.yaml` turns it into a Helm chart.
apiVersion: agentgen/v1
name: {name}              # the chart name
version: 0.1.0            # the chart version (SemVer)
appVersion: "1.0.0"       # default image tag of every agent
description: A planner that hands tasks to a worker

secrets:
  llm-keys:               # created at install time: --set secrets.llm-keys.values.openai=$KEY
    keys: [openai]

defaults:                 # applied to every agent (the agent wins)
  resources: {{cpu: 100m, memory: 256Mi}}

agents:
  planner:
    description: Breaks a request into tasks
    image: ghcr.io/example/planner      # tag defaults to appVersion
    port: 8080
    health: /healthz
    talksTo: [worker]                   # sets WORKER_URL and opens worker's NetworkPolicy to planner
    env:
      OPENAI_API_KEY: {{secret: llm-keys, key: openai}}
  worker:
    description: Runs one task at a time
    image: ghcr.io/example/worker
    port: 8080
    scaling: {{minReplicas: 1, maxReplicas: 5, cpu: 70}}
"""


def starter_spec(name: str) -> str:
    return STARTER.format(name=name)
