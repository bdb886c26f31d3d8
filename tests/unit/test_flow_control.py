import pytest

from functions.core.models import FlowControl
from functions.flow.parsing import parse_flow_control
from functions.shared.errors import BadRequestError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("parallelism=3, rate=4, period=2s", FlowControl(key="k", parallelism=3, rate=4, period_s=2)),
        ("rate=10,period=1h30m3s", FlowControl(key="k", rate=10, period_s=5403)),
        ("parallelism=2", FlowControl(key="k", parallelism=2, period_s=1)),
        ("RATE=5", FlowControl(key="k", rate=5)),
    ],
)
def test_flow_control_values(value, expected):
    assert parse_flow_control("k", value) == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("k", None),
        ("k", ""),
        ("k", "period=2s"),
        ("k", "rate=0"),
        ("k", "rate=x"),
        ("k", "burst=3"),
        ("k", "rate=1, period=8d"),
        (None, "rate=1"),
        ("", "rate=1"),
    ],
)
def test_bad_flow_control_is_400(key, value):
    with pytest.raises(BadRequestError):
        parse_flow_control(key, value)


def test_no_flow_control():
    assert parse_flow_control(None, None) is None
