"""The nginx the ingress controller owns: one master process, its child, known by PID.

``apply(conf, files)`` writes the certificate files (by content hash, so a
running configuration never sees its files change), writes the candidate
configuration beside the live one, and has ``nginx -t`` check it.  A
configuration nginx refuses is not installed (the running one keeps
serving) and the error comes back to the caller.  An accepted one replaces
``nginx.conf`` and the master gets SIGHUP, which is ``nginx -s reload``:
new workers start with the new configuration while the old ones finish the
requests they are serving (bounded by ``worker_shutdown_timeout``), so no
in-flight request is dropped.  The first configuration starts nginx
(``daemon off``, its own process group, and SIGTERM to it should this
process die: ``PR_SET_PDEATHSIG``).

``stop()`` asks for a graceful stop (SIGQUIT), then SIGTERM, then SIGKILL
to the process group nginx leads; ``alive()`` tells whether it still runs
(the controller restarts it if not).  Python never touches the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import grp
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from pyk8s.ingress.nginxconf import CERT_DIR, TEMP_DIR

log = logging.getLogger(__name__)
CONF = "nginx.conf"
PR_SET_PDEATHSIG = 1
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxError(RuntimeError):
    """nginx refused a configuration or would not start."""


def find_nginx(binary: str = "") -> str:
    found = shutil.which(binary or "nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin") if not binary else None)
    if not found:
        raise NginxError(f"{binary or 'nginx'} not found (scripts/setup.sh installs nginx-light)")
    return found


def worker_user() -> str:
    """Workers drop to nobody when we are root (as a packaged nginx does), else run as us."""
    if os.geteuid() != 0:
        return ""
    try:
        pwd.getpwnam("nobody")
        group = "nogroup" if _has_group("nogroup") else "nobody"
        return f"nobody {group}"
    except KeyError:
        return ""


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class NginxProcess:
    def __init__(self, prefix: Path, *, binary: str = "", user: str = "") -> None:
        self.prefix = prefix
        self.binary = find_nginx(binary)
        self.user = user
        self.proc: subprocess.Popen[bytes] | None = None
        self.reloads = 0
        # Workers running as another user cannot reach into our (often private) data dir: their
        # temp files get a directory of their own in /tmp, removed when nginx stops.
        self.own_temp = bool(user)
        self.temp_dir = Path(tempfile.mkdtemp(prefix="pyk8s-ingress-tmp-")) if user else prefix / TEMP_DIR

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def prepare(self) -> None:
        """Directories nginx writes to (temp files belong to the worker user)."""
        for sub in ("logs", CERT_DIR):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.prefix / CERT_DIR, 0o700)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.temp_dir, *(self.temp_dir / kind for kind in TEMP_KINDS)):
            path.mkdir(exist_ok=True)
            if self.user:
                name, _, group = self.user.partition(" ")
                with contextlib.suppress(KeyError, OSError):
                    os.chown(path, pwd.getpwnam(name).pw_uid, grp.getgrnam(group or name).gr_gid)

    def _command(self, conf: Path, *extra: str) -> list[str]:
        return [self.binary, "-p", f"{self.prefix}/", "-e", str(self.prefix / "logs" / "error.log"),
                "-c", str(conf), *extra]

    async def test(self, conf: Path) -> str:
        """nginx -t on ``conf``: "" if accepted, else nginx's complaint."""
        proc = await asyncio.create_subprocess_exec(*self._command(conf, "-t", "-q"), stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out, _ = await proc.communicate()
        return "" if proc.returncode == 0 else (out.decode(errors="replace").strip() or f"exit {proc.returncode}")

    def write_files(self, files: dict[str, bytes]) -> None:
        for rel, content in files.items():
            path = self.prefix / rel
            if path.exists() and path.read_bytes() == content:
                continue
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, path)

    def prune_files(self, keep: set[str]) -> None:
        """Certificates no configuration refers to any more (nginx read the live ones at reload)."""
        for path in (self.prefix / CERT_DIR).glob("*.pem"):
            if f"{CERT_DIR}/{path.name}" not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    async def apply(self, conf_text: str, files: dict[str, bytes]) -> None:
        """Check and install a configuration, then start or reload nginx; raises NginxError if refused."""
        self.prepare()
        self.write_files(files)
        candidate = self.prefix / (CONF + ".new")
        candidate.write_text(conf_text)
        problem = await self.test(candidate)
        if problem:
            raise NginxError(f"nginx -t refused the new configuration: {problem}")
        os.replace(candidate, self.prefix / CONF)
        if self.alive():
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGHUP)
            self.reloads += 1
        else:
            await self.start()
        self.prune_files(set(files))

    def _spawn(self) -> subprocess.Popen[bytes]:
        log_file = open(self.prefix / "logs" / "nginx.out", "ab")  # noqa: SIM115 - the child holds it
        try:
            return subprocess.Popen(self._command(self.prefix / CONF), stdout=log_file, stderr=log_file,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent)  # noqa: PLW1509 - only prctl runs there
        finally:
            log_file.close()

    async def start(self) -> None:
        self.proc = self._spawn()
        # nginx binds its listeners at once; if that fails it exits within moments.
        for _ in range(20):
            await asyncio.sleep(0.05)
            if not self.alive():
                raise NginxError(f"nginx exited at start ({self.proc.returncode}): {self.error_tail()}")
            if (self.prefix / "nginx.pid").exists():
                break
        log.info("ingress: nginx started (pid %d)", self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def error_tail(self, size: int = 600) -> str:
        for name in ("logs/error.log", "logs/nginx.out"):
            with contextlib.suppress(OSError):
                text = (self.prefix / name).read_text(errors="replace").strip()
                if text:
                    return text[-size:]
        return ""

    async def stop(self, grace: float = 10.0) -> None:
        try:
            await self._stop(grace)
        finally:
            if self.own_temp:
                shutil.rmtree(self.temp_dir, ignore_errors=True)

    async def _stop(self, grace: float) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGQUIT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig) if sig == signal.SIGKILL else os.kill(proc.pid, sig)
            for _ in range(int(wait / 0.05)):
                if proc.poll() is not None:
                    return
                await asyncio.sleep(0.05)
        proc.wait(5)
