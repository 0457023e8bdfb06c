"""ServiceAccount admission: a pod's account must exist (upstream's 403), the ``default`` account is
waited for a moment, and mirror pods may reference no account, Secret or token projection."""

import asyncio

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store

MIRROR = {"kubernetes.io/config.mirror": "hash"}


async def new_namespace(registry: Registry, name: str) -> None:
    await store(registry, "", "namespaces").create("", {"metadata": {"name": name}}, WriteOptions())


async def test_a_missing_account_is_refused_with_upstreams_message(registry: Registry) -> None:
    body = pod("x", serviceAccountName="ghost")
    err = await refused(store(registry, "", "pods").create("default", body, WriteOptions()))
    assert err.code == 403 and err.reason == "Forbidden"
    assert err.message == ('pods "x" is forbidden: error looking up service account default/ghost: '
                           'serviceaccount "ghost" not found')


async def test_a_namespace_without_its_default_account_refuses_pods(registry: Registry) -> None:
    await new_namespace(registry, "fresh")
    named = pod("", namespace="fresh")
    named["metadata"] = {"generateName": "web-", "namespace": "fresh"}
    err = await refused(store(registry, "", "pods").create("fresh", named, WriteOptions()))
    assert err.message == ('pods "web-" is forbidden: error looking up service account fresh/default: '
                           'serviceaccount "default" not found')


async def test_the_default_account_made_meanwhile_is_waited_for(registry: Registry) -> None:
    await new_namespace(registry, "soon")

    async def controller() -> None:  # the service-account controller, a moment after the namespace
        await asyncio.sleep(0.15)
        await store(registry, "", "serviceaccounts").create("soon", {"metadata": {"name": "default"}},
                                                            WriteOptions())

    made = asyncio.create_task(controller())
    created = await store(registry, "", "pods").create("soon", pod("p", namespace="soon"), WriteOptions())
    await made
    assert created["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in created["spec"]["volumes"])


async def test_an_existing_account_is_used(registry: Registry) -> None:
    await store(registry, "", "serviceaccounts").create("default", {"metadata": {"name": "robot"}}, WriteOptions())
    created = await store(registry, "", "pods").create("default", pod("r", serviceAccountName="robot"),
                                                       WriteOptions())
    assert created["spec"]["serviceAccount"] == "robot"


async def test_mirror_pods_reference_no_account_secret_or_token(registry: Registry) -> None:
    pods = store(registry, "", "pods")
    cases = {
        "a mirror pod may not reference service accounts": {"serviceAccountName": "default"},
        "a mirror pod may not reference secrets": {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]},
        "a mirror pod may not use ServiceAccountToken volume projections": {"volumes": [
            {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]},
    }
    for message, spec in cases.items():
        body = pod("m", nodeName="n1", **spec)
        body["metadata"]["annotations"] = dict(MIRROR)
        err = await refused(pods.create("default", body, WriteOptions()))
        assert err.code == 403 and err.message == f'pods "m" is forbidden: {message}'
    plain = pod("m", nodeName="n1")
    plain["metadata"]["annotations"] = dict(MIRROR)
    created = await pods.create("default", plain, WriteOptions())
    assert "serviceAccountName" not in created["spec"]  # a mirror pod's spec is left as the kubelet wrote it
