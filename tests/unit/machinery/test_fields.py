import pytest

from pyk8s.machinery import fields
from pyk8s.machinery.errors import StatusError

POD = {"metadata": {"name": "p1", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("metadata.name=p1", True),
        ("metadata.name==p1", True),
        ("metadata.name!=p1", False),
        ("status.phase!=Succeeded,status.phase!=Failed", True),
        ("spec.nodeName=n1,metadata.namespace=ns", True),
        ("spec.nodeName=n2,metadata.namespace=ns", False),
        ("spec.nodeName=", False),
        ("spec.schedulerName=", True),
        ("", True),
    ],
)
def test_match(text, want):
    sel = fields.parse(text)
    assert sel.matches(fields.object_getter(POD)) is want


def test_terms_and_escaping():
    sel = fields.parse(r"a=x\,y,b!=z\=1,c==")
    assert [(t.field, t.operator, t.value) for t in sel.terms] == [("a", "=", "x,y"), ("b", "!=", "z=1"), ("c", "==", "")]
    assert str(sel) == r"a=x\,y,b!=z\=1,c=="
    assert sel.requires_exact_match("a") == "x,y"
    assert sel.requires_exact_match("b") is None


def test_unknown_field_is_400():
    with pytest.raises(StatusError) as ei:
        fields.parse("foo=bar", allowed=["metadata.name"])
    assert ei.value.code == 400
    assert ei.value.message == "field label not supported: foo"


def test_syntax_error():
    with pytest.raises(StatusError) as ei:
        fields.parse("metadata.name")
    assert ei.value.code == 400
    assert "can't understand 'metadata.name'" in ei.value.message


def test_extra_getters():
    get = fields.object_getter(POD, {"spec.nodeName": lambda o: "custom"})
    assert fields.parse("spec.nodeName=custom").matches(get)
