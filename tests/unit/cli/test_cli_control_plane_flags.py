"""Flag parsing and component selection of ``pyk8s server``, ``scheduler`` and ``controller-manager``."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pyk8s.cli import controller_manager as cm_cli
from pyk8s.cli import scheduler as sched_cli
from pyk8s.cli import server as server_cli
from pyk8s.cli.main import build_parser
from pyk8s.daemons import controlplane
from pyk8s.daemons.server import ServerAssembly, ServerOptions


def parse(*argv: str):  # type: ignore[no-untyped-def]
    return build_parser().parse_args(list(argv))


# --- pyk8s scheduler ----------------------------------------------------------------------


def test_scheduler_defaults_follow_kube_scheduler() -> None:
    args = parse("scheduler", "--kubeconfig", "k")
    assert args.func is sched_cli.main
    assert args.leader_elect is True
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline,
            args.leader_elect_retry_period) == (15.0, 10.0, 2.0)
    assert (args.leader_elect_resource_name, args.leader_elect_resource_namespace) == ("kube-scheduler", "kube-system")


@pytest.mark.parametrize(("flag", "expected"), [
    (["--leader-elect"], True), (["--leader-elect=false"], False), (["--leader-elect=true"], True),
    (["--leader-elect", "0"], False), (["--leader-elect=F"], False),
])
def test_leader_elect_takes_an_optional_boolean(flag: list[str], expected: bool) -> None:
    assert parse("scheduler", "--kubeconfig", "k", *flag).leader_elect is expected


def test_lease_durations_take_go_durations_or_seconds() -> None:
    args = parse("scheduler", "--kubeconfig", "k", "--leader-elect-lease-duration", "1m",
                 "--leader-elect-renew-deadline=20", "--leader-elect-retry-period", "500ms")
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline,
            args.leader_elect_retry_period) == (60.0, 20.0, 0.5)


@pytest.mark.parametrize("argv", [["--leader-elect=maybe"], ["--leader-elect-retry-period", "5x"],
                                  ["--leader-elect-lease-duration=-3s"]])
def test_bad_flag_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse("scheduler", "--kubeconfig", "k", *argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid" in err or "negative" in err


def test_scheduler_inconsistent_lease_timings_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    args = parse("scheduler", "--kubeconfig", str(tmp_path / "none"), "--leader-elect-renew-deadline", "20s")
    assert sched_cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--leader-elect-renew-deadline" in err


def test_scheduler_missing_kubeconfig_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert sched_cli.main(parse("scheduler", "--kubeconfig", str(tmp_path / "none"))) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "none" in err


class FakeDaemon:
    def __init__(self, returns: bool) -> None:
        self.returns = returns
        self.closed = False
        self.client = self

    async def close(self) -> None:
        self.closed = True

    async def run(self) -> None:
        if not self.returns:
            await asyncio.Event().wait()


async def test_scheduler_exit_codes_lost_lease_1_signal_0() -> None:
    lost = FakeDaemon(returns=True)
    assert await sched_cli._run(lost) == 1  # type: ignore[arg-type]
    assert lost.closed

    stopped = FakeDaemon(returns=False)
    task = asyncio.ensure_future(sched_cli._run(stopped))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()  # what the SIGTERM handler does
    assert await task == 0
    assert stopped.closed


# --- pyk8s controller-manager ---------------------------------------------------------------


def test_controller_manager_node_failure_knobs() -> None:
    args = parse("controller-manager", "--kubeconfig", "k", "--node-monitor-grace-period", "8s",
                 "--node-monitor-period", "1s")
    assert args.leader_elect is True  # upstream default
    opts = cm_cli.options_from(args)
    assert opts["node_monitor_grace_period"] == 8.0
    assert opts["node_monitor_period"] == 1.0


def test_controller_manager_defaults_and_explicit_off() -> None:
    opts = cm_cli.options_from(parse("controller-manager", "--kubeconfig", "k"))
    assert (opts["node_monitor_grace_period"], opts["node_monitor_period"]) == (40.0, 5.0)
    assert parse("controller-manager", "--kubeconfig", "k", "--leader-elect=false").leader_elect is False
    assert parse("controller-manager", "--kubeconfig", "k", "--leader-elect").leader_elect is True


def test_controller_manager_bad_controllers_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cm_cli.main(parse("controller-manager", "--kubeconfig", "k", "--controllers", "nope")) == 1
    assert "unknown controllers: nope" in capsys.readouterr().err


# --- pyk8s server -----------------------------------------------------------------------------


def server_args(*extra: str):  # type: ignore[no-untyped-def]
    return parse("server", "--data-dir", "/tmp/x", *extra)


def names(opts: ServerOptions) -> list[str]:
    assembly = ServerAssembly(opts)
    return [make(assembly).name for make in opts.extra]


def test_server_runs_controller_manager_scheduler_and_kubelet_by_default() -> None:
    opts = server_cli.options(server_args(), environ={})
    assert opts.disable == frozenset()
    assert names(opts) == ["controller-manager", "scheduler", "kubelet", "proxy", "dns", "ingress"]


def test_server_simulate_nodes_adds_the_agent() -> None:
    opts = server_cli.options(server_args("--simulate-nodes", "3"), environ={})
    assert names(opts) == ["controller-manager", "scheduler", "kubelet", "proxy", "dns", "ingress", "simulated-nodes"]
    with pytest.raises(SystemExit):
        server_args("--simulate-nodes", "-1")


def test_server_disable_lists_flags_and_environment_add_up() -> None:
    args = server_args("--disable", "scheduler", "--disable", " controller-manager ,")
    assert server_cli.disabled(args, {}) == {"scheduler", "controller-manager"}
    assert server_cli.disabled(server_args("--disable-scheduler"), {}) == {"scheduler"}
    assert server_cli.disabled(server_args("--disable-controller-manager"), {}) == {"controller-manager"}
    assert server_cli.disabled(server_args(), {"PYK8S_DISABLE": "scheduler"}) == {"scheduler"}
    assert server_cli.disabled(server_args("--disable", "controller-manager"),
                               {"PYK8S_DISABLE": "scheduler"}) == {"scheduler", "controller-manager"}


def test_server_unknown_disable_names_are_kept_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyk8s.server"):
        opts = server_cli.options(server_args("--disable", "traefik,scheduler"), environ={})
    assert opts.disable == {"traefik", "scheduler"}
    assert ("ignoring unknown components traefik (known: controller-manager, scheduler, kubelet, proxy, dns, "
            "ingress)") in caplog.text


def test_server_control_plane_options_pass_through() -> None:
    cp = server_cli.control_plane(server_args("--controllers", "*,-pod-garbage-collector-controller",
                                              "--leader-elect=false", "--simulate-nodes", "2"))
    assert cp.controllers == ("*", "-pod-garbage-collector-controller")
    assert cp.election.enabled is False and cp.simulate_nodes == 2
    with pytest.raises(ValueError, match="unknown controllers"):
        server_cli.control_plane(server_args("--controllers", "nope"))
    with pytest.raises(ValueError, match="leader election"):
        server_cli.control_plane(server_args("--leader-elect-lease-duration", "5s"))


def test_server_bad_control_plane_flags_exit_1_before_starting(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    args = parse("server", "--data-dir", str(tmp_path / "d"), "--controllers", "nope")
    assert server_cli.run(args) == 1
    assert "unknown controllers: nope" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_component_names_are_the_disable_vocabulary() -> None:
    assert controlplane.COMPONENTS == ("controller-manager", "scheduler", "kubelet", "proxy", "dns", "ingress")
