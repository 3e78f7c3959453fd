"""What one Spark step is, and the spark-submit command line that runs it.

A step names an entry point in ``resources/emr/`` and its arguments; the launchers
(``snuk_assets.emr.local``, ``snuk_assets.emr.cluster``) turn it into a spark-submit on a laptop or
an EMR step. The Pipes variables reach the script as the driver's environment.
"""

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

from snuk_assets.settings import SnukSettings
from snuk_assets.stages.models import run_config_values
from snuk_assets.transforms.models.params import TrainingParams

# The asset each entry point writes, and so reports to Dagster.
SCRIPT_ASSETS = {
    "resample_tseries.py": "resampled_series",
    "train_occupancy.py": "occupancy_models",
}


@dataclass(frozen=True)
class SparkStep:
    """One spark-submit of an entry point in ``resources/emr/``.

    Parameters
    ----------
    name : str
        Shown as the EMR step's name and in Dagster's logs.
    script : str
        File name of the entry point, e.g. ``"resample_tseries.py"``.
    args : sequence of str
        The script's own arguments.
    conf : mapping of str to str
        Extra ``--conf`` settings for this step only.
    """

    name: str
    script: str
    args: tuple[str, ...] = ()
    conf: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen and copied: a caller's list or dict changed later cannot change the step.
        object.__setattr__(self, "args", tuple(str(arg) for arg in self.args))
        object.__setattr__(self, "conf", MappingProxyType(dict(self.conf)))

    @classmethod
    def of(cls, step: "SparkStep | Mapping") -> "SparkStep":
        """A step from a ``SparkStep`` or a dict with the same keys (copied, never kept)."""
        if isinstance(step, SparkStep):
            return step
        unknown = set(step) - {"name", "script", "args", "conf"}
        if unknown:
            raise ValueError(
                f"unknown Spark step keys {sorted(unknown)}: expected name, script, args, conf"
            )
        return cls(
            name=step["name"],
            script=step["script"],
            args=tuple(step.get("args", ())),
            conf=dict(step.get("conf", {})),
        )


def spark_submit_args(
    step: SparkStep,
    *,
    script: str,
    python: str,
    driver_env: Mapping[str, str] = MappingProxyType({}),
    submit_options: Sequence[str] = (),
) -> list[str]:
    """The ``spark-submit`` argument list (without the program itself) that runs ``step``.

    ``script`` is where the entry point is (a path or an s3:// URI); ``python`` the interpreter
    with SNUK installed, on the driver and the executors. ``driver_env`` becomes
    ``spark.yarn.appMasterEnv.*``: the driver's environment in YARN cluster mode. Executors
    never talk to Dagster, so the Pipes variables are not copied to them.
    """
    conf = {
        "spark.pyspark.python": python,
        "spark.pyspark.driver.python": python,
        **{f"spark.yarn.appMasterEnv.{name}": value for name, value in driver_env.items()},
        **step.conf,
    }
    args = list(submit_options)
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return [*args, script, *step.args]


def resample_step(
    settings: SnukSettings, days: Sequence[dt.date], *, report_checks: bool = False
) -> SparkStep:
    """``resample_tseries.py`` for measurement ``days`` with ``settings`` whole (a contiguous
    range is not required: the script is given the first and last day, and every day between
    is rewritten). ``report_checks``: the step reports the asset's checks too."""
    first, last = min(days), max(days)
    args = _settings_and_days(settings, first, last)
    if report_checks:
        args.append("--report-checks")
    return SparkStep(name=f"resample {first}..{last}", script="resample_tseries.py", args=args)


def train_step(
    settings: SnukSettings,
    days: Sequence[dt.date],
    params: TrainingParams = TrainingParams(),  # noqa: B008 (frozen, so shared safely)
) -> SparkStep:
    """``train_occupancy.py`` for training ``days`` (first to last, every day between), with
    ``settings`` whole and the run's training settings (``stages.models.RUN_CONFIG_FIELDS``)."""
    first, last = min(days), max(days)
    training = json.dumps(run_config_values(params), sort_keys=True)
    args = [*_settings_and_days(settings, first, last), "--training", training]
    return SparkStep(name=f"train {first}..{last}", script="train_occupancy.py", args=args)


def _settings_and_days(settings: SnukSettings, first: dt.date, last: dt.date) -> list[str]:
    return ["--settings", settings.to_json(), "--start", str(first), "--end", str(last)]


# What ``SparkStepLauncher.run_stage`` runs for each stage it can run.
STAGE_STEPS: dict[str, Callable[[SnukSettings, Sequence[dt.date]], SparkStep]] = {
    "resample": partial(resample_step, report_checks=True),
    "train": train_step,
}
