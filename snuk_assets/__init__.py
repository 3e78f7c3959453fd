"""SNUK: per-room occupancy forecasts from smart-building sensor observations.

Dagster marks two features the asset graph relies on as beta and warns each time one is used
(about 30 lines before a run's first useful one). They are accepted on purpose, so their
warnings are filtered here, where the package is loaded, each with its reason; any other
warning still shows. The filters match the messages, not ``dagster.BetaWarning``: importing
the package must not import Dagster (worker processes import it too).
"""

import warnings

ACCEPTED_BETA_FEATURES = {
    # Each asset backfills a range of days in one run, which replaces exactly those partitions
    # in one Delta commit (lakehouse.py) instead of a run per day.
    r"Parameter `backfill_policy` of (function|decorator|initializer) `": "single-run backfills",
    # A day's windows reach days before the calendar's first partition or after today's; those
    # upstream partitions do not exist and read as no rows (partitions.py, feature_windows).
    r"Parameter `allow_nonexistent_upstream_partitions` of initializer "
    r"`TimeWindowPartitionMapping": "windows reaching past the calendar",
}
for _message in ACCEPTED_BETA_FEATURES:
    warnings.filterwarnings("ignore", message=_message)
