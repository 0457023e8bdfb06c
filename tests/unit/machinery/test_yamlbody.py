import resource

import pytest
import yaml

from pyk8s.machinery import yamlbody
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.nesting import MAX_DEPTH

LIMIT = 3 * 1024 * 1024


def billion_laughs(levels: int) -> str:
    doc = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels + 1):
        doc += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    return doc


def test_alias_bomb_is_refused_before_it_expands():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(yaml.YAMLError, match="document contains excessive aliasing"):
        yamlbody.load(billion_laughs(9), LIMIT)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100 * 1024  # KiB


def test_moderate_aliasing_is_allowed_and_values_are_not_shared():
    doc = yamlbody.load("base: &b {image: nginx, ports: [80]}\none: *b\ntwo: *b\n", LIMIT)
    assert doc["one"] == doc["two"] == {"image": "nginx", "ports": [80]}
    doc["one"]["image"] = "changed"
    assert doc["two"]["image"] == "nginx"


def test_expansion_past_the_size_limit_is_413():
    doc = "s: &s " + "x" * 10_000 + "\nl: [" + ", ".join(["*s"] * 50) + "]\n"
    with pytest.raises(StatusError) as err:
        yamlbody.load(doc, 100_000)
    assert (err.value.code, err.value.message) == (413, "Request entity too large: limit is 100000")


@pytest.mark.parametrize("doc", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 300)),
                                 "&a [*a]", "&a {k: *a}"], ids=["flow", "block", "self-list", "self-map"])
def test_deep_or_self_referencing_documents_are_refused(doc):
    with pytest.raises(yaml.YAMLError, match=f"exceeded max depth of {MAX_DEPTH}"):
        yamlbody.load(doc, LIMIT)


def test_values_are_shaped_as_json():
    doc = yamlbody.load("t: 2024-01-02T03:04:05Z\n1: one\ntrue: yes-key\nnull: n\nbin: !!binary aGk=\n"
                        "big: 123456789012345678901234567890\nok: 12\n", LIMIT)
    assert doc == {"t": "2024-01-02T03:04:05Z", "1": "one", "true": "yes-key", "null": "n", "bin": "aGk=",
                   "big": 1.2345678901234568e29, "ok": 12}


def test_empty_document_is_none():
    assert yamlbody.load("", LIMIT) is None
    assert yamlbody.load("# only a comment\n", LIMIT) is None
