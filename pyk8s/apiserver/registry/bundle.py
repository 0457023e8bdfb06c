"""A resource's storage bundle: its main store and its subresources, assembled in one place.

``make_store(rt, storage, registry)`` builds the main store; ``subresources`` maps a
subresource name to a factory taking that store and returning what the HTTP layer
calls, by the subresource's shape (upstream's ``rest`` interfaces):

* ``get``/``update``/``patch`` — a view of the object (``scale``);
* ``create(namespace, name, body, opts, peers)`` — a POST that makes something
  happen to the object (``binding``, ``eviction``, ``token``);
* ``connect(request, namespace, name, peers)`` — a connection passed on elsewhere
  (``log``, ``exec``, ``attach``, ``portforward``, ``proxy``), upstream's Connecter.

``Peers`` is what a subresource reaches besides its own store: other resources'
stores, the server's token signer, its kubelet and pod-network connections.
Built-in kinds get their bundles from ``special.builtin_bundle``; resources added at
run time (a CRD's versions) are served through a bundle installed with
``Registry.install`` and go again with ``Registry.uninstall``.  The HTTP layer
(``endpoints/subresources.py``) only routes a request to the bundle's object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ResourceBundle:
    make_store: Callable[..., Any]
    subresources: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Peers:
    lookup: Callable[[str, str], Any]  # (group, plural) -> that resource's store (at the preferred version) or None
    token_signer: Any = None  # service-account tokens (``TokenRequest``); None: not configured
    kubelets: Any = None  # ``kubeletclient.KubeletClient`` (its ``cluster`` egress reaches pods); None: no connections
