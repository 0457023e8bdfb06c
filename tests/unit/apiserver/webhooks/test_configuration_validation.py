"""MutatingWebhookConfiguration / ValidatingWebhookConfiguration: defaults and upstream's validation texts."""

import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.errors import StatusError

from .conftest import GROUP, hook, store


async def test_defaults(registry: Registry) -> None:
    cfg = {"apiVersion": f"{GROUP}/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "d"},
           "webhooks": [hook("d.pyk8s.test", {"service": {"namespace": "default", "name": "w"}})]}
    created = await store(registry, GROUP, "mutatingwebhookconfigurations").create("", cfg, WriteOptions())
    wh = created["webhooks"][0]
    assert wh["failurePolicy"] == "Fail" and wh["matchPolicy"] == "Equivalent"
    assert wh["namespaceSelector"] == {} and wh["objectSelector"] == {}
    assert wh["timeoutSeconds"] == 10 and wh["reinvocationPolicy"] == "Never"
    assert wh["rules"][0]["scope"] == "*" and wh["clientConfig"]["service"]["port"] == 443


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "short.name"}, 'webhooks[0].name: Invalid value: "short.name": should be a domain with at least '
                             'three segments separated by dots'),
    ({"sideEffects": None}, "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun"),
    ({"sideEffects": "Some"}, 'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", '
                              '"NoneOnDryRun"'),
    ({"timeoutSeconds": 31}, "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 "
                             "and 30 seconds"),
    ({"clientConfig": {}}, "webhooks[0].clientConfig: Required value: exactly one of url or service is required"),
    ({"clientConfig": {"url": "http://x.example/"}}, 'webhooks[0].clientConfig.url: Invalid value: "http": '
                                                     "'https' is the only allowed URL scheme"),
    ({"failurePolicy": "Maybe"}, 'webhooks[0].failurePolicy: Unsupported value: "Maybe": supported values: '
                                 '"Fail", "Ignore"'),
    ({"admissionReviewVersions": None}, "webhooks[0].admissionReviewVersions: Required value: must specify one "
                                        "of v1, v1beta1"),
    ({"matchConditions": [{"name": "c", "expression": "object.metadata.name =="}]},
     "webhooks[0].matchConditions[0].expression: Invalid value"),
])
async def test_validation_messages(registry: Registry, change: dict, message: str) -> None:
    wh = hook("ok.pyk8s.test", {"url": "https://127.0.0.1:1/"})
    for k, v in change.items():
        if v is None:
            wh.pop(k, None)
        else:
            wh[k] = v
    cfg = {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "v"},
           "webhooks": [wh]}
    with pytest.raises(StatusError) as exc:
        await store(registry, GROUP, "validatingwebhookconfigurations").create("", cfg, WriteOptions())
    assert exc.value.code == 422
    assert message in exc.value.message


async def test_duplicate_names_are_refused(registry: Registry) -> None:
    wh = hook("same.pyk8s.test", {"url": "https://127.0.0.1:1/"})
    cfg = {"apiVersion": f"{GROUP}/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "dup"},
           "webhooks": [wh, dict(wh)]}
    with pytest.raises(StatusError) as exc:
        await store(registry, GROUP, "validatingwebhookconfigurations").create("", cfg, WriteOptions())
    assert 'webhooks[1].name: Duplicate value: "same.pyk8s.test"' in exc.value.message
