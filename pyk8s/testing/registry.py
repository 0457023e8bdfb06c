"""A throwaway OCI distribution registry (Debian's docker-registry) on loopback, for tests.

``LocalRegistry(root).start()`` serves ``root/storage`` on 127.0.0.1:<free
port> (optionally inside a network namespace, so a containerd running there
can reach it on *its* loopback); ``stop()`` ends it by PID.  ``push_layout``
copies an OCI layout into it with skopeo, plain HTTP.  Nothing here ever
talks to a public registry.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings

from pyk8s.kubelet.images.registry import registry_config

REGISTRY_BIN = "docker-registry"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRegistry:
    def __init__(
        self, root: pathlib.Path, *, port: int | None = None, netns: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``credentials`` turns on htpasswd (basic) auth for that one user."""
        self.root = pathlib.Path(root)
        self.credentials = credentials
        self.port = port or _free_port()
        self.netns = netns
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _wrap(self, cmd: list[str]) -> list[str]:
        return ["nsenter", f"--net={self.netns}", "--", *cmd] if self.netns else cmd

    def start(self, wait_s: float = 10.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(registry_config(self.root, self.address, self._auth_config()))
        log = open(self.root / "registry.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                self._wrap([REGISTRY_BIN, "serve", str(config)]), stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = time.monotonic() + wait_s
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited; see {self.root / 'registry.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("docker-registry did not start")
            time.sleep(0.05)

    def _auth_config(self) -> str:
        if self.credentials is None:
            return ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # deprecated, but the only bcrypt at hand; docker-registry accepts only bcrypt

        user, password = self.credentials
        htpasswd = self.root / "htpasswd"
        # Cost 4 (16 rounds): the registry checks the hash on every request, and cost 12 costs ~0.3 s each.
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        htpasswd.write_text(f"{user}:{hashed}\n")
        return f"auth:\n  htpasswd:\n    realm: pyk8s-test\n    path: {htpasswd}\n"

    def _userinfo(self) -> str:
        return f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""

    def _ready(self) -> bool:
        if self.netns:
            url = f"http://{self._userinfo()}{self.address}/v2/"
            probe = self._wrap(["busybox", "timeout", "2", "busybox", "wget", "-qO", "/dev/null", url])
            return subprocess.run(probe, capture_output=True).returncode == 0
        try:
            with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1):
                return True
        except urllib.error.HTTPError as err:
            return err.code == 401  # up, and asking for the credentials we configured
        except (urllib.error.URLError, OSError):
            return False

    def push_layout(self, layout: pathlib.Path, ref: str, dest: str) -> None:
        """``skopeo copy oci:LAYOUT:REF docker://ADDRESS/DEST`` over plain HTTP (REF: a reference in the layout)."""
        cmd = ["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:{ref}", f"docker://{self.address}/{dest}"]
        if self.credentials:
            cmd[2:2] = ["--dest-creds", ":".join(self.credentials)]
        proc = subprocess.run(self._wrap(cmd), capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"skopeo copy failed: {proc.stderr.strip()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> LocalRegistry:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
