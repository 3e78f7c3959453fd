"""Issue 22 on the Spark engine: a portfolio's stages group by building as well as by sensor
and room (each building's days run through the engine with its own settings).

Criteria, fixed before the first run: on Spark ``local[2]`` the three-building run of
``tests/portfolio/portfolio_run.py`` succeeds, materializes every (building, day) of
room_series in one run, and its backfill of one building's day replaces only that partition's
data files (the same assertions as the local engine's test).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "portfolio"))

from portfolio_run import DAYS, assert_backfill_left_the_others, run_portfolio  # noqa: E402


def test_a_portfolio_on_spark(tmp_path):
    # The child starts its own local[2] session (conftest.py has required pyspark and Java).
    run = run_portfolio(tmp_path, {"SNUK_ENGINE": "spark", "SNUK_SPARK_MASTER": "local[2]"})
    assert run["first_run_success"]
    expected = sorted(f"{b}|{d}" for b in run["buildings"] for d in DAYS)
    assert run["first_run_room_series_keys"] == expected
    assert_backfill_left_the_others(run)
