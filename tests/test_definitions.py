"""A snapshot of the asset graph: a change to the data flow shows up as a diff here."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import AssetKey

from snuk_assets.definitions import build_definitions
from snuk_assets.partitions import daily_partitions
from snuk_assets.settings import SnukSettings

EXPECTED_GRAPH = {
    # asset: (group, partitioned daily?, upstream assets)
    "sensors": ("building", False, []),
    "raw_observations": ("ingest", True, ["sensors"]),
    "quarantined_observations": ("ingest", True, ["sensors"]),
    "resampled_series": ("resample", True, ["raw_observations"]),
    "room_series": ("features", True, ["resampled_series"]),
    # issue 21: taught by the counter rooms, whose own motion sensors come from resampled_series
    "occupancy_estimate": ("features", True, ["resampled_series", "room_series"]),
    "feature_windows": ("features", True, ["occupancy_estimate", "room_series"]),
    "occupancy_models": ("models", True, ["feature_windows"]),
    "model_metrics": ("models", True, ["occupancy_models"]),
    "occupancy_forecasts": ("forecasts", True, ["occupancy_models", "room_series"]),
    # external: written by the live service (snuk live), which reports its materializations
    "live_room_forecasts": ("live", False, ["occupancy_models"]),
    # issue 18: the policies on the evaluation plant, materialized by hand (no automation).
    "room_controls": ("control", True, ["occupancy_models", "room_series"]),
    "control_evaluation": ("control", True, ["occupancy_models", "room_series"]),
}


# The daily job: ingest through forecasts (every daily stage but the control ones).
DAILY_JOB = {
    "raw_observations",
    "quarantined_observations",
    "resampled_series",
    "room_series",
    "occupancy_estimate",
    "feature_windows",
    "occupancy_models",
    "model_metrics",
    "occupancy_forecasts",
}


def asset_graph_snapshot() -> dict[str, tuple[str, bool, list[str]]]:
    defs = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        snapshot[key.to_user_string()] = (
            node.group_name,
            node.partitions_def is not None,
            sorted(k.to_user_string() for k in node.parent_keys),
        )
    return snapshot


def test_asset_graph_snapshot():
    assert asset_graph_snapshot() == EXPECTED_GRAPH


def test_definitions_load_and_the_daily_job_runs_every_partitioned_stage():
    defs = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
    job = defs.resolve_job_def("daily_pipeline")  # raises if it is not defined
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == DAILY_JOB
    assert job.partitions_def == daily_partitions
    assert defs.resolve_assets_def(AssetKey("raw_observations")).partitions_def == daily_partitions


@pytest.mark.parametrize(
    "libraries",
    [("pyspark",), ("sklearn", "skops", "scipy")],
    ids=["no JVM", "no model library"],
)
def test_importing_the_package_loads_no_heavy_library(libraries):
    """pyspark loads when the Spark engine is first used; scikit-learn and skops (2 s and 100 MB
    of every process start, twice per ``dagster asset materialize``: the run and its step's
    subprocess) where a model is fitted, scored, stored or read (issue 19)."""
    code = (
        "import sys, snuk_assets.definitions, snuk_assets.cli;"
        f"print(sorted(m for m in sys.modules if m.startswith({libraries!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_loading_the_definitions_prints_no_warning(tmp_path):
    """A newcomer's terminal is clean: the beta and superseded Dagster features SNUK uses on
    purpose are filtered, each with its reason (``snuk_assets/__init__.py``); any other warning
    would show here, as it does in ``make demo``."""
    loaded = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import snuk_assets.definitions"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "Warning" not in loaded.stderr, loaded.stderr
