"""The ingress as ``pyk8s server`` embeds it: options from the server, and an idle stand-in without nginx."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.client.rest import Client
from pyk8s.daemons import ingress as ingress_daemon
from pyk8s.ingress.controller import IngressController


def test_embedded_options_follow_the_server(tmp_path: Path) -> None:
    opts = ingress_daemon.EmbeddedIngress(8080, 8443).options(tmp_path)
    assert opts.data_dir == tmp_path / "ingress"
    assert (opts.http_port, opts.https_port) == (8080, 8443)
    assert opts.node_name == socket.gethostname().lower()  # the embedded kubelet's node name
    assert opts.bind_addresses == () and opts.publish_service == "kube-system/pyk8s-ingress"


async def test_without_nginx_the_component_idles_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    client = Client(ClientConfig(server="https://127.0.0.1:1"))
    try:
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr("shutil.which", lambda *a, **k: None)
        worker = ingress_daemon.EmbeddedIngress().build(client, tmp_path)
        assert isinstance(worker, ingress_daemon.Idle)
        assert "nginx not found" in worker.reason
        monkeypatch.undo()
        if ingress_daemon.find_nginx():
            built = ingress_daemon.EmbeddedIngress().build(client, tmp_path)
            assert isinstance(built, IngressController)
            await built.nginx.stop()  # never started; removes its temp directory
    finally:
        await client.close()
