"""The live API with each role: every refusal (401 without a valid token, 403 above the role),
what a viewer may see, admin-only actuation (audited), no CORS, loopback by default."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from deltalake import DeltaTable
from ports import free_port, wait_for_port

from snuk_assets.control.commands import AUDIT_TABLE
from snuk_assets.control.safety import Actuation
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.live.api import create_app, serve
from snuk_assets.live.auth import TokenStore, new_token_line
from snuk_assets.live.outputs import LiveView
from snuk_assets.live.service import parse_http

BUILDING = "b1"
BIN = "2016-06-07T08:00:00+00:00"
# floor 0: two one-desk offices (hidden) and an open space; floor 1: one office and a meeting
# room (its office is the floor's only hidden room: the floor's counts are withheld)
ROOMS = {
    "o1": (0, 1, True),
    "o2": (0, 1, False),
    "open": (0, 12, True),
    "o3": (1, 1, True),
    "meet": (1, 8, False),
}


def forecast(p: float) -> list[dict]:
    return [
        {"bin_start": BIN, "horizon": h, "probability": p, "occupied": p > 0.5}
        for h in range(1, 13)
    ]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    tokens = {role: new_token_line(role, f"{role}-1") for role in ("viewer", "operator", "admin")}
    (root / "tokens").write_text("# role token name\n" + "".join(t[1] for t in tokens.values()))
    view = LiveView()
    view.add_building(
        BUILDING, {r: f for r, (f, _, _) in ROOMS.items()}, {r: r.upper() for r in ROOMS}
    )
    view.workplaces[BUILDING] = {r: w for r, (_, w, _) in ROOMS.items()}
    view.update(
        BUILDING,
        {
            r: {
                "bin_start": BIN,
                "occupied": occ,
                "occupancy": float(occ),
                "forecast": forecast(0.7),
            }
            for r, (_, _, occ) in ROOMS.items()
        },
    )
    lakehouse = Lakehouse(str(root / "lakehouse"))
    app = create_app(
        view,
        tokens=TokenStore.from_file(root / "tokens"),
        actuation={BUILDING: Actuation(lakehouse, BUILDING)},
    )
    port = free_port()
    server = serve(app, "127.0.0.1", port)
    wait_for_port(port)

    class Api:
        url = f"http://127.0.0.1:{port}"
        token = {role: t[0] for role, t in tokens.items()}

        def call(self, path, role=None, *, method="GET", body=None, token=None, headers=None):
            """(status, JSON body, headers)"""
            headers = dict(headers or {})
            token = token or (self.token[role] if role else None)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            data = None if body is None else json.dumps(body).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
            request = urllib.request.Request(
                self.url + path, data=data, method=method, headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read() or b"null"), response.headers
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"null"), error.headers

    yield Api(), lakehouse
    server.should_exit = True


ROOMS_PATH = f"/buildings/{BUILDING}/rooms"
GUARDED = [
    ("GET", "/whoami", "viewer"),
    ("GET", "/buildings", "viewer"),
    ("GET", f"/buildings/{BUILDING}/summary", "viewer"),
    ("GET", ROOMS_PATH, "operator"),
    ("GET", f"{ROOMS_PATH}/o1/forecast", "operator"),
    ("GET", f"/buildings/{BUILDING}/actuation", "admin"),
    ("PUT", f"{ROOMS_PATH}/o1/actuation", "admin"),
]
CHANGE = {"enabled": True, "reason": "pilot agreed with the works council"}


@pytest.mark.parametrize(("method", "path", "needs"), GUARDED)
def test_every_endpoint_but_health_needs_a_token_and_the_role(api, method, path, needs):
    api, _ = api
    body = CHANGE if method == "PUT" else None
    for token in (None, "not-a-token", api.token["viewer"] + "x"):
        status, answer, headers = api.call(path, method=method, body=body, token=token)
        assert status == 401, (path, token)
        assert headers["WWW-Authenticate"] == "Bearer"
    for role in ("viewer", "operator", "admin"):
        status, answer, _ = api.call(path, role, method=method, body=body)
        allowed = ("viewer", "operator", "admin").index(role) >= (
            "viewer",
            "operator",
            "admin",
        ).index(needs)
        assert status == (200 if allowed else 403), (path, role, answer)
        if not allowed:
            assert f"needs the {needs} role" in answer["detail"]


def test_health_and_the_page_are_open(api):
    api, _ = api
    status, health, _ = api.call("/health")
    assert status == 200 and health["status"] == "ok"
    with urllib.request.urlopen(api.url + "/", timeout=10) as page:
        assert b"API token" in page.read()  # the page asks for one


def test_a_viewer_sees_counts_and_shared_rooms_never_a_small_rooms_state(api):
    api, _ = api
    status, summary, _ = api.call(f"/buildings/{BUILDING}/summary", "viewer")
    assert status == 200
    text = json.dumps(summary)
    for hidden in ("o1", "o2", "o3", "O1", "O2", "O3"):
        assert f'"{hidden}"' not in text
    floor0, floor1 = summary["floors"]
    assert [r["room_id"] for r in floor0["shared_rooms"]] == ["open"]
    assert (floor0["rooms"], floor0["occupied_rooms"], floor0["rooms_reporting"]) == (3, 2, 3)
    # floor 1 has one office: its count minus the meeting room shown would be that office
    assert floor1["withheld"] and floor1["occupied_rooms"] is None
    assert [r["room_id"] for r in floor1["shared_rooms"]] == ["meet"]
    # and the building's minus floor 0's would be floor 1's
    assert summary["building"]["withheld"] and summary["building"]["occupied_rooms"] is None
    status, rooms, _ = api.call(ROOMS_PATH, "operator")  # an operator sees every room
    assert status == 200 and {r["room_id"] for r in rooms} == set(ROOMS)


def test_only_an_admin_enables_actuation_and_it_is_audited(api):
    api, lakehouse = api
    path = f"{ROOMS_PATH}/o2/actuation"
    assert api.call(path, "operator", method="PUT", body=CHANGE)[0] == 403
    assert api.call(path, "admin", method="PUT", body={"enabled": True})[0] == 422  # no reason
    status, answer, _ = api.call(path, "admin", method="PUT", body=CHANGE)
    assert status == 200 and answer["action"] == "enable" and answer["by"] == "admin-1"
    assert "o2" in api.call(f"/buildings/{BUILDING}/actuation", "admin")[1]["enabled_rooms"]
    status, _, _ = api.call(f"{ROOMS_PATH}/nowhere/actuation", "admin", method="PUT", body=CHANGE)
    assert status == 404
    audit = DeltaTable(lakehouse.table_uri(AUDIT_TABLE)).to_pandas()
    row = audit[(audit["room_id"] == "o2") & (audit["action"] == "enable")].iloc[0]
    assert (row["issued_by"], row["reason"]) == ("admin-1", CHANGE["reason"])


def test_no_cors_and_loopback_by_default(api):
    api, _ = api
    origin = {"Origin": "http://evil.example"}
    _, _, headers = api.call("/buildings", "viewer", headers=origin)
    assert "access-control-allow-origin" not in {k.lower() for k in headers}
    preflight = {**origin, "Access-Control-Request-Method": "GET"}
    status, _, headers = api.call("/buildings", method="OPTIONS", headers=preflight)
    assert status >= 400 and "access-control-allow-origin" not in {k.lower() for k in headers}
    assert parse_http(":8000") == ("127.0.0.1", 8000)
    import inspect

    from snuk_assets.live.api import serve as serve_

    assert inspect.signature(serve_).parameters["host"].default == "127.0.0.1"


def test_the_tokens_file_is_checked_and_kept_hashed(tmp_path):
    token, line = new_token_line("operator", "olga")
    (tmp_path / "tokens").write_text(line)
    store = TokenStore.from_file(tmp_path / "tokens")
    assert store.authenticate(token).name == "olga"
    assert token not in repr(vars(store)) and token.encode() not in repr(vars(store)).encode()
    for bad, why in [
        ("root " + token, "role 'root'"),
        ("viewer short", "shorter than 24"),
        (line + line, "listed twice"),
        ("viewer", "expected 'ROLE TOKEN"),
    ]:
        (tmp_path / "bad").write_text(bad)
        with pytest.raises(ValueError, match=why):
            TokenStore.from_file(tmp_path / "bad")


def test_the_live_page_asks_for_a_token_and_shows_a_viewer_only_counts(api, browser):
    api, _ = api
    page = browser.new_page()
    page.goto(api.url + "/")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator(".tile").count() == 0
    page.fill("#token", "wrong-token-wrong-token-wrong")
    page.click("#sign-in")
    page.wait_for_function("document.querySelector('#login-error').textContent === 'token refused'")
    page.fill("#token", api.token["viewer"])
    page.click("#sign-in")
    page.wait_for_function("document.querySelectorAll('.tile').length === 2")
    assert sorted(page.locator(".tile").evaluate_all("ts => ts.map(t => t.dataset.room)")) == [
        "meet",
        "open",
    ]
    assert "2 of 3 rooms occupied" in page.inner_text("#floors")
    page.close()


def test_snuk_token_appends_a_working_token_to_a_private_file(tmp_path, capsys):
    from snuk_assets.cli import main

    path = tmp_path / "secrets" / "tokens"
    assert main(["token", "--role", "admin", "--name", "ada", "--file", str(path)]) == 0
    assert main(["token", "--role", "viewer", "--name", "vic", "--file", str(path)]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if " " not in line]
    store = TokenStore.from_file(path)
    assert [store.authenticate(t).name for t in printed] == ["ada", "vic"]
    assert path.stat().st_mode & 0o077 == 0
