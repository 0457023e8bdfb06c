"""``pyk8s server`` flags for the in-flight bounds (kube-apiserver's names and defaults)."""

from __future__ import annotations

from pyk8s.cli import server as server_cli
from tests.unit.cli.test_cli_control_plane_flags import server_args


def test_inflight_flags_default_as_upstream_and_reach_the_config() -> None:
    config = server_cli.options(server_args(), environ={}).config
    assert (config.max_requests_inflight, config.max_mutating_requests_inflight) == (400, 200)
    config = server_cli.options(server_args("--max-requests-inflight", "7", "--max-mutating-requests-inflight", "0"),
                                environ={}).config
    assert (config.max_requests_inflight, config.max_mutating_requests_inflight) == (7, 0)
