"""Parse a raw landing file into one row per observation, broken records included.

Bytes in, Arrow table out: a record that cannot be read becomes a row with an ``error``
instead of an exception, so validation can quarantine it with its file and line number.
"""

from __future__ import annotations

import csv
import json
import math
import re
import zlib
from decimal import Decimal
from pathlib import PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PARSED_SCHEMA = pa.schema(
    [
        ("sensor_id", pa.string()),
        ("ts_ms", pa.int64()),
        ("value", pa.float64()),
        ("line_number", pa.int64()),
        ("raw_text", pa.string()),
        ("source_file", pa.string()),
        ("error", pa.string()),
    ]
)
FIELDS = ("sensor_id", "timestamp", "value")

_ROW_SCHEMA = pa.schema([f for f in PARSED_SCHEMA if f.name != "source_file"])
_FORMAT_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_INT64_RANGE = (-(2**63), 2**63 - 1)

# One grammar for numbers, shared by the vectorised fast path (RE2) and the per-line reader
# (Python re): a value the one accepts the other accepts too. nan and inf are numbers here;
# validation rejects them later as not finite.
_NUMBER = (
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"
    r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?|nan))"
)
_NUMBER_RE = re.compile(_NUMBER)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# No two branches of this pattern start with the same character, so RE2 extracts the groups
# in a single pass: about twice as fast as an equivalent ambiguous pattern.
_GATEWAY_LINE = (
    r"^\s*sensor_id\s*=\s*'(?P<sensor_id>[^']*)'\s*,\s*timestamp\s*=\s*(?P<ts>-?[0-9]+)\s*,"
    rf"\s*value\s*=\s*(?P<value>{_NUMBER})\s*(?:,\s*)?$"
)
# 18 digits always fit in int64; longer timestamps go to the per-line reader, which says why.
_MAX_FAST_TS_DIGITS = 18
_GATEWAY_FIELD_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*(.*?)\s*")
_QUOTED_RE = re.compile(r"'([^']*)'")
_GATEWAY_EXPECTED = "expected sensor_id='…', timestamp=…, value=…"


def parse_landing_file(name: str, data: bytes) -> pa.Table:
    """Parse one landing file into observations, one row per record.

    Parameters
    ----------
    name
        Path of the file relative to the landing root, e.g.
        ``raw_data/2016/08/14/gw03-20160814T060000.txt.gz``. Its extension picks the format,
        after an optional ``.gz``: ``.jsonl``/``.ndjson``/``.json`` JSON lines, ``.csv`` CSV
        with a header, ``.parquet`` Parquet, anything else the gateway line format
        ``sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,``.
    data
        The file's bytes, gzipped or not (gzip is also recognised by its magic bytes).

    Returns
    -------
    pa.Table
        :data:`PARSED_SCHEMA`, one row per record in file order (blank lines and the CSV
        header are not records): ``sensor_id``; ``ts_ms`` the measurement time in milliseconds
        since 1970-01-01 UTC; ``value`` in the sensor type's unit; ``line_number`` 1-based in
        the decompressed file (row index + 1 for Parquet, null for a problem with the whole
        file); ``raw_text`` the original line (compact JSON of the row for Parquet, ``''`` for
        a whole-file problem); ``source_file`` = ``name``; ``error`` null when the record
        parsed, else ``"<category>: <details>"``. A cut gzip stream keeps every complete line
        and adds an error row for the cut-off last line and one for the file. Bad content never
        raises.
    """
    path = PurePosixPath(name)
    compressed = path.suffix.lower() == ".gz"
    suffix = (path.with_suffix("") if compressed else path).suffix.lower()
    file_format = _FORMAT_BY_SUFFIX.get(suffix, "gateway")
    gzip_problem = None
    if compressed or data.startswith(_GZIP_MAGIC):
        data, gzip_problem = _gunzip(data)

    if file_format == "parquet":
        if gzip_problem is None:
            rows = _parse_parquet(data)
        else:
            rows = _file_problem(
                f"{gzip_problem}; a Parquet file cannot be read in part "
                f"({len(data)} bytes decompressed)"
            )
    else:
        read_lines = {"gateway": _parse_gateway, "jsonl": _parse_json_lines, "csv": _parse_csv}
        if gzip_problem is None:
            rows = read_lines[file_format](data)
        else:
            complete, cut_off = _split_cut_off_line(data)
            rows = pa.concat_tables(
                [
                    read_lines[file_format](complete),
                    _gzip_problem_rows(gzip_problem, complete.count(b"\n"), cut_off),
                ]
            )
    source_file = pa.repeat(pa.scalar(name, pa.string()), rows.num_rows)
    return rows.append_column("source_file", source_file).select(PARSED_SCHEMA.names)


def _gunzip(data: bytes) -> tuple[bytes, str | None]:
    """Decompress all gzip members; on a cut or damaged stream, keep what came out before."""
    members = []
    rest = data
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            members.append(inflater.decompress(rest))
        except zlib.error as exc:
            members.append(_salvage_damaged_member(rest))
            return b"".join(members), f"corrupt gzip: {exc}"
        if not inflater.eof:
            return b"".join(members), "truncated gzip"
        rest = inflater.unused_data
        # Another member may follow; some writers pad the last one with zeros instead.
        if not rest.strip(b"\x00"):
            return b"".join(members), None


def _salvage_damaged_member(member: bytes, *, chunk_size: int = 4096) -> bytes:
    # zlib discards the output of a call that fails: feed chunks, and byte by byte the chunk
    # that fails, so everything before the damage comes out.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = []
    for start in range(0, len(member), chunk_size):
        before_chunk = inflater.copy()
        try:
            out.append(inflater.decompress(member[start : start + chunk_size]))
        except zlib.error:
            inflater = before_chunk
            for end in range(start + 1, start + chunk_size + 1):
                try:
                    out.append(inflater.decompress(member[end - 1 : end]))
                except zlib.error:
                    return b"".join(out)
    return b"".join(out)


def _split_cut_off_line(data: bytes) -> tuple[bytes, bytes]:
    """Split decompressed text into its complete lines and the partial line after them."""
    end = data.rfind(b"\n") + 1
    return data[:end], data[end:]


def _gzip_problem_rows(problem: str, complete_lines: int, cut_off: bytes) -> pa.Table:
    category = problem.split(":", 1)[0]
    if category == "truncated gzip":
        file_reason = f"truncated gzip: file ends after line {complete_lines}"
    else:
        file_reason = f"{problem}; nothing readable after line {complete_lines}"
    rows = []
    cut_off_text = cut_off.decode("utf-8", errors="replace")
    if cut_off_text.strip():
        # The line may still look valid ("value=23" cut from "value=23.9"), so never trust it.
        number = complete_lines + 1
        reason = f"{category}: line {number} is incomplete, the file ends inside it"
        rows.append(_broken(number, cut_off_text, reason))
    rows.append(_broken(None, "", file_reason))
    return _rows_table(rows)


def _broken(line_number: int | None, raw_text: str, error: str) -> tuple:
    return (None, None, None, line_number, raw_text, error)


def _file_problem(reason: str) -> pa.Table:
    return _rows_table([_broken(None, "", reason)])


def _rows_table(rows: list[tuple]) -> pa.Table:
    """Build a table of :data:`_ROW_SCHEMA` from row tuples in its column order."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_ROW_SCHEMA)
    return pa.table(
        [pa.array(values, type=f.type) for values, f in zip(columns, _ROW_SCHEMA, strict=True)],
        schema=_ROW_SCHEMA,
    )


def _text_lines(data: bytes) -> list[str]:
    """Lines of decompressed text; undecodable bytes become U+FFFD so the line fails later."""
    text = data.removeprefix(_UTF8_BOM).decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").split("\n")


def _arrow_lines(data: bytes) -> pa.StringArray:
    """Lines of decompressed text as Arrow strings, split without a Python loop."""
    data = data.removeprefix(_UTF8_BOM)
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    text = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data))
    try:
        text.validate(full=True)  # checks UTF-8
    except pa.ArrowInvalid:
        text = pa.array([data.decode("utf-8", errors="replace")], type=pa.large_string())
    if b"\r" in data:
        text = pc.replace_substring(text, "\r\n", "\n")
    return pc.list_flatten(pc.split_pattern(text, "\n")).cast(pa.string())


def _parse_gateway(data: bytes) -> pa.Table:
    """Read gateway lines: a strict pattern, vectorised, and a Python reader for the rest."""
    lines = _arrow_lines(data)
    groups = pc.extract_regex(lines, _GATEWAY_LINE)
    ts_digits = pc.binary_length(pc.struct_field(groups, "ts"))
    strict = pc.fill_null(pc.less_equal(ts_digits, _MAX_FAST_TS_DIGITS), False)
    line_numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    all_strict = strict.true_count == len(lines)
    if not all_strict:
        groups, strict_lines, strict_numbers = (
            groups.filter(strict),
            lines.filter(strict),
            line_numbers.filter(strict),
        )
    else:
        strict_lines, strict_numbers = lines, line_numbers
    fast = pa.table(
        [
            pc.struct_field(groups, "sensor_id"),
            pc.cast(pc.struct_field(groups, "ts"), pa.int64()),
            pc.cast(pc.struct_field(groups, "value"), pa.float64()),
            strict_numbers,
            strict_lines,
            pa.nulls(len(strict_lines), pa.string()),
        ],
        schema=_ROW_SCHEMA,
    )
    if all_strict:
        return fast
    other = pc.invert(strict)
    slow_rows = [
        row
        for number, line in zip(
            line_numbers.filter(other).to_pylist(), lines.filter(other).to_pylist(), strict=True
        )
        if line.strip() and (row := _read_gateway_line(line, number))
    ]
    return pa.concat_tables([fast, _rows_table(slow_rows)]).sort_by("line_number")


def _read_gateway_line(line: str, number: int) -> tuple:
    """Read one gateway line the strict pattern rejected, and say what is wrong with it."""
    body = line.strip()
    fields: dict[str, str] = {}
    for part in body.removesuffix(",").split(","):
        match = _GATEWAY_FIELD_RE.fullmatch(part)
        if match is None:
            return _broken(number, line, f"unparseable line: {_GATEWAY_EXPECTED}")
        field_name, text = match.groups()
        if field_name not in FIELDS or field_name in fields:
            reason = f"unparseable line: unexpected or repeated field {field_name!r}; "
            return _broken(number, line, reason + _GATEWAY_EXPECTED)
        fields[field_name] = text
    missing = [f for f in FIELDS if f not in fields]
    if missing:
        return _broken(number, line, f"missing field: {', '.join(missing)}")
    quoted = _QUOTED_RE.fullmatch(fields["sensor_id"])
    if quoted is None:
        reason = f"unparseable line: sensor_id must be in single quotes; {_GATEWAY_EXPECTED}"
        return _broken(number, line, reason)
    return _checked_row(quoted[1], fields["timestamp"], fields["value"], number, line)


def _checked_row(sensor_id: str, ts_text: str, value_text: str, number: int, raw: str) -> tuple:
    ts_ms, error = _read_timestamp(ts_text)
    if error is None:
        value, error = _read_value(value_text)
    if error is not None:
        return _broken(number, raw, error)
    return (sensor_id, ts_ms, value, number, raw, None)


def _read_timestamp(text: str) -> tuple[int | None, str | None]:
    """Whole milliseconds since the epoch from text, or the reason it is not one."""
    if _INTEGER_RE.fullmatch(text):
        ts_ms = int(text)
    elif _NUMBER_RE.fullmatch(text) and math.isfinite(float(text)):
        exact = Decimal(text)
        if exact != exact.to_integral_value():
            reason = (
                "non-integer timestamp: {!r} (expected whole milliseconds since 1970-01-01 UTC)"
            )
            return None, reason.format(text)
        ts_ms = int(exact)
    else:
        return None, f"bad number for timestamp: {text!r}"
    if not _INT64_RANGE[0] <= ts_ms <= _INT64_RANGE[1]:
        return None, f"bad number for timestamp: {text!r} does not fit in 64 bits"
    return ts_ms, None


def _read_value(text: str) -> tuple[float | None, str | None]:
    if _NUMBER_RE.fullmatch(text):
        return float(text), None
    return None, f"bad number for value: {text!r}"


def _parse_json_lines(data: bytes) -> pa.Table:
    rows = []
    for number, line in enumerate(_text_lines(data), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            rows.append(_broken(number, line, f"unparseable line: not valid JSON ({exc})"))
            continue
        rows.append(_read_record(record, number, line))
    return _rows_table(rows)


def _read_record(record: object, number: int, raw: str) -> tuple:
    """Check one JSON object (or Parquet row) with sensor_id, timestamp and value."""
    if not isinstance(record, dict):
        reason = "unparseable line: expected a JSON object with sensor_id, timestamp and value"
        return _broken(number, raw, reason)
    missing = [f for f in FIELDS if record.get(f) is None]
    if missing:
        return _broken(number, raw, f"missing field: {', '.join(missing)}")
    sensor_id, ts, value = (record[f] for f in FIELDS)
    if not isinstance(sensor_id, str):
        return _broken(number, raw, _wrong_type("sensor_id", "a string", sensor_id))
    # bool is an int in Python but never a reading.
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return _broken(number, raw, _wrong_type("timestamp", "whole milliseconds", ts))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _broken(number, raw, _wrong_type("value", "a number", value))
    # Text forms keep one set of rules for every format: repr(1.5e12) and str(10**30) both read.
    return _checked_row(sensor_id, repr(ts), repr(value), number, raw)


def _wrong_type(field_name: str, expected: str, got: object) -> str:
    shown = json.dumps(got, default=str)
    return f"wrong type for {field_name}: expected {expected}, got {type(got).__name__} {shown}"


def _parse_csv(data: bytes) -> pa.Table:
    rows = []
    positions = None
    for number, line in enumerate(_text_lines(data), start=1):
        if not line.strip():
            continue
        try:
            cells = next(csv.reader([line]))
        except csv.Error as exc:
            rows.append(_broken(number, line, f"bad csv row: {exc}"))
            continue
        if positions is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [f for f in FIELDS if f not in header]
            if missing:
                reason = f"missing column: {', '.join(missing)} (header on line {number}: {line})"
                return _file_problem(reason)
            positions = [header.index(f) for f in FIELDS]
            width = len(header)
            continue
        if len(cells) != width:
            reason = f"bad csv row: expected {width} fields like the header, got {len(cells)}"
            rows.append(_broken(number, line, reason))
            continue
        sensor_id, ts_text, value_text = (cells[i].strip() for i in positions)
        empty = [
            f for f, text in zip(FIELDS, (sensor_id, ts_text, value_text), strict=True) if not text
        ]
        if empty:
            rows.append(_broken(number, line, f"missing field: {', '.join(empty)}"))
            continue
        rows.append(_checked_row(sensor_id, ts_text, value_text, number, line))
    return _rows_table(rows)


def _parse_parquet(data: bytes) -> pa.Table:
    try:
        parquet_file = pq.ParquetFile(pa.BufferReader(data))
        missing = [f for f in FIELDS if f not in parquet_file.schema_arrow.names]
        if missing:
            names = ", ".join(parquet_file.schema_arrow.names)
            return _file_problem(f"missing column: {', '.join(missing)} (the file has {names})")
        table = parquet_file.read(columns=list(FIELDS))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return _file_problem(f"unreadable parquet: {exc}")
    columns = [_parquet_values(table.column(f)) for f in FIELDS]
    rows = []
    for index, values in enumerate(zip(*columns, strict=True)):
        record = dict(zip(FIELDS, values, strict=True))
        raw = json.dumps(record, separators=(",", ":"), default=str)
        rows.append(_read_record(record, index + 1, raw))
    return _rows_table(rows)


def _parquet_values(column: pa.ChunkedArray) -> list:
    """Python values of a column; timestamps as milliseconds (a float if not whole)."""
    if not pa.types.is_timestamp(column.type):
        return column.to_pylist()
    per_ms = {"s": 1 / 1000, "ms": 1, "us": 1000, "ns": 1_000_000}[column.type.unit]
    counts = column.cast(pa.int64()).to_pylist()
    if per_ms < 1:
        return [None if c is None else c * 1000 for c in counts]
    return [None if c is None else (c // per_ms if c % per_ms == 0 else c / per_ms) for c in counts]
