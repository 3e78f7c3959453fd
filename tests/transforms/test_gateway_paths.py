"""The gateway reader's vectorised paths against its per-line reader, row for row (issue 19).

The per-line reader (``_read_gateway_line``) is the reference: a line that a vectorised path
(the canonical reader, then the regex reader) accepts must come out exactly as the per-line
reader reads it, and every other line goes to that reader, so a row never depends on which
path its line took. The reference below reads each line alone, in Python.
"""

from __future__ import annotations

import math

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from snuk_assets.transforms.ingest import parse
from snuk_assets.transforms.ingest.parse import (
    RAW_TEXT_MAX_CHARS,
    ParseLimits,
    decode_landing_file,
    parse_landing_file,
)

DAY = "raw_data/2016/08/14"
NAME = f"{DAY}/gw.txt"
GOOD = "sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,"


def canonical(sensor_id: str, ts: str, value: str, comma: str = ",") -> str:
    return f"sensor_id='{sensor_id}', timestamp={ts}, value={value}{comma}"


# Every reason the reader gives, and the spellings at the edges of each path.
VALUES = [
    "1.0", "23.9", "-3.25", "0", "-0", "1.", ".5", "-.5", "+1.5", "1e5", "-2.5E-3", "1e400",
    "1e-400", "0.1234", "12345678901234567890.5", "nan", "NaN", "-nan", "inf", "-inf",
    "Infinity", "iNfInItY", "infinit", "\u0131nf", "abc", "1.2.3", "-", "--1", "1-", "", ".",
    "1e", "0x10", "1_000", "5" * 399, "5" * 400, "5" * 401, "1.5 ", " 1.5", "1,5",
]  # fmt: skip
TIMESTAMPS = [
    "1471020341000", "1471020341", "0001471020341000", "9" * 18, "9" * 19, "-1471020341000",
    "+1471020341000", "1471020341000.0", "1471020341000.5", "1.5e12", "14710x", "", "nan",
    "9223372036854775807", "9223372036854775808", "1" * 401,
]  # fmt: skip
SENSOR_IDS = [
    "8514-294-220-250-m", "", "a b", "a,b", "a=b", "a'b", "\u00e9t\u00e9", "a\u00a0b", "a\ufffdb",
    "x" * 200, "a\tb", "a\x0bb",
]  # fmt: skip
OTHER_LINES = [
    "garbage line",
    "  sensor_id = '8514-294-220-250-m' ,timestamp= 1471020341000,value =1.0  ",
    "sensor_id='8514-294-220-250-m',timestamp=1471020341000,value=1.0",
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000,",
    "sensor_id=7513-133-195-250-t, timestamp=1471132306000, value=23.9,",
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=1, room=4",
    "sensor_id='a', sensor_id='b', timestamp=1, value=1,",
    "sensor_id='a', timestamp=1, value=1,,",
    "timestamp=1, sensor_id='a', value=1,",
    "sensor_id='a', timestamp=1, value=1.0, ",
    "\x0bsensor_id='a', timestamp=1, value=1.0,",
    "sensor_id='a', timestamp=1, value=1.0,\x0b",
    "sensor_id='a', timestamp=1, value=1.0,\x1c",
    "sensor_id='a', timestamp=1, value=1.0,\u2003",
    "sensor_id='a',  timestamp=1, value=1.0,",
    "sensor_id='a', timestamp=1,  value=1.0,",
    "sensor_id= 'a', timestamp=1, value=1.0,",
    "sensor_id='a', timestamp =1, value=1.0,",
    "Sensor_id='a', timestamp=1, value=1.0,",
    "sensor_id='a', timestamp=1, valuee=1.0,",
    ",,,,",
    "=",
    "'",
    "sensor_id='a'",
    "   ",
    "\t",
    "",
]


def mixed_lines() -> list[str]:
    lines = [GOOD]
    lines += [canonical("8514-294-220-250-m", "1471020341000", v) for v in VALUES]
    lines += [canonical("8514-294-220-250-m", "1471020341000", v, "") for v in VALUES]
    lines += [canonical("8514-294-220-250-m", t, "21.5") for t in TIMESTAMPS]
    lines += [canonical(s, "1471020341000", "21.5") for s in SENSOR_IDS]
    lines += OTHER_LINES
    return lines


def reference_rows(data: bytes, limits: ParseLimits = parse.DEFAULT_LIMITS) -> list[tuple]:
    """Each line of a gateway file read alone by the per-line reader, as parse returns it."""
    decoded = decode_landing_file(NAME, data, limits=limits)
    text = decoded.text.decode("utf-8", errors="replace")
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        length = len(line.encode())
        if length > limits.max_line_bytes:
            prefix = line[:RAW_TEXT_MAX_CHARS]
            rows.append((None, None, None, number, prefix, length, "line too long"))
            continue
        if not line.strip(parse._BLANK_CHARS):
            continue
        row = parse._undecodable_row(
            line, number, decoded.encoding_problem
        ) or parse._read_gateway_line(line, number)
        sensor_id, ts_ms, value, number, raw, _, error = row
        rows.append((sensor_id, ts_ms, value, number, raw[:RAW_TEXT_MAX_CHARS], length, error))
    return [comparable(row) for row in rows]


def comparable(row: tuple) -> tuple:
    """NaN equal to NaN, and a too-long row's reason by its kind only."""
    sensor_id, ts_ms, value, number, raw, length, error = row
    if isinstance(value, float) and math.isnan(value):
        value = "nan"
    if error is not None and error.startswith("line too long"):
        error = "line too long"
    return (sensor_id, ts_ms, value, number, raw, length, error)


def parsed_rows(data: bytes, limits: ParseLimits = parse.DEFAULT_LIMITS) -> list[tuple]:
    table = parse_landing_file(NAME, data, limits=limits)
    columns = ["sensor_id", "ts_ms", "value", "line_number", "raw_text", "raw_length", "error"]
    return [comparable(row) for row in zip(*(table[c].to_pylist() for c in columns), strict=True)]


def test_mixed_good_and_bad_lines_read_as_the_per_line_reader_reads_them() -> None:
    data = "\n".join(mixed_lines()).encode()
    assert parsed_rows(data) == reference_rows(data)


def test_the_canonical_lines_of_the_mix_take_the_vectorised_path() -> None:
    # Else the comparison above would prove nothing about that path.
    lines = [GOOD, canonical("a", "1", "-2.5E-3", ""), canonical("", "9" * 18, "nan")]
    lines += [canonical("8514-294-220-250-m", "1471020341000", v) for v in ("1.0", "-3.25", "5.")]
    lines += ["garbage line", canonical("a,b", "1", "1"), canonical("a", "1", "1") + " "]
    block = ("\n".join(lines) + "\n").encode()
    spans = parse._canonical_spans(block, parse.DEFAULT_LIMITS.max_line_bytes)
    assert spans["ok"].tolist() == [True] * 6 + [False] * 3


def test_the_mix_agrees_across_blocks_and_threads() -> None:
    # More than one 4 MB block, so blocks run on threads and their rows are put back in order.
    lines = mixed_lines()
    many = lines * (9 * 2**20 // len("\n".join(lines)) + 1)
    data = "\n".join(many).encode()
    assert len(data) > 2 * parse._CHUNK_BYTES
    assert parsed_rows(data) == reference_rows(data)


def test_lines_at_and_past_the_line_limit_agree() -> None:
    limits = ParseLimits(max_line_bytes=len(GOOD))
    lines = [GOOD, GOOD + " ", canonical("8514-294-220-250-m", "1471020341000", "10.0"), "x" * 70]
    data = "\n".join(lines).encode()
    assert parsed_rows(data, limits) == reference_rows(data, limits)
    assert [row[6] for row in parsed_rows(data, limits)] == [None] + ["line too long"] * 3


def test_undecodable_lines_agree_in_a_file_with_an_encoding_problem() -> None:
    data = "\n".join([GOOD, canonical("a\ufffdb", "1", "1")]).encode()
    data += b"\nsensor_id='\xff\xfe', timestamp=1, value=1,"
    data += b"\nsensor_id='a', timestamp=1, value=\xff,"
    data += b"\nsensor_id='a\x00', timestamp=1, value=1,\n" + GOOD.encode()
    rows = parsed_rows(data)
    assert rows == reference_rows(data)
    assert [row[6] is None for row in rows] == [True, False, False, False, False, True]
    # The same U+FFFD in a file that is valid UTF-8 is just a character of the id.
    valid = "\n".join([GOOD, canonical("a\ufffdb", "1", "1")]).encode()
    assert parsed_rows(valid) == reference_rows(valid)
    assert parsed_rows(valid)[1][0] == "a\ufffdb"


def test_the_regex_reader_alone_agrees_with_the_per_line_reader() -> None:
    lines = [line for line in mixed_lines() if line.strip(parse._BLANK_CHARS)]
    numbers = list(range(1, len(lines) + 1))
    table = parse._GatewayReader(None).read(pa.array(lines), pa.array(numbers))
    expected = [parse._read_gateway_line(line, n) for n, line in zip(numbers, lines, strict=True)]
    got = list(zip(*(table[c].to_pylist() for c in table.column_names), strict=True))
    assert [comparable(row) for row in got] == [comparable(row) for row in expected]


def test_a_number_spelled_with_a_dotless_i_is_a_bad_number_not_an_exception() -> None:
    table = parse_landing_file(
        NAME,
        "\n".join(
            [
                canonical("7513-133-195-250-t", "1471132306000", "\u0131nf"),
                canonical("7513-133-195-250-t", "\u0130nf", "1"),
            ]
        ).encode(),
    )
    assert table["error"].to_pylist() == [
        "bad number for value: '\u0131nf'",
        "bad number for timestamp: '\u0130nf'",
    ]


_fragments = st.sampled_from(
    [
        "sensor_id", "timestamp", "value", "=", "'", ",", " ", "\t", "\x0b", "-", ".", "+", "e",
        "5", "0", "1471020341000", "8514-294-220-250-m", "nan", "inf", "\u00e9", "\ufffd",
        "sensor_id='", "', timestamp=", ", value=", "\u2003", "x",
    ]
)  # fmt: skip
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.from_regex(r"-?[0-9]{0,4}\.?[0-9]{0,4}(e-?[0-9]{1,3})?", fullmatch=True),
    st.lists(_fragments, max_size=3).map("".join),
)
_lines = st.one_of(
    st.builds(
        canonical,
        st.one_of(st.just("8514-294-220-250-m"), st.lists(_fragments, max_size=4).map("".join)),
        _numbers,
        _numbers,
        st.sampled_from([",", ""]),
    ),
    st.lists(_fragments, max_size=14).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_lines, max_size=25))
def test_any_mix_of_near_canonical_lines_reads_as_the_per_line_reader_reads_it(lines) -> None:
    data = "\n".join(lines).encode()
    assert parsed_rows(data) == reference_rows(data)
