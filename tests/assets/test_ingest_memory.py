"""A day's ingest holds one file at a time, not the day (issue 20: 3.2 M rows took 3.9 GB).

Arrow's allocations are counted by a proxy memory pool set as the default for the ingest of one
day (no timing, no RSS: the same input allocates the same bytes). A day of eight files peaks
near a day of one, and what stays per kept row is the compact residue ``day_rows`` documents.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from snuk_assets.settings import SnukSettings
from snuk_assets.stages.ingest import ingest_day

DAY = dt.date(2016, 8, 14)
LINES_PER_FILE = 20_000
SENSORS = [f"{8000 + n}-294-220-250-{'mthl'[n % 4]}" for n in range(40)]
DAY_START_MS = 1471132800000
# A buffer frees itself through the pool it came from: the pools live as long as the module.
_POOLS: list[pa.MemoryPool] = []


def write_day(landing: Path, files: int) -> None:
    folder = landing / f"raw_data/{DAY:%Y/%m/%d}"
    folder.mkdir(parents=True)
    for f in range(files):
        lines = [
            f"sensor_id='{SENSORS[i % len(SENSORS)]}', "
            f"timestamp={DAY_START_MS + (f * LINES_PER_FILE + i) * 100}, value={i % 2}.0,"
            for i in range(LINES_PER_FILE)
        ]
        with gzip.open(folder / f"gw{f:02d}.txt.gz", "wt") as out:
            out.write("\n".join(lines) + "\n")


def peak_arrow_bytes(tmp_path: Path, files: int):
    landing = tmp_path / f"landing-{files}"
    write_day(landing, files)
    settings = SnukSettings(landing_uri=str(landing), lakehouse_uri=str(tmp_path / "lake"))
    default = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(default)
    _POOLS.append(pool)
    pa.set_memory_pool(pool)
    try:
        day = ingest_day(
            logging.getLogger(__name__),
            settings.landing(),
            DAY,
            settings=settings,
            known_sensor_ids=frozenset(SENSORS),
        )
    finally:
        pa.set_memory_pool(default)
    return pool.max_memory(), day


@pytest.fixture(scope="module")
def one_and_eight(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ingest-memory")
    return peak_arrow_bytes(tmp_path, 1), peak_arrow_bytes(tmp_path, 8)


def test_a_day_of_eight_files_peaks_near_a_day_of_one(one_and_eight):
    (one_peak, one), (eight_peak, eight) = one_and_eight
    assert eight.rows_kept == 8 * one.rows_kept == 8 * LINES_PER_FILE
    # Holding the day's parsed rows, as before, would take about eight times the one file's peak.
    assert eight_peak < 1.5 * one_peak, (one_peak, eight_peak)


def test_what_stays_per_kept_row_is_the_compact_residue(one_and_eight):
    _, (_, eight) = one_and_eight
    # sensor rank 4, ts 8, value 8, file rank 4 bytes.
    assert eight.kept.nbytes == 24 * eight.rows_kept
