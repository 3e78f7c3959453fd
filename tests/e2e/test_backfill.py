"""End to end through a live ``dagster dev``: materialize and backfill over GraphQL, and the CLI.

What the UI does when you click *Materialize* / *Launch backfill*, done over the same GraphQL API,
then checked in the Delta tables the runs wrote.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ci_components import HANG_GUARD_S

from snuk_assets.lakehouse import Lakehouse

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

DATES = ["2016-06-01", "2016-06-02", "2016-06-03"]
BACKFILL_ASSETS = ["raw_observations", "resampled_series"]
BACKFILL_TIMEOUT_S = HANG_GUARD_S  # a hang guard: the loop ends when the backfill does

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs(limit: 100) { runId status tags { key value } }
      error { message }
    }
    ... on PythonError { message }
  }
}
"""

DONE = {"COMPLETED", "COMPLETED_SUCCESS"}
FAILED = {"FAILED", "COMPLETED_FAILED", "CANCELED", "CANCELING", "FAILING"}


def _dates_in(lakehouse: Lakehouse, table: str) -> set[str]:
    rows = lakehouse.read(table, columns=["date"])
    return {str(value) for value in rows.column("date").to_pylist()}


def test_sensors_materialize_over_graphql(dagster_server, sensors_materialized):
    table = Lakehouse(str(dagster_server.lakehouse)).read("sensors")
    assert table.num_rows == 243  # the reference office's sensors


def test_backfill_over_graphql(dagster_server, sensors_materialized):
    result = dagster_server.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "partitionNames": DATES,
                "assetSelection": [{"path": [name]} for name in BACKFILL_ASSETS],
                "fromFailure": False,
            }
        },
    )["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill_id = result["backfillId"]

    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while True:
        backfill = dagster_server.graphql(BACKFILL_STATUS, {"id": backfill_id})[
            "partitionBackfillOrError"
        ]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        status = backfill["status"]
        if status in DONE or status in FAILED:
            break
        assert time.monotonic() < deadline, (
            f"backfill {backfill_id} still {status} after {BACKFILL_TIMEOUT_S} s: "
            f"{backfill['runs']}\n{dagster_server.log_tail()}"
        )
        time.sleep(2)
    assert status in DONE, (
        f"backfill {backfill_id}: {status} {backfill}\n{dagster_server.log_tail()}"
    )
    runs = backfill["runs"]
    assert runs and all(run["status"] == "SUCCESS" for run in runs), runs

    lakehouse = Lakehouse(str(dagster_server.lakehouse))
    for table in BACKFILL_ASSETS:
        assert set(DATES) <= _dates_in(lakehouse, table), table
        for day in DATES:
            rows = lakehouse.read(table, dates=[dt.date.fromisoformat(day)], columns=["date"])
            assert rows.num_rows > 0, f"{table} has no rows for {day}"
    # Single-run backfill policy: the range goes in one run per asset, not one per day.
    assert len(runs) == len(BACKFILL_ASSETS), runs


def test_cli_partition_range(dagster_server, tmp_path):
    """The README's command line, on the simulated landing zone, into a fresh lakehouse."""
    lakehouse_dir = tmp_path / "lakehouse"
    env = {
        **dagster_server.env,
        "SNUK_LAKEHOUSE_URI": str(lakehouse_dir),
        # Its own instance: the CLI run is not mixed into the server's.
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "snuk_assets.definitions",
        "--select",
        "raw_observations",
        "--partition-range",
        "2016-06-01...2016-06-02",
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {"2016-06-01", "2016-06-02"} <= _dates_in(
        Lakehouse(str(lakehouse_dir)), "raw_observations"
    )
