"""The Services under test and the pods behind them, in one namespace of the shared cluster.

Every backend is busybox ``httpd`` with a CGI script answering
``<client address> <pod name>``, so a test sees both which replica answered
and which source address it saw.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.e2e.helpers import wait_until
from tests.e2e.services.conftest import Cluster

NS = "svc-e2e"
BUSYBOX = "busybox:1.36"
SERVE = ("mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
         "echo \"$REMOTE_ADDR $(hostname)\"\\n' > /www/cgi-bin/who && chmod +x /www/cgi-bin/who && "
         "exec httpd -f -p 8080 -h /www")


def _container(name: str, command: str) -> dict[str, Any]:
    return {"name": name, "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", command]}


def _service(name: str, selector: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": 8080}], **spec}}


def objects() -> list[dict[str, Any]]:
    web = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"terminationGracePeriodSeconds": 1,
                                          "containers": [_container("httpd", SERVE)]}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": NS}, "spec": {"terminationGracePeriodSeconds": 1}}
    solo = {**pod, "metadata": {**pod["metadata"], "name": "solo", "labels": {"app": "solo"}},
            "spec": {**pod["spec"], "containers": [_container("httpd", SERVE)]}}
    client = {**pod, "metadata": {**pod["metadata"], "name": "client"},
              "spec": {**pod["spec"], "containers": [_container("client", "exec sleep 3600")]}}
    return [web, solo, client,
            _service("web", {"app": "web"}),
            _service("sticky", {"app": "web"}, sessionAffinity="ClientIP"),
            _service("empty", {"app": "nothing"}),
            _service("solo", {"app": "solo"}),
            _service("web-np", {"app": "web"}, type="NodePort"),
            _service("web-local", {"app": "web"}, type="NodePort", externalTrafficPolicy="Local"),
            _service("web-lb", {"app": "web"}, type="LoadBalancer", externalTrafficPolicy="Local")]


def who(line: str) -> tuple[str, str]:
    """``[::ffff:10.244.0.4] web-1`` (busybox httpd's REMOTE_ADDR, then the pod) -> ("10.244.0.4", "web-1")."""
    address, _, name = line.partition(" ")
    return address.strip("[]").removeprefix("::ffff:"), name.strip()


class Workload:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster

    def kubectl(self, *args: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.c.kubectl("-n", NS, *args, **kw)

    def create(self) -> Workload:
        self.c.kubectl("create", "namespace", NS)
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects()}))
        wait_until(lambda: len(self.web_pods()) == 3, timeout=60, interval=0.5, what="3 web pods")
        self.kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=120s", timeout=130)
        self.kubectl("wait", "--for=condition=Ready", "pod/solo", "pod/client", "--timeout=90s", timeout=100)
        return self

    def delete(self) -> None:
        self.c.kubectl("delete", "namespace", NS, "--wait=false", check=False)

    def cluster_ip(self, service: str) -> str:
        return str(self.kubectl("get", "svc", service, "-o", "jsonpath={.spec.clusterIP}").stdout)

    def node_port(self, service: str) -> int:
        return int(self.kubectl("get", "svc", service, "-o", "jsonpath={.spec.ports[0].nodePort}").stdout)

    def web_pods(self) -> set[str]:
        out = self.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").stdout
        return set(out.split())

    def fetch_from(self, pod: str, url: str, times: int = 1) -> tuple[list[str], str]:
        """``times`` GETs of ``url`` from inside ``pod`` in one exec: (answers, wget's complaints)."""
        script = f"for i in $(seq {times}); do timeout 5 wget -qO- {url} || echo FAILED; done"
        out = self.kubectl("exec", pod, "--", "sh", "-c", script, check=False, timeout=30 + 6 * times)
        lines = [line for line in out.stdout.splitlines() if line.strip()]
        return lines, out.stderr

    def who(self, pod: str, ip: str, times: int = 1) -> list[tuple[str, str]]:
        """(client address, pod name) per answer."""
        lines, _ = self.fetch_from(pod, f"http://{ip}/cgi-bin/who", times)
        return [who(line) for line in lines if line != "FAILED"]

    def who_from_machine(self, url: str) -> tuple[str, str]:
        return who(self.from_machine(url))

    def wait_serving(self, pod: str, ip: str) -> None:
        wait_until(lambda: self.who(pod, ip), timeout=30, interval=0.5, what=f"{ip} answering {pod}")

    def from_machine(self, url: str) -> str:
        """One GET from the machine's own namespace, to an address on the test's veth only."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP proxy
        with opener.open(url, timeout=5) as resp:
            return str(resp.read().decode().strip())
