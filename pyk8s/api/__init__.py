"""Concrete API kinds, per group/version.

Importing ``pyk8s.api`` fills ``machinery.scheme.SCHEME`` and the schema
``REGISTRY``.  core/v1 comes first so that "" is the first group in discovery;
the other groups follow in upstream's discovery order.  ``protonumbers`` adds
the protobuf field numbers used to decode kubectl's typed request bodies.
"""

from __future__ import annotations

# Imported for their registration side effects, in discovery order.
from pyk8s.api import core_v1, meta_v1  # noqa: F401  isort: skip
from pyk8s.api import (  # noqa: F401  isort: skip
    apiregistration_v1,
    apps_v1,
    batch_v1,
    autoscaling,
    certificates_v1,
    networking_v1,
    discovery_v1,
    coordination_v1,
    rbac_v1,
    storage_v1,
    storage_v1_csi,
    admissionregistration_v1,
    scheduling_v1,
    node_v1,
    policy_v1,
    events_v1,
    flowcontrol_v1,
    authorization,
    protonumbers,
)
