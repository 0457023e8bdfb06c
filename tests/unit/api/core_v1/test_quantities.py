from pyk8s.api.core_v1.quantities import canonicalize

from .conftest import create


def test_canonical_quantities_along_schema() -> None:
    pod = {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}}],
                    "overhead": {"cpu": "1000m"}},
           "status": {"containerStatuses": [{"allocatedResources": {"cpu": "2000m"}}]},
           "metadata": {"labels": {"cpu": "0.5"}}}
    canonicalize(pod, "io.k8s.api.core.v1.Pod")
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert pod["spec"]["overhead"] == {"cpu": "1"}
    assert pod["status"]["containerStatuses"][0]["allocatedResources"] == {"cpu": "2"}
    assert pod["metadata"]["labels"] == {"cpu": "0.5"}  # not a quantity field


def test_kinds_store_canonical_values() -> None:
    q = create("resourcequotas", {"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"cpu": "2000m"}}})
    assert q["spec"]["hard"] == {"cpu": "2"}
    pvc = create("persistentvolumeclaims", {"metadata": {"name": "c", "namespace": "d"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}})
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    bad = create("resourcequotas", {"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"cpu": "x"}}})
    assert bad["spec"]["hard"] == {"cpu": "x"}  # left for validation to report
