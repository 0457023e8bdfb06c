"""The chart the Helm e2e tests install, written to a temp dir (no repository, no OCI pull).

It carries what real charts carry: a CRD in ``crds/`` and an object of it, a Deployment, a Service,
a ConfigMap, a Secret, and two hook Jobs (post-install and pre-delete, deleted by Helm once they
succeed).  The hooks' pods run on the simulated node for ``sim.pyk8s.io/run-seconds`` and exit with
``.Values.hookExit``, so a test can make a hook fail."""

from __future__ import annotations

import textwrap
from pathlib import Path

CRD_NAME = "gadgets.helm.pyk8s.test"

_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.helm.pyk8s.test
spec:
  group: helm.pyk8s.test
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
"""

_APP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: {{ .Values.greeting | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-secret
type: Opaque
stringData:
  password: {{ .Values.password | quote }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1
---
apiVersion: helm.pyk8s.test/v1
kind: Gadget
metadata:
  name: {{ .Release.Name }}-gadget
spec:
  size: {{ .Values.replicas }}
"""

_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-%(hook)s
  annotations:
    helm.sh/hook: %(hook)s
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.pyk8s.io/run-seconds: "1"
        sim.pyk8s.io/exit-code: "{{ .Values.hookExit }}"
    spec:
      restartPolicy: Never
      containers:
      - name: hook
        image: registry.invalid/hook:1
"""


def write_chart(root: Path) -> Path:
    chart = root / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: '1.0'\n")
    (chart / "values.yaml").write_text(textwrap.dedent("""\
        replicas: 1
        greeting: hello
        password: s3cret
        hookExit: 0
        """))
    (chart / "crds" / "gadgets.yaml").write_text(_CRD)
    (chart / "templates" / "app.yaml").write_text(_APP)
    for hook in ("post-install", "pre-delete"):
        (chart / "templates" / f"{hook}.yaml").write_text(_HOOK % {"hook": hook})
    return chart
