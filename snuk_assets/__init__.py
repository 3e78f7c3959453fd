"""SNUK: per-room occupancy forecasts from smart-building sensor observations.

Dagster marks two features the asset graph relies on as beta and warns each time one is used
(about 30 lines before a run's first useful one), and two more as superseded. They are accepted
on purpose, so their warnings are filtered here, where the package is loaded, each with its
reason; any other warning still shows. The filters match the messages, not
``dagster.BetaWarning`` or ``SupersessionWarning``: importing the package must not import
Dagster (worker processes import it too).
"""

import warnings

ACCEPTED_DAGSTER_FEATURES = {
    # Each asset backfills a range of days in one run, which replaces exactly those partitions
    # in one Delta commit (lakehouse.py) instead of a run per day.
    r"Parameter `backfill_policy` of (function|decorator|initializer) `": "single-run backfills",
    # A day's windows reach days before the calendar's first partition or after today's; those
    # upstream partitions do not exist and read as no rows (partitions.py, feature_windows).
    r"Parameter `allow_nonexistent_upstream_partitions` of initializer "
    r"`TimeWindowPartitionMapping": "windows reaching past the calendar",
    # The live table's freshness check and its sensor (live/dagster_assets.py). Their successor,
    # FreshnessPolicy, is a preview in Dagster 1.13 (off unless dagster.yaml enables it, evaluated
    # by the daemon only); the checks run in every instance and are tested.
    r"Function `build_last_update_freshness_checks` is superseded": "live freshness check",
    r"Function `build_sensor_for_freshness_checks` is superseded": "live freshness sensor",
}
for _message in ACCEPTED_DAGSTER_FEATURES:
    warnings.filterwarnings("ignore", message=_message)
