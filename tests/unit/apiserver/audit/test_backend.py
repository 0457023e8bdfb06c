"""The log backend: lines written from its thread, size rotation with lumberjack's names, pruning."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pyk8s.apiserver.audit.backend import MEGABYTE, LogBackend, RotatingFile
from pyk8s.apiserver.audit.event import Record
from pyk8s.apiserver.audit.record import micro_time, to_dict, to_line


def record(stage: str = "ResponseComplete", **kw: object) -> Record:
    base = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a1", "stage": "",
            "requestURI": "/api/v1/pods", "verb": "list", "user": {"username": "u"}, "sourceIPs": ["127.0.0.1"],
            "userAgent": "t"}
    return Record(base=base, stage=stage, impersonated=None, object_ref={"resource": "pods", "apiVersion": "v1"},
                  status={"metadata": {}, "code": 200}, received=0.5, at=1.25, annotations=None, **kw)  # type: ignore[arg-type]


def test_lines_are_written_by_the_thread_and_flushed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "a" / "audit.log"
    backend = LogBackend(str(path))
    for _ in range(3):
        backend.put(record())
    backend.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 3 and lines[0]["stage"] == "ResponseComplete"
    assert lines[0]["requestReceivedTimestamp"] == "1970-01-01T00:00:00.500000Z"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_request_objects_fill_the_object_ref_and_drop_managed_fields() -> None:
    body = json.dumps({"metadata": {"name": "p", "namespace": "d", "resourceVersion": "7",
                                    "managedFields": [{"manager": "x"}]}}).encode()
    rec = record(request_body=body, request_type="application/json", log_request=True, fill_ref=True,
                 omit_managed_fields=True)
    event = to_dict(rec)
    assert event["objectRef"] == {"resource": "pods", "apiVersion": "v1", "name": "p", "namespace": "d",
                                  "resourceVersion": "7"}
    assert event["requestObject"] == {"metadata": {"name": "p", "namespace": "d", "resourceVersion": "7"}}
    patch = to_dict(record(request_body=b'{"metadata":{"name":"q"}}', request_type="application/merge-patch+json",
                           log_request=True))
    assert "name" not in patch["objectRef"] and patch["requestObject"] == {"metadata": {"name": "q"}}


def test_rotation_by_size_keeps_max_backups(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    out = RotatingFile(str(path), max_size_mb=1, max_backups=2)
    chunk = b"x" * (MEGABYTE // 2 - 1) + b"\n"
    for _ in range(8):  # two chunks per file: four rotations
        out.write(chunk)
        time.sleep(0.002)  # distinct millisecond stamps in the backup names
    out.close()
    backups = sorted(p.name for p in tmp_path.iterdir() if p.name != "audit.log")
    assert len(backups) == 2
    assert all(n.startswith("audit-") and n.endswith(".log") for n in backups)
    assert path.stat().st_size == 2 * len(chunk)


def test_old_backups_are_removed_by_age(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    stale = tmp_path / "audit-2000-01-01T00-00-00.000.log"
    stale.write_text("old\n")
    os.utime(stale, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    out = RotatingFile(str(path), max_size_mb=1, max_age_days=1)
    out.write(b"y" * MEGABYTE)
    out.write(b"z\n")  # rotates, then prunes
    out.close()
    assert not stale.exists()
    assert len([p for p in tmp_path.iterdir() if p.name != "audit.log"]) == 1


def test_micro_time() -> None:
    assert micro_time(1700000000.123456) == "2023-11-14T22:13:20.123456Z"


def test_response_objects_in_the_line() -> None:
    body = b'{"kind":"ConfigMap","metadata":{"name":"c","managedFields":[{"manager":"m"}]}}'
    plain = json.loads(to_line(record(response=body, response_type="application/json")))
    assert plain["responseObject"] == json.loads(body)  # embedded as sent
    trimmed = json.loads(to_line(record(response=body, response_type="application/json", omit_managed_fields=True)))
    assert trimmed["responseObject"] == {"kind": "ConfigMap", "metadata": {"name": "c"}}
    pretty = to_line(record(response=b'{\n  "kind": "Status"\n}', response_type="application/json"))
    assert pretty.count(b"\n") == 1 and json.loads(pretty)["responseObject"] == {"kind": "Status"}
