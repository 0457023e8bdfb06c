"""stop_logged: TERM first, KILL to the group when TERM is ignored, the log closed either way."""

from __future__ import annotations

import subprocess
import sys
import tempfile

from pyk8s.testing.processes import stop_logged


def _start(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # the child says when its signal handling is in place
    return proc


def test_a_process_that_honours_term_stops_with_it() -> None:
    proc = _start("import time; print('up', flush=True); time.sleep(60)")
    log = tempfile.TemporaryFile()
    stop_logged(proc, log, timeout=10)
    assert proc.returncode == -15
    assert log.closed


def test_a_process_that_ignores_term_is_killed_with_its_group() -> None:
    proc = _start("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True);"
                  " time.sleep(60)")
    stop_logged(proc, None, timeout=0.5, term_group=False)
    assert proc.returncode == -9


def test_nothing_to_stop() -> None:
    log = tempfile.TemporaryFile()
    stop_logged(None, log, timeout=1)
    assert log.closed
