"""Public holidays: Berlin's against a list written out by hand, and another country's."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from snuk_assets.transforms.holidays import BERLIN, HolidayCalendar, public_holidays
from snuk_assets.transforms.windows import calendar_features, room_windows

# The oracle: Berlin's public holidays as the Berlin Senate publishes them, written out by hand.
BERLIN_2019 = {
    dt.date(2019, 1, 1),  # New Year's Day
    dt.date(2019, 3, 8),  # International Women's Day (Berlin, from 2019)
    dt.date(2019, 4, 19),  # Good Friday
    dt.date(2019, 4, 22),  # Easter Monday
    dt.date(2019, 5, 1),  # Labour Day
    dt.date(2019, 5, 30),  # Ascension Day
    dt.date(2019, 6, 10),  # Whit Monday
    dt.date(2019, 10, 3),  # German Unity Day
    dt.date(2019, 12, 25),  # Christmas Day
    dt.date(2019, 12, 26),  # Second Day of Christmas
}
BERLIN_2025 = {
    dt.date(2025, 1, 1),
    dt.date(2025, 3, 8),
    dt.date(2025, 4, 18),  # Good Friday
    dt.date(2025, 4, 21),  # Easter Monday
    dt.date(2025, 5, 1),
    dt.date(2025, 5, 8),  # 80th anniversary of the end of the war in Europe (one-off)
    dt.date(2025, 5, 29),  # Ascension Day
    dt.date(2025, 6, 9),  # Whit Monday
    dt.date(2025, 10, 3),
    dt.date(2025, 12, 25),
    dt.date(2025, 12, 26),
}
BERLIN_2018 = {  # before Women's Day
    dt.date(2018, 1, 1),
    dt.date(2018, 3, 30),
    dt.date(2018, 4, 2),
    dt.date(2018, 5, 1),
    dt.date(2018, 5, 10),
    dt.date(2018, 5, 21),
    dt.date(2018, 10, 3),
    dt.date(2018, 12, 25),
    dt.date(2018, 12, 26),
}


@pytest.mark.parametrize(
    "year, expected", [(2018, BERLIN_2018), (2019, BERLIN_2019), (2025, BERLIN_2025)]
)
def test_berlins_holidays_are_the_published_ones(year, expected):
    assert public_holidays([year], country="DE", subdivision="BE") == expected
    assert BERLIN.dates([year]) == expected


def test_years_are_united():
    assert BERLIN.dates([2018, 2019]) == BERLIN_2018 | BERLIN_2019


def test_working_day_follows_the_buildings_country():
    # Thursday 2025-07-03 .. Tuesday 2025-07-08, noon in New York; 4 July is a holiday there.
    days = pd.date_range("2025-07-03 16:00", periods=6, freq="D", tz="UTC")
    new_york = calendar_features(days, timezone="America/New_York", holidays=HolidayCalendar("US"))
    assert new_york["working_day"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    # 3 October is German Unity Day, not a holiday in the US; 13 October is Columbus Day.
    october = pd.DatetimeIndex(["2025-10-03 16:00", "2025-10-13 16:00"], tz="UTC")
    us = calendar_features(october, timezone="America/New_York", holidays=HolidayCalendar("US"))
    berlin = calendar_features(october, timezone="Europe/Berlin")
    assert us["working_day"].tolist() == [1.0, 0.0]
    assert berlin["working_day"].tolist() == [0.0, 1.0]


def test_a_subdivision_has_its_own_holidays():
    # 6 January (Epiphany) is a holiday in Bavaria, not in Berlin.
    assert dt.date(2025, 1, 6) in public_holidays([2025], country="DE", subdivision="BY")
    assert dt.date(2025, 1, 6) not in BERLIN.dates([2025])


@pytest.mark.parametrize(
    "country, subdivision, expected",
    [("XX", None, "unknown country 'XX'"), ("DE", "ZZ", "no subdivision 'ZZ'")],
)
def test_an_unknown_calendar_is_a_clear_error(country, subdivision, expected):
    with pytest.raises(ValueError, match=expected):
        public_holidays([2025], country=country, subdivision=subdivision)


def test_room_windows_carry_the_buildings_working_day():
    # One room, 5-minute bins over Friday 4 July 2025 in New York (16:00 UTC is noon there).
    bins = pd.date_range("2025-07-04 15:00", periods=24, freq="5min", tz="UTC")
    room = pd.DataFrame({"bin_start": bins, "occupancy": 0.0, "idle_minutes": 60.0})
    anchors = pd.DatetimeIndex([pd.Timestamp("2025-07-04 16:00", tz="UTC")])
    common = dict(signals=["occupancy"], bsteps=3, fsteps=2, freq="5min", anchors=anchors)
    us = room_windows(room, timezone="America/New_York", holidays=HolidayCalendar("US"), **common)
    berlin = room_windows(room, timezone="Europe/Berlin", **common)
    assert us.features["working_day"].tolist() == [0.0]
    assert berlin.features["working_day"].tolist() == [1.0]
