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

# A block's line offsets take 8 bytes a line: 8 MiB for a block of 1 MiB of line ends.
_BLOCK = 1024 * 1024
_BLANK = np.frombuffer(BLANK_BYTES, dtype=np.uint8)
_NEWLINE = ord("\n")
# Per byte value: a content byte (neither blank nor a line end).
_CONTENT = np.ones(256, dtype=bool)
_CONTENT[_BLANK] = False
_CONTENT[_NEWLINE] = False
# Lines of a block not starting with content that are looked at one at a time (a few ms).
_LINES_LOOKED_AT = 1024


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


def count_lines_with_content(text: bytes, *, block_bytes: int = _BLOCK) -> int:
    """Lines of ``\\n``-separated text with a byte that is neither blank nor a line end.

    In blocks, so the memory is a few bytes per byte of a block whatever the file holds. Each
    line, its ``\\n`` included, is one segment of the block. A line whose first byte is content
    is counted from that byte alone (nearly every line of a gateway file); the others are looked
    at one by one, or, past ``_LINES_LOOKED_AT`` of them in a block, every byte of the block is,
    ``np.logical_or.reduceat`` telling in one pass which segments hold a content byte. The line
    that runs on past a block's end carries over.
    """
    count, carried = 0, False  # carried: the unfinished line so far has content
    for start in range(0, len(text), block_bytes):
        block = np.frombuffer(
            text, dtype=np.uint8, count=min(block_bytes, len(text) - start), offset=start
        )
        line_ends = np.flatnonzero(block == _NEWLINE)
        starts = np.concatenate(([0], line_ends[line_ends < len(block) - 1] + 1))
        has_content = _CONTENT[block[starts]]
        unsure = np.flatnonzero(~has_content)
        if len(unsure) > _LINES_LOOKED_AT:
            has_content = np.logical_or.reduceat(_CONTENT[block], starts)
        else:
            for line in unsure:
                end = starts[line + 1] if line + 1 < len(starts) else len(block)
                has_content[line] = _CONTENT[block[starts[line] : end]].any()
        has_content[0] |= carried
        count += int(np.count_nonzero(has_content[: len(line_ends)]))
        carried = len(has_content) > len(line_ends) and bool(has_content[-1])
    return count + int(carried)


def _first_line_with_content(text: bytes) -> bytes:
    block = np.frombuffer(text, dtype=np.uint8)
    content = np.flatnonzero((block != _NEWLINE) & ~np.isin(block, _BLANK))
    if not len(content):
        return b""
    first = int(content[0])
    end = text.find(b"\n", first)
    return text[text.rfind(b"\n", 0, first) + 1 : len(text) if end < 0 else end]
