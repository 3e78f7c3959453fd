"""Settings refuse bad durations when they are built, before any run starts."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from pydantic import ValidationError

from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.resample.bins import DEFAULT_MAX_ON


def settings(**fields) -> SnukSettings:
    return SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h", **fields)


def test_defaults_and_a_shorter_gap_are_accepted():
    assert settings().max_on == "12h"
    assert pd.Timedelta(settings().max_on) == DEFAULT_MAX_ON  # one default, written twice
    assert settings(max_gap={"motion": "24h", "temperature": "10min"}).max_gap_by_type["motion"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # Longer than the 3 days resampled_series reads before each day.
        ({"max_gap": {"motion": "96h"}}, "longer than the 3 days of observations"),
        ({"max_gap": {"pressure": "1h"}}, "unknown sensor type 'pressure'"),
        ({"max_gap": {"motion": "0s"}}, "max_gap['motion'] must be positive"),
        ({"max_on": "-1h"}, "max_on must be positive"),
        ({"max_on": "twelve hours"}, "twelve hours"),
        ({"bin_freq": "5 parsecs"}, "5 parsecs"),
    ],
)
def test_bad_durations_fail_when_the_settings_are_built(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        settings(**fields)
