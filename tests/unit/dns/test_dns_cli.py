"""``pyk8s dns`` flags and the options ``pyk8s server`` gives its embedded DNS."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.cli.main import build_parser, main
from pyk8s.daemons import dns as dns_daemon
from pyk8s.daemons.dns import DNSOptions, embedded_options, tenth_address


def test_defaults_parse() -> None:
    args = build_parser().parse_args(["dns", "--kubeconfig", "k"])
    assert (args.port, args.cluster_dns_ip, args.ttl, args.pods, args.forward, args.register) == \
        (53, "10.96.0.10", 30, "insecure", None, True)
    assert args.advertise_address is None and args.bind_address is None
    args = build_parser().parse_args(["dns", "--kubeconfig", "k", "--no-forward", "--bind-address", "169.254.1.1",
                                      "--port", "0"])
    assert (args.forward, args.bind_address, args.port) == (False, "169.254.1.1", 0)


@pytest.mark.parametrize("flags", [["--bind-address", "nope"], ["--port", "70000"], ["--pods", "verified"]])
def test_bad_flags_exit_2(flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["dns", "--kubeconfig", "k", *flags])
    assert exc.value.code == 2


def test_bad_settings_are_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dns", "--kubeconfig", "/nonexistent", "--bind-address", "127.0.0.1", "--ttl", "2"]) == 1
    assert "ttl 2 out of range" in capsys.readouterr().err
    assert main(["dns", "--kubeconfig", "/nonexistent", "--bind-address", "0.0.0.0"]) == 1
    assert "--advertise-address" in capsys.readouterr().err


def test_embedded_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tenth_address("10.96.0.0/12") == "10.96.0.10"
    assert tenth_address("10.0.0.0/16") == "10.0.0.10"
    opts = embedded_options("169.254.7.1", "10.96.0.0/12")
    assert (opts.bind_address, opts.cluster_dns_ip, opts.port, opts.forward) == ("169.254.7.1", "10.96.0.10", 53, None)
    # an API server on loopback or on every address: the DNS listens on the node IP, looked up at start
    assert embedded_options("127.0.0.1", "10.96.0.0/12").bind_address == ""
    assert embedded_options("0.0.0.0", "10.96.0.0/12").bind_address == ""
    monkeypatch.setattr(dns_daemon, "default_bind_address", lambda: "192.0.2.5")
    daemon = dns_daemon.DNSDaemon(object(), embedded_options("127.0.0.1", "10.96.0.0/12"))  # type: ignore[arg-type]
    assert asyncio.run(daemon.settle_address()).bind_address == "192.0.2.5"
    with pytest.raises(ValueError):
        DNSOptions(bind_address="0.0.0.0").endpoint_address()
    assert DNSOptions(bind_address="0.0.0.0", advertise_address="192.0.2.1").endpoint_address() == "192.0.2.1"


def test_recursion_defaults_cover_pods_loopback_and_the_server_itself() -> None:
    import ipaddress

    nets = DNSOptions(bind_address="192.0.2.5").recursion_networks()
    for ip in ("127.0.0.1", "10.244.3.4", "169.254.9.2", "192.0.2.5", "::1"):
        assert any(ipaddress.ip_address(ip) in n for n in nets if n.version == ipaddress.ip_address(ip).version), ip
    assert not any(ipaddress.ip_address("192.168.1.20") in n for n in nets if n.version == 4)
    anyone = DNSOptions(recursion_from=("0.0.0.0/0",)).recursion_networks()
    assert [str(n) for n in anyone] == ["0.0.0.0/0"]
    with pytest.raises(ValueError):
        DNSOptions(recursion_from=("nope",)).recursion_networks()


def test_pyk8s_server_runs_dns_as_a_component_and_disable_names_it() -> None:
    from pyk8s.cli import server as server_cli
    from pyk8s.daemons import controlplane
    from pyk8s.daemons.dns import DNSDaemon
    from pyk8s.daemons.server import ServerAssembly

    assert "dns" in controlplane.COMPONENTS
    args = build_parser().parse_args(["server", "--data-dir", "/tmp/x", "--bind-address", "169.254.3.1",
                                      "--service-cluster-ip-range", "10.100.0.0/16"])
    opts = server_cli.options(args, environ={})
    assembly = ServerAssembly(opts)
    (component,) = [c for c in (make(assembly) for make in opts.extra) if c.name == "dns"]
    daemon = component.build(object())  # type: ignore[attr-defined]
    assert isinstance(daemon, DNSDaemon)
    assert (daemon.opts.bind_address, daemon.opts.cluster_dns_ip, daemon.opts.port) == ("169.254.3.1", "10.100.0.10", 53)
    off = server_cli.options(build_parser().parse_args(["server", "--data-dir", "/tmp/x", "--disable", "dns"]),
                             environ={})
    assert "dns" in off.disable
