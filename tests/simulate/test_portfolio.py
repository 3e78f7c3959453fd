"""The simulated portfolio (issue 22): three buildings through ``snuk simulate --buildings 3``.

Criteria, fixed before the first run: the registries folder loads as three buildings; every
upload lands in its own building's day folder; the annex has the ground floor's rooms only;
the New York office's people arrive about six hours later in UTC than Berlin's (June: UTC-4
against UTC+2), its median truth interval start 5 to 7 hours after Berlin's.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from snuk_assets.cli import main
from snuk_assets.landing import LandingZone, landing_day_of
from snuk_assets.settings import SnukSettings

FRIDAY = dt.date(2016, 6, 3)
REFERENCE = "snuk-reference-office"


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    root = tmp_path_factory.mktemp("portfolio")
    argv = ["simulate", "--buildings", "3", "--registries", str(root / "registries")]
    argv += ["--landing", str(root / "landing"), "--truth", str(root / "truth")]
    argv += ["--start", FRIDAY.isoformat(), "--days", "1"]
    assert main(argv) == 0
    return root


def test_three_buildings_each_in_its_own_folders(portfolio):
    settings = SnukSettings(
        registries_path=str(portfolio / "registries"), landing_uri=str(portfolio / "landing")
    )
    buildings = settings.building_ids()
    assert buildings == (REFERENCE, f"{REFERENCE}-annex", f"{REFERENCE}-nyc")  # sorted by id
    zone = LandingZone.from_uri(settings.landing_uri)
    for building_id in buildings:
        files = zone.list_day(FRIDAY, building_id)
        assert files, building_id
        assert {landing_day_of(f.path)[0] for f in files} == {building_id}
    reference, annex = settings.registry(REFERENCE), settings.registry(f"{REFERENCE}-annex")
    assert len(reference.rooms) == 36
    assert set(annex.rooms["room_id"]) == set(
        reference.rooms.loc[reference.rooms["floor"] == 0, "room_id"]
    )
    assert settings.registry(f"{REFERENCE}-nyc").timezone == "America/New_York"


def test_new_york_arrives_six_hours_later_in_utc(portfolio):
    def median_start_hours(building_id: str) -> float:
        truth = pd.read_parquet(portfolio / "truth" / building_id / "occupancy_truth.parquet")
        start = pd.to_datetime(truth["start"], utc=True)
        return float((start - pd.Timestamp(FRIDAY, tz="UTC")).median() / pd.Timedelta(hours=1))

    later = median_start_hours(f"{REFERENCE}-nyc") - median_start_hours(REFERENCE)
    assert 5 <= later <= 7, later
