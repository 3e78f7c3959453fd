"""room_controls and control_evaluation on a small simulated building, and the CLI on it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pipeline_runs import materialize_days

from snuk_assets.assets.control import control_assets
from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.cli import main
from snuk_assets.control.policies import POLICIES
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building

ROOMS = ["7103", "7117"]  # an office and a corridor
START, DAYS, SEED = dt.date(2016, 6, 20), 8, 5
MODEL_DAY, EVALUATED = dt.date(2016, 6, 25), dt.date(2016, 6, 27)


@pytest.fixture(scope="module")
def building(tmp_path_factory, small_registry):
    root = tmp_path_factory.mktemp("control_building")
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=small_registry(root / "building.yaml", ROOMS),
        truth_dir=str(root / "truth"),
    )
    simulate_building(
        registry=load_registry(settings.registry_path),
        landing_uri=settings.landing_uri,
        truth_dir=settings.truth_dir,
        start=START,
        days=DAYS,
        seed=SEED,
    )
    last = START + dt.timedelta(days=DAYS - 1)
    materialize_days([raw_observations], settings, START, last + dt.timedelta(days=4))
    materialize_days([resampled_series, room_series, feature_windows], settings, START, last)
    materialize_days([occupancy_models], settings, MODEL_DAY, MODEL_DAY)
    return settings


def test_the_control_assets_write_commands_and_kpis_with_a_picture(building):
    config = {"ops": {"control_assets": {"config": {"seed": SEED}}}}
    result = materialize_days([control_assets], building, EVALUATED, EVALUATED, config=config)
    lakehouse = building.lakehouse()
    controls = lakehouse.read("room_controls", dates=[EVALUATED]).to_pandas()
    assert len(controls) == len(POLICIES) * len(ROOMS) * 288
    assert set(controls["hvac_mode"]) <= {"comfort", "setback", "precondition"}
    assert controls["reason"].str.len().gt(0).all()
    kpis = lakehouse.read("control_evaluation", dates=[EVALUATED]).to_pandas()
    assert len(kpis) == len(POLICIES) * len(ROOMS)
    oracle = kpis[kpis["policy"] == "oracle"]
    assert (oracle["dark_occupied_minutes"] == 0).all()
    energy = kpis.groupby("policy")["energy_kwh"].sum()
    assert energy["oracle"] <= energy[["fixed_schedule", "reactive", "forecast"]].min()
    meta = result.asset_materializations_for_node("control_assets")
    picture = {m.asset_key.to_user_string(): m.metadata for m in meta}["control_evaluation"]
    assert picture["energy_against_discomfort"].value.startswith("![energy against discomfort")


def test_snuk_evaluate_control_prints_every_policy_and_writes_json(
    building, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SNUK_LAKEHOUSE_URI", building.lakehouse_uri)
    monkeypatch.setenv("SNUK_REGISTRY", building.registry_path)
    monkeypatch.setenv("SNUK_TRUTH_DIR", building.truth_dir)
    out = tmp_path / "control.json"
    argv = ["evaluate", "control", "--start", str(EVALUATED), "--days", "1", "--seed", str(SEED)]
    assert main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in (*POLICIES, "energy_kwh", "discomfort_kh", "miss_minutes", "office:"):
        assert name in printed
    report = json.loads(out.read_text())
    assert [row["policy"] for row in report["building"]] == list(POLICIES)
    assert {"office", "corridor"} == {row["kind"] for row in report["by_kind"]}
    assert set(report["done_when"]) == {
        "saving_share_of_oracle",
        "discomfort_vs_fixed",
        "miss_vs_reactive",
        "dark_vs_reactive",
    }
