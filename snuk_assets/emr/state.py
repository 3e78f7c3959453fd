"""Reading EMR's answers: when a step is done, and what to tell the user when it is not.

Pure functions of ``describe_step`` / ``describe_cluster`` responses, and one poller around
them that logs every state change. No cap on how long it polls: the caller decides.
"""

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dagster import Failure, MetadataValue

RUNNING_STEP_STATES = {"PENDING", "CANCEL_PENDING", "RUNNING"}
FAILED_STEP_STATES = {"CANCELLED", "FAILED", "INTERRUPTED"}
ENDED_CLUSTER_STATES = {"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"}


def step_is_done(step: Mapping[str, Any], *, cluster_id: str, log_uri: str = "") -> bool:
    """Whether a step (``describe_step()["Step"]``) completed; ``False`` while it waits or runs.

    Raises
    ------
    Failure
        The step failed, was cancelled or interrupted; the message carries EMR's
        ``FailureDetails`` (reason, message, log file) or, without them, its state change reason.
    """
    status = step["Status"]
    state = status["State"]
    if state == "COMPLETED":
        return True
    if state in RUNNING_STEP_STATES:
        return False
    if state not in FAILED_STEP_STATES:
        raise Failure(f"EMR step {step['Id']} is in state {state!r}, unknown to SNUK")
    details = status.get("FailureDetails") or {}
    change = (status.get("StateChangeReason") or {}).get("Message")
    log_file = details.get("LogFile") or (
        f"{log_uri.rstrip('/')}/{cluster_id}/steps/{step['Id']}/" if log_uri else ""
    )
    parts = [
        f"EMR step {step.get('Name', '')!r} ({step['Id']}) on cluster {cluster_id} {state}",
        ": ".join(p for p in (details.get("Reason"), details.get("Message")) if p),
        f"(state change: {change})" if change and not details else "",
        f"log: {log_file}" if log_file else "",
    ]
    raise Failure(
        description="; ".join(p for p in parts if p),
        metadata={
            "cluster_id": cluster_id,
            "step_id": step["Id"],
            "state": state,
            "reason": details.get("Reason") or change or "",
            "message": details.get("Message") or "",
            **({"log_file": MetadataValue.path(log_file)} if log_file else {}),
        },
    )


def cluster_failure(cluster: Mapping[str, Any], unfinished: Sequence[str]) -> Failure:
    """The cluster ended (``describe_cluster()["Cluster"]``) before ``unfinished`` steps did."""
    status = cluster["Status"]
    reason = status.get("StateChangeReason") or {}
    why = " ".join(p for p in (reason.get("Code"), reason.get("Message")) if p)
    return Failure(
        description=f"EMR cluster {cluster['Id']} is {status['State']} before steps "
        f"{list(unfinished)} completed: {why or 'no reason given'}",
        metadata={
            "cluster_id": cluster["Id"],
            "state": status["State"],
            "reason": reason.get("Code", ""),
            "message": reason.get("Message", ""),
        },
    )


class StepWatch:
    """Polls a cluster's steps: logs each state change, raises the first failure."""

    def __init__(
        self,
        emr,
        cluster_id: str,
        step_ids: Sequence[str],
        *,
        log: Callable[[str], None],
        log_uri: str = "",
    ):
        self.emr = emr
        self.cluster_id = cluster_id
        self.step_ids = list(step_ids)
        self.log = log
        self.log_uri = log_uri
        self.states: dict[str, str] = {}

    def poll(self) -> bool:
        """``True`` once every step completed; raises ``Failure`` when one will not."""
        cluster = self.emr.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        self._note(self.cluster_id, f"cluster {self.cluster_id}", cluster["Status"]["State"])
        unfinished = []
        for step_id in self.step_ids:
            step = self.emr.describe_step(ClusterId=self.cluster_id, StepId=step_id)["Step"]
            label = f"step {step.get('Name', '')!r} ({step_id})"
            self._note(step_id, label, step["Status"]["State"])
            if not step_is_done(step, cluster_id=self.cluster_id, log_uri=self.log_uri):
                unfinished.append(step_id)
        if unfinished and cluster["Status"]["State"] in ENDED_CLUSTER_STATES:
            raise cluster_failure(cluster, unfinished)
        return not unfinished

    def describe_states(self) -> str:
        return ", ".join(f"{key} {state}" for key, state in self.states.items())

    def _note(self, key: str, label: str, state: str) -> None:
        if self.states.get(key) != state:
            self.log(f"EMR {label}: {self.states.get(key, 'submitted')} -> {state}")
            self.states[key] = state


def merge_configurations(
    base: Sequence[Mapping[str, Any]], override: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """EMR ``Configurations`` with ``override``'s on top, one entry per classification.

    Properties of the same classification are merged (``override`` wins per key) and nested
    configurations likewise, so a caller's ``spark-defaults`` keeps SNUK's settings and SNUK's
    never drop the caller's. Neither argument is changed.
    """
    merged = [copy.deepcopy(dict(entry)) for entry in base]
    for entry in override:
        entry = copy.deepcopy(dict(entry))
        same = next(
            (m for m in merged if m.get("Classification") == entry.get("Classification")), None
        )
        if same is None:
            merged.append(entry)
            continue
        if "Properties" in same or "Properties" in entry:
            same["Properties"] = {**same.get("Properties", {}), **entry.get("Properties", {})}
        nested = merge_configurations(
            same.get("Configurations", []), entry.get("Configurations", [])
        )
        if nested:
            same["Configurations"] = nested
    return merged
