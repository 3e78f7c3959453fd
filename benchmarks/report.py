"""Where the benchmarks write their figures: one timestamped JSON file per run."""

from __future__ import annotations

import json
import pathlib

import pandas as pd

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def write_report(kind: str, report: dict) -> pathlib.Path:
    """Write ``report`` as ``results/<kind>_<UTC timestamp>.json``, print and return the path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{kind}_{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")
    return path
