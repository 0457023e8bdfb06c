"""The tests' kubelet command line: kind's eviction thresholds and short sync periods unless a test sets its
own."""

import shutil
from types import SimpleNamespace
from typing import Any

from pyk8s.testing.kubelet import TEST_EVICTION_HARD, TEST_PERIODS, KubeletProcess
from pyk8s.testing.nodenet import NodeNetns


def _command(*extra: str, test_periods: bool = True) -> list[str]:
    server: Any = SimpleNamespace(kubeconfig="/k")
    kubelet = KubeletProcess(server, NodeNetns(), extra_args=extra, test_periods=test_periods)
    try:
        return kubelet.command()
    finally:
        shutil.rmtree(kubelet.root, ignore_errors=True)


def test_test_kubelets_never_evict_for_disk_pressure() -> None:
    assert TEST_EVICTION_HARD in _command()
    assert "nodefs.available<0%" in TEST_EVICTION_HARD and "imagefs.available<0%" in TEST_EVICTION_HARD


def test_a_test_setting_its_own_thresholds_gets_only_those() -> None:
    cmd = _command("--eviction-hard=memory.available<1Gi")
    assert TEST_EVICTION_HARD not in cmd and "--eviction-hard=memory.available<1Gi" in cmd


def test_the_disk_thresholds_are_off_as_the_kubelet_reads_them() -> None:
    from pyk8s.kubelet.eviction.thresholds import parse_config

    assert [t.signal for t in parse_config(TEST_EVICTION_HARD.split("=", 1)[1])] == ["memory.available"]


def test_test_kubelets_sync_sooner_unless_a_test_sets_its_own_period() -> None:
    assert set(TEST_PERIODS) <= set(_command())
    cmd = _command("--sync-frequency=1m0s")
    assert "--sync-frequency=1m0s" in cmd and "--sync-frequency=10s" not in cmd
    assert "--file-check-frequency=2s" in cmd


def test_without_test_periods_the_kubelet_keeps_its_own() -> None:
    cmd = _command(test_periods=False)
    assert not any(a.startswith(("--sync-frequency", "--file-check-frequency")) for a in cmd)
    assert TEST_EVICTION_HARD in cmd


def test_the_test_periods_are_valid_kubelet_flags() -> None:
    from pyk8s.cli.kubelet import positive_duration

    assert [positive_duration(*reversed(p.split("=", 1))) for p in TEST_PERIODS] == [10.0, 2.0]


def test_ready_reads_the_nodes_ready_condition() -> None:
    answers = {"node-1": (200, b'{"status":{"conditions":[{"type":"MemoryPressure","status":"False"},'
                               b'{"type":"Ready","status":"True"}]}}'),
               "node-2": (200, b'{"status":{"conditions":[{"type":"Ready","status":"False"}]}}'),
               "node-3": (404, b'{"kind":"Status","code":404}')}
    server: Any = SimpleNamespace(kubeconfig="/k",
                                  request=lambda method, path: answers[path.rsplit("/", 1)[1]])
    for name, want in (("node-1", True), ("node-2", False), ("node-3", False)):
        kubelet = KubeletProcess(server, NodeNetns(), node_name=name)
        try:
            assert kubelet.ready() is want, name
        finally:
            shutil.rmtree(kubelet.root, ignore_errors=True)
