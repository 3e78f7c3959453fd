"""One interface for running spark-submit entry points under Dagster Pipes, locally or on EMR.

Every step gets its own Pipes session (its context file and message prefix on S3), so several
steps of one run never write over each other's message chunks; the results of all sessions are
yielded when the steps are done, so the asset receives the materializations the scripts
reported.
"""

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    OpExecutionContext,
    PipesExecutionResult,
    PipesSession,
    open_pipes_session,
)
from dagster_aws.pipes import PipesS3ContextInjector, PipesS3MessageReader
from dagster_pipes import PipesParams
from pydantic import Field

from snuk_assets.emr.steps import STAGE_STEPS, SparkStep
from snuk_assets.settings import SnukSettings

StepLike = SparkStep | Mapping


class PrefixedS3MessageReader(PipesS3MessageReader):
    """``PipesS3MessageReader`` whose message chunks go below ``key_prefix`` (e.g. ``pipes/``),
    not at the bucket's root, so one IAM statement covers all of Pipes."""

    def __init__(self, *, key_prefix: str, **kwargs):
        super().__init__(**kwargs)
        self.key_prefix = key_prefix

    @contextmanager
    def get_params(self) -> Iterator[PipesParams]:
        with super().get_params() as params:
            yield {**params, "key_prefix": f"{self.key_prefix}{params['key_prefix']}"}


class SparkStepLauncher(ConfigurableResource, ABC):
    """Runs SNUK's spark-submit entry points (``resources/emr/``) for an asset, through Pipes."""

    pipes_bucket: str = Field(description="S3 bucket for the Pipes context and messages.")
    pipes_prefix: str = Field(
        default="pipes/", description="Key prefix of the Pipes context and messages."
    )
    pipes_poll_seconds: float = Field(
        default=5, description="How often Dagster reads new Pipes message chunks from S3."
    )
    forward_stdio: bool = Field(
        default=True,
        description="Send the script's stdout and stderr to Dagster with its Pipes messages.",
    )

    @abstractmethod
    def run_steps(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        steps: Sequence[StepLike],
    ) -> Iterator[PipesExecutionResult]:
        """Run ``steps`` in order; yield what they reported; raise ``Failure`` if one fails."""

    def step_settings(self, settings: SnukSettings) -> SnukSettings:
        """``settings`` as the step's driver sees them: its registry file or registries folder
        where that process finds it (here: the same paths, a spark-submit on this machine)."""
        return settings

    def run_stage(
        self,
        context: AssetExecutionContext,
        stage: str,
        settings: SnukSettings,
        days: Sequence[dt.date],
    ) -> Iterator[PipesExecutionResult]:
        """Run one stage (``steps.STAGE_STEPS``) for ``days`` as a step, with ``settings``
        whole (``step_settings``: the registries as the step's driver sees them; in a portfolio
        scoped to one building, ``settings.building``); yield what the step reported."""
        self.check_lakehouse(settings.lakehouse_uri)
        step = STAGE_STEPS[stage](self.step_settings(settings), days)
        yield from self.run_steps(context, [step])

    def check_lakehouse(self, uri: str) -> None:
        """Raise if the steps cannot reach a lakehouse at ``uri``."""

    @contextmanager
    def pipes_sessions(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        steps: Sequence[SparkStep],
    ) -> Iterator[list[PipesSession]]:
        """One open Pipes session per step, all closed (and their messages read) on exit."""
        from snuk_assets.storage import s3_client

        s3 = s3_client()
        prefix = self.pipes_prefix.strip("/") + "/" if self.pipes_prefix.strip("/") else ""
        with ExitStack() as stack:
            yield [
                stack.enter_context(
                    open_pipes_session(
                        context=context,
                        context_injector=PipesS3ContextInjector(
                            bucket=self.pipes_bucket, client=s3, key_prefix=prefix
                        ),
                        message_reader=PrefixedS3MessageReader(
                            key_prefix=prefix,
                            bucket=self.pipes_bucket,
                            client=s3,
                            interval=self.pipes_poll_seconds,
                            include_stdio_in_messages=self.forward_stdio,
                        ),
                        extras={"step": step.name},
                    )
                )
                for step in steps
            ]


def reported_results(sessions: Sequence[PipesSession]) -> list[PipesExecutionResult]:
    """What the steps reported. No implicit materializations: with one session per step, each
    would claim every asset of the run; a step that reported nothing leaves its asset
    unmaterialized and Dagster fails the run saying so."""
    return [
        result
        for session in sessions
        for result in session.get_results(implicit_materializations=False)
    ]
