"""The building simulator: real files in a tmp landing zone, parsed back and checked."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from snuk_assets.registry import default_registry_path, load_registry
from snuk_assets.sensor_types import SENSOR_TYPES
from snuk_assets.simulate import plan_simulation, simulate_building, truth_occupied_fraction

# Any registered id: the gateway's (NNNN-NNN-NNN-NNN-x) and the CO2 sensors and door counters'.
GATEWAY_LINE = re.compile(
    r"sensor_id='(?P<sensor_id>[0-9a-z-]+)', "
    r"timestamp=(?P<timestamp>[0-9]+), value=(?P<value>-?[0-9]+\.[0-9]),"
)
TYPE_OF = load_registry(default_registry_path()).catalog().type_by_id
FRIDAY = dt.date(2016, 6, 3)  # Friday, then a weekend
SEED = 42


@pytest.fixture(scope="module")
def registry():
    return load_registry(default_registry_path())


@pytest.fixture(scope="module")
def run(registry, tmp_path_factory):
    """Three days, Friday to Sunday, in the gateway line format."""
    root = tmp_path_factory.mktemp("sim")
    summary = simulate_building(
        registry=registry,
        landing_uri=str(root / "landing"),
        truth_dir=root / "truth",
        start=FRIDAY,
        days=3,
        seed=SEED,
    )
    return summary, root, read_landing(root / "landing")


def read_landing(landing: Path) -> tuple[pd.DataFrame, list[str], int]:
    """Valid lines as a frame, the malformed lines, and the number of files."""
    rows, malformed, files = [], [], sorted((landing / "raw_data").rglob("*.txt"))
    for path in files:
        folder_day = dt.date(*map(int, path.parent.relative_to(landing / "raw_data").parts))
        for line in path.read_text().splitlines():
            match = GATEWAY_LINE.fullmatch(line)
            if match is None or not _in_range(match["sensor_id"], float(match["value"])):
                malformed.append(line)
            else:
                rows.append((line, path.name, folder_day, *match.group(1, 2, 3)))
    frame = pd.DataFrame(rows, columns=["line", "file", "folder_day", "sensor_id", "ts", "value"])
    frame = frame.astype({"ts": "int64", "value": "float64"})
    return frame, malformed, len(files)


def _in_range(sensor_id: str, value: float) -> bool:
    if sensor_id not in TYPE_OF:
        return False
    kind = SENSOR_TYPES[TYPE_OF[sensor_id]]
    return kind.min_value <= value <= kind.max_value


def _distinct(lines: pd.DataFrame) -> pd.DataFrame:
    distinct = lines.drop_duplicates("line")
    return distinct.assign(measured_day=pd.to_datetime(distinct["ts"], unit="ms").dt.date)


def _days_late(distinct: pd.DataFrame) -> pd.Series:
    """Whole days between the measurement's UTC day and the arrival folder's day."""
    return (
        pd.to_datetime(distinct["folder_day"]) - pd.to_datetime(distinct["measured_day"])
    ).dt.days


def test_summary_counts_what_is_on_disk(run):
    summary, _, (lines, malformed, n_files) = run
    distinct = _distinct(lines)
    days_late = _days_late(distinct)
    assert summary.files == n_files
    assert summary.observations == len(distinct)
    assert summary.duplicates == len(lines) - len(distinct) > 0
    assert summary.malformed_lines == len(malformed) > 0
    assert summary.late_lines == (days_late > 0).sum()
    assert summary.too_late_lines == (days_late > 3).sum()
    assert "observations" in str(summary)


def test_every_file_is_an_upload_of_one_gateway(run):
    _, root, _ = run
    files = [p for p in (root / "landing/raw_data").rglob("*") if p.is_file()]
    assert files, "the simulation wrote no landing files"
    odd = [p.name for p in files if not re.fullmatch(r"gw0[1-8]-[0-9]{8}T[0-9]{6}\.txt", p.name)]
    assert not odd, f"not one gateway upload each: {odd[:5]}"
    per_folder = pd.Series([p.parent for p in (root / "landing/raw_data").rglob("*.txt")])
    assert per_folder.value_counts().max() <= 55


def test_malformed_lines_are_of_several_kinds(run):
    _, _, (_, malformed, _) = run
    assert any("value=abc" in line for line in malformed)
    assert any(GATEWAY_LINE.fullmatch(line) for line in malformed)  # out of range
    assert any(not line.startswith("sensor_id=") for line in malformed)  # garbage


def test_motion_reports_only_changes(run):
    _, _, (lines, _, _) = run
    motion = _distinct(lines).query("sensor_id.str.endswith('-m')").sort_values("ts")
    assert set(motion["value"]) == {0.0, 1.0}
    for _, values in motion.groupby("sensor_id")["value"]:
        assert (np.diff(values.to_numpy()) != 0).all()


def test_periodic_sensors_sample_with_jitter(run):
    _, _, (lines, _, _) = run
    distinct = _distinct(lines)
    sampled = (
        distinct["sensor_id"].map(TYPE_OF).isin(["temperature", "humidity", "luminosity", "co2"])
    )
    periodic = distinct[sampled].sort_values("ts")
    steps_s = periodic.groupby("sensor_id")["ts"].diff().dropna() / 1000
    steps_s = steps_s[steps_s < 90]  # not across offline spans
    assert 59.5 < steps_s.mean() < 60.5
    assert 1.0 < steps_s.std() < 3.0


def test_offline_spans_have_no_observations(run, registry):
    _, _, (lines, _, _) = run
    plan = plan_simulation(registry=registry, start=FRIDAY, days=3, seed=SEED)
    assert len(plan.offline) > 0
    distinct = _distinct(lines)
    for span in plan.offline.itertuples():
        ts_s = distinct.loc[distinct["sensor_id"] == span.sensor_id, "ts"] // 1000
        assert not ts_s.between(span.start_s, span.end_s - 1).any()


def test_weekend_rooms_are_empty_in_truth(run):
    _, root, _ = run
    truth = pd.read_parquet(root / "truth/occupancy_truth.parquet")
    local_days = truth["start"].dt.tz_convert("Europe/Berlin").dt.day_of_week
    assert len(truth) > 0
    assert (local_days < 5).all()
    assert (truth["people"] >= 1).all()
    assert (truth["end"] > truth["start"]).all()


def test_some_uploads_arrive_days_after_measurement(run):
    _, _, (lines, _, _) = run
    distinct = _distinct(lines)
    days_late = _days_late(distinct)
    assert (days_late == 0).mean() > 0.7
    # Beyond the evening window that naturally lands after midnight: retried uploads.
    measured_hour = pd.to_datetime(distinct["ts"], unit="ms").dt.hour
    assert ((days_late >= 1) & (measured_hour < 20)).any()


def test_same_seed_same_bytes_other_seed_differs(registry, tmp_path):
    def landing_bytes(name: str, seed: int) -> dict[str, bytes]:
        simulate_building(
            registry=registry,
            landing_uri=str(tmp_path / name),
            truth_dir=tmp_path / f"{name}-truth",
            start=FRIDAY,
            days=1,
            seed=seed,
        )
        return {
            str(p.relative_to(tmp_path / name)): p.read_bytes()
            for p in (tmp_path / name).rglob("*.txt")
        }

    first, again, other = landing_bytes("a", 7), landing_bytes("b", 7), landing_bytes("c", 8)
    assert first == again
    assert first != other
    assert (tmp_path / "a-truth/occupancy_truth.parquet").read_bytes() == (
        tmp_path / "b-truth/occupancy_truth.parquet"
    ).read_bytes()


@pytest.mark.parametrize(("fmt", "zipped"), [("jsonl", True), ("csv", False), ("parquet", False)])
def test_other_formats_count_the_same_way(registry, tmp_path, fmt, zipped):
    summary = simulate_building(
        registry=registry,
        landing_uri=str(tmp_path / "landing"),
        truth_dir=tmp_path / "truth",
        start=FRIDAY,
        days=1,
        seed=SEED,
        fmt=fmt,
        gzip=zipped,
    )
    paths = sorted((tmp_path / "landing").rglob("*.*"))
    records = []
    for path in paths:
        data = path.read_bytes()
        data = gzip.decompress(data) if path.suffix == ".gz" else data
        records += _parse_records(data, fmt)
    valid = {r for r in records if r is not None and _in_range(r[0], r[2])}
    assert summary.files == len(paths)
    assert summary.observations == len(valid)
    assert summary.malformed_lines + summary.observations + summary.duplicates == len(records)


def _parse_records(data: bytes, fmt: str) -> list[tuple | None]:
    """(sensor_id, timestamp, value) per line or row; None for lines that do not parse."""
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
        return list(
            zip(*(table[c].to_pylist() for c in ("sensor_id", "timestamp", "value")), strict=True)
        )
    lines = data.decode().splitlines()[1 if fmt == "csv" else 0 :]
    return [_parse_line(line, fmt) for line in lines]


def _parse_line(line: str, fmt: str) -> tuple | None:
    try:
        if fmt == "jsonl":
            record = json.loads(line)
            return record["sensor_id"], int(record["timestamp"]), float(record["value"])
        sensor_id, timestamp, value = line.split(",")
        if sensor_id not in TYPE_OF:
            return None
        return sensor_id, int(timestamp), float(value)
    except (ValueError, KeyError, TypeError):
        return None


def test_truth_occupied_fraction_is_exact():
    truth = pd.DataFrame(
        {
            "room_id": ["A", "A"],
            "start": pd.to_datetime(["2016-06-01 00:02:30", "2016-06-01 00:09:00"], utc=True),
            "end": pd.to_datetime(["2016-06-01 00:07:30", "2016-06-01 00:20:00"], utc=True),
            "people": [1, 3],
        }
    )
    fraction = truth_occupied_fraction(
        truth, start="2016-06-01 00:00", end="2016-06-01 00:25", freq="5min", room_ids=["A", "B"]
    )
    a = fraction.query("room_id == 'A'")["occupied_fraction"].tolist()
    assert a == [0.5, 0.5 + 0.2, 1.0, 1.0, 0.0]
    assert (fraction.query("room_id == 'B'")["occupied_fraction"] == 0).all()
    assert str(fraction["bin_start"].dt.tz) == "UTC"


def test_truth_fraction_adds_up_to_truth_durations(run):
    _, root, _ = run
    truth = pd.read_parquet(root / "truth/occupancy_truth.parquet")
    fraction = truth_occupied_fraction(
        truth, start=pd.Timestamp(FRIDAY), end=pd.Timestamp(FRIDAY) + pd.Timedelta(days=3)
    )
    occupied_s = fraction.groupby("room_id")["occupied_fraction"].sum() * 300
    expected_s = (truth["end"] - truth["start"]).dt.total_seconds().groupby(truth["room_id"]).sum()
    assert np.allclose(occupied_s.loc[expected_s.index], expected_s)
    assert fraction["occupied_fraction"].between(0, 1).all()


def test_an_empty_day_has_no_headcount():
    """Nobody in (a weekend): empty truth arrays, as floats or ints, give an all-zero grid."""
    import numpy as np

    from snuk_assets.simulate.sensors import headcount_grid

    empty = np.array([])
    grid = headcount_grid(empty, empty, empty, empty, n_rooms=3, day_start_s=0)
    assert grid.shape == (3, 86_400) and not grid.any()


def test_a_pir_holds_on_after_each_detection_then_reports_off():
    from snuk_assets.simulate import pir

    probability = np.zeros(1440)
    probability[600] = 1.0  # one sure detection in minute 600
    states, on_until_s = pir.pir_states(probability, on_until_s=30, rng=np.random.default_rng(0))
    on = np.flatnonzero(np.diff(np.concatenate([[0], states.astype(int)])) != 0)
    # ON from the day before until second 30; ON at the detection, OFF HOLD_S seconds after it.
    assert states[:30].all() and not states[30:36000].any()
    detected_s = int(np.flatnonzero(states[36000:])[0]) + 36000
    assert states[detected_s : detected_s + pir.HOLD_S].all()
    assert not states[detected_s + pir.HOLD_S :].any()
    assert on_until_s == detected_s + pir.HOLD_S
    assert len(on) == 4  # ON from the day before, OFF at 30, ON at the detection, OFF after


def test_seated_people_are_seen_less_often_than_walking_ones():
    from snuk_assets.simulate import pir

    one = np.ones(1440)
    seated = pir.detection_probability(one, 0 * one, activity="seated", seated_view=1.0, area_m2=20)
    walking = pir.detection_probability(one, one, activity="seated", seated_view=1.0, area_m2=20)
    empty = pir.detection_probability(
        0 * one, 0 * one, activity="seated", seated_view=1, area_m2=20
    )
    assert np.allclose(seated, pir.SEATED_DETECT_PER_MIN)
    assert (walking > 0.9).all() and not empty.any()


def test_co2_settles_at_the_mass_balance_equilibrium():
    from snuk_assets.simulate import air

    area = np.array([20.0])
    airflow = np.array([0.02])  # m3/s
    co2 = air.room_co2(
        np.full((1, 1440), 2.0),
        area_m2=area,
        ventilation_m3_s=airflow,
        ventilation_on=np.ones(1440, dtype=bool),
        start_ppm=np.array([air.OUTDOOR_PPM]),
    )
    # Two people emit 2 * 0.005 l/s into 0.02 m3/s of outdoor air: 500 ppm above outdoor.
    assert co2[0, -1] == pytest.approx(air.OUTDOOR_PPM + 2 * 0.005e-3 / 0.02 * 1e6, rel=1e-6)
    assert np.all(np.diff(co2[0]) > 0)  # rising from outdoor, never overshooting


def test_a_door_counter_reports_its_count_on_change():
    from snuk_assets.simulate import counters

    headcount = np.zeros(86_400, dtype=np.int16)
    headcount[100:200] = 1
    headcount[150:200] = 2
    seconds, counts = counters.counter_reports(headcount, np.random.default_rng(1))
    assert seconds[0] == 0 and counts[0] == 0
    assert (np.diff(counts) != 0).all()
    assert counts.min() >= 0


def test_the_reference_office_reports_co2_and_door_counts(run):
    _, _, (lines, _, _) = run
    distinct = _distinct(lines)
    types = distinct["sensor_id"].map(TYPE_OF)
    co2 = distinct.loc[types == "co2", "value"]
    assert 300 < co2.median() < 1500
    counts = distinct.loc[types == "people_count", "value"]
    assert (counts >= 0).all() and counts.max() > 0
