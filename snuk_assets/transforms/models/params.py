"""The settings of a room's training, defined once, without the libraries that train.

Apart from the rest of ``transforms.models`` so that the definitions, the run config of
``occupancy_models`` and the EMR steps can read them without importing scikit-learn and skops
(about 2 s of every process start, twice per ``dagster asset materialize``: issue 19).
"""

from __future__ import annotations

from dataclasses import dataclass

from snuk_assets.transforms.resample.bins import DEFAULT_FREQ


@dataclass(frozen=True)
class TrainingParams:
    """Every training setting, defined once: the window of days, forest size, split, and the
    least data a room needs to be trained.

    The Dagster run config of ``occupancy_models`` and the spark-submit step are built from
    these fields (``stages.models.RUN_CONFIG_FIELDS``); ``timezone`` and ``freq`` come from
    the building and the settings.
    """

    # The trailing days of feature windows a room trains on, the training day included (the
    # stage reads them; ``train_room`` sees their windows).
    train_days: int = 28
    n_estimators: int = 60
    # Shallow trees on half the features each: on the demo building these beat deeper, sqrt-
    # feature forests (which overfit the few weeks of data) in mean F1 at every horizon > 1.
    max_depth: int = 8
    min_samples_leaf: int = 20
    max_features: float | str | None = 0.5
    # What the forest sees: per room_series column, its most recent lags (None: every lag of
    # the window), then calendar columns. Idle minutes tell when motion stopped inside a bin,
    # which the occupied shares cannot: on three simulated buildings they lift F1 at 5 minutes
    # ahead by 0.004 .. 0.008. Three lags, because the older ones are nearly the newest minus
    # 5 k minutes and all 12 cost up to 0.01 F1 an hour ahead. Climate lags are left out: on
    # the demo building and on UCI they shift between training and test weeks and cost F1.
    # Any room_series column that feature_windows lags may be named, e.g. ("co2", 3): a room
    # without the sensor trains without it (its lags are all null), and where a room has it,
    # a window without its lags is left out.
    feature_lags: tuple[tuple[str, int | None], ...] = (("occupancy", None), ("idle_minutes", 3))
    calendar_features: tuple[str, ...] = ("time_of_day_sin", "time_of_day_cos", "working_day")
    # Held-out scoring walks forward: the last ``test_blocks`` x ``test_fraction`` of the span
    # is scored in consecutive blocks of ``test_fraction``, each by a forest and a profile
    # trained on every window before it, and the scores pool the blocks. With one block of
    # 20 % (about 1,300 windows a room) which days fell into it decided most rooms' comparison;
    # three blocks triple the held-out windows. The stored model is the last block's.
    test_fraction: float = 0.2
    test_blocks: int = 3
    min_days: int = 3
    min_windows: int = 200
    # Occupied when the probability reaches a cut. With ``tune_thresholds`` each horizon gets
    # the cut of ``THRESHOLD_GRID`` with the best F1 on the training windows: out-of-bag
    # probabilities for the forest, in-sample shares for the time-of-week profile (the same
    # favour to both). ``threshold`` is the cut without tuning, and where a horizon's training
    # labels hold one class. F1's best cut is about half the attainable F1 (Lipton et al.,
    # ECML PKDD 2014), so 0.4 rather than 0.5 for the F1 of 0.8 .. 0.9 seen here.
    threshold: float = 0.4
    tune_thresholds: bool = True
    seed: int = 0
    timezone: str = "Europe/Berlin"
    freq: str = DEFAULT_FREQ
