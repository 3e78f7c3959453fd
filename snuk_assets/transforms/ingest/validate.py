"""Split the parsed observations of one arrival day into rows to keep and rows to quarantine.

Every row read ends in exactly one place: kept, quarantined with a reason, or dropped as an
exact duplicate of a kept row, so ``rows_read == rows_kept + rows_quarantined + rows_duplicate``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.sensor_types import (
    ALLOWED_STATES,
    SensorCatalog,
    sensor_id_problem,
    valid_sensor_ids,
)
from snuk_assets.transforms.ingest.parse import PARSED_SCHEMA
from snuk_assets.transforms.order import DistinctValues

KEPT_SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("value", pa.float64()),
        ("date", pa.date32()),
        ("source_file", pa.string()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("raw_text", pa.string()),
        ("raw_length", pa.int64()),
        ("reason", pa.string()),
    ]
)

_MS_PER_DAY = 86_400_000
_EPOCH_DAY = dt.date(1970, 1, 1)
_ID_EXPECTED = "expected 1 to 200 printable characters, not only blanks"


@dataclass
class ValidationResult:
    """What became of the parsed rows of one arrival day.

    Attributes
    ----------
    kept
        :data:`KEPT_SCHEMA`: ``sensor_id``, ``ts`` (measurement time, UTC, ms), ``value`` (in the
        sensor type's unit), ``date`` (the arrival day), ``source_file``; sorted by
        ``sensor_id``, ``ts``; no two rows with the same sensor_id, ts and value.
    quarantined
        :data:`QUARANTINE_SCHEMA`: ``date`` (arrival day), ``source_file``, ``line_number``
        (null for a whole-file problem), ``raw_text`` (at most
        :data:`~snuk_assets.transforms.ingest.parse.RAW_TEXT_MAX_CHARS` characters), ``raw_length``
        (the whole line's length in UTF-8 bytes), ``reason`` (``"<category>: <details>"``).
    rows_read, rows_kept, rows_quarantined, rows_duplicate
        Row counts; ``rows_read == rows_kept + rows_quarantined + rows_duplicate``.
    reasons
        Quarantined rows per reason category (the text before the first colon).
    unknown_sensors
        Kept rows per sensor id of the gateway's shape that is not a known sensor.
    """

    kept: pa.Table
    quarantined: pa.Table
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    rows_duplicate: int
    reasons: dict[str, int]
    unknown_sensors: dict[str, int]


def empty_kept_table() -> pa.Table:
    """A kept table (:data:`KEPT_SCHEMA`) without rows."""
    return KEPT_SCHEMA.empty_table()


def empty_quarantine_table() -> pa.Table:
    """A quarantine table (:data:`QUARANTINE_SCHEMA`) without rows."""
    return QUARANTINE_SCHEMA.empty_table()


def validate_observations(
    parsed: pa.Table,
    *,
    arrival_day: dt.date,
    max_lateness: dt.timedelta = dt.timedelta(days=3),
    known_sensor_ids: frozenset[str] | None = None,
    catalog: SensorCatalog | None = None,
) -> ValidationResult:
    """Keep the plausible observations of one arrival day and quarantine the rest with a reason.

    Parameters
    ----------
    parsed
        Rows of :data:`~.parse.PARSED_SCHEMA` (``sensor_id``, ``ts_ms`` in
        ms since 1970-01-01 UTC, ``value``, ``line_number``, ``raw_text``, ``source_file``,
        ``error``), typically several files of the day concatenated.
    arrival_day
        The UTC day the files arrived (their landing folder). Measurements must lie in
        ``[arrival_day 00:00 UTC - max_lateness, arrival_day + 1 day 00:00 UTC)``.
    max_lateness
        How long before its arrival day an observation may have been measured.
    known_sensor_ids
        The building's sensors. Kept rows from other well-formed ids are counted in
        ``unknown_sensors`` but still kept; ``None`` skips the count.
    catalog
        The building's sensor types and each registered sensor's type (range checks); by
        default the built-in types, with the gateway id's letter naming the type.

    Returns
    -------
    ValidationResult
        A row is quarantined, first rule first, for: a parse ``error``; an id that is not
        1..200 printable characters or only blanks; an id without a type (not in ``catalog``,
        not of the gateway's shape); a value that is not finite; a value outside
        its type's range (a motion or contact value other than 0 or 1); a measurement before
        the lateness window ("too late") or after the arrival day ("in the future"). Of valid
        rows with equal sensor_id, ts and value, the first by source_file, line_number is kept
        and the others are duplicates.
    """
    if max_lateness < dt.timedelta(0):
        raise ValueError(f"max_lateness must not be negative, got {max_lateness}")
    missing = [name for name in PARSED_SCHEMA.names if name not in parsed.column_names]
    if missing:
        raise ValueError(
            f"parsed table lacks columns {missing}; pass the output of parse_landing_file"
        )
    parsed = parsed.select(PARSED_SCHEMA.names).cast(PARSED_SCHEMA)
    day = arrival_day.date() if isinstance(arrival_day, dt.datetime) else arrival_day
    catalog = catalog or SensorCatalog()
    ids = DistinctValues(parsed["sensor_id"])
    types = ids.per_row(catalog.type_names)
    rule = _first_failing_rule(parsed, ids, types, catalog, day=day, max_lateness=max_lateness)
    bad = rule > 0
    unique, rows_duplicate = _drop_duplicates(parsed, ids, np.flatnonzero(~bad))
    kept = _kept_table(unique, day)
    quarantined = _quarantine_table(
        parsed.append_column("sensor_type", types),
        rule,
        catalog,
        day=day,
        max_lateness=max_lateness,
    )
    return ValidationResult(
        kept=kept,
        quarantined=quarantined,
        rows_read=parsed.num_rows,
        rows_kept=kept.num_rows,
        rows_quarantined=quarantined.num_rows,
        rows_duplicate=rows_duplicate,
        reasons=_count(_reason_categories(quarantined["reason"])),
        unknown_sensors=_unknown_sensors(kept, known_sensor_ids),
    )


def _window_ms(day: dt.date, max_lateness: dt.timedelta) -> tuple[int, int, int]:
    """Earliest allowed, start of the arrival day and end of it, in ms since the epoch."""
    day_start = (day - _EPOCH_DAY).days * _MS_PER_DAY
    return (
        day_start - max_lateness // dt.timedelta(milliseconds=1),
        day_start,
        day_start + _MS_PER_DAY,
    )


def _first_failing_rule(
    parsed: pa.Table,
    ids: DistinctValues,
    types: pa.Array,
    catalog: SensorCatalog,
    *,
    day: dt.date,
    max_lateness: dt.timedelta,
) -> np.ndarray:
    """Per row, the number of the first rule of :data:`_RULE_MESSAGES` it fails; 0 if none."""
    sensor_id, ts_ms, value = parsed["sensor_id"], parsed["ts_ms"], parsed["value"]
    earliest, _, end = _window_ms(day, max_lateness)
    well_formed = ids.per_row(valid_sensor_ids)
    ts = _numpy(ts_ms, fill=0)
    values = _numpy(value, fill=0.0)
    failing = [
        _numpy(parsed["error"].is_valid()),
        _numpy(pc.or_(pc.or_(sensor_id.is_null(), ts_ms.is_null()), value.is_null())),
        ~_numpy(well_formed),
        _numpy(types.is_null()),
        ~np.isfinite(values),
        _out_of_range(types, values, catalog),
        ts < earliest,
        ts >= end,
    ]
    rule = np.zeros(parsed.num_rows, dtype=np.int8)
    for number, fails in enumerate(failing, start=1):
        rule[(rule == 0) & fails] = number
    return rule


def _out_of_range(types: pa.Array, values: np.ndarray, catalog: SensorCatalog) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    # The rows of a type by its index among the few distinct types, not string comparisons.
    present = DistinctValues(types)
    index = _numpy(present.indices, fill=-1)
    position = {name: i for i, name in enumerate(present.distinct.to_pylist())}
    for sensor_type in catalog.types.values():
        if sensor_type.name not in position:
            continue
        of_type = index == position[sensor_type.name]
        if sensor_type.name in ALLOWED_STATES:
            plausible = np.isin(values, ALLOWED_STATES[sensor_type.name])
        else:
            plausible = (values >= sensor_type.min_value) & (values <= sensor_type.max_value)
        out |= of_type & ~plausible
    return out


def _numpy(array: pa.ChunkedArray | pa.Array, *, fill: object = False) -> np.ndarray:
    return pc.fill_null(array, fill).to_numpy(zero_copy_only=False)


def _drop_duplicates(
    parsed: pa.Table, ids: DistinctValues, valid: np.ndarray
) -> tuple[pa.Table, int]:
    """Of the ``valid`` rows (their indices into ``parsed``), sorted by sensor_id, ts_ms and
    value, keep the first of equal (sensor_id, ts_ms, value) rows by source_file, line_number.

    Sorted with numpy on the ids' ranks (``transforms.order``) and the files' (a stable
    lexsort, as Arrow's sort_by is; nulls last), and only the kept columns are taken: sorting
    the parsed table by its string columns took most of a file's validation.
    """
    last = np.iinfo(np.int64).max
    sensor = ids.ranks()[valid]
    ts = _numpy(parsed["ts_ms"], fill=last)[valid]
    value = _numpy(parsed["value"], fill=np.inf)[valid]
    line = _numpy(parsed["line_number"], fill=last)[valid]
    files = DistinctValues(parsed["source_file"])
    if len(files.distinct) == 1 and files.indices.null_count == 0 and _increasing(line):
        # One file in line order (a landing file's rows): the stable sort keeps that order.
        by_key = np.lexsort((value, ts, sensor))
    else:
        by_key = np.lexsort((line, files.ranks()[valid], value, ts, sensor))
    sensor, ts, value = sensor[by_key], ts[by_key], value[by_key]
    repeat = np.zeros(len(by_key), dtype=bool)
    repeat[1:] = (sensor[1:] == sensor[:-1]) & (ts[1:] == ts[:-1]) & (value[1:] == value[:-1])
    kept = pa.array(valid[by_key[~repeat]])
    columns = parsed.select(["sensor_id", "ts_ms", "value", "source_file"])
    return columns.take(kept).combine_chunks(), int(repeat.sum())


def _increasing(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] > values[:-1]))


def _kept_table(valid: pa.Table, day: dt.date) -> pa.Table:
    return pa.table(
        [
            valid["sensor_id"],
            valid["ts_ms"].cast(pa.timestamp("ms", tz="UTC")),
            valid["value"],
            pa.repeat(pa.scalar(day, pa.date32()), valid.num_rows),
            valid["source_file"],
        ],
        schema=KEPT_SCHEMA,
    )


def _quarantine_table(
    parsed: pa.Table,
    rule: np.ndarray,
    catalog: SensorCatalog,
    *,
    day: dt.date,
    max_lateness: dt.timedelta,
) -> pa.Table:
    bad_rows = np.flatnonzero(rule)
    bad = parsed.take(pa.array(bad_rows))
    reasons = [
        _out_of_range_message(row, catalog)
        if number == _OUT_OF_RANGE
        else _RULE_MESSAGES[number](row, day, max_lateness)
        for number, row in zip(rule[bad_rows].tolist(), bad.to_pylist(), strict=True)
    ]
    quarantined = pa.table(
        [
            pa.repeat(pa.scalar(day, pa.date32()), bad.num_rows),
            bad["source_file"],
            bad["line_number"],
            bad["raw_text"],
            bad["raw_length"],
            pa.array(reasons, pa.string()),
        ],
        schema=QUARANTINE_SCHEMA,
    )
    return quarantined.sort_by([("source_file", "ascending"), ("line_number", "ascending")])


def _missing_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    names = [name for name in ("sensor_id", "ts_ms", "value") if row[name] is None]
    return f"missing field: {', '.join(names)}"


def _invalid_id_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    sensor_id = row["sensor_id"]
    shown = sensor_id if len(sensor_id) <= 80 else sensor_id[:80] + "..."
    return f"invalid sensor id: {shown!r} {sensor_id_problem(sensor_id)}; {_ID_EXPECTED}"


def _untyped_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    return (
        f"unknown sensor type: sensor {row['sensor_id']!r} is not in the registry and has not "
        "the gateway's shape NNNN-NNN-NNN-NNN-x (x one of m, t, h, l); list it in the "
        "registry's sensors with its type"
    )


def _not_finite_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    return f"value not finite: {row['value']!r} from sensor {row['sensor_id']}"


def _out_of_range_message(row: dict, catalog: SensorCatalog) -> str:
    sensor_id, value = row["sensor_id"], row["value"]
    sensor_type = catalog.types[row["sensor_type"]]
    if sensor_type.name in ALLOWED_STATES:
        allowed = " or ".join(f"{state:g}" for state in ALLOWED_STATES[sensor_type.name])
        expected = f"exactly {allowed}"
    else:
        expected = f"{sensor_type.min_value:g} to {sensor_type.max_value:g} {sensor_type.unit}"
    return (
        f"value out of range: {value!r} from {sensor_type.name} sensor {sensor_id}; "
        f"expected {expected}"
    )


def _too_late_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    _, day_start, _ = _window_ms(day, max_lateness)
    days_before = (day_start - row["ts_ms"]) / _MS_PER_DAY
    return (
        f"too late: measured {_iso(row['ts_ms'])}, {days_before:.1f} days before the arrival "
        f"day {day.isoformat()}; max_lateness is {_describe(max_lateness)}"
        + _unit_hint(row["ts_ms"], day, max_lateness)
    )


def _future_message(row: dict, day: dt.date, max_lateness: dt.timedelta) -> str:
    _, _, end = _window_ms(day, max_lateness)
    return (
        f"in the future: measured {_iso(row['ts_ms'])}, after the end of the arrival day "
        f"{day.isoformat()} ({_iso(end)})" + _unit_hint(row["ts_ms"], day, max_lateness)
    )


# Timestamps in other units, as the factor that turns them into milliseconds.
_OTHER_UNITS = (("seconds", 1000), ("microseconds", 1 / 1000), ("nanoseconds", 1 / 1_000_000))


def _unit_hint(ts: int, day: dt.date, max_lateness: dt.timedelta) -> str:
    """A hint when the timestamp, read in another unit, would fall near the arrival day."""
    earliest, _, end = _window_ms(day, max_lateness)
    slack = 366 * _MS_PER_DAY
    for unit, to_ms in _OTHER_UNITS:
        if earliest - slack <= ts * to_ms < end + slack:
            return (
                f"; the timestamp looks like {unit} since 1970-01-01 UTC "
                f"({_iso(int(ts * to_ms))} if so): timestamps must be milliseconds"
            )
    return ""


# In the order of the rules in _first_failing_rule; rule 1 is the parser's own reason.
_RULE_MESSAGES = {
    1: lambda row, day, max_lateness: row["error"],
    2: _missing_message,
    3: _invalid_id_message,
    4: _untyped_message,
    5: _not_finite_message,
    6: None,  # _out_of_range_message, which needs the catalog
    7: _too_late_message,
    8: _future_message,
}


_OUT_OF_RANGE = 6


def _iso(ts_ms: int) -> str:
    try:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ts_ms)
    except OverflowError:
        return f"{ts_ms} ms since 1970-01-01 UTC"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ts_ms % 1000:03d}Z" if ts_ms % 1000 else f"{text}Z"


def _describe(duration: dt.timedelta) -> str:
    for unit, size in (("day", dt.timedelta(days=1)), ("hour", dt.timedelta(hours=1))):
        if duration % size == dt.timedelta(0):
            count = duration // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return str(duration)


def _reason_categories(reasons: pa.ChunkedArray) -> pa.ChunkedArray:
    """The text before the first colon without the field: "bad number for value" -> "bad number"."""
    before_colon = pc.list_element(pc.split_pattern(reasons, ":", max_splits=1), 0)
    return pc.replace_substring_regex(before_colon, r" for \w+$", "")


def _count(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(values).to_pylist()
    return {item["values"]: item["counts"] for item in sorted(counts, key=lambda c: c["values"])}


def _unknown_sensors(kept: pa.Table, known_sensor_ids: frozenset[str] | None) -> dict[str, int]:
    if known_sensor_ids is None:
        return {}
    known = pa.array(sorted(known_sensor_ids), pa.string())
    unknown = pc.invert(pc.is_in(kept["sensor_id"], value_set=known))
    return _count(kept["sensor_id"].filter(unknown))
