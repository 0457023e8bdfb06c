"""``pyk8s server`` runs the proxy beside its kubelet only; ``pyk8s proxy`` refuses ipvs with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from pyk8s.cli import main as cli
from pyk8s.daemons import controlplane
from pyk8s.daemons import proxy as proxy_daemon


def _assembly(disable: set[str]) -> SimpleNamespace:
    return SimpleNamespace(opts=SimpleNamespace(disable=frozenset(disable),
                                                config=SimpleNamespace(kubeconfig_path=Path("/nonexistent"),
                                                                      data_dir=Path("/nonexistent"))))


def test_proxy_is_a_server_component_that_follows_the_kubelet() -> None:
    assert "proxy" in controlplane.COMPONENTS
    names = []
    for make in controlplane.components(controlplane.ControlPlaneOptions()):
        try:
            names.append(make(_assembly(set())).name)  # type: ignore[arg-type]
        except AttributeError:  # components that need more of a real assembly than this stand-in has
            continue
    assert "proxy" in names
    skipped = proxy_daemon.component(_assembly({"kubelet"}), {})
    assert skipped.name == "proxy"
    asyncio.run(skipped.run())  # returns at once: no node, no rules
    assert isinstance(proxy_daemon.component(_assembly(set()), {}), controlplane.ClientComponent)
    assert proxy_daemon.embedded_options({}).cluster_cidr == "10.244.0.0/16"


def test_ipvs_mode_is_refused(capsys: object) -> None:
    assert cli.main(["proxy", "--proxy-mode", "ipvs", "--kubeconfig", "/nonexistent"]) == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "IP Virtual Server" in err and "--proxy-mode nftables" in err
