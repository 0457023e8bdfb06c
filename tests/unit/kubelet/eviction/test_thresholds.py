"""The --eviction-* flags as upstream's ParseThresholdConfig reads them, and when thresholds are met."""

from __future__ import annotations

import argparse

import pytest

from pyk8s.cli import kubelet as cli
from pyk8s.kubelet.eviction import observe
from pyk8s.kubelet.eviction import thresholds as th

MI = 1024 * 1024


def test_the_default_is_upstreams_four_hard_thresholds() -> None:
    got = {t.signal: (str(t.absolute) if t.absolute else f"{float(t.percentage or 0):.2f}", t.hard)
           for t in th.parse_config()}
    assert got == {"memory.available": ("100Mi", True), "nodefs.available": ("0.10", True),
                   "imagefs.available": ("0.15", True), "nodefs.inodesFree": ("0.05", True)}


def test_soft_thresholds_need_a_grace_period_and_take_minimum_reclaim() -> None:
    (soft,) = th.parse_config("", "memory.available<1Gi", "memory.available=1m30s", "memory.available=500Mi")
    assert (soft.grace_period, soft.hard, soft.min_reclaim and str(soft.min_reclaim)) == (90.0, False, "500Mi")
    with pytest.raises(ValueError, match="^grace period must be specified for the soft eviction threshold "
                                         "memory.available$"):
        th.parse_config("", "memory.available<1Gi")


@pytest.mark.parametrize(("hard", "error"), [
    ("memory.available<0", "eviction threshold memory.available must be positive: 0"),
    ("nodefs.available<101%", "eviction percentage threshold nodefs.available must be <= 100%: 101%"),
    ("memory.free<1Gi", "unsupported eviction signal memory.free"),
    ("memory.available", 'invalid argument \'memory.available\' for "--eviction-hard" flag: malformed pair, '
                         "expect string<string"),
])
def test_invalid_thresholds_are_refused_with_upstreams_words(hard: str, error: str) -> None:
    with pytest.raises(ValueError) as info:
        th.parse_config(hard)
    assert str(info.value) == error


def test_zero_and_hundred_percent_are_ignored_and_a_repeated_signal_keeps_its_last_value() -> None:
    assert th.parse_config("nodefs.available<0%,imagefs.available<100%") == ()
    (only,) = th.parse_config("memory.available<1Gi,memory.available<2Gi")
    assert str(only.absolute) == "2Gi"


def test_minimum_reclaim_keeps_a_met_threshold_met() -> None:
    (t,) = th.parse_config("memory.available<100Mi", min_reclaim="memory.available=50Mi")
    seen = {"memory.available": th.Observation(available=120 * MI, capacity=1000 * MI)}
    assert th.met([t], seen, False) == []
    assert th.met([t], seen, True) == [t]  # 120Mi < 100Mi + 50Mi


def test_percentages_are_of_the_signals_capacity() -> None:
    (t,) = th.parse_config("nodefs.available<10%")
    assert t.amount(1000) == 100
    # As upstream's float32 percentage: 10% of 1Gi is 107374184 bytes, not 107374182.
    assert t.describe(1024 * MI) == "107374184"
    assert th.parse_config("nodefs.available<50%")[0].describe(1024 * MI) == "512Mi"
    assert th.met([t], {"nodefs.available": th.Observation(99, 1000)}, False) == [t]
    assert th.met([t], {"nodefs.available": th.Observation(100, 1000)}, False) == []


def test_memory_available_is_capacity_minus_the_working_set() -> None:
    info = {"MemTotal": 1000 * MI, "MemFree": 300 * MI, "Inactive(file)": 200 * MI}
    assert observe.memory(info) == th.Observation(available=500 * MI, capacity=1000 * MI)


def test_cli_flags_become_the_eviction_config() -> None:
    args = argparse.Namespace(eviction_hard="memory.available<1Gi", eviction_soft="", eviction_soft_grace_period="",
                              eviction_minimum_reclaim="", eviction_pressure_transition_period="30s")
    config = cli.eviction_config(args)
    assert [t.signal for t in config.thresholds] == ["memory.available"]
    assert config.pressure_transition_period == 30.0
    args.eviction_hard = None
    assert len(cli.eviction_config(args).thresholds) == 4
    args.eviction_pressure_transition_period = "5x"
    with pytest.raises(ValueError, match="--eviction-pressure-transition-period"):
        cli.eviction_config(args)
