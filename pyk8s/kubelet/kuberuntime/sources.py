"""The seams through which the runtime manager reads API objects.

The kubelet never lists ConfigMaps or Secrets itself while it builds a
container: it asks an ``ObjectSource`` (upstream: the configMap/secret
managers, the service lister and the TokenRequest client).  The kubelet main
loop backs it with ``pyk8s.client`` informers and a REST client;
``pyk8s.testing.fake_objects.FakeObjectSource`` backs it in tests.

Contract: a missing object raises ``ObjectNotFound``, whose message is the one
upstream's watch-based managers give (``configmap "x" not found``: the
resource is singular there, unlike the API server's plural) because that text
ends up verbatim in CreateContainerConfigError and FailedMount messages.
"""

from __future__ import annotations

from typing import Any, Protocol

Obj = dict[str, Any]


class ObjectNotFound(LookupError):
    """The referenced object does not exist (``<resource> "<name>" not found``)."""

    def __init__(self, resource: str, name: str) -> None:
        super().__init__(f'{resource} "{name}" not found')
        self.resource = resource
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


class ObjectSource(Protocol):
    """Read access to the objects a pod's containers and volumes refer to."""

    async def get_configmap(self, namespace: str, name: str) -> Obj:
        """The ConfigMap, or ``ObjectNotFound("configmap", name)``."""
        ...

    async def get_secret(self, namespace: str, name: str) -> Obj:
        """The Secret, or ``ObjectNotFound("secret", name)``."""
        ...

    async def list_services(self) -> list[Obj]:
        """Every Service the node knows of (all namespaces), for service environment variables."""
        ...

    async def get_persistent_volume_claim(self, namespace: str, name: str) -> Obj:
        """The PVC, or ``ObjectNotFound("persistentvolumeclaim", name)``."""
        ...

    async def get_persistent_volume(self, name: str) -> Obj:
        """The PV, or ``ObjectNotFound("persistentvolume", name)``."""
        ...

    async def get_runtime_class(self, name: str) -> Obj:
        """The node.k8s.io RuntimeClass, or ``ObjectNotFound("runtimeclass.node.k8s.io", name)``."""
        ...

    async def request_token(
        self, namespace: str, service_account: str, *, audiences: list[str], expiration_seconds: int,
        pod_name: str, pod_uid: str,
    ) -> Obj:
        """POST serviceaccounts/<sa>/token bound to the pod; returns the TokenRequest's status
        (``{"token": ..., "expirationTimestamp": ...}``)."""
        ...
