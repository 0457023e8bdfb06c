"""Registry.store remembers which ResourceType serves (group, plural) until the scheme changes: a CRD
version served or withdrawn, or a group's version order set, must be seen at once."""

from pyk8s.apiserver.registry import build_registry
from pyk8s.machinery.scheme import ResourceType, Scheme
from pyk8s.storage import open_storage


def widget(version: str) -> ResourceType:
    return ResourceType(group="example.com", version=version, kind="Widget", plural="widgets",
                        singular="widget", namespaced=True)


async def test_store_follows_scheme_changes() -> None:
    scheme = Scheme()
    storage = open_storage("memory://")
    reg = build_registry(scheme, storage)
    try:
        assert reg.store("example.com", "widgets") is None  # remembered as absent...
        v1 = scheme.add(widget("v1"))
        first = reg.store("example.com", "widgets")  # ...until the scheme changes
        assert first is not None and first.resource is v1
        assert reg.store("example.com", "widgets") is first
        v2 = scheme.add(widget("v2"))
        scheme.set_versions("example.com", ["v2", "v1"])
        second = reg.store("example.com", "widgets")
        assert second is not None and second.resource is v2
        scheme.remove(v2)
        again = reg.store("example.com", "widgets")
        assert again is not None and again.resource is v1
        scheme.remove(v1)
        assert reg.store("example.com", "widgets") is None
    finally:
        await reg.close()
