"""Occupancy models: per room and training day, a forest over the trailing days' windows.

Each room trains on the feature windows of the ``train_days`` days ending at the training day
(fewer at the start of the calendar), scored on the span's last part against two baselines
(``transforms.models.training.train_room``). Rooms train in parallel, one per group, through
the engine.

The training code (scikit-learn, skops) is imported by the functions that train, not with the
module: the definitions import this one, and must load without it (issue 19).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from snuk_assets.engines.grouped import TARGET_DATE
from snuk_assets.transforms.models.params import TrainingParams

if TYPE_CHECKING:
    from snuk_assets.engines import ComputeEngine, StageResult
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.settings import SnukSettings

# The longest training window; occupancy_models depends on this many days of feature_windows.
MAX_TRAIN_DAYS = TrainingParams.train_days
# The TrainingParams fields a run may set: the Dagster run config of occupancy_models and the
# spark-submit step's --training are built from them, with TrainingParams' defaults.
RUN_CONFIG_FIELDS = (
    "train_days",
    "min_days",
    "test_fraction",
    "test_blocks",
    "n_estimators",
    "max_depth",
    "seed",
    "feature_lags",
)
# Dagster run config has no tuples: feature_lags goes in as a mapping of each signal to its
# lags (null: every lag of the window), in the order the forest sees them.
RUN_CONFIG_TYPES: dict[str, object] = {"feature_lags": dict[str, int | None]}


def train_rooms(
    engine: ComputeEngine,
    settings: SnukSettings,
    days: list[dt.date],
    params: TrainingParams = TrainingParams(),  # noqa: B008 (frozen, so shared safely)
) -> StageResult:
    """Replace ``occupancy_models`` for training ``days``, one room and day per group.

    Each day's rooms train on the feature windows of the ``params.train_days`` days ending
    that day (those that exist). ``params``' timezone and bin width are replaced by the
    building's and the settings'.
    """
    if not 1 <= params.train_days <= MAX_TRAIN_DAYS:
        raise ValueError(f"train_days must be 1 .. {MAX_TRAIN_DAYS}, not {params.train_days}")
    params = dataclasses.replace(
        params, timezone=settings.registry().timezone, freq=settings.bin_freq
    )
    lakehouse = settings.lakehouse()
    return engine.transform_partitions(
        lakehouse,
        source="feature_windows",
        source_dates={
            day: [day - dt.timedelta(days=n) for n in range(params.train_days)] for day in days
        },
        columns=windows_read(lakehouse, params),
        key="room_id",
        fn=functools.partial(train_room_of_day, params=params),
        output_schema=SCHEMA,
        summary_schema=SUMMARY_SCHEMA,
        target="occupancy_models",
        target_dates=days,
        missing_ok=True,
        parallel=True,  # a forest takes seconds per room
    )


def windows_read(lakehouse: Lakehouse, params: TrainingParams) -> list[str] | None:
    """The ``feature_windows`` columns training reads (None, all, if the table is missing):
    a third of them, so a third of the bytes read and handed to the workers (issue 19)."""
    from snuk_assets.transforms.models.training import columns_read

    if not lakehouse.exists("feature_windows"):
        return None
    return columns_read(pa.schema(lakehouse.table("feature_windows").schema()).names, params)


def train_room_of_day(
    windows: pd.DataFrame, *, params: TrainingParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One room's windows of one training day's span (``target_date``) to its model row.

    Returns the ``SCHEMA`` row (``train_room``'s, dated by the training day) and a summary
    row: ``date``, ``room_id``, ``status``, ``reason``.
    """
    from snuk_assets.transforms.models.training import train_room

    day = windows[TARGET_DATE].iloc[0]
    model = train_room(windows.drop(columns=[TARGET_DATE]), params).assign(date=day)
    return model, model[SUMMARY_SCHEMA.names]


def read_models(
    lakehouse: Lakehouse, dates: Iterable[dt.date], *, columns: list[str] | None = None
) -> pd.DataFrame | None:
    """Rows of ``occupancy_models`` for ``dates`` as pandas (None if the table is missing)."""
    models = lakehouse.read("occupancy_models", dates=dates, columns=columns, missing_ok=True)
    return None if models is None else models.to_pandas()


def run_config_values(params: TrainingParams) -> dict[str, object]:
    """The ``RUN_CONFIG_FIELDS`` of ``params``: what a run sets, as JSON-ready values."""
    values = {name: getattr(params, name) for name in RUN_CONFIG_FIELDS}
    return {**values, "feature_lags": dict(params.feature_lags)}


def params_from_run_config(values: Mapping[str, object]) -> TrainingParams:
    """``TrainingParams`` from run config values (``run_config_values``' shape; unset fields
    keep their defaults); a ValueError names an unknown field."""
    unknown = sorted(set(values) - set(RUN_CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown training settings {unknown}: expected {list(RUN_CONFIG_FIELDS)}")
    values = dict(values)
    if "feature_lags" in values:
        values["feature_lags"] = tuple(
            (str(signal), None if lags is None else int(lags))
            for signal, lags in dict(values["feature_lags"]).items()
        )
    return TrainingParams(**values)


MODEL_SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("model", pa.binary()),
        ("feature_names", pa.list_(pa.string())),
        ("horizons", pa.list_(pa.int64())),
        ("n_train", pa.int64()),
        ("n_test", pa.int64()),
        ("train_start", pa.timestamp("us", tz="UTC")),
        ("train_end", pa.timestamp("us", tz="UTC")),
        ("test_start", pa.timestamp("us", tz="UTC")),
        ("test_end", pa.timestamp("us", tz="UTC")),
        ("library_versions", pa.string()),
        ("metrics", pa.string()),
    ]
)
SCHEMA = MODEL_SCHEMA.append(pa.field("date", pa.date32()))
SUMMARY_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("room_id", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)
