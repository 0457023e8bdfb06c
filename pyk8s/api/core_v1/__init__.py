"""core/v1 (the legacy "" group): one module per kind or family.

Importing this package registers every core kind in SCHEME and its schemas in
the schema REGISTRY.  Schemas refer to each other by name, so import order
does not matter for them; the shared type modules (container, probes,
volumes, affinity) are pulled in by pod.py.
"""

from pyk8s.api.core_v1 import (  # noqa: F401  (registration side effects)
    componentstatus,
    configmap,
    event,
    limitrange,
    namespace,
    node,
    persistentvolume,  # persistentvolumes, persistentvolumeclaims
    pod,  # pods, bindings
    podtemplate,
    replicationcontroller,
    resourcequota,
    secret,
    service,  # services, endpoints
    serviceaccount,
)
