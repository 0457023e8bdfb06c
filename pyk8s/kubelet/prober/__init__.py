"""Container probes: liveness, readiness and startup, as upstream's kubelet runs them.

* ``actions`` runs one probe handler (exec, httpGet, tcpSocket, grpc) and words the outcome;
* ``worker`` probes one container for one probe type every period, with thresholds;
* ``manager`` owns the workers and answers what the kubelet asks: the verdicts, and the
  ``started``/``ready`` fields of container statuses.
"""
