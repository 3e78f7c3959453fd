"""A run whose process is SIGKILLed is marked failed by the project's instance (issue 20).

Real processes: the run executes in a subprocess against a ``DAGSTER_HOME`` holding the
project's ``dagster.yaml``; it is killed mid-step, stays STARTED, and a real ``dagster-daemon``
on that instance marks it failed through run monitoring, which asks the project's launcher
(``snuk_assets/run_launcher.py``) whether the worker is alive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

REPO = Path(__file__).resolve().parents[1]

KILLABLE_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dagster import DagsterInstance, execute_job, job, op, reconstructable

    @op
    def wait_to_be_killed():
        Path(sys.argv[1]).write_text("started")
        time.sleep(600)

    @job
    def killable():
        wait_to_be_killed()

    if __name__ == "__main__":
        execute_job(reconstructable(killable), instance=DagsterInstance.get())
    """
)


def test_the_project_instance_enables_run_monitoring():
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_runtime_seconds"] == 12 * 3600
    assert config["run_launcher"] == {
        "module": "snuk_assets.run_launcher",
        "class": "LocalRunLauncher",
    }


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_sigkilled_run_is_marked_failed_not_left_started(tmp_path, sigkill_at_marker):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    script = tmp_path / "killable_run.py"
    script.write_text(KILLABLE_RUN)
    marker = tmp_path / "started"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    # Its own session: the kill takes the step's process and log tailers with it.
    run = subprocess.Popen(
        [sys.executable, str(script), str(marker)], env=env, cwd=tmp_path, start_new_session=True
    )
    sigkill_at_marker(run, marker, timeout=120)

    with DagsterInstance.from_config(str(home)) as instance:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == DagsterRunStatus.STARTED  # nothing else notices
        run_id = record.dagster_run.run_id
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dagster._daemon", "run", "--empty-workspace"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 300
            while instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED:
                assert daemon.poll() is None, "the daemon stopped"
                assert time.monotonic() < deadline, "run monitoring never failed the run"
                time.sleep(1)
        finally:
            daemon.kill()
            daemon.wait(timeout=30)
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
        [failure] = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.RUN_FAILURE
        ).records
        assert "is gone: killed or crashed" in failure.event_log_entry.dagster_event.message
