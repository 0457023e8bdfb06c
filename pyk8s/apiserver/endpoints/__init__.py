"""The API server's request handlers, one module per concern.

* ``paths``: resource URLs -> ``ResourcePath``;
* ``negotiation``: Accept (Table, aggregated discovery) and body decoding;
* ``params``: query parameters and DeleteOptions -> registry option objects;
* ``resources``: the verbs on resources and the status subresource;
* ``subresources``: routes subresources to what the resource's storage bundle declares;
* ``watch``: chunked NDJSON watch streams;
* ``tables``: server-side printing through ``pyk8s.apiserver.printers``;
* ``discovery``, ``openapi``, ``system`` (version, health), ``reviews``
  (access/identity reviews answered without storage).

``pyk8s.apiserver.server`` routes requests to them.
"""
