"""``pyk8s ingress``: flags become IngressOptions; mistakes are one line on stderr and exit 1."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pyk8s.cli import ingress as ingress_cli


def parse(*argv: str):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser(prog="pyk8s")
    ingress_cli.register(parser.add_subparsers())
    return parser.parse_args(["ingress", *argv])


def test_flags_become_options(tmp_path: Path) -> None:
    args = parse("--kubeconfig", "k", "--data-dir", str(tmp_path), "--http-port", "8080", "--https-port", "8443",
                 "--bind-address", "10.0.0.1", "--bind-address", "::1", "--publish-address", "192.0.2.7",
                 "--node-name", "n1", "--ingress-class", "mine", "--publish-service", "", "--worker-processes", "2")
    opts = ingress_cli.options_from(args)
    assert (opts.http_port, opts.https_port) == (8080, 8443)
    assert opts.bind_addresses == ("10.0.0.1", "::1") and opts.publish_addresses == ("192.0.2.7",)
    assert (opts.node_name, opts.class_name, opts.publish_service, opts.worker_processes) == ("n1", "mine", "", "2")
    defaults = ingress_cli.options_from(parse("--kubeconfig", "k"))
    assert (defaults.http_port, defaults.https_port, defaults.publish_service) == (80, 443, "kube-system/pyk8s-ingress")


@pytest.mark.parametrize("bad", [["--http-port", "0"], ["--https-port", "70000"], ["--bind-address", "nope"]])
def test_bad_flags_are_refused(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--kubeconfig", "k", *bad)


def test_a_missing_nginx_or_kubeconfig_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                          "users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                          "current-context: x\n")
    args = parse("--kubeconfig", str(kubeconfig), "--data-dir", str(tmp_path / "d"), "--nginx", "/nonexistent/nginx")
    assert ingress_cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err == "pyk8s ingress: /nonexistent/nginx not found (scripts/setup.sh installs nginx-light)"
    assert ingress_cli.main(parse("--kubeconfig", str(tmp_path / "none"))) == 1
    assert capsys.readouterr().err.startswith("pyk8s ingress: ")
