"""The development instance's run launcher: Dagster's default one, plus a worker health check.

With the ``DefaultRunLauncher`` run monitoring cannot tell that a run worker died: the code
server fails such a run only while it is itself alive, so a run killed together with its
``dagster dev`` (or a worker killed by the OOM killer after the code server restarted) stays
STARTED. This launcher reads the worker's process id from the run's ``RUN_START`` event and, on
the same host, reports the worker FAILED once that process is gone, so run monitoring marks the
run failed within ``poll_interval_seconds``. For a single-host instance only (``dagster.yaml``);
production launches runs elsewhere (``deploy/dagster.prod.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus


class LocalRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose run workers run monitoring can check (same host only)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        records = self._instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_START, limit=1
        ).records
        event = records[0].event_log_entry.dagster_event if records else None
        pid = getattr(event, "pid", None)
        if pid is None:
            # Not known to be dead: never fail a run on a guess.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker pid recorded")
        if _process_alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker process {pid} is gone: killed or crashed before it finished",
        )


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs here (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
