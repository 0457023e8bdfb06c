"""The kubelet's serving certificate, issued without loading cryptography into the kubelet.

``await ensure(pki_dir, node_name, addresses)`` returns the (certificate, key)
paths under ``pki_dir``: ``kubelet-ca.crt``/``.key`` (created on first use)
and ``kubelet.crt``/``.key`` for the node's name and addresses, issued anew at
each start.  The issuing runs in a short-lived child process
(``python -m pyk8s.kubelet.server.servingcert``): cryptography would stay in
the long-lived kubelet's memory (~8 MB) for one use at start.  A process that
has cryptography loaded anyway (``pyk8s server`` with its embedded kubelet)
issues in-process.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys

CA_NAMES = ("kubelet-ca.crt", "kubelet-ca.key")
SERVING_NAMES = ("kubelet.crt", "kubelet.key")


class CertError(Exception):
    pass


def issue(pki_dir: pathlib.Path, node_name: str, addresses: list[str]) -> tuple[pathlib.Path, pathlib.Path]:
    from pyk8s.util import pki

    pki_dir.mkdir(parents=True, exist_ok=True)
    ca = pki.load_or_create_ca(pki_dir / CA_NAMES[0], pki_dir / CA_NAMES[1], f"{node_name}-ca")
    serving = pki.issue_cert(ca, pki_dir / SERVING_NAMES[0], pki_dir / SERVING_NAMES[1], common_name=node_name,
                             dns_names=(node_name,), ip_addresses=tuple(addresses), server=True)
    return serving.cert_path, serving.key_path


async def ensure(pki_dir: pathlib.Path, node_name: str, addresses: list[str]) -> tuple[pathlib.Path, pathlib.Path]:
    if "cryptography" in sys.modules:
        return issue(pki_dir, node_name, addresses)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, str(pki_dir), node_name, *addresses,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise CertError(f"issuing the kubelet's serving certificate failed: {err.decode(errors='replace').strip()}")
    return pki_dir / SERVING_NAMES[0], pki_dir / SERVING_NAMES[1]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m pyk8s.kubelet.server.servingcert PKI_DIR NODE_NAME [ADDRESS...]", file=sys.stderr)
        return 2
    issue(pathlib.Path(argv[0]), argv[1], argv[2:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
