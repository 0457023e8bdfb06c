"""How control-plane loops talk to the API server (client-go, in asyncio).

* ``rest.Client``: the HTTP client (aiohttp, orjson), built from a kubeconfig
  (``kubeconfig.load_kubeconfig``); typed access via ``machinery.scheme``
  entries or ``Client.resource(group, version, plural)``.
* ``errors.ApiError`` and ``is_not_found``/``is_conflict``/``is_gone``...
* ``tools``: reflector, store/indexers/listers, shared informers, work queue
  and rate limiters, leader election, event recorder, a generic controller.

Controllers, the scheduler and agents use only this package to reach the
server, so each can run in its own process.
"""
