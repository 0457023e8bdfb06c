"""``/metrics/resource``: the Summary's CPU and memory figures in Prometheus text, with upstream's metric names.

The metrics-server reads exactly these (kubelet's resource metrics
collector): ``node_cpu_usage_seconds_total``, ``node_memory_working_set_bytes``,
``pod_cpu_usage_seconds_total``, ``pod_memory_working_set_bytes``,
``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes``,
``container_start_time_seconds`` and ``resource_scrape_error`` (1 when the
figures could not be read; the rest is then left out), each sample stamped
with the time of its reading in milliseconds.
"""

from __future__ import annotations

import datetime
from typing import Any

Obj = dict[str, Any]

HELP = {
    "container_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the container in core-seconds"),
    "container_memory_working_set_bytes": ("gauge", "Current working set of the container in bytes"),
    "container_start_time_seconds": ("gauge", "Start time of the container since unix epoch in seconds"),
    "node_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the node in core-seconds"),
    "node_memory_working_set_bytes": ("gauge", "Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed by the pod in core-seconds"),
    "pod_memory_working_set_bytes": ("gauge", "Current working set of the pod in bytes"),
    "resource_scrape_error": ("gauge", "1 if there was an error while getting container metrics, 0 otherwise"),
}


def _ms(stamp: str) -> int:
    return int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _labels(values: dict[str, str]) -> str:
    if not values:
        return ""
    escaped = (f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
               for k, v in values.items())
    return "{" + ",".join(escaped) + "}"


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() or abs(value) >= 1e15 else str(int(value))


def render(summary: Obj | None) -> str:
    """The exposition text for a Summary (None: the figures could not be read)."""
    samples: dict[str, list[str]] = {name: [] for name in HELP}

    def add(name: str, labels: dict[str, str], value: float, stamp: str | None = None) -> None:
        suffix = f" {_ms(stamp)}" if stamp else ""
        samples[name].append(f"{name}{_labels(labels)} {_num(value)}{suffix}")

    if summary is not None:
        node = summary.get("node") or {}
        cpu, mem = node.get("cpu") or {}, node.get("memory") or {}
        if cpu:
            add("node_cpu_usage_seconds_total", {}, cpu["usageCoreNanoSeconds"] / 1e9, cpu["time"])
        if mem:
            add("node_memory_working_set_bytes", {}, mem["workingSetBytes"], mem["time"])
        for pod in summary.get("pods") or []:
            ref = {"namespace": pod["podRef"]["namespace"], "pod": pod["podRef"]["name"]}
            for c in pod.get("containers") or []:
                who = {"container": c["name"], **ref}
                add("container_cpu_usage_seconds_total", who, c["cpu"]["usageCoreNanoSeconds"] / 1e9, c["cpu"]["time"])
                add("container_memory_working_set_bytes", who, c["memory"]["workingSetBytes"], c["memory"]["time"])
                add("container_start_time_seconds", who, _ms(c["startTime"]) / 1000, c["startTime"])
            add("pod_cpu_usage_seconds_total", ref, pod["cpu"]["usageCoreNanoSeconds"] / 1e9, pod["cpu"]["time"])
            add("pod_memory_working_set_bytes", ref, pod["memory"]["workingSetBytes"], pod["memory"]["time"])
    add("resource_scrape_error", {}, 0 if summary is not None else 1)
    lines = []
    for name, (kind, text) in HELP.items():
        if samples[name]:
            lines += [f"# HELP {name} [STABLE] {text}", f"# TYPE {name} {kind}", *samples[name]]
    return "\n".join(lines) + "\n"
