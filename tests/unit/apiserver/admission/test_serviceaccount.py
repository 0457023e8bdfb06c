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


# --- the mountable-secrets rule (kubernetes.io/enforce-mountable-secrets) -----------------------------

DENIED = "is not allowed because service account locked does not reference that secret"


async def locked_account(registry: Registry, value: str = "true") -> list[str]:
    opts = WriteOptions()
    await store(registry, "", "serviceaccounts").create("default", {"metadata": {
        "name": "locked", "annotations": {"kubernetes.io/enforce-mountable-secrets": value}},
        "secrets": [{"name": "ok"}], "imagePullSecrets": [{"name": "pull-ok"}]}, opts)
    return opts.warnings


async def test_an_enforcing_account_refuses_secrets_it_does_not_list(registry: Registry) -> None:
    warnings = await locked_account(registry)
    assert warnings == ["metadata.annotations[kubernetes.io/enforce-mountable-secrets]: deprecated in v1.32+; "
                        "prefer separate namespaces to isolate access to mounted secrets"]
    env = {"name": "c", "image": "nginx", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "no",
                                                                                                "key": "k"}}}]}
    env_from = {"name": "i", "image": "nginx", "envFrom": [{"secretRef": {"name": "no"}}]}
    cases = {
        f'volume with secret.secretName="no" {DENIED}': {"volumes": [{"name": "v", "secret": {"secretName": "no"}}]},
        f'container c with envVar PW referencing secret.secretName="no" {DENIED}': {"containers": [env]},
        f'init container i with envFrom referencing secret.secretName="no" {DENIED}': {"initContainers": [env_from]},
        'imagePullSecrets[1].name="no" is not allowed because service account locked does not reference that '
        'imagePullSecret': {"imagePullSecrets": [{"name": "pull-ok"}, {"name": "no"}]},
    }
    pods = store(registry, "", "pods")
    for message, spec in cases.items():
        err = await refused(pods.create("default", pod("p", serviceAccountName="locked", **spec), WriteOptions()))
        assert err.code == 403 and err.message == f'pods "p" is forbidden: {message}'
    allowed = pod("p", serviceAccountName="locked", volumes=[{"name": "v", "secret": {"secretName": "ok"}}])
    created = await pods.create("default", allowed, WriteOptions())
    assert created["spec"]["imagePullSecrets"] == [{"name": "pull-ok"}]  # the account's, copied, allowed


async def test_the_rule_is_off_unless_the_annotation_is_true(registry: Registry) -> None:
    await locked_account(registry, "false")
    body = pod("p", serviceAccountName="locked", volumes=[{"name": "v", "secret": {"secretName": "no"}}])
    assert (await store(registry, "", "pods").create("default", body, WriteOptions()))["metadata"]["name"] == "p"


async def test_ephemeral_containers_are_held_to_the_list(registry: Registry) -> None:
    await locked_account(registry)
    pods = store(registry, "", "pods")
    created = await pods.create("default", pod("p", serviceAccountName="locked"), WriteOptions())
    created["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox",
                                               "envFrom": [{"secretRef": {"name": "no"}}]}]
    err = await refused(pods.update("default", "p", created, WriteOptions(), subresource="ephemeralcontainers"))
    assert err.message == f'pods "p" is forbidden: ephemeral container dbg with envFrom referencing ' \
                          f'secret.secretName="no" {DENIED}'
