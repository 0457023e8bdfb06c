"""lightkube and kr8s create, watch and patch custom objects on a CRD served by pyk8s."""

from __future__ import annotations

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.crd.test_kubectl_crd import crontabs  # noqa: F401  (the module fixture serving CronTabs)

SPEC = {"cronSpec": "* * * * */5", "image": "img"}


def test_lightkube_create_watch_patch(crontabs: ServerProcess) -> None:  # noqa: F811
    from lightkube import Client, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.types import PatchType

    cron_tab = create_namespaced_resource("stable.example.com", "v1", "CronTab", "crontabs")
    client = Client(KubeConfig.from_file(crontabs.kubeconfig))
    client.create(cron_tab(metadata=ObjectMeta(name="lk", namespace="default"), spec=dict(SPEC)))
    for _op, obj in client.watch(cron_tab, namespace="default", fields={"metadata.name": "lk"}):
        assert obj.metadata.name == "lk"
        break
    patched = client.patch(cron_tab, "lk", {"spec": {"replicas": 2}}, namespace="default",
                           patch_type=PatchType.MERGE)
    assert patched.spec["replicas"] == 2 and patched.spec["maxReplicas"] == 5


def test_kr8s_create_watch_patch(crontabs: ServerProcess) -> None:  # noqa: F811
    import kr8s
    from kr8s.objects import new_class

    api = kr8s.api(kubeconfig=crontabs.kubeconfig)
    cron_tab = new_class(kind="CronTab", version="stable.example.com/v1", namespaced=True)
    ct = cron_tab({"metadata": {"name": "k8", "namespace": "default"}, "spec": dict(SPEC)}, api=api)
    ct.create()
    for _event, obj in api.watch("crontabs.stable.example.com", namespace="default",
                                 field_selector="metadata.name=k8"):
        assert obj.name == "k8"
        break
    ct.patch({"spec": {"replicas": 3}}, type="merge")
    ct.refresh()
    assert ct.spec["replicas"] == 3
