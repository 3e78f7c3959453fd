"""The EMR steps on this machine: the same entry points under ``spark-submit --master local[2]``.

The Pipes context and messages still go through S3 (a moto server in the tests), so a laptop
runs the whole loop an EMR cluster runs, minus YARN.
"""

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    DagsterExecutionInterruptedError,
    Failure,
    MetadataValue,
    OpExecutionContext,
    PipesExecutionResult,
)
from pydantic import Field

from snuk_assets.emr.launcher import SparkStepLauncher, StepLike, reported_results
from snuk_assets.emr.steps import SparkStep, spark_submit_args

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "emr"
# Lines of spark-submit's output quoted in a step's failure.
FAILURE_TAIL_LINES = 30


def default_spark_submit() -> str:
    """The ``spark-submit`` that ships with the installed pyspark."""
    beside_python = Path(sys.executable).with_name("spark-submit")
    if beside_python.exists():
        return str(beside_python)
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


class LocalSparkSubmitLauncher(SparkStepLauncher):
    """Runs each step with ``spark-submit --master local[2]`` on this machine, one after another."""

    master: str = Field(default="local[2]", description="Spark master for spark-submit.")
    scripts_dir: str = Field(
        default="", description="Folder of the entry points; empty means resources/emr/."
    )
    spark_submit: str = Field(default="", description="spark-submit; empty means pyspark's.")
    python: str = Field(default="", description="Python with SNUK installed; empty: this one.")
    poll_seconds: float = Field(default=1, description="How often the process is checked.")
    env: dict[str, str] = Field(
        default={}, description="Extra environment variables for spark-submit."
    )

    def run_steps(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        steps: Sequence[StepLike],
    ) -> Iterator[PipesExecutionResult]:
        spark_steps = [SparkStep.of(step) for step in steps]
        with self.pipes_sessions(context, spark_steps) as sessions:
            for step, session in zip(spark_steps, sessions, strict=True):
                self._run(context, step, session.get_bootstrap_env_vars())
        yield from reported_results(sessions)

    def _run(self, context, step: SparkStep, pipes_env) -> None:
        python = self.python or sys.executable
        script = Path(self.scripts_dir or SCRIPTS_DIR) / step.script
        if not script.exists():
            raise Failure(f"step {step.name!r}: no entry point {script}")
        command = [
            self.spark_submit or default_spark_submit(),
            *spark_submit_args(
                step, script=str(script), python=python, submit_options=["--master", self.master]
            ),
        ]
        # PYSPARK_PYTHON: the workers run this venv's interpreter, not the system python3.
        env = {**os.environ, **pipes_env, "PYSPARK_PYTHON": python, **self.env}
        context.log.info(f"step {step.name!r}: {' '.join(command)}")
        # One file for both streams: spark-submit sends the Python driver's stderr (its
        # traceback) to its own stdout.
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                returncode = self._wait(process)
            except DagsterExecutionInterruptedError:
                context.log.warning(f"step {step.name!r} interrupted: stopping spark-submit")
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
                raise
            log.seek(0)
            output = log.read()
        sys.stderr.write(output)  # into the compute logs
        if returncode != 0:
            tail = "\n".join(output.splitlines()[-FAILURE_TAIL_LINES:])
            raise Failure(
                description=f"step {step.name!r} failed: spark-submit exited with {returncode}; "
                f"the end of its output:\n{tail}",
                metadata={"command": MetadataValue.text(" ".join(command))},
            )
        context.log.info(f"step {step.name!r} completed")

    def _wait(self, process: subprocess.Popen) -> int:
        # A short wait in a loop, not one long wait(): Dagster's interrupt must get through.
        while True:
            try:
                return process.wait(timeout=self.poll_seconds)
            except subprocess.TimeoutExpired:
                continue
