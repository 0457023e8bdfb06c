"""The kubelet API's TLS: its serving certificate (issued by a child process) and who may call it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import socket
import ssl
import subprocess
import sys

import aiohttp

from pyk8s.kubelet.server.app import KubeletServer, subject_identity
from pyk8s.util import pki


class _NoLogs:
    async def log_path(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        raise AssertionError("not called")

    async def running(self, namespace: str, pod: str, container: str) -> bool:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_child_process_issues_the_temporary_serving_cert_for_the_node(tmp_path: pathlib.Path) -> None:
    pki_dir = tmp_path / "pki"
    out = subprocess.run([sys.executable, "-m", "pyk8s.kubelet.certificates.keys", "self_signed",
                          json.dumps([str(pki_dir), "node-a", ["10.1.2.3"]])],
                         check=True, capture_output=True, timeout=120, text=True)
    combined = pathlib.Path(json.loads(out.stdout))
    dns, ips = pki.cert_sans(combined.read_bytes())
    assert dns == {"node-a"} and ips == {"10.1.2.3"}
    assert b"PRIVATE KEY" in combined.read_bytes() and combined.stat().st_mode & 0o077 == 0
    assert (pki_dir / "kubelet-ca.crt").exists()


def test_subject_identity_reads_the_decoded_subject() -> None:
    cert = {"subject": ((("organizationName", "system:masters"),), (("organizationName", "other"),),
                        (("commonName", "kube-apiserver-kubelet-client"),))}
    assert subject_identity(cert) == ("kube-apiserver-kubelet-client", ("system:masters", "other"))
    assert subject_identity({}) == ("", ())


async def test_only_the_api_servers_client_certificate_is_served(tmp_path: pathlib.Path) -> None:
    ca = pki.create_ca(tmp_path / "ca.crt", tmp_path / "ca.key")
    masters = pki.issue_cert(ca, tmp_path / "m.crt", tmp_path / "m.key", common_name="apiserver",
                             organizations=("system:masters",))
    other = pki.issue_cert(ca, tmp_path / "o.crt", tmp_path / "o.key", common_name="alice",
                           organizations=("developers",))
    port = _free_port()
    server = KubeletServer("node-a", ["127.0.0.1"], tmp_path / "root", ca.cert_pem, pods=list, logs=_NoLogs(),
                           port=port, bind="127.0.0.1")
    task = asyncio.create_task(server.run())

    async def get(pair: pki.KeyPair | None) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            for _ in range(1200):  # until the server has its certificate and listens (slow machines)
                try:
                    ctx = ssl.create_default_context(cafile=str(tmp_path / "root" / "pki" / "kubelet-ca.crt"))
                    if pair is not None:
                        ctx.load_cert_chain(str(pair.cert_path), str(pair.key_path))
                    async with session.get(f"https://127.0.0.1:{port}/healthz", ssl=ctx,
                                           server_hostname="node-a") as resp:
                        return resp.status, await resp.text()
                except (aiohttp.ClientConnectorError, OSError):
                    assert not task.done(), task
                    await asyncio.sleep(0.1)
        raise AssertionError("the kubelet API never listened")

    try:
        assert await get(masters) == (200, "ok")
        status, body = await get(other)
        assert status == 403 and 'User \\"alice\\" cannot access the kubelet API' in body
        assert (await get(None))[0] == 401
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
