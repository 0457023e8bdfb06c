import pytest

from pyk8s.machinery import quantity as q


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("100m", "100m"), ("1000m", "1"), ("0.1", "100m"), ("1500", "1500"), ("12000", "12k"),
        ("1.5", "1500m"), ("1.5Gi", "1536Mi"), ("2048Ki", "2Mi"), ("1025Ki", "1025Ki"), ("0.5Ki", "512"),
        ("1e3", "1e3"), ("2E3", "2e3"), ("1E", "1E"), ("1k", "1k"), ("10Gi", "10Gi"), ("0", "0"),
        ("0.0000000001", "1n"), ("-1", "-1"), ("+5", "5"), ("250M", "250M"), (".5", "500m"),
        ("1Mi", "1Mi"), ("128974848", "128974848"), ("129e6", "129e6"), ("123Mi", "123Mi"), ("1u", "1u"),
        (3, "3"), (0.25, "250m"),
    ],
)
def test_canonical(text, canonical):
    assert q.canonicalize(text) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", q.ERR_FORMAT), ("abc", q.ERR_FORMAT), ("1 Gi", q.ERR_FORMAT), ("1Gib", q.ERR_FORMAT), ("1Gk", q.ERR_SUFFIX),
        ("1.2.3", q.ERR_NUMERIC), ("1Ki1", q.ERR_SUFFIX), ("1mm", q.ERR_SUFFIX), ("-", q.ERR_FORMAT),
    ],
)
def test_errors(text, message):
    with pytest.raises(q.QuantityError) as ei:
        q.parse(text)
    assert str(ei.value) == message


def test_values_and_compare():
    assert q.parse("100m").milli_value() == 100
    assert q.parse("1").milli_value() == 1000
    assert q.parse("1Gi").int_value() == 1024**3
    assert q.parse("1500m").int_value() == 2
    assert q.parse("1n").milli_value() == 1
    assert q.compare("1Gi", "1000Mi") == 1
    assert q.compare("1000m", "1") == 0
    assert q.compare("999m", "1") == -1
    assert q.parse("1Ki") == q.parse("1024")
    assert q.parse("1") < q.parse("1001m")
    assert (q.parse("1Gi") + q.parse("1Gi")).canonical() == "2Gi"
    assert (q.parse("500m") - q.parse("1")).canonical() == "-500m"
    assert q.try_parse("bad") is None and q.try_parse(None) is None
    assert q.ERR_FORMAT == "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def test_cached_parses_stay_exact_and_errors_are_not_cached():
    first, again = q.parse("100m"), q.parse("100m")
    assert first == again and first.canonical() == "100m" and again.format == q.DECIMAL_SI
    for _ in range(2):
        with pytest.raises(q.QuantityError):
            q.parse("1.2.3")
    with pytest.raises(q.QuantityError):
        q.parse(True)
    assert q.parse(1).canonical() == "1" and q.parse("1").canonical() == "1"
