#!/usr/bin/env bash
# Install everything the tests need and run the whole test suite. Extra arguments go to pytest.
#   - Debian packages: docker-registry (the OCI registry the publish tests start on 127.0.0.1), gnupg,
#     busybox (runs the `helm test` script)
#   - a virtualenv (.venv) with helmgen and the test tools (pytest, hypothesis, kubernetes-validate, checkov,
#     ruff and mypy, which run first with the settings in pyproject.toml)
#   - the real Helm 4.3.1 and 3.17.3 binaries in .cache/helm/ (scripts/fetch_helm.py)
#   - Node packages pinned by tests/node/package-lock.json (Mermaid's own parser, for the chart README's
#     diagram) in .cache/node/, with npm from the npm registry; Debian's nodejs and npm when node is missing
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v busybox >/dev/null 2>&1 || need+=(busybox)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# the distribution was called helmgen before it became helm-agentgen: drop a stale one from an older .venv
.venv/bin/python -m pip uninstall -y -q --disable-pip-version-check helmgen >/dev/null 2>&1 || true
rm -rf helmgen.egg-info  # its stale metadata would name the plugin's own install 'helmgen'
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/python scripts/fetch_helm.py
if ! cmp -s tests/node/package-lock.json .cache/node/.installed-lock.json; then
  echo "installing the Node packages of tests/node/package-lock.json into .cache/node"
  rm -rf .cache/node && mkdir -p .cache/node
  cp tests/node/package.json tests/node/package-lock.json .cache/node/
  (cd .cache/node && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/node/package-lock.json .cache/node/.installed-lock.json
fi
echo "ruff and mypy (settings in pyproject.toml)"
.venv/bin/ruff check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
