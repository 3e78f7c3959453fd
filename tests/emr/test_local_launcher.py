"""The EMR entry points under ``spark-submit --master local[2]``, launched by Dagster through Pipes.

The Pipes context and messages go through a bucket on the moto server (real HTTP, the same
S3 injector and reader as on EMR); the lakehouse is a local folder. Each test starts
spark-submit (a JVM) once per step.
"""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
import yaml
from ci_components import require
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    DagsterEventType,
    DagsterInstance,
    materialize,
    multi_asset,
)

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.assets.sensors import sensors
from snuk_assets.emr import (
    LocalSparkSubmitLauncher,
    resample_step,
    spark_resampled_series,
    train_step,
)
from snuk_assets.emr.local import SCRIPTS_DIR, default_spark_submit
from snuk_assets.engines import LocalEngine
from snuk_assets.partitions import daily_partitions
from snuk_assets.registry import default_registry_path
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building
from snuk_assets.stages.models import read_models
from snuk_assets.transforms.models.training import TrainingParams

require("pyspark")
require("java", why="spark-submit starts a JVM")

pytestmark = [pytest.mark.s3, pytest.mark.slow]

ROOMS = ["7101", "7103"]
START = dt.date(2016, 6, 6)
LAST = START + dt.timedelta(days=4)


def partition_range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> SnukSettings:
    """A small simulated building materialized up to feature_windows, in a local lakehouse."""
    root = tmp_path_factory.mktemp("emr")
    document = yaml.safe_load(default_registry_path().read_text())
    document["rooms"] = [r for r in document["rooms"] if r["room_id"] in ROOMS]
    document["sensors"] = [s for s in document["sensors"] if s["room_id"] in ROOMS]
    (root / "building.yaml").write_text(yaml.safe_dump(document))
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=str(root / "building.yaml"),
    )
    simulate_building(
        registry=settings.registry(),
        landing_uri=settings.landing_uri,
        truth_dir=root / "truth",
        start=START,
        days=(LAST - START).days + 1,
        seed=5,
    )
    resources = {"settings": settings, "engine": LocalEngine(max_workers=1)}
    stages = [
        ([sensors], START, START),
        ([raw_observations], START, LAST + dt.timedelta(days=4)),
        ([resampled_series, room_series, feature_windows], START, LAST),
    ]
    for assets, first, last in stages:
        assert materialize(assets, resources=resources, tags=partition_range(first, last)).success
    return settings


def materializations(result) -> dict[str, dict]:
    """Each materialized asset's metadata values, by asset name."""
    return {
        event.materialization.asset_key.to_user_string(): {
            name: value.value for name, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def resample_on_spark(settings: SnukSettings, bucket: str, **materialize_args):
    """Materialize the launcher's ``resampled_series``, the Pipes session on ``bucket``."""
    launcher = LocalSparkSubmitLauncher(pipes_bucket=bucket, pipes_poll_seconds=1)
    return materialize(
        [spark_resampled_series()],
        resources={"settings": settings, "spark_launcher": launcher},
        **materialize_args,
    )


def test_the_resample_entry_point_reports_its_materialization_through_pipes(settings, s3_bucket):
    days = [START + dt.timedelta(days=1), START + dt.timedelta(days=2)]
    lakehouse = settings.lakehouse()
    version_before = lakehouse.table("resampled_series").version()
    instance = DagsterInstance.ephemeral()

    result = resample_on_spark(
        settings, s3_bucket, tags=partition_range(days[0], days[-1]), instance=instance
    )

    assert result.success
    metadata = materializations(result)["resampled_series"]
    table = lakehouse.table("resampled_series")
    written = lakehouse.read("resampled_series", dates=days).to_pandas()
    assert metadata["delta_version"] == table.version() == version_before + 1
    assert metadata["rows"] == metadata["dagster/row_count"] == len(written) > 0
    assert metadata["days"] == [str(day) for day in days]
    assert metadata["table_uri"] == lakehouse.table_uri("resampled_series")
    assert metadata["sensors"] == written["sensor_id"].nunique()
    # The script's progress, logged in the Spark driver, reached the run's log through Pipes.
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(f"resampling 2 days ({days[0]}..{days[-1]})" in m for m in messages)


def test_two_steps_of_one_run_report_their_own_assets(settings, s3_bucket):
    """Resample and train in one run, one Pipes session per step: each reports its asset."""
    launcher = LocalSparkSubmitLauncher(pipes_bucket=s3_bucket, pipes_poll_seconds=1)

    @multi_asset(
        specs=[AssetSpec("resampled_series"), AssetSpec("occupancy_models")],
        partitions_def=daily_partitions,
    )
    def resample_and_train(context: AssetExecutionContext):
        steps = [
            resample_step(settings, [LAST]),
            train_step(settings, [LAST], TrainingParams(min_days=3)),
        ]
        yield from launcher.run_steps(context, steps)

    result = materialize([resample_and_train], partition_key=LAST.isoformat())

    assert result.success
    reported = materializations(result)
    assert set(reported) == {"resampled_series", "occupancy_models"}
    assert reported["resampled_series"]["days"] == reported["occupancy_models"]["days"]
    models = read_models(settings.lakehouse(), [LAST])
    assert reported["occupancy_models"]["rows"] == len(models) == len(ROOMS)
    assert sorted(models["room_id"]) == ROOMS


def test_a_failing_entry_point_fails_the_asset_with_its_error(tmp_path, s3_bucket):
    empty = SnukSettings(landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path))

    result = resample_on_spark(
        empty, s3_bucket, partition_key=START.isoformat(), raise_on_error=False
    )

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.message
    assert "step 'resample 2016-06-06..2016-06-06' failed: spark-submit exited with 1" in message
    assert f"no raw_observations table at {tmp_path}/raw_observations" in message


def test_without_dagster_the_entry_point_prints_what_it_wrote(settings):
    """A spark-submit typed by hand: no Pipes variables, one JSON line on stdout."""
    day = START + dt.timedelta(days=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES_")}
    command = [
        default_spark_submit(),
        "--master",
        "local[2]",
        str(SCRIPTS_DIR / "resample_tseries.py"),
        *resample_step(settings, [day]).args,
    ]

    done = subprocess.run(
        command, env=env | {"PYSPARK_PYTHON": sys.executable}, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr[-3000:]
    # spark-submit mixes the driver's stderr and Spark's own lines into its stdout.
    [report] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert report["days"] == [day.isoformat()]
    assert report["delta_version"] == settings.lakehouse().table("resampled_series").version()
    assert report["rows"] == len(settings.lakehouse().read("resampled_series", dates=[day]))
