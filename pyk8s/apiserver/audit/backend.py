"""The log backend (``--audit-log-path``): one JSON Event per line, written by a thread.

The request path only puts a ``Record`` on a queue; a daemon thread wakes on the first, lets more gather
for ``BATCH_WAIT``, takes what has gathered (up to ``BATCH`` at a time), turns each into its line (``record.py``) and writes them with one call, so no
request waits for the disk.  The queue holds at most ``BUFFER`` records (upstream's batch buffer size):
beyond it records are dropped and the drop is logged, rather than memory growing without bound.
``close()`` writes what is queued and stops the thread.

Rotation as upstream's (lumberjack): a file that would pass ``--audit-log-maxsize`` megabytes (100
when 0) is renamed ``<name>-<UTC time>.<ext>`` and a new one started; ``--audit-log-maxbackup`` keeps
that many old files (0: all), ``--audit-log-maxage`` removes those older than that many days (0:
never).  ``-`` writes to standard output.  The file is created 0600.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import IO

from pyk8s.apiserver.audit.event import Record
from pyk8s.apiserver.audit.record import to_line

log = logging.getLogger("pyk8s.audit")

BUFFER = 10000
BATCH = 400
BATCH_WAIT = 0.05  # seconds the writer lets events gather after the first (upstream's batch mode waits longer)
MEGABYTE = 1024 * 1024
DEFAULT_MAX_SIZE_MB = 100
_STOP = object()


class RotatingFile:
    """An append-only file rotated by size, its backups pruned by count and age."""

    def __init__(self, path: str, max_size_mb: int = 0, max_backups: int = 0, max_age_days: int = 0) -> None:
        self.path = Path(path)
        self.max_size = (max_size_mb or DEFAULT_MAX_SIZE_MB) * MEGABYTE
        self.max_backups, self.max_age_days = max_backups, max_age_days
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open()

    def _open(self) -> IO[bytes]:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "ab")

    def write(self, data: bytes) -> None:
        if self._file.tell() + len(data) > self.max_size and self._file.tell() > 0:
            self.rotate()
        self._file.write(data)
        self._file.flush()

    def backup_name(self, now: float) -> Path:
        stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3]
        return self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")

    def rotate(self) -> None:
        self._file.close()
        os.replace(self.path, self.backup_name(time.time()))
        self._file = self._open()
        self.prune()

    def backups(self) -> list[Path]:
        prefix, suffix = f"{self.path.stem}-", self.path.suffix
        found = [p for p in self.path.parent.iterdir()
                 if p != self.path and p.name.startswith(prefix) and p.name.endswith(suffix)]
        return sorted(found, key=lambda p: p.name, reverse=True)  # newest first: the names sort by time

    def prune(self) -> None:
        old = self.backups()
        doomed = old[self.max_backups:] if self.max_backups else []
        if self.max_age_days:
            cutoff = time.time() - self.max_age_days * 86400
            doomed += [p for p in old if p not in doomed and p.stat().st_mtime < cutoff]
        for path in doomed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def close(self) -> None:
        self._file.close()


class _Stdout:
    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    def close(self) -> None:
        pass


class LogBackend:
    """Records in, lines out on a thread.  ``put`` never blocks."""

    def __init__(self, path: str, max_size_mb: int = 0, max_backups: int = 0, max_age_days: int = 0) -> None:
        self.out: RotatingFile | _Stdout = _Stdout() if path == "-" else \
            RotatingFile(path, max_size_mb, max_backups, max_age_days)
        self.queue: queue.Queue[object] = queue.Queue(BUFFER)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    def put(self, record: Record) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("audit: the log backend is behind: %d events dropped so far", self.dropped)

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            time.sleep(BATCH_WAIT)  # let a batch gather: one wake-up (and GIL hand-over) per batch, not per event
            while len(batch) < BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            lines = []
            for item in batch:
                if isinstance(item, Record):
                    try:
                        lines.append(to_line(item))
                    except Exception:  # one odd record must not stop the log
                        log.exception("audit: cannot encode an event")
            if lines:
                try:
                    self.out.write(b"".join(lines))
                except OSError as exc:
                    log.error("audit: cannot write the log: %s", exc)
            if stop:
                return

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        if not self._thread.is_alive():
            return
        self.queue.put(_STOP)
        self._thread.join(timeout)
        self.out.close()
