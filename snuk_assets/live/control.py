"""Live control: at every step that closes bins, the forecast policy decides the next bin.

The decision is the closed-loop evaluation's own (``control.evaluation.forecast_policy`` on the
plant of ``RoomPlant.from_rooms``) on the same kind of inputs: the latest closed bin's
``room_series`` row per room (its occupancy is the motion "now", and its idle minutes), the
occupancy estimate of that bin (the live step's: the probability somebody is there, which sees
the people motion misses while they sit still) and the forecast made at that bin's end
(horizon 1 is the bin decided). Somebody is there now where motion was seen in the bin or the
estimate is at least 0.5 (``Situation.present_now``), and such a room is never switched off;
a room without an estimate (no input in the bin) has motion alone. Each command's payload and
audit row say which decided: ``presence`` (``presence_message``: the estimate's source, the
estimate and the motion label) and the reason (``presence now`` for motion, ``presence now
(occupancy estimate)`` for the estimate alone). Where nothing was trained (no counter room,
too few counted bins) the estimate is the motion label, its source says so, and the decisions
are the motion's as before. The commands go through
``control.commands.CommandIssuer``: every one audited in ``control_commands``; published on
``snuk/<building_id>/rooms/<room_id>/command`` only when the service actuates (``actuate``;
``dry-run`` is the default), only for rooms an admin enabled (``safety.Actuation``) and within
the switch cap (``safety.SwitchLimiter``, remembered from the audit across restarts).

A step that closes several bins at once (a start, a backlog) decides only the bin that starts
at the newest one's end: a command for a bin already past would switch nothing that matters.

Control never takes the service down: a bin whose decision, audit or publish fails is logged
with its building, bin and rooms and counted (``LiveControl.counts``, on ``/health``), and the
service goes on publishing states and forecasts. The audit is written before anything is sent,
so a bin whose audit could not be written sends no command.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from snuk_assets.control.commands import (
    DRY_RUN,
    EXPIRED,
    NOT_ENABLED,
    CommandIssuer,
    Publisher,
    forecast_message,
    presence_message,
)
from snuk_assets.control.evaluation import FORECAST_HORIZONS, ControlParams, forecast_policy
from snuk_assets.control.plant import RoomPlant
from snuk_assets.control.policies import ForecastPolicy, Situation
from snuk_assets.control.safety import Actuation, SwitchLimiter
from snuk_assets.live.step import StepResult
from snuk_assets.transforms.counter_taught import FROM_MOTION_LABEL as MOTION_LABEL

POLICY = "forecast"
log = logging.getLogger("snuk.live.control")
# How the service's commands ended, per room and bin (``/health``): published; audited in
# dry run; refused because no admin enabled the room, or by the switch cap; expired (its bin
# over before it was decided: a late step); failed (the decision, its audit or its publish).
OUTCOMES = (
    "sent",
    "dry_run",
    "refused_not_enabled",
    "refused_switch_limit",
    "expired",
    "failed",
)


def command_outcomes(audit: pa.Table) -> collections.Counter:
    """Count ``CommandIssuer.issue``'s rows by ``OUTCOMES``: a ``publish_failed`` row moves its
    command from sent to failed."""
    counts = collections.Counter()
    for row in audit.select(["action", "sent", "not_sent_because"]).to_pylist():
        why_not = row["not_sent_because"] or ""
        if row["action"] == "publish_failed":
            counts["sent"] -= 1
            counts["failed"] += 1
        elif row["sent"]:
            counts["sent"] += 1
        elif why_not == DRY_RUN:
            counts["dry_run"] += 1
        elif why_not == NOT_ENABLED:
            counts["refused_not_enabled"] += 1
        elif why_not.startswith("switch limit"):
            counts["refused_switch_limit"] += 1
        elif why_not.startswith(EXPIRED):
            counts["expired"] += 1
        else:  # no publisher: it should have gone and could not
            counts["failed"] += 1
    return counts


def live_situation(
    room_states: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    room_ids: list[str],
    freq: str,
    horizons: int = FORECAST_HORIZONS,
    estimates: pd.DataFrame | None = None,
) -> Situation:
    """The policy's view at the start of the bin after the newest closed one.

    Parameters
    ----------
    room_states : pandas.DataFrame
        ``room_series`` rows of the closed bins (``room_id``, ``bin_start``, ``occupancy``,
        ``idle_minutes``, ``temperature``); only the newest bin's are used.
    forecasts : pandas.DataFrame
        ``live_step`` forecast rows (``room_id``, ``anchor_bin_start``, ``horizon``,
        ``occupied_probability``); only those anchored at the newest bin are used.
    room_ids : list of str
        The arrays' order (the plant's).
    estimates : pandas.DataFrame, optional
        ``live_step`` estimate rows (``room_id``, ``bin_start``, ``estimate``); only the newest
        bin's are used. None: no ``presence``, motion alone decides.

    Returns
    -------
    Situation
        ``motion`` (occupied share of the newest bin), ``idle_minutes``, ``temperature_c``
        (degC), ``forecast`` (rooms, ``horizons``: horizon 1 is the decided bin) and
        ``presence`` (the newest bin's estimate), NaN where a room has no row, no forecast or
        no estimate.
    """
    newest = room_states["bin_start"].max()
    latest = room_states[room_states["bin_start"] == newest].set_index("room_id")
    latest = latest.reindex(room_ids)

    def column(name: str) -> np.ndarray:
        if name not in latest:
            return np.full(len(room_ids), np.nan)
        return latest[name].to_numpy(dtype=float)

    probability = np.full((len(room_ids), horizons), np.nan)
    if len(forecasts):
        made_now = forecasts[forecasts["anchor_bin_start"] == newest]
        grid = made_now.pivot_table(
            index="room_id", columns="horizon", values="occupied_probability"
        )
        probability = grid.reindex(index=room_ids, columns=range(1, horizons + 1)).to_numpy(
            dtype=float
        )
    presence = None
    if estimates is not None:
        presence = newest_estimates(estimates, newest, room_ids)["estimate"].to_numpy(dtype=float)
    step = pd.Timedelta(freq)
    return Situation(
        bin_start=pd.Timestamp(newest) + step,
        bin_minutes=int(step / pd.Timedelta(minutes=1)),
        motion=column("occupancy"),
        idle_minutes=column("idle_minutes"),
        temperature_c=column("temperature"),
        forecast=probability,
        presence=presence,
    )


def newest_estimates(estimates: pd.DataFrame, newest, room_ids: list[str]) -> pd.DataFrame:
    """The estimate rows of bin ``newest``, one per room of ``room_ids`` (NaN without one)."""
    columns = ["estimate", "motion_label", "source"]
    if not len(estimates):
        return pd.DataFrame(np.nan, index=pd.Index(room_ids, name="room_id"), columns=columns)
    at = estimates[estimates["bin_start"] == newest].set_index("room_id")
    return at.reindex(index=room_ids, columns=columns)


def presences(situation: Situation, estimates: pd.DataFrame, room_ids: list[str]) -> dict:
    """Per room, the payload's ``presence`` (``presence_message``): the estimate's source, or
    ``motion label`` where the room has no estimate in the bin, and the bin's motion label
    (the motion sensors alone, also in a counter room, whose ``room_series`` occupancy is the
    counter's)."""
    anchor = situation.bin_start - pd.Timedelta(minutes=situation.bin_minutes)
    rows = newest_estimates(estimates, anchor, room_ids)
    motion = situation.motion
    labels = rows["motion_label"].to_numpy(dtype=float)
    labels = np.where(np.isnan(labels) & ~np.isnan(motion), motion > 0, labels)
    out = {}
    for i, room_id in enumerate(room_ids):
        estimate = float(rows["estimate"].iloc[i])
        source = rows["source"].iloc[i] if not np.isnan(estimate) else MOTION_LABEL
        out[room_id] = presence_message(str(source), estimate, float(labels[i]))
    return out


@dataclass
class LiveControl:
    """One building's live decisions and what stands between them and its actuators.

    ``dry_run`` (the default) audits every decision and sends none; otherwise the issuer
    sends to the rooms ``actuation`` holds enabled, within ``limiter``'s cap.
    """

    building_id: str
    lakehouse: object
    plant: RoomPlant
    policy: ForecastPolicy
    actuation: Actuation
    limiter: SwitchLimiter
    freq: str
    dry_run: bool = True
    issued_by: str = "snuk"
    counts: collections.Counter = field(
        default_factory=lambda: collections.Counter(dict.fromkeys(OUTCOMES, 0))
    )

    @classmethod
    def for_building(
        cls,
        registry,
        lakehouse,
        *,
        actuation: Actuation,
        freq: str,
        actuate: bool,
        max_switches_per_hour: int,
        now: pd.Timestamp,
        issued_by: str = "snuk",
        params: ControlParams | None = None,
    ) -> LiveControl:
        """The evaluation's forecast policy and plant for the registry's rooms; the switch
        cap's memory read from the audit's sent commands before ``now``."""
        params = params or ControlParams()
        return cls(
            building_id=registry.building_id,
            lakehouse=lakehouse,
            plant=RoomPlant.from_rooms(registry.rooms, params.plant),
            policy=forecast_policy(registry, params),
            actuation=actuation,
            limiter=SwitchLimiter.from_audit(
                lakehouse,
                registry.building_id,
                max_per_hour=max_switches_per_hour,
                now=now.to_pydatetime(),
            ),
            freq=freq,
            dry_run=not actuate,
            issued_by=issued_by,
        )

    def decide(self, result: StepResult, now: pd.Timestamp, publish: Publisher) -> pa.Table | None:
        """Decide the next bin for every room and issue the commands; the audit rows, or None
        when the bin failed (logged with its building, bin and rooms, counted as failed).

        Never raises: the states and forecasts of the step must not wait on control."""
        bin_start = pd.Timestamp(result.room_states["bin_start"].max()) + pd.Timedelta(self.freq)
        try:
            audit = self._issue(result, now, publish)
        except Exception:
            log.exception(
                "control of building %s failed for the bin %s: no command sent to rooms %s",
                self.building_id,
                bin_start.isoformat(),
                ", ".join(self.plant.room_ids),
            )
            self.counts["failed"] += len(self.plant.room_ids)
            return None
        for row in audit.filter(pc.equal(audit["action"], "publish_failed")).to_pylist():
            log.error(
                "command of building %s, room %s for the bin %s audited, not published: %s",
                self.building_id,
                row["room_id"],
                bin_start.isoformat(),
                row["not_sent_because"],
            )
        self.counts.update(command_outcomes(audit))
        return audit

    def _issue(self, result: StepResult, now: pd.Timestamp, publish: Publisher) -> pa.Table:
        room_ids = self.plant.room_ids
        situation = live_situation(
            result.room_states,
            result.forecasts,
            room_ids=room_ids,
            freq=self.freq,
            estimates=result.estimates,
        )
        commands = self.policy(situation, self.plant)
        anchor = situation.bin_start - pd.Timedelta(self.freq)
        used = {
            room_id: forecast_message(anchor, situation.bin_minutes, situation.forecast[i])
            for i, room_id in enumerate(self.plant.room_ids)
        }
        issuer = CommandIssuer(
            self.building_id,
            self.lakehouse,
            publisher=publish,
            actuation=self.actuation,
            limiter=self.limiter,  # shared: the cap counts across steps
            dry_run=self.dry_run,
            issued_by=self.issued_by,
        )
        return issuer.issue(
            commands,
            self.plant.room_ids,
            issued_at=pd.Timestamp(now).tz_convert("UTC").to_pydatetime(),
            policy=POLICY,
            forecasts=used,
            bin_start=situation.bin_start.isoformat(),
            # superseded at the bin's end: a receiver ignores it after (a late delivery)
            valid_until=(situation.bin_start + pd.Timedelta(self.freq)).to_pydatetime(),
            presences=presences(situation, result.estimates, room_ids),
        )


def mqtt_publisher(client) -> Publisher:
    """Commands at QoS 1, not retained: an actuator that reconnects waits for the next bin
    rather than acting on a command from before SNUK stopped.

    On an MQTT 5 client (the service's) each command carries a Message Expiry Interval of its
    remaining validity: a broker that keeps it for an actuator offline drops it once it is
    stale, so a receiver that ignores ``valid_until`` is protected too. A 3.1.1 client sends
    the same command without the property.

    Raises ``ConnectionError`` when paho does not take the message for the broker: the issuer
    audits that as ``publish_failed``. Without a connection the command is not handed to paho
    at all: paho would keep a QoS 1 message and send it once reconnected, minutes late, for a
    bin long past. A connection lost between the check and the send can still leave one in
    paho's queue (its row says ``publish_failed``, rc 4): the payload's ``valid_until`` is
    what makes it harmless, a receiver ignores a command past it (README: Live)."""

    def publish(topic: str, payload: str, valid_for_s: int) -> None:
        if not client.is_connected():
            raise ConnectionError(
                f"{topic}: not connected to the broker (paho rc {mqtt.MQTT_ERR_NO_CONN}): not "
                "queued, so never sent late on the reconnect"
            )
        properties = None
        if client.protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = valid_for_s
        info = client.publish(topic, payload, qos=1, retain=False, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"{topic}: {mqtt.error_string(info.rc)} (paho rc {info.rc})")

    return publish
