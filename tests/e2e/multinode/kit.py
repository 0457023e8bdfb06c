"""Pods, policies and requests in one namespace of the shared two-node cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from pyk8s.testing.multinode import MultiNodeCluster
from tests.e2e.helpers import wait_until

BUSYBOX = "busybox:1.36"
# busybox httpd on 8080 (named port "http"): / is the pod's name, /cgi-bin/ip the client address it sees.
HTTPD = ("mkdir -p /www/cgi-bin && hostname > /www/index.html && "
         "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && "
         "chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www")


def httpd_container(**extra: Any) -> dict[str, Any]:
    return {"name": "httpd", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", HTTPD],
            "ports": [{"name": "http", "containerPort": 8080}], **extra}


class Kit:
    def __init__(self, cluster: MultiNodeCluster, namespace: str) -> None:
        self.c, self.ns = cluster, namespace
        self.other = ""  # a second namespace, when a module sets one up

    def fetch_many(self, client: str, url: str, count: int, *, timeout: int = 2) -> list[str]:
        """``count`` requests from ``client`` in one exec; the bodies of those that succeeded."""
        script = f"for i in $(seq {count}); do wget -qO- -T {timeout} {url} || echo FAILED; done"
        out = self.kubectl("exec", client, "--", "sh", "-c", script, check=False, timeout=count * (timeout + 1) + 30)
        return [line for line in out.stdout.split() if line != "FAILED"]

    def kubectl(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60,
                namespace: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.c.kubectl("-n", namespace or self.ns, *args, check=check, input=input, timeout=timeout)

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(obj), namespace=namespace)

    def pod(self, name: str, node: str, labels: dict[str, str], *, server: bool, namespace: str | None = None) -> None:
        container = httpd_container() if server else {
            "name": "client", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}
        self.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                    "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [container]}},
                   namespace)

    def wait_ready(self, *names: str, namespace: str | None = None, timeout: float = 90) -> None:
        self.kubectl("wait", "--for=condition=Ready", *(f"pod/{n}" for n in names), f"--timeout={int(timeout)}s",
                     namespace=namespace, timeout=timeout + 10)

    def ip(self, name: str, namespace: str | None = None) -> str:
        return self.kubectl("get", "pod", name, "-o", "jsonpath={.status.podIP}", namespace=namespace).stdout.strip()

    def fetch(self, client: str, url: str, *, namespace: str | None = None, timeout: int = 2) -> str | None:
        """The body ``client`` gets from ``url`` (busybox wget), None when the request fails."""
        out = self.kubectl("exec", client, "--", "wget", "-qO-", "-T", str(timeout), url, check=False,
                           namespace=namespace, timeout=timeout + 30)
        return out.stdout.strip() if out.returncode == 0 else None

    def wait_reachable(self, client: str, url: str, *, namespace: str | None = None, timeout: float = 30) -> str:
        return wait_until(lambda: self.fetch(client, url, namespace=namespace), timeout=timeout, interval=0.5,
                          what=f"{client} reaching {url}")

    def wait_blocked(self, client: str, url: str, *, namespace: str | None = None, timeout: float = 30) -> None:
        """Until ``url`` fails from ``client``, then once more: a policy applies within seconds and stays."""
        wait_until(lambda: self.fetch(client, url, namespace=namespace, timeout=1) is None, timeout=timeout,
                   interval=0.5, what=f"{client} blocked from {url}")
        assert self.fetch(client, url, namespace=namespace, timeout=1) is None, f"{client} reached {url} again"

    def policy(self, name: str, spec: dict[str, Any]) -> None:
        self.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
                    "spec": spec})


LOAD_SCRIPT = """
import json, os, sys, time, urllib.request
urls, stop = sys.argv[1].split(","), sys.argv[2]
ok, failed, errors, i = 0, 0, [], 0
while not os.path.exists(stop):
    url = urls[i % len(urls)]; i += 1
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            r.read(); ok += 1
    except Exception as exc:
        failed += 1; errors.append(f"{time.time():.1f} {url} {exc!r}")
    time.sleep(0.05)
print(json.dumps({"ok": ok, "failed": failed, "errors": errors[:20]}))
"""


class Load:
    """Requests in a loop from inside node ``index``'s namespace until ``stop()``; counts successes and failures."""

    def __init__(self, cluster: MultiNodeCluster, index: int, urls: list[str]) -> None:
        self.stop_file = os.path.join(tempfile.mkdtemp(prefix="pyk8s-load-"), "stop")
        cmd = cluster.kubelets[index - 1].netns.command([sys.executable, "-c", LOAD_SCRIPT, ",".join(urls),
                                                         self.stop_file])
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # straight to the node, no proxy
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def stop(self) -> dict[str, Any]:
        open(self.stop_file, "w").close()
        out, err = self.proc.communicate(timeout=30)
        os.unlink(self.stop_file)
        os.rmdir(os.path.dirname(self.stop_file))
        assert self.proc.returncode == 0, err
        result: dict[str, Any] = json.loads(out)
        return result
