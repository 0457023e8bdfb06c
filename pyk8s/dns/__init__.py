"""Cluster DNS: what CoreDNS's kubernetes plugin answers, served from informers.

* ``names``: a query name split into what it asks for (a Service, an endpoint,
  an SRV port, a pod, a reverse address...), relative to the cluster domain.
* ``cluster``: the read side over the informer stores (Services,
  EndpointSlices, Namespaces) with a reverse-address index.
* ``resolver``: one question in, rcode and RRsets out (RFC 8020's
  NXDOMAIN-versus-NODATA, the SOA for negative caching, TTL 30).
* ``forward``: names outside the cluster zones go to the host's resolvers,
  never to a loopback one (that would loop back to us).
* ``server``: asyncio UDP and TCP listeners, EDNS0 sizes, truncation and an
  answer cache keyed by the query's bytes, flushed on every change.
* ``kubedns``: the ``kube-system/kube-dns`` Service and the EndpointSlice that
  points it at this server.
* ``metrics``: Prometheus counters on port 9153 under CoreDNS's names.

See docs/dns.md.
"""
