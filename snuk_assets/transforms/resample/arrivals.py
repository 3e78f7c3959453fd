"""Late and repeated deliveries: one observation per sensor and timestamp.

A gateway may deliver the same observation twice, in two landing folders. The rule: for each
``(sensor_id, ts)`` the **latest arrival wins**: the row from the latest arrival day (``date``),
and within one day the last file in name order (gateway file names sort by upload time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.sensor_types import SensorCatalog


@dataclass(frozen=True)
class ArrivalStats:
    """What resolving repeated deliveries did."""

    rows_in: int
    rows_out: int
    redelivered: int  # repeats with the same value, counted once
    conflicting: int  # repeats with another value, resolved by the latest arrival


def latest_arrival_wins(raw: pa.Table) -> tuple[pa.Table, ArrivalStats]:
    """One row per ``(sensor_id, ts)``, the latest arrival's.

    Parameters
    ----------
    raw : pyarrow.Table
        ``sensor_id`` (string), ``ts`` (timestamp, UTC), ``value`` (float64), ``date`` (date32,
        the arrival day) and ``source_file`` (string).

    Returns
    -------
    (pyarrow.Table, ArrivalStats)
        The same columns, unique on ``(sensor_id, ts)``, sorted by ``sensor_id`` then ``ts``.
    """
    ordered = raw.sort_by(
        [
            ("sensor_id", "ascending"),
            ("ts", "ascending"),
            ("date", "descending"),
            ("source_file", "descending"),
        ]
    )
    n = ordered.num_rows
    if n == 0:
        return ordered, ArrivalStats(0, 0, 0, 0)
    sensor = ordered["sensor_id"].combine_chunks()
    ts = ordered["ts"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    # A row repeats the one before it when sensor and timestamp are equal.
    repeat = np.zeros(n, dtype=bool)
    repeat[1:] = (ts[1:] == ts[:-1]) & pc.equal(sensor[1:], sensor[:-1]).to_numpy(
        zero_copy_only=False
    )
    values = ordered["value"].to_numpy()
    # The first row of each group holds the winning value; compare every repeat with it.
    group_first = np.maximum.accumulate(np.where(repeat, 0, np.arange(n)))
    same_value = values == values[group_first]
    kept = ordered.filter(pa.array(~repeat))
    stats = ArrivalStats(
        rows_in=n,
        rows_out=kept.num_rows,
        redelivered=int(np.sum(repeat & same_value)),
        conflicting=int(np.sum(repeat & ~same_value)),
    )
    return kept, stats


def with_sensor_type(observations: pa.Table, catalog: SensorCatalog | None = None) -> pa.Table:
    """Add ``sensor_type`` (``motion``, ``co2``, ...): the registry's, else a gateway id's letter.

    Null for an id that is neither registered nor of the gateway's shape.
    """
    types = (catalog or SensorCatalog()).type_names(observations["sensor_id"])
    return observations.append_column("sensor_type", types)
