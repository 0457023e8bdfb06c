"""The node's own figures, read from /proc and statvfs as cAdvisor reads them for the root container."""

from __future__ import annotations

import os
import pathlib

PROC = pathlib.Path("/proc")
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_usage_core_nanoseconds(proc: pathlib.Path = PROC) -> int:
    """CPU time spent by every core, not idle or waiting for I/O, since boot (the root cgroup's cpuacct usage)."""
    fields = (proc / "stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy * 1_000_000_000 // USER_HZ


def meminfo(proc: pathlib.Path = PROC) -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out = {}
    for line in (proc / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[name] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def memory_stats(proc: pathlib.Path = PROC) -> dict[str, int]:
    """Node memory as the summary reports it: usage is all but free, working set drops inactive file pages."""
    info = meminfo(proc)
    total = info.get("MemTotal", 0)
    usage = total - info.get("MemFree", 0)
    working_set = max(0, usage - info.get("Inactive(file)", 0))
    vm = {}
    for line in (proc / "vmstat").read_text().splitlines():
        name, _, value = line.partition(" ")
        vm[name] = int(value or 0)
    return {"availableBytes": max(0, total - working_set), "usageBytes": usage, "workingSetBytes": working_set,
            "rssBytes": info.get("AnonPages", 0), "pageFaults": vm.get("pgfault", 0),
            "majorPageFaults": vm.get("pgmajfault", 0)}


def fs_stats(path: str | os.PathLike[str]) -> dict[str, int]:
    st = os.statvfs(path)
    capacity = st.f_blocks * st.f_frsize
    return {"availableBytes": st.f_bavail * st.f_frsize, "capacityBytes": capacity,
            "usedBytes": capacity - st.f_bfree * st.f_frsize, "inodesFree": st.f_ffree, "inodes": st.f_files,
            "inodesUsed": st.f_files - st.f_ffree}


def net_dev(path: pathlib.Path) -> list[dict[str, int | str]]:
    """Every interface but loopback in a /proc/<pid>/net/dev file (that process's network namespace)."""
    out: list[dict[str, int | str]] = []
    for line in path.read_text().splitlines()[2:]:
        name, _, rest = line.partition(":")
        values = rest.split()
        name = name.strip()
        if name == "lo" or len(values) < 16:
            continue
        out.append({"name": name, "rxBytes": int(values[0]), "rxErrors": int(values[2]),
                    "txBytes": int(values[8]), "txErrors": int(values[10])})
    return out


def process_counts(proc: pathlib.Path = PROC) -> tuple[int, int]:
    """(pid_max, processes now): the node's rlimit figures."""
    maxpid = int((proc / "sys/kernel/pid_max").read_text().strip())
    running = sum(1 for entry in os.scandir(proc) if entry.name.isdigit())
    return maxpid, running
