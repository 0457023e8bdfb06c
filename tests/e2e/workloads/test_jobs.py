"""The seeds' Jobs and CronJob through the real kubectl, on simulated nodes.

Every manifest is applied once, at the start of the module, so the waits
overlap: the failing Job (seed ``job-limit.yaml``: ``sleep 10; exit 1``,
``backoffLimit: 2``) needs about a minute with upstream's 10 s / 20 s
back-off, the CronJob up to two minute boundaries.  The simulated kubelet
makes containers exit through the ``sim.pyk8s.io/run-seconds`` and
``sim.pyk8s.io/exit-code`` pod annotations.  The controller-manager runs
with default options, so the back-off here is upstream's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import orjson
import pytest

from pyk8s.testing.cluster import ServerProcess

PI_JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  completions: 3
  parallelism: 2
  template:
    metadata:
      annotations: {sim.pyk8s.io/run-seconds: "2", sim.pyk8s.io/exit-code: "0"}
    spec:
      containers:
      - name: pi
        image: perl
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
"""

FAILING_JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: busybox
spec:
  template:
    metadata:
      annotations: {sim.pyk8s.io/run-seconds: "10", sim.pyk8s.io/exit-code: "1"}
    spec:
      containers:
      - name: busybox
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["/bin/sh", "-c", "sleep 10;date;exit 1"]
      restartPolicy: Never
  backoffLimit: 2
"""

# The seed's "hello" CronJob (batch/v1 now), Forbid, with runs that outlast a minute.
CRONJOB = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/1 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {sim.pyk8s.io/run-seconds: "600"}
        spec:
          containers:
          - name: hello
            image: busybox
            imagePullPolicy: IfNotPresent
            args: [/bin/sh, -c, date; echo Hello from the Kubernetes cluster]
          restartPolicy: OnFailure
"""


@pytest.fixture(scope="module")
def applied(cluster: ServerProcess) -> Iterator[ServerProcess]:
    for manifest in (CRONJOB, FAILING_JOB, PI_JOB):
        cluster.kubectl("apply", "-f", "-", input=manifest)
    yield cluster


def wait_for(check: Callable[[], object], within: float, every: float = 1.0) -> object:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def row(cluster: ServerProcess, *args: str) -> list[str]:
    return cluster.kubectl("get", *args, "--no-headers").stdout.split()


def pods_of(cluster: ServerProcess, selector: str) -> list[dict]:
    items = orjson.loads(cluster.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
    return sorted(items, key=lambda p: p["metadata"]["creationTimestamp"])


def stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_job_completions_three_parallelism_two(applied: ServerProcess) -> None:
    done = wait_for(lambda: row(applied, "jobs", "pi")[1:3] == ["Complete", "3/3"], within=40)
    out = applied.kubectl("get", "jobs", "pi").stdout
    assert done, out
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    pods = pods_of(applied, "batch.kubernetes.io/job-name=pi")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    # Parallelism 2: the third pod was created only after a first one had finished.
    finished = sorted(stamp(p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"])
                      for p in pods[:2])
    assert stamp(pods[2]["metadata"]["creationTimestamp"]) >= finished[0]
    assert all(not p["metadata"].get("finalizers") for p in pods)


def test_failing_job_hits_backoff_limit_after_three_pods(applied: ServerProcess) -> None:
    failed = wait_for(lambda: row(applied, "jobs", "busybox")[1:3] == ["Failed", "0/1"], within=100)
    assert failed, applied.kubectl("get", "jobs,pods").stdout
    job = orjson.loads(applied.kubectl("get", "job", "busybox", "-o", "json").stdout)
    cond = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert job["status"]["failed"] == 3
    pods = pods_of(applied, "batch.kubernetes.io/job-name=busybox")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)
    # Each pod runs 10 s; upstream's back-off then waits 10 s, then 20 s.
    created = [stamp(p["metadata"]["creationTimestamp"]) for p in pods]
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:], strict=False)]
    assert gaps[0] >= 20 and gaps[1] >= 30, gaps
    described = applied.kubectl("describe", "job", "busybox").stdout
    assert "BackoffLimitExceeded" in described, described
    time.sleep(3)
    assert len(pods_of(applied, "batch.kubernetes.io/job-name=busybox")) == 3


def test_cronjob_every_minute_with_forbid(applied: ServerProcess) -> None:
    def jobs() -> list[str]:
        names = applied.kubectl("get", "jobs", "-o", "name").stdout.split()
        return sorted(n.removeprefix("job.batch/") for n in names if n.startswith("job.batch/hello-"))

    first = wait_for(jobs, within=75)
    assert first, applied.kubectl("get", "cronjob,jobs").stdout
    [name] = first
    cj = orjson.loads(applied.kubectl("get", "cronjob", "hello", "-o", "json").stdout)
    scheduled = stamp(cj["status"]["lastScheduleTime"])
    assert name == f"hello-{int(scheduled.timestamp()) // 60}" and scheduled.second == 0
    assert [r["name"] for r in cj["status"]["active"]] == [name]
    cells = row(applied, "cronjob", "hello")  # NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST-SCHEDULE AGE
    assert cells[1:9] == ["*/1", "*", "*", "*", "*", "<none>", "False", "1"], cells
    # At the next minute the first run is still going: Forbid skips the new one (polled from now on, with
    # a generous margin past that minute for a loaded machine).
    def skipped() -> bool:
        events = applied.kubectl("get", "events", "--field-selector", "involvedObject.name=hello",
                                 "-o", "json").stdout
        return any(e["reason"] == "JobAlreadyActive" for e in orjson.loads(events)["items"])

    within = max(0.0, scheduled.timestamp() + 60 - time.time()) + 45
    assert wait_for(skipped, within=within), applied.kubectl("get", "events").stdout
    assert jobs() == [name]
