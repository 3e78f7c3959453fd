"""parse_landing_file on real bytes of every landing format, whole and broken."""

from __future__ import annotations

import gzip
import io
import json
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snuk_assets.transforms.ingest.parse import (
    PARSED_SCHEMA,
    RAW_TEXT_MAX_CHARS,
    ParseLimits,
    decode_landing_file,
    parse_landing_file,
)

DAY = "raw_data/2016/08/14"
MOTION_LINE = "sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,"
TEMPERATURE_LINE = "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,"
RECORDS = [
    ("8514-294-220-250-m", 1471020341000, 1.0),
    ("7513-133-195-250-t", 1471132306000, 23.9),
    ("7513-133-195-250-h", 1471132306500, 55.5),
]


def encode(records: list[tuple], file_format: str) -> bytes:
    """The records as the bytes of a landing file in ``file_format``."""
    if file_format == "txt":
        lines = [f"sensor_id='{s}', timestamp={t}, value={v}," for s, t, v in records]
        return "\n".join(lines).encode() + b"\n"
    if file_format == "jsonl":
        lines = [json.dumps({"sensor_id": s, "timestamp": t, "value": v}) for s, t, v in records]
        return "\n".join(lines).encode() + b"\n"
    if file_format == "csv":
        # Columns in another order and an extra one, which the parser must ignore.
        lines = ["value,gateway,sensor_id,timestamp"]
        lines += [f"{v},gw03,{s},{t}" for s, t, v in records]
        return "\r\n".join(lines).encode() + b"\r\n"
    if file_format == "parquet":
        sensor_ids, timestamps, values = zip(*records, strict=True)
        table = pa.table({"sensor_id": sensor_ids, "timestamp": timestamps, "value": values})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    raise ValueError(file_format)


def parsed_rows(table: pa.Table) -> list[tuple]:
    return list(
        zip(
            table["sensor_id"].to_pylist(),
            table["ts_ms"].to_pylist(),
            table["value"].to_pylist(),
            strict=True,
        )
    )


def errors(table: pa.Table) -> dict[int | None, str]:
    """line_number -> error of the rows that did not parse."""
    broken = table.filter(table["error"].is_valid())
    return dict(zip(broken["line_number"].to_pylist(), broken["error"].to_pylist(), strict=True))


def parse_lines(*lines: str, name: str = f"{DAY}/gw.txt") -> pa.Table:
    return parse_landing_file(name, "\n".join(lines).encode())


def test_sample_lines_parse_to_their_values() -> None:
    table = parse_lines(MOTION_LINE, TEMPERATURE_LINE)
    assert table.schema == PARSED_SCHEMA
    assert parsed_rows(table) == [
        ("8514-294-220-250-m", 1471020341000, 1.0),
        ("7513-133-195-250-t", 1471132306000, 23.9),
    ]
    assert table["line_number"].to_pylist() == [1, 2]
    assert table["raw_text"].to_pylist() == [MOTION_LINE, TEMPERATURE_LINE]
    assert table["source_file"].to_pylist() == [f"{DAY}/gw.txt"] * 2
    assert table["error"].null_count == 2


@pytest.mark.parametrize("file_format", ["txt", "jsonl", "csv", "parquet"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_every_format_reads_the_same_records(file_format: str, gzipped: bool) -> None:
    data = encode(RECORDS, file_format)
    name = f"{DAY}/gw03.{file_format}" + (".gz" if gzipped else "")
    table = parse_landing_file(name, gzip.compress(data) if gzipped else data)
    assert table.schema == PARSED_SCHEMA
    assert errors(table) == {}
    assert parsed_rows(table) == RECORDS
    first_data_line = 2 if file_format == "csv" else 1
    assert table["line_number"].to_pylist() == [first_data_line + i for i in range(len(RECORDS))]


@pytest.mark.parametrize("suffix", [".json", ".ndjson", ".log", ".dat", ""])
def test_extension_picks_the_format(suffix: str) -> None:
    file_format = "jsonl" if "json" in suffix else "txt"
    table = parse_landing_file(f"{DAY}/gw03{suffix}", encode(RECORDS, file_format))
    assert parsed_rows(table) == RECORDS


def test_parquet_raw_text_is_compact_json_of_the_row() -> None:
    table = parse_landing_file(f"{DAY}/a.parquet", encode(RECORDS[:1], "parquet"))
    assert json.loads(table["raw_text"][0].as_py()) == dict(
        zip(("sensor_id", "timestamp", "value"), RECORDS[0], strict=True)
    )
    assert " " not in table["raw_text"][0].as_py()


def test_gateway_lines_tolerate_whitespace_crlf_and_a_missing_trailing_comma() -> None:
    data = (
        b"  sensor_id = '8514-294-220-250-m' ,timestamp= 1471020341000,value =1.0  \r\n"
        b"\r\n"
        b"sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9\r\n"
        b"\t\n"
    )
    table = parse_landing_file(f"{DAY}/gw.txt", data)
    assert parsed_rows(table) == RECORDS[:2]
    assert table["line_number"].to_pylist() == [1, 3]  # blank lines are not records
    assert not table["raw_text"][1].as_py().endswith("\r")


def test_values_nan_and_inf_parse_for_validation_to_reject() -> None:
    table = parse_lines(
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=nan,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=-inf,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=Infinity,",
    )
    assert errors(table) == {}
    values = table["value"].to_pylist()
    assert values[0] != values[0] and values[1:] == [float("-inf"), float("inf")]


def test_gateway_line_errors_say_what_is_wrong() -> None:
    table = parse_lines(
        "sensor_id='7513-133-195-250-t', timestamp=14710x, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=abc,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000,",
        "this is not an observation",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000.5, value=23.9,",
        "sensor_id=7513-133-195-250-t, timestamp=1471132306000, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=99999999999999999999, value=1,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=1, room=4",
    )
    assert table.num_rows == 8
    found = errors(table)
    assert found[1] == "bad number for timestamp: '14710x'"
    assert found[2] == "bad number for value: 'abc'"
    assert found[3] == "missing field: value"
    assert found[4] == "unparseable line: expected sensor_id='…', timestamp=…, value=…"
    assert found[5].startswith("non-integer timestamp: '1471132306000.5'")
    assert found[6].startswith("unparseable line: sensor_id must be in single quotes")
    assert found[7].startswith("bad number for timestamp: '99999999999999999999'")
    assert found[8].startswith("unparseable line: unexpected or repeated field 'room'")
    assert table["sensor_id"].null_count == 8


def test_whole_number_timestamps_in_other_spellings_are_accepted() -> None:
    table = parse_lines(
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000.0, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=+1471132306000, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=0001471132306000, value=23.9,",
    )
    assert errors(table) == {}
    assert table["ts_ms"].to_pylist() == [1471132306000] * 3


def test_invalid_utf8_fails_only_its_line() -> None:
    data = MOTION_LINE.encode() + b"\nsensor_id='\xff\xfe', timestamp=1, value=1,\n"
    table = parse_landing_file(f"{DAY}/gw.txt", data)
    assert table.num_rows == 2
    assert parsed_rows(table)[0] == RECORDS[0]
    assert "\ufffd" in table["raw_text"][1].as_py()


def test_json_lines_errors() -> None:
    lines = [
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000, "value": 23.9}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": "1471132306000", "value": 23.9}',
        '{"sensor_id": 7513, "timestamp": 1471132306000, "value": 23.9}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000, "value": true}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000, "value": null}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000.5, "value": 1}',
        '{"sensor_id": "7513-133-195-250-t", "timestamp": 1471132306000, "value": NaN}',
        "[1, 2, 3]",
        '{"sensor_id": "7513-133-195-250-t", "timest',
    ]
    table = parse_landing_file(f"{DAY}/a.jsonl", "\n".join(lines).encode())
    found = errors(table)
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 9, 10]
    assert found[2].startswith("wrong type for timestamp: expected whole milliseconds, got str")
    assert found[3].startswith("wrong type for sensor_id: expected a string, got int 7513")
    assert found[4].startswith("wrong type for value: expected a number, got bool true")
    assert found[5] == found[6] == "missing field: value"
    assert found[7] == (
        "non-integer timestamp: '1471132306000.5'"
        " (expected whole milliseconds since 1970-01-01 UTC)"
    )
    assert table["raw_text"][2].as_py() == lines[2]  # the rejected line, as it was
    assert found[9].startswith("unparseable line: expected a JSON object")
    assert found[10].startswith("unparseable line: not valid JSON")
    assert table["value"][7].as_py() != table["value"][7].as_py()  # NaN parses


def test_csv_errors() -> None:
    data = (
        b"sensor_id,timestamp,value\n"
        b"7513-133-195-250-t,1471132306000,23.9\n"
        b"7513-133-195-250-t,1471132306000\n"
        b"7513-133-195-250-t,1471132306000,23.9,extra\n"
        b"7513-133-195-250-t,,23.9\n"
        b"7513-133-195-250-t,14710x,23.9\n"
        b'"7513-133-195-250-t","1471132306000","1e1"\n'
    )
    table = parse_landing_file(f"{DAY}/a.csv", data)
    found = errors(table)
    assert sorted(found) == [3, 4, 5, 6]
    assert found[3] == "bad csv row: expected 3 fields like the header, got 2"
    assert found[4] == "bad csv row: expected 3 fields like the header, got 4"
    assert found[5] == "missing field: timestamp"
    assert found[6] == "bad number for timestamp: '14710x'"
    assert table["value"].to_pylist()[-1] == 10.0


def test_csv_without_a_header_quarantines_every_line_not_the_file() -> None:
    # Not one file-level row: each line is a record, so the file's record count holds.
    table = parse_landing_file(f"{DAY}/a.csv", b"sensor_id,time,value\nx,1,2\n")
    assert table["line_number"].to_pylist() == [1, 2]
    assert set(table["error"].to_pylist()) == {
        "missing column: no header naming sensor_id, timestamp, value (line 1 is not one)"
    }


def test_truncated_gzip_keeps_complete_lines_and_reports_the_cut() -> None:
    lines = [MOTION_LINE, TEMPERATURE_LINE] * 200
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    table = parse_landing_file(f"{DAY}/gw.txt.gz", data[: len(data) // 2])
    complete = table.filter(table["error"].is_null())
    assert complete.num_rows > 0
    assert parsed_rows(complete) == parsed_rows(parse_lines(*lines[: complete.num_rows]))
    broken = table.filter(table["error"].is_valid())
    number_of_complete = complete.num_rows
    # The cut-off last line is an error too, whatever it looks like.
    assert broken["line_number"].to_pylist() in ([number_of_complete + 1, None], [None])
    file_row = broken.filter(broken["line_number"].is_null())
    assert file_row["raw_text"].to_pylist() == [""]
    assert file_row["error"].to_pylist() == [
        f"truncated gzip: file ends after line {number_of_complete}"
    ]


def test_truncated_gzip_never_trusts_a_partial_line_that_looks_complete() -> None:
    data = gzip.compress(f"{MOTION_LINE}\n{TEMPERATURE_LINE}\n".encode())
    inflated = zlib_prefix_ending_at(data, f"{MOTION_LINE}\n{TEMPERATURE_LINE[:-3]}")
    table = parse_landing_file(f"{DAY}/gw.txt.gz", inflated)
    assert errors(table) == {
        2: "truncated gzip: line 2 is incomplete, the file ends inside it",
        None: "truncated gzip: file ends after line 1",
    }


def zlib_prefix_ending_at(gzipped: bytes, wanted_text: str) -> bytes:
    """The shortest prefix of a gzip stream that decompresses to at least ``wanted_text``."""
    for end in range(1, len(gzipped)):
        inflater = zlib.decompressobj(wbits=31)
        if len(inflater.decompress(gzipped[:end])) >= len(wanted_text):
            return gzipped[:end]
    raise AssertionError("the stream never reaches the wanted text")


def test_corrupt_and_empty_gzip_are_reported_not_raised() -> None:
    data = bytearray(gzip.compress(("\n".join([MOTION_LINE] * 1000) + "\n").encode()))
    data[-8] ^= 0xFF  # the CRC-32 of the member's content
    table = parse_landing_file(f"{DAY}/gw.txt.gz", bytes(data))
    assert table.filter(table["error"].is_null()).num_rows == 1000
    assert list(errors(table)) == [None]
    assert errors(table)[None].startswith("corrupt gzip: ")
    assert errors(table)[None].endswith("nothing readable after line 1000")
    empty = parse_landing_file(f"{DAY}/gw.txt.gz", b"")
    assert errors(empty) == {None: "truncated gzip: file ends after line 0"}
    # Content decides: plain text named .gz is read as plain text, line by line.
    not_gzip = parse_landing_file(f"{DAY}/gw.txt.gz", f"{MOTION_LINE}\r{MOTION_LINE}".encode())
    assert parsed_rows(not_gzip) == [RECORDS[0]] * 2


def test_concatenated_gzip_members_are_all_read() -> None:
    data = gzip.compress(f"{MOTION_LINE}\n".encode()) + gzip.compress(
        f"{TEMPERATURE_LINE}\n".encode()
    )
    assert parsed_rows(parse_landing_file(f"{DAY}/gw.txt.gz", data)) == RECORDS[:2]


def test_broken_parquet_is_one_file_level_error() -> None:
    data = encode(RECORDS, "parquet")
    for broken in (data[: len(data) // 2], b"not parquet at all"):
        table = parse_landing_file(f"{DAY}/a.parquet", broken)
        assert table.num_rows == 1
        assert table["line_number"].to_pylist() == [None]
        assert table["error"][0].as_py().startswith("unreadable parquet: ")
    gzipped = gzip.compress(data)
    table = parse_landing_file(f"{DAY}/a.parquet.gz", gzipped[: len(gzipped) // 2])
    assert table["error"].to_pylist()[0].startswith("truncated gzip")


def test_parquet_missing_column_and_bad_rows() -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"sensor_id": ["a"], "value": [1.0]}), sink)
    table = parse_landing_file(f"{DAY}/a.parquet", sink.getvalue())
    assert errors(table) == {1: "missing column: timestamp (the file has sensor_id, value)"}

    sink = io.BytesIO()
    columns = {
        "sensor_id": ["7513-133-195-250-t", None, "7513-133-195-250-t"],
        "timestamp": [1471132306000.0, 1471132306000.0, 1471132306000.5],
        "value": [23.9, 1.0, 1.0],
    }
    pq.write_table(pa.table(columns), sink)
    table = parse_landing_file(f"{DAY}/a.parquet", sink.getvalue())
    assert parsed_rows(table)[0] == ("7513-133-195-250-t", 1471132306000, 23.9)
    found = errors(table)
    assert found[2] == "missing field: sensor_id"
    assert found[3].startswith("non-integer timestamp")


def test_parquet_timestamp_columns_become_milliseconds() -> None:
    sink = io.BytesIO()
    stamps = pa.array([1471132306000000], pa.timestamp("us", tz="UTC"))
    table = pa.table({"sensor_id": ["7513-133-195-250-t"], "timestamp": stamps, "value": [23.9]})
    pq.write_table(table, sink)
    parsed = parse_landing_file(f"{DAY}/a.parquet", sink.getvalue())
    assert parsed_rows(parsed) == [("7513-133-195-250-t", 1471132306000, 23.9)]


def test_empty_file_has_no_records() -> None:
    for name in ("gw.txt", "a.jsonl", "a.csv"):
        table = parse_landing_file(f"{DAY}/{name}", b"")
        assert table.num_rows == 0
        assert table.schema == PARSED_SCHEMA


def test_parquet_timestamps_in_seconds_and_not_whole_milliseconds() -> None:
    def parsed(stamps: pa.Array) -> pa.Table:
        sink = io.BytesIO()
        values = [float(i) for i in range(len(stamps))]
        table = pa.table({"sensor_id": ["s"] * len(stamps), "timestamp": stamps, "value": values})
        pq.write_table(table, sink)
        return parse_landing_file(f"{DAY}/a.parquet", sink.getvalue())

    seconds = parsed(pa.array([1471132306, None], pa.timestamp("s")))
    assert seconds["ts_ms"].to_pylist() == [1471132306000, None]
    assert errors(seconds) == {2: "missing field: timestamp"}
    # 500 microseconds past a millisecond: quarantined, not cut to the millisecond
    micro = parsed(pa.array([1471132306000500], pa.timestamp("us")))
    assert errors(micro) == {
        1: "non-integer timestamp: '1471132306000.5'"
        " (expected whole milliseconds since 1970-01-01 UTC)"
    }


def test_a_csv_row_the_csv_module_rejects_keeps_its_text() -> None:
    row = "7513-133-195-250-t,1471132306000," + "9" * 200_000  # past csv's field size limit
    data = ("sensor_id,timestamp,value\n" + row + "\n").encode()
    table = parse_landing_file(f"{DAY}/a.csv", data, limits=ParseLimits(max_line_bytes=1 << 20))
    assert errors(table) == {2: "bad csv row: field larger than field limit (131072)"}
    assert table["raw_text"][0].as_py() == row[:RAW_TEXT_MAX_CHARS]
    assert table["raw_length"][0].as_py() == len(row)


def test_rejected_gateway_lines_keep_their_text() -> None:
    lines = [
        "sensor_id='7513-133-195-250-t', timestamp=14710x, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=abc,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000,",
        "this is not an observation",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000.5, value=23.9,",
        "sensor_id=7513-133-195-250-t, timestamp=1471132306000, value=23.9,",
        "sensor_id='7513-133-195-250-t', timestamp=99999999999999999999, value=1,",
        "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=1, room=4",
    ]
    table = parse_lines(*lines)
    assert sorted(errors(table)) == list(range(1, 9))
    assert table["raw_text"].to_pylist() == lines


def test_a_utf16_file_with_a_lone_surrogate_reads_it_as_a_replacement_character() -> None:
    data = b"\xff\xfe" + (MOTION_LINE + "\n").encode("utf-16-le") + b"\x00\xd8\n\x00"
    table = parse_landing_file(f"{DAY}/gw.txt", data)
    assert table["raw_text"].to_pylist() == [MOTION_LINE, "\ufffd"]
    assert errors(table) == {2: "unparseable line: expected sensor_id='…', timestamp=…, value=…"}


def test_a_file_of_exactly_the_size_limit_is_read_whole() -> None:
    data = (MOTION_LINE + "\n").encode()
    assert decode_landing_file(f"{DAY}/gw.txt", data).cut is None  # complete by default
    exactly = ParseLimits(max_file_bytes=len(data))
    assert decode_landing_file(f"{DAY}/gw.txt", data, limits=exactly).cut is None
    assert decode_landing_file(f"{DAY}/gw.txt", data, limits=exactly).text == data


def test_the_size_limit_counts_every_gzip_member() -> None:
    member = gzip.compress((b"x" * 59 + b"\n") * 10)  # 600 bytes each
    decoded = decode_landing_file(
        f"{DAY}/gw.txt.gz", member + member, limits=ParseLimits(max_file_bytes=1000)
    )
    assert decoded.cut == "file too large: more than 1000 bytes decompressed (SNUK_MAX_FILE_BYTES)"
    assert decoded.text == (b"x" * 59 + b"\n") * 16  # the whole lines within the first 1,000


def test_a_utf8_byte_order_mark_is_only_stripped_and_bad_utf8_is_explained() -> None:
    plain = decode_landing_file(f"{DAY}/gw.txt", b"abc\xff\n")
    assert plain.encoding_problem == (
        "not UTF-8 (invalid start byte at byte 3); text without a byte-order mark is read as "
        "UTF-8, so save it as UTF-8 or with a UTF-16/UTF-32 byte-order mark"
    )
    # the same bytes after a UTF-8 mark: the mark goes, the bytes stay as they were
    marked = decode_landing_file(f"{DAY}/gw.txt", b"\xef\xbb\xbfabc\xff\n")
    assert marked.text == plain.text == b"abc\xff\n"


def test_an_undecodable_line_keeps_its_text_with_a_replacement_character() -> None:
    table = parse_landing_file(f"{DAY}/gw.txt", MOTION_LINE.encode() + b"\nab\xffc\n")
    assert table["raw_text"].to_pylist() == [MOTION_LINE, "ab\ufffdc"]
    assert errors(table)[2].startswith("undecodable text: not UTF-8 (invalid start byte at byte")
