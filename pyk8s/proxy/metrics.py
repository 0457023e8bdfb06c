"""The proxy's Prometheus metrics, named as upstream's (``kubeproxy_`` subsystem), in the text format.

Only what the proxy measures itself: sync duration, network programming
latency (first unsynced change to rules live), sync counts and failures, the
last successful sync time, and the rules written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

SYNC_BUCKETS = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
                8.192, 16.384)
PROGRAMMING_BUCKETS = (0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                       23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
                       46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85, 90, 95, 100,
                       105, 110, 115, 120, 150, 180, 210, 240, 270, 300)


@dataclass
class Histogram:
    name: str
    help: str
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        lines += [f'{self.name}_bucket{{le="{b:g}"}} {c}' for b, c in zip(self.buckets, self.counts, strict=True)]
        return lines + [f'{self.name}_bucket{{le="+Inf"}} {self.count}', f"{self.name}_sum {self.total:g}",
                        f"{self.name}_count {self.count}"]


class ProxyMetrics:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sync_duration = Histogram("kubeproxy_sync_proxy_rules_duration_seconds",
                                       "SyncProxyRules latency in seconds", SYNC_BUCKETS)
        self.programming = Histogram("kubeproxy_network_programming_duration_seconds",
                                     "In Cluster Network Programming Latency in seconds", PROGRAMMING_BUCKETS)
        self.last_sync = 0.0
        self.syncs = {"full": 0, "partial": 0}
        self.failures = 0
        self.rules = 0
        self.services = 0
        self.endpoints = 0

    def synced(self, *, duration: float, full: bool, rules: int, services: int, endpoints: int) -> None:
        self.sync_duration.observe(duration)
        self.syncs["full" if full else "partial"] += 1
        self.last_sync = time.time()
        self.rules, self.services, self.endpoints = rules, services, endpoints

    def render(self) -> str:
        failures = f"kubeproxy_sync_proxy_rules_{self.mode}_sync_failures_total"
        lines = [*self.sync_duration.render(), *self.programming.render(),
                 "# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds The last time proxy rules were "
                 "successfully synced", "# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge",
                 f"kubeproxy_sync_proxy_rules_last_timestamp_seconds {self.last_sync:.3f}",
                 "# HELP kubeproxy_sync_full_proxy_rules_total Full syncs", "# TYPE kubeproxy_sync_full_proxy_rules_total counter",
                 f"kubeproxy_sync_full_proxy_rules_total {self.syncs['full']}",
                 "# HELP kubeproxy_sync_partial_proxy_rules_total Partial syncs",
                 "# TYPE kubeproxy_sync_partial_proxy_rules_total counter",
                 f"kubeproxy_sync_partial_proxy_rules_total {self.syncs['partial']}",
                 f"# HELP {failures} Failed syncs", f"# TYPE {failures} counter", f"{failures} {self.failures}",
                 "# HELP kubeproxy_sync_proxy_rules_last_queued_rules Rule lines written by the last sync",
                 "# TYPE kubeproxy_sync_proxy_rules_last_queued_rules gauge",
                 f"kubeproxy_sync_proxy_rules_last_queued_rules {self.rules}",
                 "# HELP kubeproxy_sync_proxy_rules_service_ports Service ports programmed",
                 "# TYPE kubeproxy_sync_proxy_rules_service_ports gauge",
                 f"kubeproxy_sync_proxy_rules_service_ports {self.services}",
                 "# HELP kubeproxy_sync_proxy_rules_endpoints Endpoints programmed",
                 "# TYPE kubeproxy_sync_proxy_rules_endpoints gauge",
                 f"kubeproxy_sync_proxy_rules_endpoints {self.endpoints}"]
        return "\n".join(lines) + "\n"
