"""The ``snuk`` commands as a user runs them: evaluate on a small UCI-shaped dataset, and demo,
tables and materialize on a two-room building (real subprocesses, Delta tables in a tmp folder).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

from snuk_assets.cli import main
from snuk_assets.definitions import DAILY_JOB, build_definitions
from snuk_assets.pipeline import MODEL_STAGES
from snuk_assets.settings import SnukSettings

SNUK = Path(sys.executable).parent / "snuk"
# What the demo materializes: the registry, then the daily job's stages.
_DAILY = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
TABLES = [
    "sensors",
    *sorted(
        k.to_user_string()
        for k in _DAILY.resolve_job_def(DAILY_JOB).asset_layer.executable_asset_keys
    ),
]


def uci_file(path: Path, start: str, days: int) -> None:
    """A UCI Occupancy Detection file: 7 names, 8 fields a row; an office lit 08:00-18:00."""
    minutes = pd.date_range(start, periods=days * 24 * 60, freq="1min")
    occupied = ((minutes.hour >= 8) & (minutes.hour < 18) & (minutes.day_of_week < 5)).astype(int)
    rows = pd.DataFrame(
        {
            "date": minutes.strftime("%Y-%m-%d %H:%M:%S"),
            "Temperature": 21 + occupied + np.sin(np.arange(len(minutes)) / 300) / 10,
            "Humidity": 27 + occupied,
            "Light": np.where(occupied, 450.0, 0.0),
            "CO2": 430 + 300 * occupied,
            "HumidityRatio": 0.0047,
            "Occupancy": occupied,
        },
        index=pd.RangeIndex(1, len(minutes) + 1).astype(str),
    )
    rows.to_csv(path, quoting=1)


def test_snuk_evaluate_uci_occupancy_scores_detection_and_forecasts(tmp_path, capsys):
    uci_file(tmp_path / "datatraining.txt", "2015-02-02 00:00", 4)  # Monday .. Thursday
    uci_file(tmp_path / "datatest.txt", "2015-02-09 00:00", 2)
    landing = tmp_path / "landing"
    argv = ["evaluate", "uci-occupancy", "--data", str(tmp_path), "--freq", "5min"]
    assert main([*argv, "--bsteps", "3", "--fsteps", "2", "--landing", str(landing)]) == 0
    out = capsys.readouterr().out
    # Both files converted, in the landing line format: 4 sensors a minute.
    written = {
        name: n for n, name in re.findall(r"wrote (\d+) observations to .*/(uci-\w+)\.txt", out)
    }
    assert written == {"uci-datatraining": str(4 * 4 * 1440), "uci-datatest": str(4 * 2 * 1440)}
    # Light alone tells occupancy exactly here: detection from it is perfect.
    detection = re.search(
        r"horizon 0 \(detection\) detection_rf\[luminosity\]\s+accuracy (\S+)%", out
    )
    assert detection and float(detection.group(1)) == 100.0
    assert re.search(r"^\s+1\s+\S+% / \S+\s+\S+% / \S+\s+\S+% / \S+$", out, re.M)
    assert re.search(r"RF F1 beats both baselines at \d of 2 horizons", out)


def test_snuk_materialize_refuses_an_end_before_the_start(capsys):
    assert main(["materialize", "--start", "2016-06-02", "--end", "2016-06-01"]) == 2
    assert "--end 2016-06-01 is before --start 2016-06-02" in capsys.readouterr().err


DEMO_START = dt.date(2016, 6, 6)
DEMO_DAYS = 5


@pytest.fixture(scope="module")
def demo(tmp_path_factory, small_registry):
    """``snuk demo`` on two rooms for five days: (environment, its output)."""
    root = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "SNUK_LANDING_URI": str(root / "landing"),
        "SNUK_LAKEHOUSE_URI": str(root / "lakehouse"),
        "SNUK_TRUTH_DIR": str(root / "truth"),
        "SNUK_REGISTRY": small_registry(root / "building.yaml", ["7101", "7103"]),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    (root / "dagster_home").mkdir()
    command = [str(SNUK), "demo", "--start", str(DEMO_START), "--days", str(DEMO_DAYS)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env, done.stdout


def table_rows(env, name: str) -> int:
    return DeltaTable(f"{env['SNUK_LAKEHOUSE_URI']}/{name}").to_pyarrow_table().num_rows


def tables_listed(output: str) -> dict[str, int]:
    return {
        name: int(rows.replace(",", ""))
        for name, rows in re.findall(r"^  (\w+)\s+([\d,]+) rows  v\d+", output, re.M)
    }


def test_snuk_demo_materializes_every_table_and_says_so(demo):
    env, out = demo
    assert "Pipeline succeeded" in out
    listed = tables_listed(out)
    assert sorted(listed) == sorted(TABLES)
    for name in TABLES:
        assert listed[name] == table_rows(env, name), name
    # Every stage wrote rows: the demo's late files reach 4 days past the simulation, so the
    # data tables hold at least the simulated days (2 rooms x 288 bins a day).
    assert all(rows > 0 for rows in listed.values()), listed
    assert listed["room_series"] >= 2 * 288 * DEMO_DAYS


def test_snuk_tables_lists_what_the_lakehouse_holds(demo):
    env, _ = demo
    done = subprocess.run(
        [str(SNUK), "tables"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = tables_listed(done.stdout)
    assert listed == {name: table_rows(env, name) for name in TABLES}


def test_snuk_materialize_reruns_a_day_and_gives_the_same_rows(demo):
    env, _ = demo
    day = DEMO_START + dt.timedelta(days=2)
    before = {name: table_rows(env, name) for name in TABLES}
    command = [str(SNUK), "materialize", "--start", str(day), "--end", str(day)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Materializing the daily pipeline for {day} .. {day} in one run" in done.stdout
    after = {name: table_rows(env, name) for name in TABLES}
    # Models, metrics and forecasts for that day are new; every data table is unchanged.
    data_tables = [name for name in TABLES if name not in MODEL_STAGES]
    assert {n: after[n] for n in data_tables} == {n: before[n] for n in data_tables}
