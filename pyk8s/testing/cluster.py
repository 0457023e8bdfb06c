"""A real ``pyk8s server`` in a subprocess, for end-to-end tests and benchmarks.

``ServerProcess`` picks a free loopback port and a fresh data dir, starts
``<repo>/.venv/bin/pyk8s server --data-dir D --secure-port P --bind-address
127.0.0.1 [extra args]`` in its own session, and waits until ``/readyz``
answers 200 over HTTPS.  Server URL, CA and client credentials all come from
the admin kubeconfig the server writes (``D/admin.kubeconfig``), so the helper
assumes nothing else about the server's PKI.

By default the server runs bare: the helper sets ``$PYK8S_DISABLE`` so the
embedded controller manager, scheduler and kubelet stay off (the kubelet
always: a test that wants a node runs ``pyk8s.testing.kubelet`` in a network
namespace of its own) and tests see only what
the API server itself does (as before those components existed).
``ServerProcess(control_plane=True)`` runs ``pyk8s server`` as a user would,
with both; add ``extra_args=["--simulate-nodes", "2"]`` for nodes.  The
variable is used instead of a flag so that ``command()`` is unchanged.

Everything is stopped by PID (the process group the helper created): ``stop()``
sends SIGTERM then SIGKILL, ``kill()`` sends SIGKILL at once (crash tests), and
``restart()`` starts again on the same port and data dir.  ``close()`` stops
and removes the temp dirs (and the etcd it started, if any).

``kubectl(...)`` runs the real kubectl with ``--kubeconfig`` and an isolated
HOME and ``--cache-dir`` per server: kubectl caches discovery per host:port
and a cache left by a previous server on the same port would lie.

    with ServerProcess() as srv:
        print(srv.kubectl("get", "ns").stdout)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from pyk8s.client.kubeconfig import ClientConfig, load_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0  # generous: CI machines start servers slowly under load; failures still say why at once
# ``pyk8s server`` adds this variable's components to --disable (pyk8s.cli.server.DISABLE_ENV).
DISABLE_ENV = "PYK8S_DISABLE"
CONTROL_PLANE_COMPONENTS = ("controller-manager", "scheduler")
# The embedded kubelet would make the test machine a node: tests that want one run it in a namespace.
# The embedded ingress would listen on the machine's ports 80/443: tests run ``pyk8s ingress`` in a node netns.
# The embedded DNS would listen on the machine's node IP, port 53, and forward: tests run ``pyk8s dns --no-forward``.
NODE_COMPONENTS = ("kubelet", "ingress", "proxy", "dns")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_binary() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "pyk8s"
    return str(venv) if venv.exists() else (shutil.which("pyk8s") or str(venv))


class ServerProcess:
    """One ``pyk8s server`` subprocess on loopback (see the module docstring)."""

    def __init__(
        self,
        *,
        extra_args: list[str] | tuple[str, ...] = (),
        etcd: bool = False,
        env: dict[str, str] | None = None,
        start_timeout: float = START_TIMEOUT,
        control_plane: bool = False,
        bind_address: str = "127.0.0.1",
    ) -> None:
        self.extra_args = list(extra_args)
        self.bind_address = bind_address
        self.control_plane = control_plane
        self.use_etcd = etcd
        self.extra_env = dict(env or {})
        self.start_timeout = start_timeout
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="pyk8s-e2e-")
        self.data_dir = os.path.join(self.root, "data")
        self.home = os.path.join(self.root, "home")
        self.cache_dir = os.path.join(self.home, ".kube", "cache")
        os.makedirs(self.data_dir)
        os.makedirs(self.cache_dir)
        self.proc: subprocess.Popen[bytes] | None = None
        self.etcd: Any = None
        self._kubeconfig: ClientConfig | None = None
        # The TLS context of the last loaded kubeconfig: building one loads the system CA bundle (~50 ms of CPU),
        # which every readiness poll and test request paid before.
        self._ssl: tuple[ClientConfig, ssl.SSLContext | None] | None = None
        self._log: Any = None

    # --- lifecycle ---------------------------------------------------------

    @property
    def kubeconfig(self) -> str:
        return os.path.join(self.data_dir, "admin.kubeconfig")

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "server.log")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def url(self) -> str:
        return f"https://{self.bind_address}:{self.port}"

    def command(self) -> list[str]:
        args = [
            server_binary(),
            "server",
            "--data-dir",
            self.data_dir,
            "--secure-port",
            str(self.port),
            "--bind-address",
            self.bind_address,
        ]
        if self.etcd is not None:
            args += ["--etcd-servers", self.etcd.endpoint]
        if not self.control_plane and not any("admission-plugins" in a for a in self.extra_args):
            # As upstream's integration tests: a bare API server has no service-account or node lifecycle
            # controller, which these two admission plugins rely on (a pod needs its account to exist; a
            # new node's not-ready taint is lifted by the controller).
            args += ["--disable-admission-plugins", "ServiceAccount,TaintNodesByCondition"]
        return args + self.extra_args

    def start(self) -> ServerProcess:
        if self.proc is not None and self.proc.poll() is None:
            # A second start would orphan the running server (``with ServerProcess().start()`` did).
            raise RuntimeError("this ServerProcess is already running: stop() or restart() it first")
        if self.use_etcd and self.etcd is None:
            from pyk8s.testing.etcd import EtcdServer

            self.etcd = EtcdServer().start()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap()
        env = dict(os.environ)
        env.pop(DISABLE_ENV, None)
        left_out = NODE_COMPONENTS if self.control_plane else (*CONTROL_PLANE_COMPONENTS, *NODE_COMPONENTS)
        env[DISABLE_ENV] = ",".join(left_out)
        env.update(self.extra_env, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(REPO_ROOT),
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pyk8s server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.ready():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"pyk8s server not ready after {self.start_timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def ready(self) -> bool:
        """Whether GET /readyz answers 200 (False until the kubeconfig exists)."""
        if not os.path.exists(self.kubeconfig):
            return False
        try:
            status, _ = self.request("GET", "/readyz", timeout=2)
        except (OSError, ValueError, yaml.YAMLError, ssl.SSLError):
            status = 0
        if status != 200:
            # The kubeconfig may be stale (a restarting server rewrites it): re-read next time.
            self._kubeconfig = None
        return status == 200

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = 10,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One HTTPS request with the admin credentials: (status, body)."""
        kc = self.client_config()
        req = urllib.request.Request(kc.server.rstrip("/") + path, data=body, method=method)
        for k, v in {**kc.headers(), **(headers or {})}.items():
            req.add_header(k, v)
        if self._ssl is None or self._ssl[0] is not kc:
            self._ssl = (kc, kc.ssl_context())
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl[1]) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def client_config(self) -> ClientConfig:
        if self._kubeconfig is None:
            self._kubeconfig = load_kubeconfig(self.kubeconfig)
        return self._kubeconfig

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # The server leads its own process group (start_new_session), so
            # this reaches exactly the processes it started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        self._signal(signal.SIGKILL)
        self._reap(10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within ``timeout``."""
        if self.proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
        self._reap(10)

    def _reap(self, timeout: float) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
            # Children left in the group after the leader died.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> ServerProcess:
        """Stop (if running) and start again on the same port and data dir."""
        if self.proc is not None:
            self.stop()
        self._kubeconfig = None
        return self.start()

    def close(self) -> None:
        """Stop everything this helper started and remove its temp dirs."""
        self.stop()
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def log_tail(self, size: int = 4000) -> str:
        try:
            return Path(self.log_path).read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""

    # --- kubectl -----------------------------------------------------------

    def kubectl_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env.update(HOME=self.home, KUBECONFIG=self.kubeconfig)
        return env

    def kubectl_args(self, *args: str) -> list[str]:
        return ["kubectl", f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.cache_dir}", *args]

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server; ``check`` raises with its output on failure."""
        result = subprocess.run(
            self.kubectl_args(*args),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**self.kubectl_env(), **(env or {})},
            cwd=self.root,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def kubectl_popen(self, *args: str) -> subprocess.Popen[str]:
        """kubectl in the background (e.g. ``get -w``); the caller stops it by PID."""
        return subprocess.Popen(
            self.kubectl_args(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.kubectl_env(),
            cwd=self.root,
            start_new_session=True,
        )
