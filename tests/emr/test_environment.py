"""The launcher chosen from the environment, and the code location that uses it."""

import pytest

from snuk_assets.emr import EmrPipesLauncher, LocalSparkSubmitLauncher, spark_launcher_from_env
from snuk_assets.emr.definitions import build_definitions


def test_emr_from_the_environment_derives_its_places_from_the_bucket():
    launcher = spark_launcher_from_env(
        {"SNUK_SPARK_LAUNCHER": "emr", "SNUK_PIPES_BUCKET": "b", "SNUK_EMR_CORE_INSTANCES": "4"}
    )
    assert isinstance(launcher, EmrPipesLauncher)
    assert (launcher.code_uri, launcher.log_uri) == ("s3://b/emr", "s3://b/logs/")
    assert launcher.core_instance_count == 4 and launcher.timeout_seconds is None
    assert launcher.registries == ""  # one building; a portfolio names its folder:
    portfolio = spark_launcher_from_env(
        {"SNUK_SPARK_LAUNCHER": "emr", "SNUK_PIPES_BUCKET": "b", "SNUK_EMR_REGISTRIES": "reg"}
    )
    assert portfolio.registries == "reg"


def test_local_is_the_default_and_the_bucket_is_required():
    assert isinstance(spark_launcher_from_env({"SNUK_PIPES_BUCKET": "b"}), LocalSparkSubmitLauncher)
    with pytest.raises(ValueError, match="SNUK_PIPES_BUCKET is not set"):
        spark_launcher_from_env({})
    with pytest.raises(ValueError, match="expected one of local, emr"):
        spark_launcher_from_env({"SNUK_SPARK_LAUNCHER": "yarn", "SNUK_PIPES_BUCKET": "b"})


def test_the_emr_code_location_resamples_with_the_launcher():
    env = {"SNUK_SPARK_LAUNCHER": "emr", "SNUK_PIPES_BUCKET": "b", "SNUK_LAKEHOUSE_URI": "s3://b/l"}
    definitions = build_definitions(env)
    assert isinstance(definitions.resources["spark_launcher"], EmrPipesLauncher)
    job = definitions.resolve_implicit_global_asset_job_def()
    assert [str(node.name) for node in job.nodes] == ["resampled_series"]
