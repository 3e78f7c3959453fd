"""Parse speed of one landing file, a git ref's parser against the worktree's, side by side.

    .venv/bin/python benchmarks/parse_benchmark.py [--base main] [--lines 1000000]

One gzipped gateway file (a line in 1000 broken), parsed by ``<base>``'s parser
(``transforms/ingest/parse.py``; ``transforms/parse.py`` before issue 14) and by the worktree's
(alone, and with the record count ``rows_add_up`` adds), best of 3 each; the ratio to the base
is what to read. Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import subprocess
import sys
import tempfile
import time
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
    spec.loader.exec_module(module)
    return module


def best_of_3(fn) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


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
    data = gzip.compress(("\n".join(lines) + "\n").encode(), 6)
    name = "raw_data/2016/08/14/gw.txt.gz"
    base = base_parser(options.base)
    base_time = best_of_3(lambda: base.parse_landing_file(name, data))
    ours = best_of_3(lambda: parse.parse_landing_file(name, data))

    def parse_and_count():
        decoded = parse.decode_landing_file(name, data)
        return parse.parse_decoded(name, decoded), count_decoded(decoded)

    with_count = best_of_3(parse_and_count)
    print(f"{options.lines} lines, {len(data)} bytes gzipped")
    print(f"{options.base} parse: {base_time:.2f} s")
    print(f"worktree parse: {ours:.2f} s ({ours / base_time:.2f}x)")
    print(f"worktree parse + record count: {with_count:.2f} s ({with_count / base_time:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
