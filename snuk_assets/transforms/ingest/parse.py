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
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
        ("raw_length", pa.int64()),
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
# UTF-32 LE before UTF-16 LE: its mark starts with the other's.
_BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
)
# raw_text keeps at most this many characters of a line; raw_length has the whole length.
RAW_TEXT_MAX_CHARS = 1024
# Text is split into lines a block of about this size at a time (memory, not a limit).
_CHUNK_BYTES = 4 * 1024 * 1024
# Lines of only these characters are not records; the record count (records.py) agrees.
_BLANK_CHARS = " \t\x0b\x0c"
BLANK_BYTES = _BLANK_CHARS.encode()
_INT64_RANGE = (-(2**63), 2**63 - 1)

# One grammar for numbers, shared by the vectorised fast path (RE2) and the per-line reader
# (Python re): a value the one accepts the other accepts too. nan and inf are numbers here;
# validation rejects them later as not finite.
_NUMBER = (
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"
    r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?|nan))"
)
# ASCII: under Python's Unicode case folding "ınf" (dotless i) matched and float() raised; RE2
# folds no such letters, so ASCII keeps the two engines on one language.
_NUMBER_RE = re.compile(_NUMBER, re.ASCII)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# No two branches of this pattern start with the same character, so RE2 extracts the groups
# in a single pass: about twice as fast as an equivalent ambiguous pattern. No comma in the id:
# the per-line reader splits fields at commas, and both must read a line alike.
_GATEWAY_LINE = (
    r"^\s*sensor_id\s*=\s*'(?P<sensor_id>[^',]*)'\s*,\s*timestamp\s*=\s*(?P<ts>-?[0-9]+)\s*,"
    rf"\s*value\s*=\s*(?P<value>{_NUMBER})\s*(?:,\s*)?$"
)
# 18 digits always fit in int64; longer timestamps go to the per-line reader, which says why.
_MAX_FAST_TS_DIGITS = 18
# Longer number texts are refused before int() or Decimal() sees them.
_MAX_NUMBER_CHARS = 400
_FIELD_NAME_RE = re.compile(r"[A-Za-z_]\w*")
_QUOTED_RE = re.compile(r"'([^']*)'")
_GATEWAY_EXPECTED = "expected sensor_id='…', timestamp=…, value=…"

# The canonical spelling, the one gateways write, is read without a regex (issue 19):
#   sensor_id='<id>', timestamp=<digits>, value=<number>,      (the last comma optional)
# Every byte below "-" is a separator there (the quotes, the commas, the two spaces, the line
# end) and no byte of an id, digits, a number, a field name or "=" is: one comparison over a
# block's bytes finds them all, and a line is canonical when its separators are exactly these,
# in this order, at these distances, with the field names between them.
_SEPARATOR_BELOW = ord("-")
_MIN_CANONICAL_LINE = len("sensor_id='', timestamp=0, value=0")
_THREADS = max(1, min(pa.cpu_count(), 8))


def _word(text: bytes) -> np.uint64:
    """Eight bytes as one little-endian number, to compare eight bytes at once."""
    return np.frombuffer(text.ljust(8, b"\0"), dtype="<u8")[0]


_SEPARATORS_WITH_COMMA = _word(b"'', , ,\n")
_SEPARATORS_WITHOUT_COMMA = _word(b"'', , \n")
_SENSOR_I, _SOR_ID = _word(b"sensor_i"), _word(b"sor_id='")
_TIMES, _MESTAMP, _VALUE = _word(b"', times"), _word(b"mestamp="), _word(b", value=")


@dataclass(frozen=True)
class ParseLimits:
    """How much of one landing file is read: what lies past a limit is quarantined, not read.

    Attributes
    ----------
    max_line_bytes
        A longer line is quarantined as ``line too long`` with its length and the first
        :data:`RAW_TEXT_MAX_CHARS` characters; the file's other lines still count
        (``SNUK_MAX_LINE_BYTES``).
    max_file_bytes
        At most this many bytes of a file are read, after decompression; the lines past it are
        one ``file too large`` row, and the complete lines before it still count
        (``SNUK_MAX_FILE_BYTES``).
    """

    max_line_bytes: int = 64 * 1024
    max_file_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_line_bytes < 1 or self.max_file_bytes < 1:
            raise ValueError(f"parse limits must be positive, got {self}")


DEFAULT_LIMITS = ParseLimits()


@dataclass(frozen=True)
class DecodedFile:
    """A landing file's content as read: decompressed, decoded, bounded.

    ``text`` is UTF-8 with ``\\n`` line ends (``\\r\\n`` and a lone ``\\r`` both end a line),
    only complete lines when ``cut`` is set; for Parquet it is the file's bytes. ``cut`` is
    why the rest of the file was not read (a damaged gzip stream, a size limit), ``tail`` the
    partial line the cut left, ``encoding_problem`` why undecodable lines could not be read.
    """

    file_format: str
    text: bytes
    cut: str | None = None
    tail: bytes = b""
    encoding: str = "utf-8"
    encoding_problem: str | None = None


def parse_landing_file(
    name: str, data: bytes, *, limits: ParseLimits = DEFAULT_LIMITS, complete: bool = True
) -> pa.Table:
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
        The file's bytes, gzipped or not: gzip is recognised by its magic bytes, so a plain
        file named ``.gz`` is read as plain text.
    limits
        The line and file size limits (:class:`ParseLimits`).
    complete
        False when ``data`` is only the first part of the file (the reader stopped at
        ``limits.max_file_bytes``): the rest is reported as too large.

    Returns
    -------
    pa.Table
        :data:`PARSED_SCHEMA`, one row per record in file order (blank lines and the CSV
        header are not records): ``sensor_id``; ``ts_ms`` the measurement time in milliseconds
        since 1970-01-01 UTC; ``value`` in the sensor type's unit; ``line_number`` 1-based in
        the decompressed file (row index + 1 for Parquet, null for a problem with the whole
        file); ``raw_text`` the original line, at most :data:`RAW_TEXT_MAX_CHARS` characters
        (compact JSON of the row for Parquet, ``''`` for a whole-file problem); ``raw_length``
        the whole line's length in UTF-8 bytes; ``source_file`` = ``name``; ``error`` null when
        the record parsed, else ``"<category>: <details>"``. A cut gzip stream keeps every
        complete line and adds an error row for the cut-off last line and one for the file.
        Bad content never raises. Lines are UTF-8 unless the file starts with a UTF-16 or
        UTF-32 byte-order mark; ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a line.
    """
    decoded = decode_landing_file(name, data, limits=limits, complete=complete)
    return parse_decoded(name, decoded, limits=limits)


def parse_decoded(name: str, decoded: DecodedFile, *, limits: ParseLimits = DEFAULT_LIMITS):
    """:func:`parse_landing_file` on a file already read by :func:`decode_landing_file`."""
    if decoded.file_format == "parquet":
        if decoded.cut is None:
            rows = _parse_parquet(decoded.text)
        else:
            rows = _file_problem(
                f"{decoded.cut}; a Parquet file cannot be read in part "
                f"({len(decoded.text)} bytes read)"
            )
    else:
        rows = _parse_text(decoded, limits)
    raw_text = rows["raw_text"]
    lengths = pc.binary_length(raw_text)
    raw_length = pc.coalesce(rows["raw_length"], lengths)
    rows = rows.set_column(rows.schema.get_field_index("raw_length"), "raw_length", raw_length)
    # A text of at most RAW_TEXT_MAX_CHARS bytes has at most as many characters.
    if (pc.max(lengths).as_py() or 0) > RAW_TEXT_MAX_CHARS:
        raw_text = pc.utf8_slice_codeunits(raw_text, 0, RAW_TEXT_MAX_CHARS)
        rows = rows.set_column(rows.schema.get_field_index("raw_text"), "raw_text", raw_text)
    source_file = pa.repeat(pa.scalar(name, pa.string()), rows.num_rows)
    return rows.append_column("source_file", source_file).select(PARSED_SCHEMA.names)


def file_format_of(name: str) -> str:
    """``gateway``, ``jsonl``, ``csv`` or ``parquet``, from the extension after an optional .gz."""
    path = PurePosixPath(name)
    compressed = path.suffix.lower() == ".gz"
    suffix = (path.with_suffix("") if compressed else path).suffix.lower()
    return _FORMAT_BY_SUFFIX.get(suffix, "gateway")


def decode_landing_file(
    name: str, data: bytes, *, limits: ParseLimits = DEFAULT_LIMITS, complete: bool = True
) -> DecodedFile:
    """Decompress (bounded by ``limits.max_file_bytes``), decode and split off a cut tail."""
    file_format = file_format_of(name)
    cut = None
    if data.startswith(_GZIP_MAGIC):
        data, cut = _gunzip(data, max_bytes=limits.max_file_bytes)
    elif not data and name.lower().endswith(".gz"):
        cut = "truncated gzip"  # an upload that stopped before its first byte
    if len(data) > limits.max_file_bytes or not complete:
        # Not complete: the reader stopped at the limit, so a cut gzip stream is that cut.
        data = data[: limits.max_file_bytes]
        cut = _too_large(limits)
    if file_format == "parquet":
        return DecodedFile(file_format, data, cut=cut)
    data, encoding = _decode(data)
    encoding_problem = None
    if encoding == "utf-8":
        encoding_problem = _encoding_problem(data)
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data
    tail = b""
    if cut is not None:
        text, tail = _split_cut_off_line(text)
    return DecodedFile(file_format, text, cut, tail, encoding, encoding_problem)


def _too_large(limits: ParseLimits) -> str:
    return (
        f"file too large: more than {limits.max_file_bytes} bytes decompressed "
        "(SNUK_MAX_FILE_BYTES)"
    )


def _decode(data: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes of the text and the encoding it was read as (from a byte-order mark)."""
    for bom, codec in _BYTE_ORDER_MARKS:
        if data.startswith(bom):
            if codec == "utf-8":
                return data[len(bom) :], codec
            return data[len(bom) :].decode(codec, errors="replace").encode("utf-8"), codec
    return data, "utf-8"


def _encoding_problem(data: bytes) -> str | None:
    """Why some lines of text without a byte-order mark may not read, or None."""
    if b"\x00" in data:
        return (
            "NUL bytes in the text: it looks like UTF-16 or UTF-32 without a byte-order mark "
            "(text without one is read as UTF-8)"
        )
    if _is_utf8(data):
        return None  # Arrow's check, without building a Python string of the whole file
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return (
            f"not UTF-8 ({error.reason} at byte {error.start}); text without a byte-order mark "
            "is read as UTF-8, so save it as UTF-8 or with a UTF-16/UTF-32 byte-order mark"
        )
    return None


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, as strict as Python's decoder (no surrogates)."""
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)
    )
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _gunzip(data: bytes, *, max_bytes: int) -> tuple[bytes, str | None]:
    """Decompress all gzip members, at most ``max_bytes`` (plus one, to tell "more" apart).

    On a cut or damaged stream, keep what came out before; past ``max_bytes``, stop there (a
    few KB of gzip can hold GBs of newlines).
    """
    members: list[bytes] = []
    produced = 0
    rest = data
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        budget = max_bytes + 1 - produced
        try:
            out = inflater.decompress(rest, budget)
        except zlib.error as exc:
            members.append(_salvage_damaged_member(rest, max_bytes=budget))
            return b"".join(members), f"corrupt gzip: {exc}"
        members.append(out)
        produced += len(out)
        if produced > max_bytes:
            return b"".join(members), "file too large"
        if not inflater.eof:
            return b"".join(members), "truncated gzip"
        rest = inflater.unused_data
        # Another member may follow; some writers pad the last one with zeros instead.
        if not rest.strip(b"\x00"):
            return b"".join(members), None


def _salvage_damaged_member(member: bytes, *, max_bytes: int, chunk_size: int = 4096) -> bytes:
    # zlib discards the output of a call that fails: feed chunks, and byte by byte the chunk
    # that fails, so everything before the damage comes out.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    produced = 0
    for start in range(0, len(member), chunk_size):
        before_chunk = inflater.copy()
        try:
            out.append(inflater.decompress(member[start : start + chunk_size], max_bytes))
        except zlib.error:
            inflater = before_chunk
            for end in range(start + 1, start + chunk_size + 1):
                try:
                    out.append(inflater.decompress(member[end - 1 : end], max_bytes))
                except zlib.error:
                    return b"".join(out)
        produced += len(out[-1])
        if produced >= max_bytes:
            return b"".join(out)
    return b"".join(out)


def _split_cut_off_line(data: bytes) -> tuple[bytes, bytes]:
    """Split decompressed text into its complete lines and the partial line after them."""
    end = data.rfind(b"\n") + 1
    return data[:end], data[end:]


def _cut_rows(decoded: DecodedFile, complete_lines: int) -> pa.Table:
    """The rows for a file whose end was not read: the partial last line, and the file."""
    problem = decoded.cut
    category = problem.split(":", 1)[0]
    if category == "truncated gzip":
        file_reason = f"truncated gzip: file ends after line {complete_lines}"
    elif category == "file too large":
        file_reason = f"{problem}; lines after line {complete_lines} are not read"
    else:
        file_reason = f"{problem}; nothing readable after line {complete_lines}"
    rows = []
    cut_off_text = decoded.tail[: 4 * RAW_TEXT_MAX_CHARS].decode("utf-8", errors="replace")
    if category != "file too large" and cut_off_text.strip():
        # The line may still look valid ("value=23" cut from "value=23.9"), so never trust it.
        number = complete_lines + 1
        reason = f"{category}: line {number} is incomplete, the file ends inside it"
        rows.append(_broken(number, cut_off_text, reason, len(decoded.tail)))
    rows.append(_broken(None, "", file_reason))
    return _rows_table(rows)


def _broken(
    line_number: int | None, raw_text: str, error: str, raw_length: int | None = None
) -> tuple:
    return (None, None, None, line_number, raw_text, raw_length, error)


def _file_problem(reason: str) -> pa.Table:
    return _rows_table([_broken(None, "", reason)])


def _rows_table(rows: list[tuple]) -> pa.Table:
    """Build a table of :data:`_ROW_SCHEMA` from row tuples in its column order."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_ROW_SCHEMA)
    return pa.table(
        [pa.array(values, type=f.type) for values, f in zip(columns, _ROW_SCHEMA, strict=True)],
        schema=_ROW_SCHEMA,
    )


def _line_chunks(text: bytes, chunk_bytes: int = _CHUNK_BYTES):
    """``(first line number, lines)`` over ``\n``-separated text, in blocks of whole lines.

    Blocks bound the memory a file of many short (or blank) lines takes: each line costs an
    Arrow offset only while its block is read.
    """
    start, number = 0, 1
    while start < len(text):
        end = text.find(b"\n", min(start + chunk_bytes, len(text)) - 1)
        end = len(text) if end < 0 else end + 1
        lines = _arrow_lines(text[start:end])
        yield number, lines
        number += len(lines)
        start = end


def _arrow_lines(block: bytes) -> pa.StringArray:
    """Lines of ``\n``-separated UTF-8 as Arrow strings, without a Python loop per line.

    The offsets are the positions of the line ends (numpy); a last line without a line end
    counts too. Undecodable bytes become U+FFFD so the line fails later.
    """
    block = _as_utf8(block)
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")) + 1
    offsets = np.concatenate(([0], ends, [] if block.endswith(b"\n") else [len(block)]))
    lines = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(block)
    )
    return pc.utf8_rtrim(lines, "\n").cast(pa.string())


def _as_utf8(block: bytes) -> bytes:
    """The block itself if it is UTF-8, else with U+FFFD for what does not decode."""
    if _is_utf8(block):
        return block
    return block.decode("utf-8", errors="replace").encode("utf-8")


def _parse_text(decoded: DecodedFile, limits: ParseLimits) -> pa.Table:
    """Every line of a text format through its reader; too-long and blank lines first."""
    reader = {"gateway": _GatewayReader, "jsonl": _JsonLinesReader, "csv": _CsvReader}[
        decoded.file_format
    ](decoded.encoding_problem)
    if decoded.file_format == "gateway":
        return _parse_gateway_text(decoded, reader, limits)
    tables = []
    last_line = 0
    for first, lines in _line_chunks(decoded.text):
        last_line = first + len(lines) - 1
        numbers = pa.array(np.arange(first, first + len(lines), dtype=np.int64))
        tables += _line_rows(reader, lines, numbers, limits)
    tables.append(reader.finish())
    if decoded.cut is not None:
        tables.append(_cut_rows(decoded, last_line))
    rows = pa.concat_tables(tables)
    return rows.sort_by([("line_number", "ascending")]) if len(tables) > 2 else rows


def _line_rows(
    reader, lines: pa.StringArray, numbers: pa.Int64Array, limits: ParseLimits
) -> list[pa.Table]:
    """Rows of some lines of a block: too-long ones, then the reader's; blank lines have none."""
    tables = []
    lengths = pc.binary_length(lines)
    too_long = pc.greater(lengths, limits.max_line_bytes)
    if too_long.true_count:
        tables.append(
            _too_long_rows(
                lines.filter(too_long),
                numbers.filter(too_long),
                lengths.filter(too_long),
                limits,
            )
        )
    blank = pc.equal(pc.binary_length(pc.utf8_trim(lines, _BLANK_CHARS)), 0)
    keep = pc.invert(pc.or_(blank, too_long))
    if keep.true_count != len(lines):
        lines, numbers = lines.filter(keep), numbers.filter(keep)
    if len(lines):
        tables.append(reader.read(lines, numbers))
    return tables


def _parse_gateway_text(decoded: DecodedFile, reader, limits: ParseLimits) -> pa.Table:
    """Gateway text a block at a time, blocks on threads (Arrow and numpy release the GIL).

    At most one block more than there are threads is in flight, so memory stays bounded by
    the block size, as in the one-thread reader.
    """
    blocks = _gateway_blocks(decoded.text)
    threads = _THREADS if len(decoded.text) > _CHUNK_BYTES else 1  # one block: no pool
    tables = list(
        _map_in_order(lambda block: _gateway_block(*block, reader, limits), blocks, threads)
    )
    if decoded.cut is not None:
        last_line = _line_count(decoded.text, 0, len(decoded.text))
        tables.append(_cut_rows(decoded, last_line))
    return pa.concat_tables(tables) if tables else _rows_table([])


def _gateway_blocks(text: bytes, chunk_bytes: int = _CHUNK_BYTES):
    """``(block, first line number)`` of whole lines, as :func:`_line_chunks` splits them."""
    start, number = 0, 1
    while start < len(text):
        end = text.find(b"\n", min(start + chunk_bytes, len(text)) - 1)
        end = len(text) if end < 0 else end + 1
        yield text[start:end], number
        number += _line_count(text, start, end)
        start = end


def _line_count(text: bytes, start: int, end: int) -> int:
    """Lines in ``text[start:end]``, a last one without a line end included."""
    if end <= start:
        return 0
    block = np.frombuffer(text, dtype=np.uint8, count=end - start, offset=start)
    return int(np.count_nonzero(block == ord("\n"))) + (text[end - 1] != ord("\n"))


def _map_in_order(work, items, threads: int):
    """``work`` over ``items`` on up to ``threads`` threads, results in order."""
    if threads == 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _gateway_block(block: bytes, first: int, reader, limits: ParseLimits) -> pa.Table:
    """The rows of one block of gateway lines, in line order.

    Canonical lines are read here, vectorised; every other line goes through
    :func:`_line_rows` (the too-long check, the regex reader, the per-line reader), and its row
    takes its place among the others.
    """
    block = _as_utf8(block)
    if not block.endswith(b"\n"):
        block += b"\n"
    spans = _canonical_spans(block, limits.max_line_bytes)
    if spans is None:
        lines = _arrow_lines(block)
        numbers = pa.array(np.arange(first, first + len(lines), dtype=np.int64))
        return _sorted(_line_rows(reader, lines, numbers, limits))
    data = pa.py_buffer(block)
    starts, ends = spans["line"]
    with_line_ends = pa.StringArray.from_buffers(
        len(ends), pa.py_buffer(np.concatenate(([0], ends + 1)).astype(np.int32)), data
    )
    lines = pc.ascii_rtrim(with_line_ends, "\n")  # one "\n" each, the last byte
    fast = spans["ok"]
    if reader.encoding_problem is not None:
        # Such a line is undecodable for the per-line reader, whatever else it holds.
        fast &= ~_to_numpy(pc.match_substring(lines, "\ufffd"))
    fast &= _odd_values(pc.ascii_is_decimal(_pieces(data, *spans["ts"], valid=fast)))
    fast &= _is_number(block, data, spans["value"], fast)
    numbers = np.arange(first, first + len(starts), dtype=np.int64)
    columns = {
        "sensor_id": _pieces(data, *spans["sensor_id"], valid=fast).take(_odd(len(starts))),
        "ts_ms": _odd_array(pc.cast(_pieces(data, *spans["ts"], valid=fast), pa.int64()), fast),
        "value": _odd_array(
            pc.cast(_pieces(data, *spans["value"], valid=fast), pa.float64()), fast
        ),
        "line_number": pa.array(numbers),
        "raw_text": lines,
        "raw_length": pa.nulls(len(starts), pa.int64()),
        "error": pa.nulls(len(starts), pa.string()),
    }
    other = ~fast
    if not other.any():
        return pa.table(columns, schema=_ROW_SCHEMA)
    slow = _sorted(
        _line_rows(
            reader,
            lines.filter(pa.array(other)),
            pa.array(numbers[other]),
            limits,
        )
    )
    slow_lines = slow["line_number"].to_numpy() - first
    is_slow_row = np.zeros(len(starts), dtype=bool)
    is_slow_row[slow_lines] = True
    # The fast columns are null on every other line already: only what a slow row has goes
    # in (its error always; values, when the regex reader read a line; a too-long prefix).
    mask = pa.array(is_slow_row)
    for name in ["sensor_id", "ts_ms", "value", "raw_text", "raw_length"]:
        if name == "raw_text" and slow["raw_length"].null_count == slow.num_rows:
            continue  # a slow row's raw_text is its line, but for a too-long one
        if slow[name].null_count < slow.num_rows:
            columns[name] = pc.replace_with_mask(
                columns[name], mask, slow[name].combine_chunks().cast(columns[name].type)
            )
    where_error = np.zeros(len(starts), dtype=np.int32)
    where_error[slow_lines] = np.arange(1, slow.num_rows + 1, dtype=np.int32)
    slow_errors = pa.concat_arrays([pa.nulls(1, pa.string()), slow["error"].combine_chunks()])
    columns["error"] = slow_errors.take(pa.array(where_error))
    rows = pa.table(columns, schema=_ROW_SCHEMA)
    is_row = fast | is_slow_row  # blank lines are not records
    return rows if is_row.all() else rows.filter(pa.array(is_row))


def _sorted(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return _rows_table([])
    return pa.concat_tables(tables).sort_by([("line_number", "ascending")])


def _canonical_spans(block: bytes, max_line_bytes: int) -> dict | None:
    """Where each line of a block (``\\n``-terminated) starts and ends, whether it is canonical,
    and for the canonical ones the spans of sensor_id, timestamp and value (byte offsets).

    A span that is not canonical is empty at its line's start, so the spans of a block always
    increase (Arrow offsets). ``ok`` still needs the timestamp's digits and the value's grammar
    checked, which :func:`_gateway_block` does with Arrow on the spans. None when the block has
    more separators than canonical lines can hold (blank lines, say): the per-separator arrays
    would cost more than the text and read few lines. None too past Arrow's 32-bit offsets.
    """
    text = np.frombuffer(block, dtype=np.uint8)
    is_separator = text < _SEPARATOR_BELOW
    separators = np.count_nonzero(is_separator)
    if len(block) >= 2**31 or separators * _MIN_CANONICAL_LINE > 8 * len(block):
        return None
    at = np.flatnonzero(is_separator)
    # Eight zero kinds first, so the eight separators before any line end can be read as one
    # word. A line that is not canonical reads the block's first seven separators instead of
    # its own (then thrown away), so a block with fewer gets padding.
    kinds = np.zeros(len(at) + 8, dtype=np.uint8)
    kinds[8:] = text[at]
    if len(at) < 7:
        at = np.concatenate((at, np.zeros(7, dtype=at.dtype)))
    last = np.flatnonzero(kinds == ord("\n"))  # each line's end, as an index in kinds
    ends = at[last - 8]
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    count = np.diff(last, prepend=7)
    pattern = _words(kinds)[last - 7]
    with_comma = (count == 8) & (pattern == _SEPARATORS_WITH_COMMA)
    without_comma = (count == 7) & ((pattern >> np.uint64(8)) == _SEPARATORS_WITHOUT_COMMA)
    ok = with_comma | without_comma
    # `at` index of the opening quote: 15 (or 14) separators before the line end's kind.
    quote = np.where(ok, last - 15 + without_comma, 0)
    opening, closing, comma, space, value_comma, value_space, value_end = (
        at[quote + i] for i in range(7)
    )
    ok &= (opening == starts + 10) & (comma == closing + 1) & (space == closing + 2)
    ok &= value_space == value_comma + 1
    ok &= without_comma | (value_end == ends - 1)
    ok &= (ends - starts <= max_line_bytes) & (ends - starts >= _MIN_CANONICAL_LINE)
    if len(block) >= 8:
        words = _words(block)
        last_word = len(words) - 1

        def word_at(position: np.ndarray) -> np.ndarray:
            return words[np.minimum(position, last_word)]

        ok &= (word_at(starts) == _SENSOR_I) & (word_at(starts + 3) == _SOR_ID)
        ok &= (word_at(closing) == _TIMES) & (word_at(closing + 5) == _MESTAMP)
        ok &= word_at(value_comma) == _VALUE
    else:
        ok[:] = False
    ts_start, value_start = closing + 13, value_comma + 8
    ok &= (value_comma - ts_start >= 1) & (value_comma - ts_start <= _MAX_FAST_TS_DIGITS)
    ok &= (value_end - value_start >= 1) & (value_end - value_start <= _MAX_NUMBER_CHARS)

    def span(begin: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.where(ok, begin, starts), np.where(ok, end, starts)

    return {
        "ok": ok,
        "line": (starts, ends),
        "sensor_id": span(opening + 1, closing),
        "ts": span(ts_start, value_comma),
        "value": span(value_start, value_end),
    }


def _words(data) -> np.ndarray:
    """The eight bytes from every position of ``data`` as little-endian numbers (a view)."""
    size = max(len(data) - 7, 0)
    return np.ndarray((size,), dtype="<u8", buffer=data, strides=(1,))


def _pieces(
    data: pa.Buffer, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray | None = None
) -> pa.StringArray:
    """``data[starts[i]:ends[i]]`` as element ``2i + 1``, the bytes between as ``2i``.

    Arrow strings are contiguous, so the spans come with what lies between them; a cast or a
    check of only the odd elements (the even ones null) reads the spans without copying them.
    """
    offsets = np.empty(2 * len(starts) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1::2] = starts
    offsets[2::2] = ends
    bitmap = None
    if valid is not None:
        odd = np.zeros(2 * len(starts), dtype=bool)
        odd[1::2] = valid
        bitmap = pa.py_buffer(np.packbits(odd, bitorder="little"))
    return pa.StringArray.from_buffers(2 * len(starts), pa.py_buffer(offsets), data, bitmap)


def _odd(count: int) -> pa.Int32Array:
    return pa.array(np.arange(1, 2 * count, 2, dtype=np.int32))


def _to_numpy(flags: pa.BooleanArray) -> np.ndarray:
    return pc.fill_null(flags, False).to_numpy(zero_copy_only=False)


def _odd_values(flags: pa.BooleanArray) -> np.ndarray:
    """The odd elements of a check over :func:`_pieces`, valid or not: the caller ands them."""
    bits = np.frombuffer(flags.buffers()[1], dtype=np.uint8)
    values = np.unpackbits(bits, count=flags.offset + len(flags), bitorder="little")
    return values[flags.offset + 1 :: 2].view(bool)


def _is_number(
    block: bytes, data: pa.Buffer, spans: tuple[np.ndarray, np.ndarray], valid: np.ndarray
) -> np.ndarray:
    """Which value spans match :data:`_NUMBER`, where ``valid``.

    The spelling gateways write, ``[-]digits[.digits]`` with up to three decimals, is checked
    as two runs of digits (Arrow, no regex); any other span goes through the regex, which
    decides alone, so this check accepts exactly what the pattern accepts.
    """
    begin, end = spans
    text = np.frombuffer(block, dtype=np.uint8)
    negative = text[begin] == ord("-")
    dot = end.copy()  # no dot: the whole span is the integer part
    for back in (4, 3, 2):
        at_dot = text[np.maximum(end - back, 0)] == ord(".")
        dot = np.where(at_dot & (end - back > begin), end - back, dot)
    integer = _odd_values(pc.ascii_is_decimal(_pieces(data, begin + negative, dot, valid=valid)))
    has_dot = dot < end
    fraction = _odd_values(
        pc.ascii_is_decimal(_pieces(data, np.where(has_dot, dot + 1, end), end, valid=valid))
    )
    plain = valid & integer & (fraction | ~has_dot)
    other = np.flatnonzero(valid & ~plain)
    if len(other):
        spelled = _pieces(data, begin, end).take(pa.array(2 * other + 1))
        plain[other] = _to_numpy(pc.match_substring_regex(spelled, f"^(?:{_NUMBER})$"))
    return plain


def _odd_array(values: pa.Array, valid: np.ndarray) -> pa.Array:
    """The odd elements of a cast over :func:`_pieces`, null where not ``valid``."""
    numbers = np.frombuffer(values.buffers()[1], dtype=values.type.to_pandas_dtype())
    return pa.array(np.ascontiguousarray(numbers[1 : 2 * len(valid) : 2]), mask=~valid)


def _too_long_rows(
    lines: pa.StringArray, numbers: pa.Int64Array, lengths: pa.Int64Array, limits: ParseLimits
) -> pa.Table:
    prefixes = pc.utf8_slice_codeunits(lines, 0, RAW_TEXT_MAX_CHARS).to_pylist()
    reason = (
        "line too long: {} bytes, more than the {} of SNUK_MAX_LINE_BYTES "
        f"(raw_text keeps the first {RAW_TEXT_MAX_CHARS} characters)"
    )
    return _rows_table(
        [
            _broken(number, prefix, reason.format(length, limits.max_line_bytes), length)
            for number, prefix, length in zip(
                numbers.to_pylist(), prefixes, lengths.to_pylist(), strict=True
            )
        ]
    )


def _undecodable(line: str, encoding_problem: str | None) -> str | None:
    """The reason a line is unreadable because of the file's encoding, or None."""
    if encoding_problem is not None and ("\ufffd" in line or "\x00" in line):
        return f"undecodable text: {encoding_problem}"
    return None


class _GatewayReader:
    """Gateway lines: a strict pattern, vectorised, and a Python reader for the rest."""

    def __init__(self, encoding_problem: str | None):
        self.encoding_problem = encoding_problem

    def read(self, lines: pa.StringArray, line_numbers: pa.Int64Array) -> pa.Table:
        groups = pc.extract_regex(lines, _GATEWAY_LINE)
        ts_digits = pc.binary_length(pc.struct_field(groups, "ts"))
        value_chars = pc.binary_length(pc.struct_field(groups, "value"))
        strict = pc.and_(
            pc.less_equal(ts_digits, _MAX_FAST_TS_DIGITS),
            pc.less_equal(value_chars, _MAX_NUMBER_CHARS),
        )
        if self.encoding_problem is not None:
            # Such a line is undecodable for the per-line reader, whatever else it holds.
            undecodable = pc.or_(
                pc.match_substring(lines, "\ufffd"), pc.match_substring(lines, "\x00")
            )
            strict = pc.and_(strict, pc.invert(undecodable))
        strict = pc.fill_null(strict, False)
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
                pa.nulls(len(strict_lines), pa.int64()),
                pa.nulls(len(strict_lines), pa.string()),
            ],
            schema=_ROW_SCHEMA,
        )
        if all_strict:
            return fast
        other = pc.invert(strict)
        slow_rows = [
            _undecodable_row(line, number, self.encoding_problem)
            or _read_gateway_line(line, number)
            for number, line in zip(
                line_numbers.filter(other).to_pylist(),
                lines.filter(other).to_pylist(),
                strict=True,
            )
        ]
        return pa.concat_tables([fast, _rows_table(slow_rows)]).sort_by("line_number")

    def finish(self) -> pa.Table:
        return _rows_table([])


def _undecodable_row(line: str, number: int, encoding_problem: str | None) -> tuple | None:
    reason = _undecodable(line, encoding_problem)
    return None if reason is None else _broken(number, line, reason)


def _read_gateway_line(line: str, number: int) -> tuple:
    """Read one gateway line the strict pattern rejected, and say what is wrong with it."""
    body = line.strip()
    fields: dict[str, str] = {}
    for part in body.removesuffix(",").split(","):
        # partition and strip, not a regex: "(.*?)\s*" under fullmatch is quadratic in the
        # length of a run of spaces (issue 20: a 64 KB line took 10 s).
        field_name, equals, text = part.partition("=")
        field_name, text = field_name.strip(), text.strip()
        if not equals or not _FIELD_NAME_RE.fullmatch(field_name):
            return _broken(number, line, f"unparseable line: {_GATEWAY_EXPECTED}")
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
    return (sensor_id, ts_ms, value, number, raw, None, None)


def _read_timestamp(text: str) -> tuple[int | None, str | None]:
    """Whole milliseconds since the epoch from text, or the reason it is not one."""
    if len(text) > _MAX_NUMBER_CHARS:
        # int() refuses more than 4300 digits, and no such number fits in 64 bits anyway.
        return None, f"bad number for timestamp: {len(text)} characters long"
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
    if len(text) > _MAX_NUMBER_CHARS:
        return None, f"bad number for value: {len(text)} characters long"
    if _NUMBER_RE.fullmatch(text):
        return float(text), None
    return None, f"bad number for value: {text!r}"


class _JsonLinesReader:
    """JSON lines, one object per line."""

    def __init__(self, encoding_problem: str | None):
        self.encoding_problem = encoding_problem

    def read(self, lines: pa.StringArray, line_numbers: pa.Int64Array) -> pa.Table:
        rows = []
        for number, line in zip(line_numbers.to_pylist(), lines.to_pylist(), strict=True):
            if (row := _undecodable_row(line, number, self.encoding_problem)) is not None:
                rows.append(row)
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                rows.append(_broken(number, line, f"unparseable line: not valid JSON ({exc})"))
                continue
            rows.append(_read_record(record, number, line))
        return _rows_table(rows)

    def finish(self) -> pa.Table:
        return _rows_table([])


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


def csv_header_names(line: str) -> list[str] | None:
    """The lower-cased column names of a CSV header line, or None if it is not one.

    A header names sensor_id, timestamp and value; a first line that does not is a record
    (quarantined for the missing columns), so a file without a header is never one row.
    """
    try:
        cells = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None
    header = [cell.strip().lower() for cell in cells]
    return header if all(f in header for f in FIELDS) else None


class _CsvReader:
    """CSV lines; the first line is the header if it names the three columns."""

    def __init__(self, encoding_problem: str | None):
        self.encoding_problem = encoding_problem
        self.positions: list[int] | None = None
        self.width = 0
        self.no_header: str | None = None

    def read(self, lines: pa.StringArray, line_numbers: pa.Int64Array) -> pa.Table:
        rows = []
        for number, line in zip(line_numbers.to_pylist(), lines.to_pylist(), strict=True):
            if self.positions is None and self.no_header is None:
                header = csv_header_names(line)
                if header is not None:
                    self.positions = [header.index(f) for f in FIELDS]
                    self.width = len(header)
                    continue
                self.no_header = (
                    f"missing column: no header naming {', '.join(FIELDS)} "
                    f"(line {number} is not one)"
                )
            if (row := _undecodable_row(line, number, self.encoding_problem)) is not None:
                rows.append(row)
                continue
            if self.no_header is not None:
                rows.append(_broken(number, line, self.no_header))
                continue
            rows.append(self._read_row(line, number))
        return _rows_table(rows)

    def _read_row(self, line: str, number: int) -> tuple:
        try:
            cells = next(csv.reader([line]))
        except csv.Error as exc:
            return _broken(number, line, f"bad csv row: {exc}")
        if len(cells) != self.width:
            reason = f"bad csv row: expected {self.width} fields like the header, got {len(cells)}"
            return _broken(number, line, reason)
        sensor_id, ts_text, value_text = (cells[i].strip() for i in self.positions)
        texts = (sensor_id, ts_text, value_text)
        empty = [f for f, text in zip(FIELDS, texts, strict=True) if not text]
        if empty:
            return _broken(number, line, f"missing field: {', '.join(empty)}")
        return _checked_row(sensor_id, ts_text, value_text, number, line)

    def finish(self) -> pa.Table:
        return _rows_table([])


def _parse_parquet(data: bytes) -> pa.Table:
    try:
        parquet_file = pq.ParquetFile(pa.BufferReader(data))
        names = parquet_file.schema_arrow.names
        missing = [f for f in FIELDS if f not in names]
        table = parquet_file.read(columns=[f for f in FIELDS if f in names])
    except (pa.ArrowException, OSError, ValueError) as exc:
        return _file_problem(f"unreadable parquet: {exc}")
    present = [f for f in FIELDS if f not in missing]
    columns = [_parquet_values(table.column(f)) for f in present]
    # Without a column every row is quarantined, one by one: the file's rows still count.
    no_column = (
        f"missing column: {', '.join(missing)} (the file has {', '.join(names)})"
        if missing
        else None
    )
    rows = []
    for index, values in enumerate(zip(*columns, strict=True)):
        record = dict(zip(present, values, strict=True))
        raw = json.dumps(record, separators=(",", ":"), default=str)
        if no_column is not None:
            rows.append(_broken(index + 1, raw, no_column))
        else:
            rows.append(_read_record(record, index + 1, raw))
    if not present and parquet_file.metadata.num_rows:
        rows = [_broken(i + 1, "{}", no_column) for i in range(parquet_file.metadata.num_rows)]
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
