import pytest

from pyk8s.machinery.duration import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("32s", 32), ("9m51s", 591), ("1h", 3600), ("1h2m3s", 3723), ("500ms", 0.5), ("1.5s", 1.5), ("0", 0),
     ("-2s", -2), ("100us", 1e-4), ("1m0.5s", 60.5)],
)
def test_parse(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "msg"), [("5", "missing unit"), ("abc", "invalid duration"), ("", "invalid duration"),
                                           ("1x", "invalid duration")])
def test_parse_errors(text, msg):
    with pytest.raises(DurationError, match=msg):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (32, "32s"), (591, "9m51s"), (3600, "1h0m0s"), (60, "1m0s"), (1.5, "1.5s"), (0.5, "500ms"),
     (3723, "1h2m3s"), (-2, "-2s"), (1e-6, "1µs")],
)
def test_format(seconds, text):
    assert format_duration(seconds) == text
