#!/usr/bin/env bash
# Idempotent setup: Debian packages pyk8s drives, then .venv with pinned Python deps.
# Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(containerd runc containernetworking-plugins iptables nftables busybox-static gcc libc6-dev
              docker-registry etcd-server etcd-client skopeo umoci nginx-light iproute2 e2fsprogs
              dnsmasq-base conntrack dnsperf wrk)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: not root; missing Debian packages (${missing[*]}) are not installed." >&2
    echo "setup: pods will run with the plain-process runtime, without isolation." >&2
  fi
fi

PY=${PYTHON:-python3}
stamp=.venv/.pyk8s-installed
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -r requirements-dev.txt
  .venv/bin/pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
