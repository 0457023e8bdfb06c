#!/usr/bin/env bash
# Command 2: lint, layers and types, then the whole test suite (unit, conformance, integration, e2e).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/ruff check pyk8s tests benchmarks || exit 1
.venv/bin/lint-imports --no-cache >/dev/null || { .venv/bin/lint-imports --no-cache; exit 1; }
.venv/bin/mypy || exit 1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
# pytest's 5 means "no tests collected": that is a failure here.
[ $rc -eq 5 ] && { echo "no tests were collected" >&2; exit 1; }
exit $rc
