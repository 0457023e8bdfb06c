"""A kopf operator over a CRD (``kopfexamples.kopf.dev``), as in kopf's own examples: run by
``test_kopf.py`` as ``kopf run --standalone`` in a subprocess against the test server.

create writes ``status.create_fn``; update copies ``spec.field`` into ``status.update_fn``;
a 1 s timer counts into ``status.ticks``; delete leaves a ConfigMap ``deleted-<name>`` behind."""

from __future__ import annotations

from typing import Any

import kopf
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

GROUP, VERSION, PLURAL = "kopf.dev", "v1", "kopfexamples"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.enabled = False  # no Events: the test reads status instead
    settings.watching.server_timeout = 30


@kopf.on.create(GROUP, VERSION, PLURAL)
def create_fn(spec: Any, **_: Any) -> dict[str, Any]:
    return {"message": f"created with field={spec.get('field')}"}


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec.field")
def update_fn(new: Any, **_: Any) -> dict[str, Any]:
    return {"field": new}


@kopf.timer(GROUP, VERSION, PLURAL, interval=1.0)
def tick(status: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["ticks"] = int(status.get("ticks") or 0) + 1


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_fn(name: str, namespace: str, **_: Any) -> None:
    Client().create(ConfigMap(metadata=ObjectMeta(name=f"deleted-{name}", namespace=namespace),
                              data={"by": "kopf"}))
