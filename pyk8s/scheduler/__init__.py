"""The kube-scheduler: queue, cache, plugin framework and one scheduling cycle.

The core (``framework``, ``cache``, ``queue``, ``plugins``, ``schedule_one``)
works on plain API dicts and small Protocols, so it runs without sockets;
wiring to the API server through informers lives apart from it.
"""
