#!/usr/bin/env bash
# Install everything the tests need (a virtualenv with the package and test tools, the real
# Helm 4.3.1 and 3.17.3 binaries) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/python scripts/fetch_helm.py
exec .venv/bin/python -m pytest "$@"
