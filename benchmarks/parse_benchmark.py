"""Parse speed of one landing file, a git ref's parser against the worktree's, side by side.

    .venv/bin/python benchmarks/parse_benchmark.py [--base main] [--lines 1000000]

One gateway file (a line in 1000 broken), plain and gzipped, parsed by ``<base>``'s parser
(``transforms/ingest/parse.py``; ``transforms/parse.py`` before issue 14) and by the worktree's
(alone, and with the record count ``rows_add_up`` adds), best of 3 each, in lines per second;
the ratio to the base is what to read. Decompression alone (zlib, which the parser calls) is
timed too, to show its share of the gzipped figure. Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pandas  # noqa: F401  (its import is not part of any timing)

from snuk_assets.transforms.ingest import parse
from snuk_assets.transforms.ingest.records import count_decoded

# Where the parser lives in a ref: transforms/ingest/ since issue 14, transforms/ before.
PARSER_PATHS = ["snuk_assets/transforms/ingest/parse.py", "snuk_assets/transforms/parse.py"]


def base_parser(ref: str):
    for parser_path in PARSER_PATHS:
        shown = subprocess.run(
            ["git", "show", f"{ref}:{parser_path}"], capture_output=True, text=True
        )
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"{ref} has no parser at {' or '.join(PARSER_PATHS)}")
    source = shown.stdout
    path = Path(tempfile.mkdtemp()) / "base_parse.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_parse", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def best_of_3(fn, *args) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def parse_and_count(name: str, data: bytes):
    decoded = parse.decode_landing_file(name, data)
    return parse.parse_decoded(name, decoded), count_decoded(decoded)


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--base", default="main")
    args.add_argument("--lines", type=int, default=1_000_000)
    options = args.parse_args()
    lines = [
        f"sensor_id='8514-294-220-{i % 250:03d}-t', timestamp={1471020341000 + i}, "
        f"value={20 + i % 7}.5,"
        for i in range(options.lines)
    ]
    lines[::1000] = ["garbage line"] * len(lines[::1000])
    plain = ("\n".join(lines) + "\n").encode()
    gzipped = gzip.compress(plain, 6)
    base = base_parser(options.base)
    count = options.lines
    print(f"{count} lines, {len(plain)} bytes plain, {len(gzipped)} bytes gzipped")
    gunzip = best_of_3(zlib.decompress, gzipped, 16 + zlib.MAX_WBITS)
    for label, name, data in (
        ("plain", "raw_data/2016/08/14/gw.txt", plain),
        ("gzip", "raw_data/2016/08/14/gw.txt.gz", gzipped),
    ):
        base_time = best_of_3(base.parse_landing_file, name, data)
        ours = best_of_3(parse.parse_landing_file, name, data)
        with_count = best_of_3(parse_and_count, name, data)
        print(f"{label}: {options.base} parse: {base_time:.3f} s, {count / base_time:,.0f} lines/s")
        print(
            f"{label}: worktree parse: {ours:.3f} s, {count / ours:,.0f} lines/s "
            f"({base_time / ours:.2f}x the base)"
        )
        print(
            f"{label}: worktree parse + record count: {with_count:.3f} s, "
            f"{count / with_count:,.0f} lines/s"
        )
        threads, parse._THREADS = parse._THREADS, 1  # what the second core adds
        one_thread = best_of_3(parse.parse_landing_file, name, data)
        parse._THREADS = threads
        print(
            f"{label}: worktree parse on 1 thread (of {threads}): {one_thread:.3f} s, "
            f"{count / one_thread:,.0f} lines/s"
        )
        if label == "gzip":
            print(
                f"gzip: gunzip alone (zlib): {gunzip:.3f} s, {count / gunzip:,.0f} lines/s, "
                f"{gunzip / ours:.0%} of the worktree parse"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
