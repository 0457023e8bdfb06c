import pytest

from pyk8s.machinery import labels
from pyk8s.machinery.errors import StatusError


@pytest.mark.parametrize(
    ("text", "lbls", "want"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "db"}, False),
        ("app==web", {"app": "web"}, True),
        ("app!=web", {"app": "db"}, True),
        ("app!=web", {}, True),
        ("app!=web", {"app": "web"}, False),
        ("env in (prod, staging)", {"env": "staging"}, True),
        ("env in (prod,staging)", {"env": "dev"}, False),
        ("env in (prod)", {}, False),
        ("env notin (prod,staging)", {"env": "dev"}, True),
        ("env notin (prod,staging)", {}, True),
        ("env notin (prod,staging)", {"env": "prod"}, False),
        ("tier", {"tier": ""}, True),
        ("tier", {}, False),
        ("!tier", {}, True),
        ("!tier", {"tier": "x"}, False),
        ("app=web,tier", {"app": "web", "tier": "fe"}, True),
        ("app=web,tier", {"app": "web"}, False),
        ("app=web, !canary", {"app": "web"}, True),
        ("kubernetes.io/cluster-service=true", {"kubernetes.io/cluster-service": "true"}, True),
        ("x=", {"x": ""}, True),
        ("x=", {"x": "a"}, False),
        ("in in (in)", {"in": "in"}, True),
        ("n>3", {"n": "4"}, True),
        ("n<3", {"n": "4"}, False),
        ("", {"a": "b"}, True),
    ],
)
def test_parse_and_match(text, lbls, want):
    assert labels.parse(text).matches(lbls) is want


def test_canonical_string_is_sorted():
    sel = labels.parse("z=1, a in (c,b), !m")
    assert str(sel) == "a in (b,c),!m,z=1"
    assert str(labels.parse("x notin (q), k")) == "k,x notin (q)"
    assert str(labels.parse("a==b,c!=d")) == "a==b,c!=d"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a b", "found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("-bad=x", "name part must consist of alphanumeric characters"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=-x", "a valid label must be an empty string"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(labels.SelectorError) as ei:
        labels.parse(text)
    assert fragment in str(ei.value)


def test_parse_or_400():
    with pytest.raises(StatusError) as ei:
        labels.parse_or_400("a in b")
    assert ei.value.code == 400 and ei.value.reason == "BadRequest"
    assert ei.value.message.startswith("unable to parse requirement:")


def test_from_label_selector():
    sel = {"matchLabels": {"app": "web", "a": "1"},
           "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                {"key": "canary", "operator": "DoesNotExist"},
                                {"key": "tier", "operator": "Exists"},
                                {"key": "zone", "operator": "NotIn", "values": ["x"]}]}
    s = labels.from_label_selector(sel)
    assert str(s) == "a=1,app=web,!canary,env in (dev,prod),tier,zone notin (x)"
    assert s.matches({"a": "1", "app": "web", "env": "prod", "tier": "t"})
    assert not s.matches({"a": "1", "app": "web", "env": "prod", "tier": "t", "canary": "y"})
    assert not s.matches({"a": "1", "app": "web", "env": "prod"})


def test_from_label_selector_nil_and_empty():
    assert not labels.from_label_selector(None).matches({"a": "b"})
    assert labels.from_label_selector({}).matches({"a": "b"})
    assert labels.format_label_selector(None) == "<none>"
    assert labels.format_label_selector({}) == "<none>"
    assert labels.to_string({"matchLabels": {"app": "web"}}) == "app=web"


def test_from_label_selector_errors():
    with pytest.raises(labels.SelectorError, match='"Bogus" is not a valid label selector operator'):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
    with pytest.raises(labels.SelectorError, match="values set can't be empty"):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
    assert labels.format_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]}) == "<error>"
    assert not labels.matches_label_selector({"matchExpressions": [{"key": "a", "operator": "X"}]}, {"a": "b"})


def test_from_set_and_exact_match():
    s = labels.from_set({"b": "2", "a": "1"})
    assert str(s) == "a=1,b=2"
    assert s.requires_exact_match("a") == "1"
    assert labels.parse("a in (x)").requires_exact_match("a") == "x"
    assert labels.parse("a in (x,y)").requires_exact_match("a") is None
    assert labels.from_set({}).empty()
