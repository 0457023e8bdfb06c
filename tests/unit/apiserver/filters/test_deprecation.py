"""The deprecation filter's table look-up (the quick test for paths naming no deprecated resource included)."""

import pytest

from pyk8s.apiserver.filters.deprecation import warning_of
from pyk8s.apiserver.requestinfo import parse


@pytest.mark.parametrize(("path", "text"), [
    ("/api/v1/componentstatuses", "v1 ComponentStatus is deprecated in v1.19+"),
    ("/api/v1/componentstatuses/etcd-0", "v1 ComponentStatus is deprecated in v1.19+"),
    ("/api/v1/watch/componentstatuses", "v1 ComponentStatus is deprecated in v1.19+"),
    ("/api/v1/namespaces/componentstatuses/pods", ""),  # a namespace of that name
    ("/apis/x/v1/componentstatuses", ""),
    ("/api/v1/namespaces/default/pods/p", ""),
    ("/api/v1", ""),
    ("/healthz", ""),
])
def test_deprecated_core_resources_warn(path: str, text: str) -> None:
    assert warning_of(parse("GET", path, {})) == text
