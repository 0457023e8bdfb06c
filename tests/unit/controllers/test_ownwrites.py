from pyk8s.controllers.ownwrites import numeric_rv


def test_numeric_rv_reads_numbers_and_trusts_the_cache_for_anything_else() -> None:
    assert numeric_rv({"metadata": {"resourceVersion": "42"}}) == 42
    assert numeric_rv({"metadata": {}}) == 0
    assert numeric_rv({}) == 0
    assert numeric_rv({"metadata": {"resourceVersion": "opaque-1"}}) == 0
