#!/usr/bin/env bash
# Command 1: set up (if needed) and start a single-node cluster on embedded SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA_DIR=${PYK8S_DATA_DIR:-$HOME/.pyk8s}
exec .venv/bin/pyk8s server --data-dir "$DATA_DIR" "$@"
