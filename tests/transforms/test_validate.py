"""validate_observations on parsed real landing files: what is kept, quarantined and why."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import math

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snuk_assets.sensor_types import SENSOR_TYPES
from snuk_assets.transforms.ingest.parse import parse_landing_file
from snuk_assets.transforms.ingest.validate import (
    KEPT_SCHEMA,
    QUARANTINE_SCHEMA,
    ValidationResult,
    empty_kept_table,
    empty_quarantine_table,
    validate_observations,
)

ARRIVAL_DAY = dt.date(2016, 8, 14)
DAY_START_MS = 1471132800000  # 2016-08-14T00:00:00Z
FOLDER = "raw_data/2016/08/14"
MOTION = "8514-294-220-250-m"
TEMPERATURE = "7513-133-195-250-t"


def line(sensor_id: str, ts_ms: int, value: object) -> str:
    return f"sensor_id='{sensor_id}', timestamp={ts_ms}, value={value},"


def validate_files(files: dict[str, bytes], **options: object) -> ValidationResult:
    """Parse each file and validate them together, as one arrival day."""
    parsed = pa.concat_tables(parse_landing_file(name, data) for name, data in files.items())
    result = validate_observations(parsed, arrival_day=ARRIVAL_DAY, **options)
    assert_accounting(result)
    return result


def validate_lines(*lines: str, **options: object) -> ValidationResult:
    return validate_files({f"{FOLDER}/gw.txt": "\n".join(lines).encode()}, **options)


def assert_accounting(result: ValidationResult) -> None:
    assert result.rows_read == result.rows_kept + result.rows_quarantined + result.rows_duplicate
    assert result.rows_kept == result.kept.num_rows
    assert result.rows_quarantined == result.quarantined.num_rows
    assert sum(result.reasons.values()) == result.rows_quarantined
    assert result.kept.schema == KEPT_SCHEMA
    assert result.quarantined.schema == QUARANTINE_SCHEMA


def kept_rows(result: ValidationResult) -> list[tuple]:
    kept = result.kept
    return list(
        zip(
            kept["sensor_id"].to_pylist(),
            kept["ts"].to_pylist(),
            kept["value"].to_pylist(),
            strict=True,
        )
    )


def only_reason(result: ValidationResult) -> str:
    assert result.rows_quarantined == 1, result.quarantined.to_pylist()
    return result.quarantined["reason"][0].as_py()


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_sample_lines_are_kept_with_their_times_and_values() -> None:
    result = validate_lines(
        line(MOTION, 1471020341000, 1.0), line(TEMPERATURE, 1471132306000, 23.9)
    )
    assert kept_rows(result) == [
        (TEMPERATURE, utc(2016, 8, 13, 23, 51, 46), 23.9),
        (MOTION, utc(2016, 8, 12, 16, 45, 41), 1.0),
    ]
    assert result.kept["date"].to_pylist() == [ARRIVAL_DAY] * 2
    assert result.kept["source_file"].to_pylist() == [f"{FOLDER}/gw.txt"] * 2
    assert result.rows_quarantined == result.rows_duplicate == 0
    assert result.reasons == {}


def encode(records: list[tuple], file_format: str) -> bytes:
    if file_format == "txt":
        return "".join(line(*record) + "\n" for record in records).encode()
    if file_format == "jsonl":
        keys = ("sensor_id", "timestamp", "value")
        return "".join(json.dumps(dict(zip(keys, r, strict=True))) + "\n" for r in records).encode()
    if file_format == "csv":
        return (
            "sensor_id,timestamp,value\n" + "".join(f"{s},{t},{v}\n" for s, t, v in records)
        ).encode()
    sensor_ids, timestamps, values = zip(*records, strict=True)
    sink = io.BytesIO()
    pq.write_table(
        pa.table({"sensor_id": sensor_ids, "timestamp": timestamps, "value": values}), sink
    )
    return sink.getvalue()


@pytest.mark.parametrize("file_format", ["txt", "jsonl", "csv", "parquet"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_every_format_keeps_the_same_rows(file_format: str, gzipped: bool) -> None:
    records = [
        (TEMPERATURE, 1471132306000, 23.9),
        (MOTION, 1471020341000, 1.0),
        (MOTION, 1471020341000, 1.0),  # duplicate
        ("7513-133-195-250-h", 1471132306500, 55.5),
        (TEMPERATURE, 1471132306000, 99.0),  # out of range
    ]
    data = encode(records, file_format)
    name = f"{FOLDER}/gw.{file_format}" + (".gz" if gzipped else "")
    result = validate_files({name: gzip.compress(data) if gzipped else data})
    reference = validate_files({f"{FOLDER}/gw.txt": encode(records, "txt")})
    assert kept_rows(result) == kept_rows(reference)
    assert (result.rows_kept, result.rows_duplicate, result.rows_quarantined) == (3, 1, 1)


MALFORMED = {
    "bad number": line(TEMPERATURE, "14710x", 23.9),
    "missing field": f"sensor_id='{TEMPERATURE}', timestamp=1471132306000,",
    "unparseable line": "hello, gateway",
    "non-integer timestamp": line(TEMPERATURE, "1471132306000.5", 23.9),
    "too late": line(TEMPERATURE, DAY_START_MS - 3 * 86_400_000 - 1, 23.9),
    "in the future": line(TEMPERATURE, DAY_START_MS + 86_400_000, 23.9),
    "value out of range": line(TEMPERATURE, 1471132306000, 60.5),
    "value not finite": line(TEMPERATURE, 1471132306000, "inf"),
    "invalid sensor id": line("7513\x07133", 1471132306000, 23.9),
    "unknown sensor type": line("Room 2.14 CO2", 1471132306000, 23.9),
}


@pytest.mark.parametrize("category", sorted(MALFORMED))
def test_each_malformed_line_is_quarantined_with_its_reason(category: str) -> None:
    result = validate_lines(line(MOTION, 1471020341000, 1), MALFORMED[category])
    assert result.reasons == {category: 1}
    assert only_reason(result).startswith(f"{category}") and ": " in only_reason(result)
    assert result.quarantined["line_number"].to_pylist() == [2]
    assert result.quarantined["raw_text"].to_pylist() == [MALFORMED[category]]
    assert result.quarantined["date"].to_pylist() == [ARRIVAL_DAY]
    assert kept_rows(result) == [(MOTION, utc(2016, 8, 12, 16, 45, 41), 1.0)]


def test_reasons_name_the_value_and_the_rule() -> None:
    assert only_reason(validate_lines(line(TEMPERATURE, 1470736800000, 20.0))) == (
        "too late: measured 2016-08-09T10:00:00Z, 4.6 days before the arrival day 2016-08-14; "
        "max_lateness is 3 days"
    )
    assert only_reason(validate_lines(line(TEMPERATURE, DAY_START_MS + 86_400_000, 20.0))) == (
        "in the future: measured 2016-08-15T00:00:00Z, after the end of the arrival day "
        "2016-08-14 (2016-08-15T00:00:00Z)"
    )
    assert only_reason(validate_lines(line(MOTION, 1471020341000, 0.5))) == (
        f"value out of range: 0.5 from motion sensor {MOTION}; expected exactly 0 or 1"
    )
    assert only_reason(validate_lines(line(TEMPERATURE, 1471020341000, -40))) == (
        f"value out of range: -40.0 from temperature sensor {TEMPERATURE}; "
        "expected -30 to 60 degrees Celsius"
    )
    assert only_reason(
        validate_lines(line(TEMPERATURE, 1471020341000, 23.9), max_lateness=dt.timedelta(hours=12))
    ).endswith("max_lateness is 12 hours")


def test_an_unknown_sensor_type_says_how_to_list_the_sensor() -> None:
    assert only_reason(validate_lines(line("Room 2.14 CO2", 1471020341000, 23.9))) == (
        "unknown sensor type: sensor 'Room 2.14 CO2' is not in the registry and has not the "
        "gateway's shape NNNN-NNN-NNN-NNN-x (x one of m, t, h, l); list it in the registry's "
        "sensors with its type"
    )


def test_window_edges() -> None:
    earliest = DAY_START_MS - 3 * 86_400_000
    last = DAY_START_MS + 86_400_000 - 1
    result = validate_lines(
        line(TEMPERATURE, earliest, 20.0),
        line(TEMPERATURE, last, 20.0),
        line(TEMPERATURE, earliest - 1, 20.0),
        line(TEMPERATURE, last + 1, 20.0),
    )
    assert [ts for _, ts, _ in kept_rows(result)] == [
        utc(2016, 8, 11),
        utc(2016, 8, 14, 23, 59, 59, 999000),
    ]
    assert result.reasons == {"too late": 1, "in the future": 1}


def test_value_range_edges_are_inclusive() -> None:
    result = validate_lines(
        line(TEMPERATURE, 1471020341000, -30),
        line(TEMPERATURE, 1471020341001, 60),
        line("1-2-3-4-h", 1471020341000, 0),
        line("1-2-3-4-h", 1471020341001, 100),
        line("1-2-3-4-l", 1471020341000, 100000),
        line(MOTION, 1471020341000, 0),
        line(MOTION, 1471020341001, 1),
        line("1-2-3-4-l", 1471020341001, -0.1),
    )
    assert result.rows_kept == 7
    assert result.reasons == {"value out of range": 1}


def test_file_level_problems_are_quarantined_without_a_line_number() -> None:
    records = [(MOTION, 1471020341000 + i, i % 2) for i in range(200)]
    gzipped = gzip.compress(encode(records, "txt"))
    result = validate_files(
        {
            f"{FOLDER}/cut.txt.gz": gzipped[: len(gzipped) // 2],
            f"{FOLDER}/broken.parquet": b"PAR1 this is no parquet file",
        }
    )
    file_rows = result.quarantined.filter(result.quarantined["line_number"].is_null())
    assert sorted(file_rows["source_file"].to_pylist()) == [
        f"{FOLDER}/broken.parquet",
        f"{FOLDER}/cut.txt.gz",
    ]
    assert result.reasons["unreadable parquet"] == 1
    assert result.reasons["truncated gzip"] >= 1
    # Each complete line that decompressed before the cut is kept.
    assert 0 < result.rows_kept < len(records)
    assert set(result.kept["source_file"].to_pylist()) == {f"{FOLDER}/cut.txt.gz"}


def test_duplicates_within_and_across_files_are_kept_once() -> None:
    first = encode([(MOTION, 1471020341000, 1.0), (MOTION, 1471020341000, 1.0)], "txt")
    second = encode([(TEMPERATURE, 1471132306000, 23.9), (MOTION, 1471020341000, 1.0)], "txt")
    third = encode(
        [(TEMPERATURE, 1471132306000, 23.9), (TEMPERATURE, 1471132306000, 24.0)], "jsonl"
    )
    result = validate_files(
        {f"{FOLDER}/b.txt": second, f"{FOLDER}/a.txt": first, f"{FOLDER}/c.jsonl": third}
    )
    assert result.rows_read == 6
    assert result.rows_duplicate == 3
    assert kept_rows(result) == [
        (TEMPERATURE, utc(2016, 8, 13, 23, 51, 46), 23.9),
        (TEMPERATURE, utc(2016, 8, 13, 23, 51, 46), 24.0),  # another value is no duplicate
        (MOTION, utc(2016, 8, 12, 16, 45, 41), 1.0),
    ]
    # The first by source_file, then line number, is the one kept.
    assert result.kept["source_file"].to_pylist() == [
        f"{FOLDER}/b.txt",
        f"{FOLDER}/c.jsonl",
        f"{FOLDER}/a.txt",
    ]


def test_quarantined_rows_are_never_deduplicated() -> None:
    broken = line(TEMPERATURE, "14710x", 23.9)
    result = validate_lines(
        broken, broken, line(MOTION, 1471020341000, 0.5), line(MOTION, 1471020341000, 0.5)
    )
    assert result.rows_quarantined == 4
    assert result.rows_duplicate == 0


def test_kept_rows_are_sorted_by_sensor_and_time() -> None:
    result = validate_lines(
        line(TEMPERATURE, 1471132306000, 23.0),
        line(MOTION, 1471020341000, 1),
        line(TEMPERATURE, 1471132305000, 22.0),
        line(MOTION, 1471020340000, 0),
    )
    keys = [(sensor_id, ts) for sensor_id, ts, _ in kept_rows(result)]
    assert keys == sorted(keys)


def test_unknown_sensors_are_counted_and_kept() -> None:
    result = validate_lines(
        line(MOTION, 1471020341000, 1),
        line(TEMPERATURE, 1471132306000, 23.9),
        line(TEMPERATURE, 1471132307000, 23.8),
        known_sensor_ids=frozenset({MOTION}),
    )
    assert result.unknown_sensors == {TEMPERATURE: 2}
    assert result.rows_kept == 3
    assert validate_lines(line(MOTION, 1471020341000, 1)).unknown_sensors == {}


def test_empty_input_and_empty_tables() -> None:
    result = validate_files({f"{FOLDER}/empty.txt": b""})
    assert (result.rows_read, result.rows_kept, result.rows_quarantined) == (0, 0, 0)
    assert empty_kept_table().schema == KEPT_SCHEMA and empty_kept_table().num_rows == 0
    assert empty_quarantine_table().schema == QUARANTINE_SCHEMA
    assert empty_quarantine_table().num_rows == 0


def test_programming_errors_raise() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        validate_observations(pa.table({"sensor_id": ["x"]}), arrival_day=ARRIVAL_DAY)
    parsed = parse_landing_file("gw.txt", b"")
    with pytest.raises(ValueError, match="must not be negative"):
        validate_observations(parsed, arrival_day=ARRIVAL_DAY, max_lateness=-dt.timedelta(1))


VALID_LINES = st.builds(
    line,
    st.sampled_from([MOTION, TEMPERATURE, "1-22-333-4444-h", "99-1-1-1-l"]),
    st.integers(DAY_START_MS - 3 * 86_400_000, DAY_START_MS + 86_400_000 - 1),
    # Few distinct values, so that duplicates within a file are common.
    st.sampled_from([0, 1]),
)
BROKEN_LINES = st.one_of(
    st.sampled_from(sorted(MALFORMED.values())),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), min_size=1)
    # Whitespace-only lines are blank, not records; nothing with sensor_id could be valid.
    .filter(lambda text: text.strip() != "" and "sensor_id" not in text),
)
LINE_MIXES = st.lists(
    st.one_of(
        VALID_LINES.map(lambda text: (True, text)), BROKEN_LINES.map(lambda text: (False, text))
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mix=LINE_MIXES)
def test_any_mix_of_lines_is_accounted_for(mix: list[tuple[bool, str]]) -> None:
    data = "\n".join(text for _, text in mix).encode()
    # The same lines twice, once gzipped: every valid line of the second file is a duplicate.
    plain, gzipped = f"{FOLDER}/gw.txt", f"{FOLDER}/gw.txt.gz"
    result = validate_files({plain: data, gzipped: gzip.compress(data)})

    broken_lines = {number for number, (valid, _) in enumerate(mix, start=1) if not valid}
    for source_file in (plain, gzipped):
        of_file = pc.equal(result.quarantined["source_file"], source_file)
        quarantined = result.quarantined.filter(of_file)
        assert sorted(quarantined["line_number"].to_pylist()) == sorted(broken_lines)
        assert all(reason and ": " in reason for reason in quarantined["reason"].to_pylist())
    assert result.rows_read == 2 * len(mix)
    distinct_valid = {text for valid, text in mix if valid}
    assert result.rows_kept == len(distinct_valid)
    assert set(result.kept["source_file"].to_pylist()) <= {plain}


# Values at each type's plausible-range edges and one ulp either side, and times at the arrival
# window's edges and one millisecond either side, drawn on purpose (a uniform draw almost never
# lands on them); the oracle is the rule as the README states it.
SENSOR_OF_TYPE = {
    "motion": MOTION,
    "temperature": TEMPERATURE,
    "humidity": "1-22-333-4444-h",
    "luminosity": "99-1-1-1-l",
}
EARLIEST_MS = DAY_START_MS - 3 * 86_400_000  # max_lateness 3 days before the arrival day
END_MS = DAY_START_MS + 86_400_000  # the arrival day's end (exclusive)


@st.composite
def edge_readings(draw) -> tuple[str, float, int]:
    type_name = draw(st.sampled_from(sorted(SENSOR_OF_TYPE)))
    lo, hi = SENSOR_TYPES[type_name].min_value, SENSOR_TYPES[type_name].max_value
    edges = [lo, hi, *(math.nextafter(x, d) for x in (lo, hi) for d in (-math.inf, math.inf))]
    value = draw(st.one_of(st.sampled_from(edges), st.floats(lo - 1, hi + 1)))
    ts_edges = [EARLIEST_MS - 1, EARLIEST_MS, END_MS - 1, END_MS]
    ts = draw(st.one_of(st.sampled_from(ts_edges), st.integers(EARLIEST_MS - 10, END_MS + 10)))
    return type_name, value, ts


@settings(max_examples=200, deadline=None)
@given(readings=st.lists(edge_readings(), min_size=1, max_size=20))
def test_range_and_window_edges_keep_exactly_the_plausible_readings(readings) -> None:
    lines = [line(SENSOR_OF_TYPE[t], ts + i, repr(v)) for i, (t, v, ts) in enumerate(readings)]
    result = validate_lines(*lines)
    expected = []
    for i, (type_name, value, ts) in enumerate(readings):
        sensor_type = SENSOR_TYPES[type_name]
        if type_name == "motion":
            plausible = value in (0.0, 1.0)
        else:
            plausible = sensor_type.min_value <= value <= sensor_type.max_value
        if plausible and EARLIEST_MS <= ts + i < END_MS:
            expected.append((SENSOR_OF_TYPE[type_name], ts + i, value))
    got = [(s, round(t.timestamp() * 1000), v) for s, t, v in kept_rows(result)]
    # Two drawn readings can be the same line (sensor, time and value): kept once, a duplicate.
    assert sorted(got) == sorted(set(expected))
