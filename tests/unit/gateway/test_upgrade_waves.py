"""Wave sizes of a fleet upgrade: counts, shares rounded up, the rest last; bad specs name the wave."""

from __future__ import annotations

import pytest
from paved_gateway.errors import ApiError
from paved_gateway.upgrade_waves import DEFAULT_WAVES, wave_sizes


def test_the_default_is_one_then_ten_percent_then_the_rest() -> None:
    assert wave_sizes(DEFAULT_WAVES, 30) == [1, 3, 26]
    assert wave_sizes(DEFAULT_WAVES, 200) == [1, 20, 179]
    assert wave_sizes(DEFAULT_WAVES, 2) == [1, 1]
    assert wave_sizes(DEFAULT_WAVES, 1) == [1]


def test_counts_and_shares_without_rest_leave_a_last_wave_for_the_others() -> None:
    assert wave_sizes([2, "50%"], 10) == [2, 5, 3]
    assert wave_sizes([5, 5], 6) == [5, 1]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ([], "waves"),
        (["rest", 1], "waves[0]"),
        ([0], "waves[0]"),
        ([1, "0%"], "waves[1]"),
        (["x"], "waves[0]"),
    ],
)
def test_a_bad_spec_names_the_wave(spec: list[int | str], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        wave_sizes(spec, 10)
    assert caught.value.status == 400
    assert [v["field"] for v in caught.value.details["fieldViolations"]] == [field]
