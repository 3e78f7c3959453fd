"""Write a day of simulated observations to the landing zone as the gateways would.

One file per gateway upload, in the folder of the UTC day it arrives, in the gateway's line
format (or JSON lines, CSV, Parquet). A few malformed lines and re-sent duplicates are mixed in.
Lines are built with Arrow string kernels: a Python f-string per line would dominate the run.
"""

from __future__ import annotations

import datetime as dt
import gzip as gzip_module
import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.landing import day_folder
from snuk_assets.sensor_types import SENSOR_TYPES, TYPE_BY_LETTER, is_gateway_id
from snuk_assets.simulate.gateways import gateway_name

FORMATS = ("line", "jsonl", "csv", "parquet")
# (text before the sensor id, between id and timestamp, between timestamp and value, after value)
_LINE_PARTS = {
    "line": ("sensor_id='", "', timestamp=", ", value=", ","),
    "jsonl": ('{"sensor_id": "', '", "timestamp": ', ', "value": ', "}"),
    "csv": ("", ",", ",", ""),
}
CSV_HEADER = "sensor_id,timestamp,value"
MALFORMED_PER_DAY = 6.0
DUPLICATES_PER_DAY = 4.0


@dataclass
class WriteCounts:
    """What one or more days put on disk."""

    files: int = 0
    observations: int = 0
    malformed: int = 0
    duplicates: int = 0
    bytes: int = 0

    def add(self, other: WriteCounts) -> None:
        for name in ("files", "observations", "malformed", "duplicates", "bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def file_name(
    gateway: int, arrival_ms: int, fmt: str, gzip: bool, building_id: str = DEFAULT_BUILDING
) -> str:
    """Landing-zone path of one upload, e.g. ``raw_data/2016/08/14/gw03-20160814T060000.txt``
    (``raw_data/<building_id>/2016/08/14/...`` for a building of a portfolio)."""
    at = dt.datetime.fromtimestamp(arrival_ms / 1000, tz=dt.UTC)
    suffix = {"line": ".txt", "jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}[fmt]
    if gzip and fmt != "parquet":
        suffix += ".gz"
    folder = day_folder(at.date(), building_id)
    return f"{folder}/{gateway_name(gateway)}-{at:%Y%m%dT%H%M%S}{suffix}"


def write_day(
    table: pa.Table,
    zone,
    *,
    fmt: str,
    gzip: bool,
    rng: np.random.Generator,
    taken: set[str],
    building_id: str = DEFAULT_BUILDING,
) -> WriteCounts:
    """Write one measurement day (a table from ``simulate_observations``) as upload files.

    Parameters
    ----------
    table : pyarrow.Table
        Sorted by ``arrival_ms``, ``gateway``, ``timestamp_ms``.
    zone : LandingZone
        Destination; anything with ``write_bytes(relative_path, data)``.
    fmt : {"line", "jsonl", "csv", "parquet"}
        File format. Parquet files carry out-of-range values but no unparseable lines.
    gzip : bool
        Gzip text files (Parquet files are compressed internally either way).
    rng : numpy.random.Generator
        Chooses the malformed lines and duplicates.
    taken : set of str
        Paths written so far in this run; a clash moves the upload one second later.
    building_id : str
        The landing folder's building (``landing.day_folder``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    arrival = table["arrival_ms"].to_numpy()
    gateway = table["gateway"].to_numpy()
    boundaries = np.flatnonzero((np.diff(arrival) != 0) | (np.diff(gateway) != 0)) + 1
    starts = np.concatenate([[0], boundaries]).astype(int)
    ends = np.concatenate([boundaries, [len(arrival)]]).astype(int)
    n_files = len(starts)
    malformed_in = np.bincount(
        rng.integers(0, n_files, rng.poisson(MALFORMED_PER_DAY)), minlength=n_files
    )
    duplicates_in = np.bincount(
        rng.integers(0, n_files, rng.poisson(DUPLICATES_PER_DAY)), minlength=n_files
    )
    counts = WriteCounts()
    for k in range(n_files if len(arrival) else 0):
        rows = table.slice(starts[k], ends[k] - starts[k])
        n_dup = min(int(duplicates_in[k]), rows.num_rows)
        resent = rows.take(np.sort(rng.choice(rows.num_rows, n_dup, replace=False)))
        data, n_bad = _encode(rows, resent, fmt=fmt, n_malformed=int(malformed_in[k]), rng=rng)
        if gzip and fmt != "parquet":
            data = gzip_module.compress(data, compresslevel=3, mtime=0)
        arrival_ms = int(arrival[starts[k]])
        path = file_name(int(gateway[starts[k]]), arrival_ms, fmt, gzip, building_id)
        while path in taken:
            arrival_ms += 1000
            path = file_name(int(gateway[starts[k]]), arrival_ms, fmt, gzip, building_id)
        taken.add(path)
        zone.write_bytes(path, data)
        counts.add(WriteCounts(1, rows.num_rows, n_bad, n_dup, len(data)))
    return counts


def _encode(
    rows: pa.Table, resent: pa.Table, *, fmt: str, n_malformed: int, rng
) -> tuple[bytes, int]:
    """File content: the rows, re-sent rows at the end, malformed lines at random places."""
    if fmt == "parquet":
        bad = _out_of_range_rows(rows, n_malformed, rng)
        frame = pa.concat_tables([_plain(rows), _plain(resent), bad])
        buffer = io.BytesIO()
        pq.write_table(frame, buffer)
        return buffer.getvalue(), bad.num_rows
    lines = pa.concat_arrays([format_lines(rows, fmt=fmt), format_lines(resent, fmt=fmt)])
    bad_lines = [_malformed_line(rows, fmt, rng) for _ in range(n_malformed)]
    positions = np.sort(rng.integers(0, len(lines) + 1, len(bad_lines)))
    pieces, cursor = [], 0
    for position, bad in zip(positions, bad_lines, strict=True):
        pieces += [lines.slice(cursor, position - cursor), pa.array([bad + "\n"], pa.string())]
        cursor = position
    pieces.append(lines.slice(cursor))
    header = (CSV_HEADER + "\n").encode() if fmt == "csv" else b""
    return header + b"".join(_string_bytes(p) for p in pieces), len(bad_lines)


def format_lines(rows: pa.Table, *, fmt: str = "line") -> pa.StringArray:
    """One text line per row, each ending in a newline, e.g.
    ``sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,``.
    """
    before_id, before_ts, before_value, after_value = _LINE_PARTS[fmt]
    ids = rows["sensor_id"].combine_chunks()
    if isinstance(ids.type, pa.DictionaryType):
        prefix = pc.take(
            pc.binary_join_element_wise(before_id, ids.dictionary, before_ts, ""), ids.indices
        )
    else:
        prefix = pc.binary_join_element_wise(before_id, ids, before_ts, "")
    return pc.binary_join_element_wise(
        prefix,
        pc.cast(rows["timestamp_ms"].combine_chunks(), pa.string()),
        before_value,
        format_values(rows["value"].to_numpy()),
        after_value + "\n",
        "",
    )


def format_values(values: np.ndarray) -> pa.StringArray:
    """Values with exactly one decimal (``1.0``, ``23.9``, ``-0.5``), via integer tenths."""
    tenths = np.rint(np.asarray(values, dtype=np.float64) * 10).astype(np.int64)
    sign = pa.array(np.where(tenths < 0, "-", ""), pa.string())
    magnitude = np.abs(tenths)
    whole = pc.binary_join_element_wise(sign, pc.cast(pa.array(magnitude // 10), pa.string()), "")
    return pc.binary_join_element_wise(whole, pc.cast(pa.array(magnitude % 10), pa.string()), ".")


def _malformed_line(rows: pa.Table, fmt: str, rng: np.random.Generator) -> str:
    """A broken line of one of five kinds, built from a real row of the file."""
    row = rows.slice(int(rng.integers(0, rows.num_rows)), 1)
    sensor_id = row["sensor_id"].cast(pa.string())[0].as_py()
    timestamp = row["timestamp_ms"][0].as_py()
    before_id, before_ts, before_value, after_value = _LINE_PARTS[fmt]
    head = f"{before_id}{sensor_id}{before_ts}{timestamp}"
    kind = rng.integers(0, 5)
    if kind == 0:
        return "".join(rng.choice(list("#@!~?%&*xq0129 ZK"), int(rng.integers(5, 40))))
    if kind == 1:
        return f"{head}{before_value}abc{after_value}"
    if kind == 2:  # the value field is missing
        return f"{head}{after_value}"
    if kind == 3:
        bad = _out_of_range_value(sensor_id, rng)
        return f"{head}{before_value}{format_values(np.array([bad]))[0].as_py()}{after_value}"
    full = format_lines(row, fmt=fmt)[0].as_py().rstrip("\n")
    return full[: int(rng.integers(5, len(full) - 3))]  # truncated mid-line


def _out_of_range_value(sensor_id: str, rng: np.random.Generator) -> float:
    if not is_gateway_id(sensor_id):  # no type letter (co2, people counters): below every type
        return min(t.min_value for t in SENSOR_TYPES.values()) - rng.uniform(1, 1000)
    kind = SENSOR_TYPES[TYPE_BY_LETTER[sensor_id[-1]]]
    if rng.random() < 0.5:
        return kind.max_value + rng.uniform(1, 1000)
    return kind.min_value - rng.uniform(1, 1000)


def _out_of_range_rows(rows: pa.Table, n: int, rng) -> pa.Table:
    picked = _plain(rows).take(rng.integers(0, rows.num_rows, n)) if n else _plain(rows).slice(0, 0)
    ids = picked["sensor_id"].to_pylist()
    values = np.round([_out_of_range_value(s, rng) for s in ids], 1) if ids else np.zeros(0)
    return picked.set_column(2, "value", pa.array(values, pa.float64()))


def _plain(rows: pa.Table) -> pa.Table:
    """The three observation columns as written to Parquet uploads."""
    return pa.table(
        {
            "sensor_id": rows["sensor_id"].cast(pa.string()),
            "timestamp": rows["timestamp_ms"],
            "value": rows["value"],
        }
    )


def _string_bytes(strings: pa.Array) -> bytes:
    """The concatenated UTF-8 bytes of a string array, without copying per element."""
    if len(strings) == 0:
        return b""
    _, offsets, data = strings.buffers()
    width = 8 if pa.types.is_large_string(strings.type) else 4
    dtype = np.int64 if width == 8 else np.int32
    bounds = np.frombuffer(
        offsets, dtype=dtype, count=len(strings) + 1, offset=strings.offset * width
    )
    return data[bounds[0] : bounds[-1]].to_pybytes()
