"""Settings refuse bad durations when they are built, before any run starts."""

from __future__ import annotations

import pathlib
import re

import pandas as pd
import pytest
from pydantic import ValidationError

import snuk_assets
from snuk_assets import environment
from snuk_assets.environment import SETTINGS_VARIABLES
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.resample.bins import DEFAULT_MAX_ON


def settings(**fields) -> SnukSettings:
    return SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h", **fields)


def test_defaults_and_a_shorter_gap_are_accepted():
    assert settings().max_on == "12h"
    assert pd.Timedelta(settings().max_on) == DEFAULT_MAX_ON  # one default, written twice
    shorter = settings(max_gap={"motion": "24h", "temperature": "10min"})
    assert shorter.max_gap_by_type == {
        "motion": pd.Timedelta("24h"),
        "temperature": pd.Timedelta("10min"),
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # Longer than the 3 days resampled_series reads before each day.
        ({"max_gap": {"motion": "96h"}}, "longer than the 3 days of observations"),
        ({"max_gap": {"pressure": "1h"}}, "unknown sensor type 'pressure'"),
        ({"max_gap": {"motion": "0s"}}, "max_gap['motion'] must be positive"),
        ({"max_on": "-1h"}, "max_on must be positive"),
        ({"max_on": "twelve hours"}, "twelve hours"),
        ({"bin_freq": "5 parsecs"}, "5 parsecs"),
    ],
)
def test_bad_durations_fail_when_the_settings_are_built(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        settings(**fields)


def test_every_field_can_be_set_from_the_environment(tmp_path):
    env = {
        "SNUK_LANDING_URI": "s3://bucket",
        "SNUK_LANDING_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/1/landing",
        "SNUK_LANDING_QUEUE_WAIT_SECONDS": "5",
        "SNUK_LANDING_QUEUE_MAX_BATCHES": "3",
        "SNUK_LANDING_REPAIR_INTERVAL_MINUTES": "30",
        "SNUK_TRUTH_DIR": str(tmp_path / "truth"),
        "SNUK_LAKEHOUSE_URI": str(tmp_path / "lake"),
        "SNUK_REGISTRY": "/opt/building.yaml",
        "SNUK_MAX_LATENESS_DAYS": "3",
        "SNUK_BIN_FREQ": "10min",
        "SNUK_MAX_OFFLINE_SHARE": "0.25",
        "SNUK_MAX_GAP": "motion=2h, temperature=10min",
        "SNUK_MAX_ON": "6h",
        "SNUK_MAX_LINE_BYTES": "4096",
        "SNUK_MAX_FILE_BYTES": "1048576",
        "SNUK_ESTIMATE_HISTORY_DAYS": "7",
    }
    from_env = SnukSettings.from_env(env)
    assert from_env.values() == {
        "landing_uri": "s3://bucket",
        "landing_queue_url": "https://sqs.eu-central-1.amazonaws.com/1/landing",
        "landing_queue_wait_seconds": 5,
        "landing_queue_max_batches": 3,
        "landing_repair_interval_minutes": 30,
        "truth_dir": str(tmp_path / "truth"),
        "lakehouse_uri": str(tmp_path / "lake"),
        "registry_path": "/opt/building.yaml",
        "registries_path": "",  # SNUK_REGISTRIES replaces SNUK_REGISTRY: test_registry.py
        "max_lateness_days": 3,
        "bin_freq": "10min",
        "max_offline_share": 0.25,
        "max_gap": {"motion": "2h", "temperature": "10min"},
        "max_on": "6h",
        "max_line_bytes": 4096,
        "max_file_bytes": 1048576,
        "building": "",  # the scope for_building sets per partition, never from the environment
        "estimate_history_days": 7,
    }
    # Every field but the building scope has its variable (a new field without one fails here).
    assert set(SETTINGS_VARIABLES) == set(SnukSettings.model_fields) - {"building"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SNUK_MAX_GAP": "motion2h"}, "SNUK_MAX_GAP='motion2h': expected comma-separated"),
        ({"SNUK_MAX_GAP": "motion=2h,motion=3h"}, "each type once"),
        ({"SNUK_MAX_OFFLINE_SHARE": "half"}, "SNUK_MAX_OFFLINE_SHARE='half' is not a float"),
        ({"SNUK_MAX_ON": "-1h"}, "max_on must be positive"),
    ],
)
def test_a_malformed_variable_fails_naming_it(env, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SnukSettings.from_env(env)


def test_the_settings_travel_whole_as_json():
    original = settings(bin_freq="10min", max_gap={"motion": "2h"}, max_on="1h")
    assert SnukSettings.from_json(original.to_json()) == original
    assert original.replaced(max_on="2h").values() == {**original.values(), "max_on": "2h"}


def test_definitions_refuse_a_lateness_the_graph_was_not_built_with():
    from snuk_assets.definitions import build_definitions
    from snuk_assets.partitions import MAX_LATENESS_DAYS

    late = settings(max_lateness_days=MAX_LATENESS_DAYS + 2)
    with pytest.raises(ValueError, match=f"set SNUK_MAX_LATENESS_DAYS={MAX_LATENESS_DAYS + 2}"):
        build_definitions(late)
    assert settings().max_lateness_days == MAX_LATENESS_DAYS  # one source: the graph's


def test_snuk_variables_are_read_only_in_the_environment_modules():
    """``environment.py`` (and the EMR launcher's ``emr/environment.py``) read every ``SNUK_``
    variable: a read anywhere else would bypass its checks and the README's table."""
    package = pathlib.Path(snuk_assets.__file__).parent
    readers = {package / "environment.py", package / "emr" / "environment.py"}
    read = re.compile(r"""(\.get\(|getenv\(|environ\[)\s*f?["']SNUK_""")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path not in readers
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if read.search(line)
    ]
    assert offenders == []


def test_a_portfolio_child_gets_the_registries_folder_and_no_single_registry(tmp_path):
    from snuk_assets.environment import portfolio_environment

    env = portfolio_environment({"SNUK_REGISTRY": "/opt/b.yaml", "PATH": "/bin"})
    assert env["SNUK_REGISTRIES"].endswith("/data/registries") and "SNUK_REGISTRY" not in env
    assert env["PATH"] == "/bin"
    given = portfolio_environment({"SNUK_REGISTRIES": str(tmp_path)})
    assert given["SNUK_REGISTRIES"] == str(tmp_path)


def test_the_access_and_privacy_variables():
    assert environment.min_workplaces({}) == 2
    assert environment.raw_retention_days({"SNUK_RAW_RETENTION_DAYS": "30"}) == 30
    assert environment.api_tokens_file({}) is None
    account = environment.mqtt_credentials(
        {"SNUK_REPLAY_MQTT_USERNAME": "gw", "SNUK_REPLAY_MQTT_PASSWORD": "pw"},
        prefix="SNUK_REPLAY_MQTT",
    )
    assert (account.username, account.password) == ("gw", "pw") and "pw" not in repr(account)
    with pytest.raises(ValueError, match="SNUK_RAW_RETENTION_DAYS must be a whole number of days"):
        environment.raw_retention_days({"SNUK_RAW_RETENTION_DAYS": "0"})
    with pytest.raises(ValueError, match="SNUK_MIN_WORKPLACES must be a whole number >= 0"):
        environment.min_workplaces({"SNUK_MIN_WORKPLACES": "-1"})
