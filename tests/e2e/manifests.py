"""Manifests shared by the e2e tests, built from the seed notes' nginx example
(a Deployment ``nginx-deployment`` with 3 replicas of nginx, labelled
``app: nginx``) plus a Service and a ConfigMap that go with it."""

from __future__ import annotations


def nginx_deployment(
    name: str = "nginx-deployment", *, replicas: int = 3, image: str = "nginx:1.15.4", app: str = "nginx"
) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {app}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
    spec:
      containers:
      - name: nginx
        image: {image}
        ports:
        - containerPort: 80
"""


def nginx_service(name: str = "nginx-svc", *, app: str = "nginx") -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    app: {app}
spec:
  selector:
    app: {app}
  ports:
  - port: 80
    targetPort: 80
"""


def configmap(name: str = "nginx-conf", *, value: str = "on", app: str = "nginx") -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  labels:
    app: {app}
data:
  gzip: "{value}"
"""


def bundle(suffix: str, *, replicas: int = 3, image: str = "nginx:1.15.4", value: str = "on") -> str:
    """Deployment + Service + ConfigMap as one multi-document YAML file."""
    app = f"nginx-{suffix}"
    docs = [
        nginx_deployment(f"web-{suffix}", replicas=replicas, image=image, app=app),
        nginx_service(f"web-{suffix}", app=app),
        configmap(f"conf-{suffix}", value=value, app=app),
    ]
    return "---\n".join(docs)


def pod(name: str, *, image: str = "nginx:1.24", labels: dict[str, str] | None = None) -> str:
    label_lines = "".join(f"    {k}: {v}\n" for k, v in (labels or {"app": name}).items())
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
{label_lines}spec:
  containers:
  - name: main
    image: {image}
"""


def node(name: str) -> str:
    return f"""apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels:
    node-role.kubernetes.io/worker: ""
    kubernetes.io/hostname: {name}
status:
  conditions:
  - type: Ready
    status: "True"
    reason: KubeletReady
    message: kubelet is posting ready status
    lastHeartbeatTime: "2026-01-01T00:00:00Z"
    lastTransitionTime: "2026-01-01T00:00:00Z"
  addresses:
  - type: InternalIP
    address: 10.1.2.3
  nodeInfo:
    kubeletVersion: v1.32.0
    osImage: Debian GNU/Linux 12
    kernelVersion: 6.1.0
    containerRuntimeVersion: containerd://1.6.20
    architecture: amd64
    operatingSystem: linux
    bootID: ""
    machineID: ""
    systemUUID: ""
    kubeProxyVersion: v1.32.0
  capacity:
    cpu: "4"
    memory: 8Gi
    pods: "110"
  allocatable:
    cpu: "4"
    memory: 8Gi
    pods: "110"
"""
