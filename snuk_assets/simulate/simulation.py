"""Run the whole simulation into a landing zone and write the ground truth beside it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.registry import BuildingRegistry
from snuk_assets.simulate.gateways import TOO_LATE_DAYS
from snuk_assets.simulate.observations import plan_simulation, simulate_observations
from snuk_assets.simulate.workdays import utc_midnight_s
from snuk_assets.simulate.writer import WriteCounts, write_day

TRUTH_FILE = "occupancy_truth.parquet"
_WRITER = 6  # random stream of malformed lines and duplicates


@dataclass(frozen=True)
class SimulationSummary:
    """What a simulation run wrote.

    ``observations`` counts valid, distinct observation lines; ``duplicates`` the exact
    re-sent copies and ``malformed`` the broken or out-of-range lines on top of them. A line is
    ``late`` when it lands in a folder after its measurement's UTC day and ``too_late`` when
    that is more than ``TOO_LATE_DAYS`` days after it.
    """

    start: dt.date
    days: int
    observations: int
    files: int
    bytes_written: int
    malformed_lines: int
    late_lines: int
    too_late_lines: int
    duplicates: int
    offline_spans: int
    truth_intervals: int
    elapsed_s: float

    def __str__(self) -> str:
        end = self.start + dt.timedelta(days=self.days - 1)
        return (
            f"simulated {self.days} days ({self.start} .. {end}) in {self.elapsed_s:.1f} s\n"
            f"  {self.observations:,} observations in {self.files:,} files "
            f"({self.bytes_written / 1e6:,.1f} MB)\n"
            f"  {self.late_lines:,} arrived a day or more late, {self.too_late_lines:,} more "
            f"than {TOO_LATE_DAYS} days late\n"
            f"  {self.malformed_lines:,} malformed lines, {self.duplicates:,} duplicate lines, "
            f"{self.offline_spans:,} offline spans\n"
            f"  {self.truth_intervals:,} ground-truth occupancy intervals"
        )


def simulate_building(
    *,
    registry: BuildingRegistry,
    landing_uri: str,
    truth_dir: str | Path,
    start: dt.date,
    days: int,
    seed: int,
    fmt: str = "line",
    gzip: bool = False,
    period_s: float = 60.0,
    building_id: str = DEFAULT_BUILDING,
) -> SimulationSummary:
    """Simulate the building and write its sensor uploads to a landing zone.

    Parameters
    ----------
    registry : BuildingRegistry
        Rooms and sensors to simulate.
    landing_uri : str
        Local folder or ``s3://bucket/prefix``; files go to ``raw_data/YYYY/MM/DD/`` of
        their UTC arrival day (``raw_data/<building_id>/YYYY/MM/DD/`` with ``building_id``).
    truth_dir : str or Path
        Where ``occupancy_truth.parquet`` goes (never into the landing zone): ``room_id``,
        ``start``, ``end`` (UTC), ``people``.
    start, days : date, int
        Simulated UTC days ``start`` .. ``start + days - 1``.
    seed : int
        Same seed, same bytes.
    fmt : {"line", "jsonl", "csv", "parquet"}
        Upload file format; ``line`` is the gateway's own.
    gzip : bool
        Gzip text uploads.
    period_s : float
        Mean sampling period of temperature, humidity and luminosity sensors, in seconds.
    building_id : str
        The landing folder's building; ``default`` is the layout without a building level.
    """
    from snuk_assets.landing import LandingZone  # the landing zone may pull in boto3

    began = time.perf_counter()
    zone = LandingZone.from_uri(landing_uri)
    plan = plan_simulation(registry=registry, start=start, days=days, seed=seed, period_s=period_s)
    truth_path = Path(truth_dir) / TRUTH_FILE
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    plan.truth.to_parquet(truth_path, index=False)

    tables = simulate_observations(registry=registry, start=start, days=days, seed=seed, plan=plan)
    written, taken = WriteCounts(), set()
    late = too_late = 0
    for offset, table in enumerate(tables):
        day = start + dt.timedelta(days=offset)
        rng = np.random.default_rng([seed, _WRITER, day.toordinal()])
        written.add(
            write_day(
                table, zone, fmt=fmt, gzip=gzip, rng=rng, taken=taken, building_id=building_id
            )
        )
        days_late = table["arrival_ms"].to_numpy() // 86_400_000 - utc_midnight_s(day) // 86_400
        late += int((days_late > 0).sum())
        too_late += int((days_late > TOO_LATE_DAYS).sum())
    return SimulationSummary(
        start=start,
        days=days,
        observations=written.observations,
        files=written.files,
        bytes_written=written.bytes,
        malformed_lines=written.malformed,
        late_lines=late,
        too_late_lines=too_late,
        duplicates=written.duplicates,
        offline_spans=len(plan.offline),
        truth_intervals=len(plan.truth),
        elapsed_s=time.perf_counter() - began,
    )
