"""Domain rules on core/v1 objects that several components apply the same way.

One home for each rule, below every component (api may import machinery and
util only), so the scheduler, the controllers and the kubelet (real and
simulated) call the same code:

* ``tolerations`` — does a toleration tolerate a taint (``ToleratesTaint``);
* ``nodeaffinity`` — nodeSelector and node affinity against a node's labels/name;
* ``podready`` — the Ready condition: IsPodReady, IsPodAvailable, GetPodCondition;
* ``resources`` — what a pod requests (containers, init containers, sidecars, overhead);
* ``timestamps`` — metav1.Time and MicroTime as the API writes and reads them.

The modules take plain dict objects as the API serves them and never mutate them.
"""
