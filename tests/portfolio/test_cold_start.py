"""Issue 22, cold start: a portfolio's new building, with less history than training needs, is
forecast with models borrowed from rooms of the same kind in another building.

Criteria, fixed before the first run: the reference office has three days of history and its
own models; its New York twin joins with one day. Every room of the twin that has no model of
its own gets forecast rows, each naming the other building's room whose model served it
(``model_building_id``, ``model_room_id``), a room of the same kind; rooms of the reference
office keep their own models; outside a portfolio nothing is borrowed. The stages run one
building at a time, as the assets run them (``assets.buildings.building_runs``).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from snuk_assets.engines.local import LocalEngine
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate.portfolio import simulate_portfolio
from snuk_assets.stages.estimate import estimate_days
from snuk_assets.stages.forecasts import borrowed_models, forecast_days, rooms_borrowing
from snuk_assets.stages.ingest import ingest_days
from snuk_assets.stages.models import train_rooms
from snuk_assets.stages.resample import resample_days
from snuk_assets.stages.rooms import combine_days
from snuk_assets.stages.sensors import write_sensors
from snuk_assets.stages.windows import DEFAULT_BSTEPS, DEFAULT_FSTEPS, window_days
from snuk_assets.transforms.models.training import TrainingParams

START = dt.date(2016, 6, 1)
DAYS = 3
REFERENCE, NEW = "snuk-reference-office", "snuk-reference-office-nyc"
LOG = logging.getLogger("cold-start")


def span(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def history(engine, settings: SnukSettings, measured: list[dt.date], model_day: dt.date):
    """One building's stages, as the daily pipeline runs them, up to its models of model_day."""
    ingest_days(settings, span(measured[0] - dt.timedelta(days=3), measured[-1]), log=LOG)
    resample_days(engine, settings, measured)
    combine_days(engine, settings, measured)
    estimate_days(settings, measured)
    window_days(engine, settings, measured, bsteps=DEFAULT_BSTEPS, fsteps=DEFAULT_FSTEPS)
    return train_rooms(engine, settings, [model_day], TrainingParams()).summary


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    root = tmp_path_factory.mktemp("cold_start")
    simulate_portfolio(
        buildings=2,
        registries_dir=root / "registries",
        landing_uri=str(root / "landing"),
        truth_dir=root / "truth",
        start=START,
        days=DAYS,
        seed=42,
    )
    settings = SnukSettings(
        registries_path=str(root / "registries"),
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
    )
    write_sensors(settings)  # every building's rooms and sensors, as the pipeline starts
    engine = LocalEngine()
    last = START + dt.timedelta(days=DAYS - 1)
    reference = settings.for_building(REFERENCE)
    trained = history(engine, reference, span(START, last), last)
    new = settings.for_building(NEW)
    new_trained = history(engine, new, [last], last)  # one day: the newcomer
    return settings, engine, last, trained, new_trained


def test_a_new_building_borrows_same_kind_models(portfolio):
    settings, engine, day, trained, new_trained = portfolio
    assert (trained["status"] == "trained").sum() > 0
    own = set(new_trained.loc[new_trained["status"] == "trained", "room_id"])
    new = settings.for_building(NEW)
    kinds = new.registry().room_kinds()
    donor_kinds = settings.for_building(REFERENCE).registry().room_kinds()
    result = forecast_days(engine, new, [day])
    rows = new.lakehouse().read("occupancy_forecasts", dates=[day]).to_pandas()
    borrowed = rows[rows["model_building_id"] == REFERENCE]
    needy = set(kinds) - own
    assert needy, "the newcomer trained every room on one day: no cold start to test"
    assert set(borrowed["room_id"]) == needy - set(rooms_without_rows(result.summary))
    assert len(borrowed["room_id"].unique()) >= len(needy) / 2  # most needy rooms forecast
    for r in borrowed.drop_duplicates("room_id").itertuples():
        assert donor_kinds[r.model_room_id] == kinds[r.room_id]
    assert set(rooms_borrowing(result.summary)) == {
        f"{day} {room}" for room in borrowed["room_id"].unique()
    }
    mine = rows[rows["model_building_id"] == NEW]
    assert set(mine["room_id"]) <= own and (mine["model_room_id"] == mine["room_id"]).all()


def test_the_donor_keeps_its_own_models(portfolio):
    settings, engine, day, trained, _ = portfolio
    reference = settings.for_building(REFERENCE)
    forecast_days(engine, reference, [day])
    rows = reference.lakehouse().read("occupancy_forecasts", dates=[day]).to_pandas()
    assert len(rows) and (rows["model_building_id"] == REFERENCE).all()
    assert (rows["model_room_id"] == rows["room_id"]).all()


def test_nothing_is_borrowed_outside_a_portfolio(portfolio):
    settings, _, day, _, _ = portfolio
    single = SnukSettings(lakehouse_uri=settings.lakehouse_uri)  # the reference office alone
    assert borrowed_models(single, day, own=set()) == []


def rooms_without_rows(summary) -> list[str]:
    return list(summary.loc[summary["reason"].notna(), "room_id"])


def test_the_live_service_serves_the_borrowed_models_as_the_batch_does(portfolio):
    """A live service of the newcomer (``building_config``) holds the models the batch
    forecasts serve, lenders named alike, and its forecasts of a morning replayed on time are
    the lender's model on the batch's feature windows of those anchors."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from snuk_assets.live.step import OBSERVATION_SCHEMA, BuildingState, building_config, live_step
    from snuk_assets.transforms.models.training import positive_proba

    settings, engine, day, _, _ = portfolio
    new = settings.for_building(NEW)
    forecast_days(engine, new, [day])
    batch = new.lakehouse().read("occupancy_forecasts", dates=[day]).to_pandas()
    lenders = batch.drop_duplicates("room_id").set_index("room_id")
    config = building_config(new, day, delay=pd.Timedelta(seconds=90))
    assert set(config.models) == set(lenders.index)
    borrowed = {room for room, model in config.models.items() if model.model_building_id}
    assert borrowed == set(lenders.index[lenders["model_building_id"] == REFERENCE])
    for room in borrowed:
        assert config.models[room].model_room_id == lenders.loc[room, "model_room_id"]

    observed = new.lakehouse().read("raw_observations").to_pandas().sort_values("ts")
    start = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=7)
    state, forecasts = BuildingState(), []
    fed = pd.Series(False, index=observed.index)  # the first step takes the night before too
    for now in pd.date_range(start, start + pd.Timedelta(hours=2), freq=settings.bin_freq):
        now = now + config.delay
        new_rows = ~fed & (observed["ts"] < now)
        arrivals = pa.Table.from_pandas(
            observed.loc[new_rows, ["sensor_id", "ts", "value", "date"]].assign(source_file="mqtt"),
            preserve_index=False,
        )
        result = live_step(state, arrivals.cast(OBSERVATION_SCHEMA), now, config)
        state, fed = result.state, fed | new_rows
        forecasts.append(result.forecasts)
    live = pd.concat(forecasts, ignore_index=True)
    live = live[live["room_id"].isin(borrowed)]
    assert len(live) and (live["model_building_id"] == REFERENCE).all()
    windows = new.lakehouse().read("feature_windows", dates=[day]).to_pandas()
    compared = 0
    for room in sorted(borrowed):
        model = config.models[room]
        rows = live[live["room_id"] == room]
        assert (rows["model_room_id"] == lenders.loc[room, "model_room_id"]).all()
        got = rows.pivot(index="anchor_bin_start", columns="horizon", values="occupied_probability")
        mine = windows[windows["room_id"] == room].set_index("bin_start")
        got = got.loc[got.index.intersection(mine.index)]
        if got.empty:  # no batch window at these anchors (a signal missing in the batch)
            continue
        expected = positive_proba(model.model, mine.loc[got.index, list(model.feature_names)])
        assert np.abs(got.to_numpy() - expected).max() <= 1e-9
        compared += expected.size
    print(f"compared {compared} probabilities of {len(borrowed)} borrowing rooms")
    assert compared > 100
