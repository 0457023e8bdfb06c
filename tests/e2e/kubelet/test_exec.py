"""kubectl exec, attach and cp through the API server and the kubelet, onto containerd (WebSocket v5, and v4)."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import tempfile

import pytest

from tests.e2e.helpers import new_api_client, read_output_until, row_for, wait_until
from tests.e2e.kubelet.conftest import Cluster

BUSYBOX = "busybox:1.36"


def phase_row(c: Cluster, name: str) -> list[str]:
    return row_for(c.kubectl("get", "pod", name).stdout, name)


def run_pod(c: Cluster, name: str, *command: str, **container: object) -> None:
    spec = {"name": name, "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": list(command), **container}
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [spec], "terminationGracePeriodSeconds": 1}}
    c.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_until(lambda: phase_row(c, name)[2] == "Running", timeout=40, what=f"{name} Running")


@pytest.fixture(scope="module")
def shell(cluster: Cluster) -> str:
    run_pod(cluster, "exec-shell", "sleep", "3600")
    return "exec-shell"


def test_exec_output_and_exit_code(cluster: Cluster, shell: str) -> None:
    ok = cluster.kubectl("exec", shell, "--", "sh", "-c", "echo out; echo err >&2")
    assert (ok.stdout, ok.stderr, ok.returncode) == ("out\n", "err\n", 0)
    failed = cluster.kubectl("exec", shell, "--", "sh", "-c", "echo partial; exit 3", check=False)
    assert failed.returncode == 3
    assert failed.stdout == "partial\n"
    assert failed.stderr == "command terminated with exit code 3\n"
    missing = cluster.kubectl("exec", shell, "--", "no-such-binary", check=False)
    assert missing.returncode != 0
    assert "no-such-binary" in missing.stderr


def test_exec_stdin_reaches_eof(cluster: Cluster, shell: str) -> None:
    # `cat` ends only if stdin's EOF arrives (v5's close signal, relayed as a SPDY FIN to containerd).
    out = cluster.kubectl("exec", "-i", shell, "--", "sh", "-c", "cat; echo done", input="hello\nworld\n",
                          timeout=30)
    assert out.stdout == "hello\nworld\ndone\n"
    counted = cluster.kubectl("exec", "-i", shell, "--", "wc", "-c", input="x" * 200_000, timeout=30)
    assert counted.stdout.strip() == "200000"


def test_exec_with_a_terminal(cluster: Cluster, shell: str) -> None:
    # `script` gives kubectl a pseudo-terminal, so -t is honoured and the resize channel is used.
    args = " ".join(cluster.server.kubectl_args("exec", "-it", shell, "--", "sh", "-c", "tty; stty size"))
    out = subprocess.run(["script", "-qec", f"stty cols 91 rows 33; {args}", "/dev/null"], capture_output=True,
                         text=True, timeout=30, env={**os.environ, **cluster.server.kubectl_env()}, check=False)
    assert out.returncode == 0, out
    assert "/dev/pts/" in out.stdout
    assert "33 91" in out.stdout


def test_cp_both_ways(cluster: Cluster, shell: str) -> None:
    payload = os.urandom(300_000)
    with tempfile.TemporaryDirectory() as tmp:
        local = pathlib.Path(tmp) / "blob.bin"
        local.write_bytes(payload)
        cluster.kubectl("cp", str(local), f"{shell}:/tmp/blob.bin", timeout=60)
        remote_sum = cluster.kubectl("exec", shell, "--", "md5sum", "/tmp/blob.bin").stdout.split()[0]
        assert remote_sum == hashlib.md5(payload).hexdigest()  # noqa: S324 - a checksum, not security
        back = pathlib.Path(tmp) / "back.bin"
        cluster.kubectl("cp", f"{shell}:/tmp/blob.bin", str(back), timeout=60)
        assert back.read_bytes() == payload


def test_attach_follows_output_and_takes_stdin(cluster: Cluster) -> None:
    run_pod(cluster, "attach-ticker", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done")
    proc = cluster.server.kubectl_popen("attach", "attach-ticker")
    try:
        seen = read_output_until(proc, lambda text: text.count("tick") >= 2, timeout=20)
        assert "tick" in seen
    finally:
        proc.kill()
        proc.wait(5)
    run_pod(cluster, "attach-reader", "sh", "-c", "while read line; do echo got $line; done", stdin=True)
    # Kept open: after stdin's EOF containerd ends an attach at once, output still in flight (as upstream).
    attach = subprocess.Popen(cluster.server.kubectl_args("attach", "-i", "attach-reader"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cluster.server.kubectl_env(),
                              start_new_session=True)
    try:
        assert attach.stdin is not None
        attach.stdin.write(b"one\ntwo\n")
        attach.stdin.flush()
        seen = read_output_until(attach, lambda text: "got two" in text, timeout=20)
        assert seen.endswith("got one\ngot two\n")
    finally:
        attach.kill()
        attach.wait(5)


def test_refusals_are_worded_as_upstream(cluster: Cluster, shell: str) -> None:
    wrong = cluster.kubectl("exec", shell, "-c", "zz", "--", "true", check=False)
    assert "container zz is not valid for pod exec-shell" in wrong.stderr
    cluster.kubectl("run", "exec-done", f"--image={BUSYBOX}", "--image-pull-policy=IfNotPresent", "--restart=Always",
                    "--", "sh", "-c", "exit 1")
    wait_until(lambda: phase_row(cluster, "exec-done")[2] in ("CrashLoopBackOff", "Error"), timeout=40,
               what="exec-done not running")
    gone = cluster.kubectl("exec", "exec-done", "--", "true", check=False)
    assert gone.returncode != 0
    assert 'unable to upgrade connection: container not found ("exec-done")' in gone.stderr
    raw = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/exec-shell/exec?command=true&stdout=true",
                          check=False)
    assert "Upgrade request required" in raw.stderr
    none = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/exec-shell/exec?command=true", check=False)
    assert "you must specify at least 1 of stdin, stdout, stderr" in none.stderr


def test_python_client_stream(cluster: Cluster, shell: str) -> None:
    from kubernetes import client
    from kubernetes.stream import stream

    api = client.CoreV1Api(new_api_client(cluster.server))
    out = stream(api.connect_get_namespaced_pod_exec, shell, "default", command=["sh", "-c", "echo py-$((6*7))"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "py-42\n"
    session = stream(api.connect_get_namespaced_pod_exec, shell, "default", command=["sh", "-c", "exit 4"],
                     stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    session.run_forever(timeout=20)
    assert session.returncode == 4


def test_websocket_v4_only_client(cluster: Cluster, shell: str) -> None:
    """A client offering only v4.channel.k8s.io (older Python clients, dashboards) gets v4 and its framing."""
    import websocket

    cfg = cluster.server.client_config()
    ctx = cfg.ssl_context()
    url = (cfg.server.replace("https://", "wss://") +
           "/api/v1/namespaces/default/pods/exec-shell/exec?command=sh&command=-c&command=echo+v4;exit+2&stdout=true")
    ws = websocket.create_connection(url, subprotocols=["v4.channel.k8s.io"], sslopt={"context": ctx}, timeout=20)
    frames: list[bytes] = []
    try:
        assert ws.subprotocol == "v4.channel.k8s.io"
        while True:
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            frames.append(data)
    finally:
        ws.close()
    assert frames[0] == b"\x01v4\n"
    status = json.loads(frames[-1][1:])
    assert frames[-1][0] == 3 and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]


def test_legacy_spdy_fallback(cluster: Cluster, shell: str) -> None:
    """kubectl told not to use WebSockets upgrades to SPDY/3.1 (what it falls back to): the same results."""
    spdy_only = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    out = cluster.server.kubectl("exec", "-i", shell, "--", "sh", "-c", "cat; echo err >&2; exit 5", input="via-spdy\n",
                          check=False, env=spdy_only, timeout=30)
    assert (out.stdout, out.returncode) == ("via-spdy\n", 5)
    assert out.stderr == "err\ncommand terminated with exit code 5\n"
    payload = os.urandom(100_000)
    with tempfile.TemporaryDirectory() as tmp:
        local = pathlib.Path(tmp) / "s.bin"
        local.write_bytes(payload)
        cluster.server.kubectl("cp", str(local), f"{shell}:/tmp/s.bin", env=spdy_only, timeout=60)
        back = pathlib.Path(tmp) / "back.bin"
        cluster.server.kubectl("cp", f"{shell}:/tmp/s.bin", str(back), env=spdy_only, timeout=60)
        assert back.read_bytes() == payload


def test_run_interactive_attaches_and_removes_the_pod(cluster: Cluster) -> None:
    out = cluster.kubectl("run", "exec-once", "-i", "--rm", "--restart=Never", f"--image={BUSYBOX}",
                          "--image-pull-policy=IfNotPresent", "--", "sh", "-c", "read x; echo got-$x",
                          input="hi\n", timeout=60, check=False)
    assert out.returncode == 0, out
    assert "got-hi" in out.stdout
    assert 'pod "exec-once" deleted' in out.stdout + out.stderr
