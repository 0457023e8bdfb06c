#!/usr/bin/env bash
# A multi-node pyk8s cluster on this machine (docs/multinode.md):
#   scripts/multinode.sh up [--nodes N] [--name NAME]   start it; prints the KUBECONFIG to export
#   scripts/multinode.sh status [--name NAME]           what it started (PIDs, dirs, namespaces)
#   scripts/multinode.sh down [--name NAME]             remove every process, namespace, mount, rule and dir
# Needs root, containerd, runc, nft and the CNI plugins (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pyk8s.testing.multinode "$@"
