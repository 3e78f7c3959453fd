"""Count the records of a landing file from its bytes, independently of the parser's rows.

``rows_add_up`` compares this count with what the parser returned: a file the parser collapsed
(a CR-only file read as one line, a CSV without a header turned into one error row) fails the
check instead of passing it. The count shares only the reading of the bytes with the parser
(decompression within the size limit, the byte-order mark, ``\\r``/``\\r\\n`` line ends, the
CSV header rule); the line splitting and the records themselves are counted here with numpy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from snuk_assets.transforms.ingest.parse import (
    BLANK_BYTES,
    DEFAULT_LIMITS,
    DecodedFile,
    ParseLimits,
    csv_header_names,
    decode_landing_file,
)

_BLOCK = 8 * 1024 * 1024
_BLANK = np.frombuffer(BLANK_BYTES, dtype=np.uint8)
_NEWLINE = ord("\n")


def count_records(
    name: str, data: bytes, *, limits: ParseLimits = DEFAULT_LIMITS, complete: bool = True
) -> int:
    """Records in one landing file: rows of a Parquet file, non-blank lines of a text file.

    A CSV header is not a record. Lines past ``limits.max_file_bytes`` are not counted (the
    parser reports them as one file-level row, which ``rows_add_up`` leaves out); a file-level
    problem (unreadable Parquet) has no records.
    """
    return count_decoded(decode_landing_file(name, data, limits=limits, complete=complete))


def count_decoded(decoded: DecodedFile) -> int:
    """:func:`count_records` on a file already read by ``decode_landing_file``."""
    if decoded.file_format == "parquet":
        if decoded.cut is not None:
            return 0
        try:
            return pq.ParquetFile(pa.BufferReader(decoded.text)).metadata.num_rows
        except (pa.ArrowException, OSError, ValueError):
            return 0
    tail = b""
    if decoded.cut is not None and not decoded.cut.startswith("file too large"):
        tail = decoded.tail  # the cut-off last line is a record, reported as incomplete
    records = count_lines_with_content(decoded.text) + count_lines_with_content(tail)
    if decoded.file_format == "csv" and records:
        first = _first_line_with_content(decoded.text or tail)
        if csv_header_names(first.decode("utf-8", errors="replace")) is not None:
            records -= 1
    return records


def count_lines_with_content(text: bytes) -> int:
    """Lines of ``\\n``-separated text with a byte that is neither blank nor a line end.

    In blocks, so the memory is a few bytes per byte of a block whatever the file holds.
    """
    count, in_counted_line = 0, False
    for start in range(0, len(text), _BLOCK):
        block = np.frombuffer(
            text, dtype=np.uint8, count=min(_BLOCK, len(text) - start), offset=start
        )
        newline = block == _NEWLINE
        content = ~newline & ~np.isin(block, _BLANK)
        events = newline[newline | content]  # True: a line end, False: a content byte
        if not len(events):
            continue
        # A content byte right after a line end starts a counted line.
        count += int(np.count_nonzero(~events[1:] & events[:-1]))
        if not events[0] and not in_counted_line:
            count += 1
        in_counted_line = not events[-1]
    return count


def _first_line_with_content(text: bytes) -> bytes:
    block = np.frombuffer(text, dtype=np.uint8)
    content = np.flatnonzero((block != _NEWLINE) & ~np.isin(block, _BLANK))
    if not len(content):
        return b""
    first = int(content[0])
    end = text.find(b"\n", first)
    return text[text.rfind(b"\n", 0, first) + 1 : len(text) if end < 0 else end]
