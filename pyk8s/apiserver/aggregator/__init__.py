"""API aggregation (kube-aggregator): APIServices, the proxy to extension API servers, merged discovery.

``aggregator.py`` holds ``Aggregator``, which the server's router asks first (``route``) and which runs a
loop (``run``) keeping the local APIServices, the ``extension-apiserver-authentication`` ConfigMap and the
``Available`` conditions (``availability.py``) up to date; ``proxy.py`` passes requests (watches and
upgrades included) to the extension server with the user in ``X-Remote-*`` headers over the front-proxy
client certificate; ``discovery.py`` merges the extension servers' groups into ``/apis`` in both forms.
"""
