"""Nothing actuates without an admin's consent; at most N switches per room and hour; audited."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from deltalake import DeltaTable

from snuk_assets.control.commands import AUDIT_TABLE, CommandIssuer
from snuk_assets.control.policies import Commands
from snuk_assets.control.safety import Actuation, SwitchLimiter
from snuk_assets.environment import live_control_values
from snuk_assets.lakehouse import Lakehouse

T0 = dt.datetime(2016, 6, 27, 8, 0, tzinfo=dt.UTC)
BIN = dt.timedelta(minutes=5)


def commands(lights: bool) -> Commands:
    nan = np.array([np.nan])
    return Commands(
        lights=np.array([lights]),
        hvac_mode=np.array(["comfort" if lights else "setback"]),
        band_low_c=np.array([21.0]),
        band_high_c=np.array([24.0]),
        reason=np.array(["test policy"]),
        forecast_now=nan,
        forecast_ahead=nan,
    )


def audit(lakehouse):
    return DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).to_pandas().sort_values("issued_at")


def test_only_an_admin_enables_and_every_change_is_audited_and_survives_a_restart(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    actuation = Actuation(lakehouse, "b")
    with pytest.raises(PermissionError):
        actuation.set("r1", True, by="olga", role="operator", reason="please", when=T0)
    with pytest.raises(ValueError, match="reason"):
        actuation.set("r1", True, by="ada", role="admin", reason=" ", when=T0)
    assert not actuation.is_enabled("r1")
    sent = []
    issuer = CommandIssuer(
        "b",
        lakehouse,
        publisher=lambda t, p, _valid_for_s: sent.append(t),
        actuation=actuation,
        dry_run=False,
    )
    issuer.issue(commands(True), ["r1"], issued_at=T0, policy="forecast")
    assert sent == []  # not enabled: not sent, even out of dry run
    actuation.set("r1", True, by="ada", role="admin", reason="works council agreed", when=T0 + BIN)
    issuer.issue(commands(True), ["r1"], issued_at=T0 + 2 * BIN, policy="forecast")
    assert sent == ["snuk/b/rooms/r1/command"]
    actuation.set("r1", False, by="ada", role="admin", reason="tenant objected", when=T0 + 3 * BIN)
    issuer.issue(commands(False), ["r1"], issued_at=T0 + 4 * BIN, policy="forecast")
    assert len(sent) == 1
    assert Actuation(lakehouse, "b").enabled_rooms() == frozenset()  # a restart reads it back
    rows = audit(lakehouse)
    assert rows["action"].tolist() == ["command", "enable", "command", "disable", "command"]
    changes = rows[rows["action"] != "command"]
    assert changes["issued_by"].tolist() == ["ada", "ada"]
    assert changes["reason"].tolist() == ["works council agreed", "tenant objected"]
    commands_audited = rows[rows["action"] == "command"]
    assert commands_audited["sent"].tolist() == [False, True, False]
    assert commands_audited["issued_by"].tolist() == ["snuk"] * 3
    assert set(commands_audited["not_sent_because"].dropna()) == {
        "actuation not enabled for the room"
    }


def test_at_most_n_switches_per_room_and_hour_whatever_the_policy_says(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    actuation = Actuation(lakehouse, "b")
    actuation.set("r1", True, by="ada", role="admin", reason="pilot", when=T0 - BIN)
    sent = []

    def issuer(limiter):
        return CommandIssuer(
            "b",
            lakehouse,
            publisher=lambda t, p, _valid_for_s: sent.append(json.loads(p)),
            actuation=actuation,
            limiter=limiter,
            dry_run=False,
        )

    flapping = issuer(SwitchLimiter(max_per_hour=3))
    for k in range(6):  # a policy that switches every bin: 6 switches in 30 minutes
        flapping.issue(commands(k % 2 == 0), ["r1"], issued_at=T0 + k * BIN, policy="flapping")
    # three switches; the fourth and sixth refused; the fifth repeats the state the room is in
    # (no switch), so it goes
    assert [m["lights"] for m in sent] == [True, False, True, True]
    # A restart remembers the hour from the audit table: still no fourth switch ...
    restarted = issuer(SwitchLimiter.from_audit(lakehouse, "b", max_per_hour=3, now=T0))
    restarted.issue(commands(False), ["r1"], issued_at=T0 + 6 * BIN, policy="flapping")
    assert len(sent) == 4
    # ... and repeating the state the room is in is not a switch
    restarted.issue(commands(True), ["r1"], issued_at=T0 + 7 * BIN, policy="flapping")
    assert len(sent) == 5
    # an hour after the first switch, one more may go
    restarted.issue(commands(False), ["r1"], issued_at=T0 + 12 * BIN, policy="flapping")
    assert [m["lights"] for m in sent] == [True, False, True, True, True, False]
    rows = audit(lakehouse)
    refused = rows[rows["not_sent_because"].fillna("").str.startswith("switch limit")]
    assert len(refused) == 3  # bins 3, 5 and 6
    assert (rows[rows["action"] == "command"]["sent"]).sum() == 6


def test_switch_cap_and_live_mode_from_the_environment():
    assert live_control_values({}).max_switches_per_hour == 4
    assert live_control_values({"SNUK_MAX_SWITCHES_PER_HOUR": "2"}).max_switches_per_hour == 2
    with pytest.raises(ValueError, match="SNUK_MAX_SWITCHES_PER_HOUR"):
        live_control_values({"SNUK_MAX_SWITCHES_PER_HOUR": "many"})
    assert live_control_values({}).mode == "dry-run"  # decisions audited, nothing sent
    assert live_control_values({"SNUK_LIVE_CONTROL": "Actuate"}).mode == "actuate"
    with pytest.raises(ValueError, match="SNUK_LIVE_CONTROL"):
        live_control_values({"SNUK_LIVE_CONTROL": "on"})
