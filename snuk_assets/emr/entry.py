"""What the spark-submit entry points share: their day-range arguments, their input check, and
how they tell their launcher what they wrote (Dagster Pipes, or one JSON line).

Launched by a SNUK launcher (``DAGSTER_PIPES_CONTEXT`` in the driver's environment), the script
reads its Pipes context from S3 and writes its messages, logs and materialization back to S3;
started by hand, it logs to stderr and prints one JSON line on stdout, as before.
"""

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    PipesContext,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesS3ContextLoader,
    PipesS3MessageWriter,
    decode_param,
    open_dagster_pipes,
)

from snuk_assets.lakehouse import WriteReport
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.resample import CheckVerdict

# Seconds between uploads of buffered messages and logs to S3; the last chunk goes at exit.
MESSAGE_UPLOAD_SECONDS = 5


def day_range_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the settings and the first and last day, both included."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--settings",
        default="",
        help="SnukSettings as JSON (SnukSettings.to_json; what Dagster passes); default: "
        "from the driver's SNUK_* environment variables",
    )
    parser.add_argument("--lakehouse", default="", help="lakehouse root (overrides --settings)")
    parser.add_argument("--registry", default="", help="building registry (overrides --settings)")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat, help="first day")
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat, help="last day")
    return parser


def settings_from_args(args: argparse.Namespace) -> SnukSettings:
    """The step's settings: ``--settings`` whole (or the environment's), then the overrides."""
    settings = SnukSettings.from_json(args.settings) if args.settings else SnukSettings.from_env()
    overrides = {"lakehouse_uri": args.lakehouse, "registry_path": args.registry}
    return settings.replaced(**{name: value for name, value in overrides.items() if value})


def parse_day_range(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[argparse.Namespace, list[dt.date]]:
    """The parsed arguments and every day from ``--start`` to ``--end``."""
    args = parser.parse_args(list(argv))
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    return args, [
        args.start + dt.timedelta(days=i) for i in range((args.end - args.start).days + 1)
    ]


def require_table(settings: SnukSettings, name: str, *, needed_for: str) -> None:
    """Fail with the table's location and what to do if the input table ``name`` is missing."""
    lakehouse = settings.lakehouse()
    if not lakehouse.exists(name):
        raise FileNotFoundError(
            f"no {name} table at {lakehouse.table_uri(name)}: materialize {name} "
            f"for {needed_for} first"
        )


def write_summary(write: WriteReport, **extra: Any) -> dict[str, Any]:
    """What a step wrote, as JSON-ready values: the table, its new version, rows and days."""
    return {
        "table_uri": write.table_uri,
        "delta_version": write.version,
        "rows": write.rows,
        **extra,
        "days": [str(day) for day in write.dates],
        "commit_attempts": write.attempts,
    }


class StepReporter:
    """Progress and the final materialization of one step, without Dagster: stderr and stdout."""

    def __init__(self, asset: str):
        self.asset = asset
        self._log = logging.getLogger(f"snuk.emr.{asset}")
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    def info(self, message: str) -> None:
        self._log.info(message)

    def materialized(self, write: WriteReport, **extra: Any) -> None:
        """Print what was written as one JSON line (the script's result when run by hand)."""
        print(json.dumps(write_summary(write, **extra)), flush=True)

    def checks(self, verdicts: Sequence[CheckVerdict]) -> None:
        """Log each check's outcome (by hand there is no Dagster to report it to)."""
        for verdict in verdicts:
            self._log.info(f"check {verdict.name}: {'passed' if verdict.passed else 'failed'}")


class PipesStepReporter(StepReporter):
    """Progress as Pipes log messages; the materialization reported for the step's asset."""

    def __init__(self, asset: str, pipes: PipesContext):
        super().__init__(asset)
        self.pipes = pipes

    def info(self, message: str) -> None:
        self.pipes.log.info(message)

    def materialized(self, write: WriteReport, **extra: Any) -> None:
        metadata: dict[str, Any] = write_summary(write, **extra)
        metadata["table_uri"] = {"raw_value": write.table_uri, "type": "path"}
        metadata["dagster/row_count"] = write.rows
        self.pipes.report_asset_materialization(
            metadata=metadata, asset_key=self._asset_key(), data_version=None
        )
        super().materialized(write, **extra)

    def checks(self, verdicts: Sequence[CheckVerdict]) -> None:
        """Report each check of the step's asset through Pipes, as the in-process asset does."""
        for verdict in verdicts:
            self.pipes.report_asset_check(
                check_name=verdict.name,
                passed=verdict.passed,
                severity="WARN" if verdict.warn_only else "ERROR",
                metadata={
                    key: {"raw_value": value, "type": "json"} if isinstance(value, dict) else value
                    for key, value in verdict.metadata.items()
                },
                asset_key=self._asset_key(),
            )

    def _asset_key(self) -> str | None:
        keys = list(self.pipes.asset_keys) if self.pipes.is_asset_step else []
        if self.asset in keys:
            return self.asset
        if len(keys) == 1:
            # An asset of another name that runs this script (e.g. a copy for comparison).
            return None
        raise RuntimeError(
            f"this step writes {self.asset!r} but the Dagster step materializes {keys}: "
            f"launch it from an asset named {self.asset!r} or from a single asset"
        )


@contextmanager
def step_reporter(asset: str) -> Iterator[StepReporter]:
    """A reporter for a step that writes ``asset``: through Pipes if Dagster launched it.

    An exception inside the block reaches Dagster in the Pipes ``closed`` message (and is
    raised again, so spark-submit and the EMR step fail too).
    """
    if DAGSTER_PIPES_CONTEXT_ENV_VAR not in os.environ:
        yield StepReporter(asset)
        return
    with open_dagster_pipes(
        context_loader=_context_loader(), message_writer=_message_writer()
    ) as pipes:
        yield PipesStepReporter(asset, pipes)


def _on_s3(env_var: str) -> bool:
    # The launcher's S3 injector and reader put a bucket in their params; any other Dagster
    # launcher (a subprocess, a temp file) gets the default loader and writer.
    return "bucket" in decode_param(os.environ[env_var])


def _s3_client():
    from snuk_assets.storage import s3_client

    return s3_client()


def _context_loader():
    if _on_s3(DAGSTER_PIPES_CONTEXT_ENV_VAR):
        return PipesS3ContextLoader(client=_s3_client())
    return PipesDefaultContextLoader()


def _message_writer():
    if _on_s3(DAGSTER_PIPES_MESSAGES_ENV_VAR):
        return PipesS3MessageWriter(client=_s3_client(), interval=MESSAGE_UPLOAD_SECONDS)
    return PipesDefaultMessageWriter()
