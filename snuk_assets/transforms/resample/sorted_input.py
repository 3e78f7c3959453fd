"""Observations as numpy blocks, one per sensor and sorted by time, checked for duplicates.

Input that already comes grouped by sensor and sorted by time is used as it is, without a
copy; anything else is sorted by (sensor, time) once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

INPUT_COLUMNS = ("sensor_id", "sensor_type", "ts", "value")
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@dataclass(frozen=True)
class SortedObservations:
    """Sensor ``s`` owns rows ``offsets[s]:offsets[s + 1]``, in strictly increasing ``ts_ns``.

    ``ts_ns`` is int64 ns since the epoch (UTC), ``value`` float64; ``sensor_ids`` and
    ``sensor_types`` name each sensor, in block order.
    """

    sensor_ids: list[str]
    sensor_types: list[str]
    ts_ns: np.ndarray
    value: np.ndarray
    offsets: np.ndarray


def sort_observations(observations: pd.DataFrame | pa.Table) -> SortedObservations:
    """Group ``observations`` by sensor and sort each sensor's rows by time.

    Parameters
    ----------
    observations : pandas.DataFrame or pyarrow.Table
        Columns ``sensor_id`` and ``sensor_type`` (str or dictionary of str), ``ts``
        (timestamp, any unit; naive taken as UTC) and ``value`` (numeric). Other columns are
        ignored.

    Raises
    ------
    ValueError
        If a column is missing or has nulls, a value is NaN, a sensor has two types or two
        rows share ``(sensor_id, ts)``.
    """
    table = _as_table(observations)
    ts_ns = _timestamps_ns(table.column("ts"))
    value = table.column("value").cast(pa.float64()).to_numpy()
    if np.isnan(value).any():
        raise ValueError("observations: 'value' has NaN; drop or fill them before resampling")
    n = len(ts_ns)
    if n == 0:
        empty = np.empty(0)
        return SortedObservations([], [], empty.astype(np.int64), empty, np.zeros(1, np.int64))

    id_changes = _changes(table.column("sensor_id"))
    run_starts = np.concatenate([[0], np.flatnonzero(id_changes) + 1])
    run_sensor, sensor_ids = _codes_at(table.column("sensor_id"), run_starts)
    sensor_types = _types_per_sensor(
        table.column("sensor_type"),
        id_changes=id_changes,
        run_starts=run_starts,
        run_sensor=run_sensor,
        sensor_ids=sensor_ids,
    )

    step_ns = np.diff(ts_ns)
    time_ordered = bool((step_ns >= 0).all())
    step_ns[id_changes] = 1  # a sensor's first row may have any time
    if len(run_starts) == len(sensor_ids) and (step_ns > 0).all():
        return SortedObservations(
            [sensor_ids[s] for s in run_sensor],
            [sensor_types[s] for s in run_sensor],
            ts_ns,
            value,
            np.append(run_starts, n),
        )
    del step_ns

    # numpy sorts 16-bit codes stably by radix, in linear time. Rows in time order need only
    # that; otherwise lexsort sorts by time first (timsort: near-linear on the nearly
    # time-ordered rows of a landing zone), then stably by code.
    codes = np.repeat(run_sensor, np.diff(np.append(run_starts, n)))
    codes = codes.astype(np.uint16 if len(sensor_ids) <= 2**16 else np.int64)
    order = np.argsort(codes, kind="stable") if time_ordered else np.lexsort((ts_ns, codes))
    ts_ns, value = ts_ns[order], value[order]
    del order
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(sensor_ids)))])
    _check_unique(ts_ns, offsets, sensor_ids)
    return SortedObservations(sensor_ids, sensor_types, ts_ns, value, offsets)


def _as_table(observations: pd.DataFrame | pa.Table) -> pa.Table:
    """The four input columns as an Arrow table, without copying where Arrow can avoid it."""
    if isinstance(observations, pa.Table):
        names = observations.column_names
    else:
        names = list(observations.columns)
    missing = [c for c in INPUT_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"observations lack column(s) {missing}; expected {list(INPUT_COLUMNS)}")
    if isinstance(observations, pd.DataFrame):
        observations = pa.Table.from_pandas(observations[list(INPUT_COLUMNS)], preserve_index=False)
    table = observations.select(list(INPUT_COLUMNS))
    with_nulls = [c for c in INPUT_COLUMNS if table.column(c).null_count]
    if with_nulls:
        raise ValueError(f"observations have nulls in {with_nulls}; drop them before resampling")
    return table


def _timestamps_ns(ts: pa.ChunkedArray) -> np.ndarray:
    """int64 ns since the epoch; Arrow stores tz-aware timestamps as UTC already."""
    if not pa.types.is_timestamp(ts.type):
        raise ValueError(f"observations: 'ts' must be a timestamp column, not {ts.type}")
    ticks = ts.cast(pa.int64()).to_numpy()
    factor = _NS_PER_UNIT[ts.type.unit]
    return ticks * factor if factor != 1 else ticks


def _changes(column: pa.ChunkedArray) -> np.ndarray:
    """bool, length n - 1: whether row i + 1 differs from row i."""
    if pa.types.is_dictionary(column.type):
        indices, _ = _dictionary_indices(column)
        return indices[1:] != indices[:-1]
    n = len(column)
    return pc.not_equal(column.slice(1), column.slice(0, n - 1)).to_numpy(zero_copy_only=False)


def _codes_at(column: pa.ChunkedArray, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes (int64) of the values at ``rows`` and the distinct values they index.

    ``rows`` must include a row of every distinct value of the column (e.g. every run start).
    """
    if pa.types.is_dictionary(column.type):
        indices, dictionary = _dictionary_indices(column)
        # Drop dictionary entries no row uses: every sensor named must be present.
        used = np.bincount(indices[rows], minlength=len(dictionary)) > 0
        code_of_index = np.cumsum(used) - 1
        return code_of_index[indices[rows]], [dictionary[k] for k in np.flatnonzero(used)]
    if len(rows) > len(column) // 8:
        # Many runs (interleaved sensors): encoding every row beats gathering the runs first.
        codes, names = _encode(column)
        return codes[rows], names
    return _encode(column.take(rows))


def _encode(values: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Integer code of each value (int64) and the distinct values, in order of appearance."""
    encoded = pc.dictionary_encode(values.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def _dictionary_indices(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Row indices into one dictionary shared by all chunks, and that dictionary."""
    column = pa.table({"c": column}).unify_dictionaries().column("c")
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64), []
    indices = [c.indices.to_numpy(zero_copy_only=False) for c in column.chunks]
    return np.concatenate(indices), [str(v) for v in column.chunk(0).dictionary.to_pylist()]


def _types_per_sensor(
    types: pa.ChunkedArray,
    *,
    id_changes: np.ndarray,
    run_starts: np.ndarray,
    run_sensor: np.ndarray,
    sensor_ids: list[str],
) -> list[str]:
    """Each sensor's one ``sensor_type``; a ValueError if a sensor has several."""
    # The type may change only where the sensor does ...
    within_run = np.flatnonzero(_changes(types) & ~id_changes)
    if len(within_run):
        run = np.searchsorted(run_starts, within_run[0], side="right") - 1
        _raise_mixed_types(sensor_ids[run_sensor[run]])
    run_type, type_names = _codes_at(types, run_starts)
    sensor_type = np.empty(len(sensor_ids), dtype=np.int64)
    sensor_type[run_sensor] = run_type
    # ... and must agree between the runs of one sensor.
    across_runs = np.flatnonzero(sensor_type[run_sensor] != run_type)
    if len(across_runs):
        _raise_mixed_types(sensor_ids[run_sensor[across_runs[0]]])
    return [type_names[t] for t in sensor_type]


def _raise_mixed_types(sensor_id: str) -> None:
    raise ValueError(
        f"observations: sensor {sensor_id!r} has more than one sensor_type; "
        "each sensor_id must have exactly one"
    )


def _check_unique(ts_ns: np.ndarray, offsets: np.ndarray, sensor_ids: list[str]) -> None:
    """Raise if a sensor has two rows at the same time (rows sorted as SortedObservations)."""
    same = np.diff(ts_ns) == 0
    same[offsets[1:-1] - 1] = False  # consecutive rows of two different sensors
    if same.any():
        row = int(np.argmax(same))
        sensor = int(np.searchsorted(offsets, row, side="right") - 1)
        when = pd.Timestamp(int(ts_ns[row]), unit="ns", tz="UTC")
        raise ValueError(
            f"observations have duplicate (sensor_id, ts), e.g. ({sensor_ids[sensor]!r}, "
            f"{when}); keep one row per sensor and time (the latest arrival) before resampling"
        )
