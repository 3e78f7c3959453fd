"""A day validated file by file, its kept rows held compactly (day_rows), against one validation.

The ingest reads a day one file at a time; the kept rows, the duplicates and their counts must be
exactly those of ``validate_observations`` on all the day's files concatenated.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from snuk_assets.transforms.ingest.day_rows import DayKeptRows
from snuk_assets.transforms.ingest.parse import parse_landing_file
from snuk_assets.transforms.ingest.validate import KEPT_SCHEMA, validate_observations

DAY = dt.date(2016, 8, 14)
FOLDER = "raw_data/2016/08/14"
SENSORS = ["8514-294-220-250-m", "7513-133-195-250-t", "1111-222-333-444-h", "9999-000-111-222-l"]
DAY_START_MS = 1471132800000


def gateway_file(rng: random.Random, lines: int) -> bytes:
    """Lines drawn from a small space of readings, so duplicates within and across files abound."""
    out = []
    for _ in range(lines):
        sensor = rng.choice(SENSORS)
        ts = DAY_START_MS + rng.randrange(40) * 60_000
        value = {"m": rng.choice(["0.0", "1.0", "-0.0"]), "t": rng.choice(["21.5", "22.0"])}.get(
            sensor[-1], rng.choice(["40.0", "41.0"])
        )
        if rng.random() < 0.05:
            out.append("garbage")
        else:
            out.append(f"sensor_id='{sensor}', timestamp={ts}, value={value},")
    return ("\n".join(out) + "\n").encode()


def file_by_file(parsed: list[pa.Table]) -> tuple[pa.Table, int, int]:
    kept, duplicates, quarantined = DayKeptRows(DAY), 0, 0
    for rows in parsed:
        result = validate_observations(rows, arrival_day=DAY)
        kept.add(result.kept)
        duplicates += result.rows_duplicate
        quarantined += result.rows_quarantined
    duplicates += kept.deduplicate()
    return kept.to_table(), duplicates, quarantined


@pytest.mark.parametrize("seed", range(5))
def test_file_by_file_keeps_exactly_what_one_validation_of_the_day_keeps(seed):
    rng = random.Random(seed)
    names = [f"{FOLDER}/gw{n:02d}.txt" for n in range(rng.randrange(1, 6))]
    parsed = [parse_landing_file(name, gateway_file(rng, rng.randrange(0, 400))) for name in names]
    whole = validate_observations(pa.concat_tables(parsed), arrival_day=DAY)

    kept, duplicates, quarantined = file_by_file(parsed)

    assert kept.schema == KEPT_SCHEMA
    assert kept.to_pylist() == whole.kept.to_pylist()
    assert duplicates == whole.rows_duplicate
    assert quarantined == whole.rows_quarantined


def test_a_duplicate_across_files_is_kept_from_the_first_file_by_name():
    line = b"sensor_id='8514-294-220-250-m', timestamp=1471132800000, value=1.0,\n"
    # Added out of name order: the first file by source_file still wins.
    parsed = [parse_landing_file(f"{FOLDER}/{name}", line) for name in ("b.txt", "a.txt")]

    kept, duplicates, _ = file_by_file(parsed)

    assert kept["source_file"].to_pylist() == [f"{FOLDER}/a.txt"]
    assert duplicates == 1


def test_an_empty_day_has_no_rows():
    kept = DayKeptRows(DAY)
    kept.add(KEPT_SCHEMA.empty_table())

    assert kept.deduplicate() == 0
    assert kept.to_table().num_rows == 0
    assert kept.ts_range_ms() is None
    assert kept.rows_per_sensor() == {}


def test_batches_are_bounded_and_in_order():
    lines = b"".join(
        f"sensor_id='{SENSORS[i % 4]}', timestamp={DAY_START_MS + i}, value=1.0,\n".encode()
        for i in range(1000)
    )
    kept = DayKeptRows(DAY)
    kept.add(
        validate_observations(parse_landing_file(f"{FOLDER}/gw.txt", lines), arrival_day=DAY).kept
    )
    kept.deduplicate()

    batches = list(kept.batches(max_rows=300))

    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    rows = pa.Table.from_batches(batches).select(["sensor_id", "ts"]).to_pylist()
    assert rows == sorted(rows, key=lambda r: (r["sensor_id"], r["ts"]))
