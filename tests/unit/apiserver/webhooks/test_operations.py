"""CONNECT options as admission sees them, and the chain's DELETE/CONNECT phase."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import MultiDict

from pyk8s.apiserver.admission.chain import Chain
from pyk8s.apiserver.admission.interface import Attributes, Plugin
from pyk8s.apiserver.webhooks.operations import ConnectAttributes, connect_options


def test_exec_options_from_the_query() -> None:
    query = MultiDict([("command", "sh"), ("command", "-c"), ("stdin", "true"), ("tty", "1"), ("stdout", "false"),
                       ("container", "app")])
    assert connect_options("pods", "exec", query) == {
        "kind": "PodExecOptions", "apiVersion": "v1", "stdin": True, "tty": True, "container": "app",
        "command": ["sh", "-c"]}


def test_other_connect_options() -> None:
    assert connect_options("pods", "attach", MultiDict(stdout="1")) == {
        "kind": "PodAttachOptions", "apiVersion": "v1", "stdout": True}
    assert connect_options("pods", "portforward", MultiDict([("ports", "80"), ("ports", "8443")])) == {
        "kind": "PodPortForwardOptions", "apiVersion": "v1", "ports": [80, 8443]}
    assert connect_options("nodes", "proxy", MultiDict(), "metrics") == {
        "kind": "NodeProxyOptions", "apiVersion": "v1", "path": "/metrics"}
    assert connect_options("pods", "log", MultiDict()) is None  # a GET, not a CONNECT


def test_connect_attributes_name_the_path_target() -> None:
    attrs = ConnectAttributes("CONNECT", "", "pods", {"kind": "PodExecOptions"}, None, subresource="exec",
                              target_name="web", target_namespace="prod")
    assert (attrs.name, attrs.namespace) == ("web", "prod")


class Recorder(Plugin):
    def __init__(self, name: str, operations: frozenset[str] | None = None) -> None:
        self.name = name
        self.calls: list[str] = []
        if operations is not None:
            self.operations = operations

    def handles(self, attrs: Attributes) -> bool:
        return True

    async def admit(self, registry: Any, attrs: Attributes) -> None:
        self.calls.append("admit")

    async def validate(self, registry: Any, attrs: Attributes) -> None:
        self.calls.append("validate")


@pytest.mark.asyncio
async def test_delete_reaches_only_plugins_that_take_it() -> None:
    builtin, webhook = Recorder("Builtin"), Recorder("Webhook", frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"}))
    chain = Chain([builtin, webhook])
    await chain.admit_other(None, Attributes("DELETE", "", "configmaps", {}, {}))  # type: ignore[arg-type]
    assert builtin.calls == [] and webhook.calls == ["admit", "validate"]


def test_an_object_selector_never_matches_connect_options() -> None:
    from pyk8s.apiserver.webhooks.matching import Request, object_selector_matches

    hook = {"objectSelector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}}
    options = {"kind": "PodExecOptions", "apiVersion": "v1", "command": ["ls"]}
    req = Request("CONNECT", "", "v1", "pods", "exec", "ns", True, options, None)
    assert not object_selector_matches(hook, req)
    pod = {"metadata": {"name": "p"}}
    assert object_selector_matches(hook, Request("DELETE", "", "v1", "pods", "", "ns", True, None, pod))
