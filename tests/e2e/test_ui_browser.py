"""The Dagster UI in a real browser: Debian's chromium driven by Playwright (no download).

The catalog and the lineage graph list every asset of the code location, and a partition of
``raw_observations`` materializes from the asset page as an operator would do it (Materialize →
pick the day → launch). Selectors are role/text based: the UI's CSS classes change between
Dagster versions.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from ci_components import HANG_GUARD_S, require

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARTITION = "2016-06-02"
SCREENSHOT_COPY = Path("/tmp/snuk-ui.png")
LINEAGE_SCREENSHOT_COPY = Path("/tmp/snuk-lineage.png")
# Playwright's waits end when the element shows; the bound only stops a hang (loaded machine).
UI_TIMEOUT_MS = 120_000

RUNS_FOR_PARTITION = """
query($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
    __typename
    ... on Runs { results { runId status assetSelection { path } } }
  }
}
"""


@pytest.fixture(scope="module")
def browser():
    # Missing chromium or playwright skips on a developer's machine and fails under CI=true;
    # a chromium that is there but does not launch fails everywhere (no skip hides it).
    require("chromium", why="apt-get install chromium; .ci/run installs it as root")
    require("playwright")
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary profile (user data dir).
        instance = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 2000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    # The "Join the Dagster community" dialog can cover the page whenever it shows up: Playwright
    # dismisses it before any action it would block (an event, not a fixed wait).
    page.add_locator_handler(
        page.get_by_role("button", name="Skip", exact=True), lambda skip: skip.click()
    )
    try:
        yield page
    finally:
        context.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_load_state("networkidle")


def _definitions():
    from snuk_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys(), key=lambda key: key.to_user_string())
    groups = sorted({graph.get(key).group_name for key in keys})
    return keys, groups


def _in_graph(name: str, labels: list[str]) -> bool:
    """Whether a node shows ``name``; zoomed out, long names are cut in the middle (a…b)."""
    for label in labels:
        if label == name:
            return True
        head, cut, tail = label.partition("…")
        if (
            cut
            and len(head) + len(tail) < len(name)
            and name.startswith(head)
            and name.endswith(tail)
        ):
            return True
    return False


def test_catalog_and_lineage_show_every_asset(dagster_server, page, tmp_path):
    keys, groups = _definitions()
    assert keys

    _open(page, f"{dagster_server.url}/assets")
    for key in keys:
        name = key.to_user_string()
        page.get_by_text(name, exact=True).first.wait_for(state="visible")
    shown = page.inner_text("body")
    missing = [key.to_user_string() for key in keys if key.to_user_string() not in shown]
    assert not missing, f"not in the asset catalog: {missing}"

    # The global lineage graph: one (collapsed) node per asset group; expanded, every asset.
    _open(page, f"{dagster_server.url}/asset-groups")
    page.get_by_text("Global asset lineage").first.wait_for(state="visible")
    for group in groups:
        page.get_by_text(group, exact=True).first.wait_for(state="visible")
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"Expand all groups")).click()
    graph_nodes = page.locator("svg foreignObject")
    graph_nodes.filter(has_text="raw_observations").first.wait_for(state="visible")
    labels = [label.strip() for label in graph_nodes.all_text_contents()]
    missing = [k.to_user_string() for k in keys if not _in_graph(k.to_user_string(), labels)]
    assert not missing, f"not in the lineage graph: {missing}; its labels: {labels}"
    page.get_by_role("button", name="settings", exact=True).click()  # closes the menu
    page.get_by_role("menuitem").first.wait_for(state="hidden")
    page.screenshot(path=str(tmp_path / "snuk-lineage.png"))
    shutil.copy(tmp_path / "snuk-lineage.png", LINEAGE_SCREENSHOT_COPY)


def test_materialize_partition_from_ui(dagster_server, sensors_materialized, page, tmp_path):
    before = {
        run["runId"]
        for run in dagster_server.graphql(RUNS_FOR_PARTITION, {"partition": PARTITION})[
            "runsOrError"
        ]["results"]
    }

    _open(page, f"{dagster_server.url}/assets/raw_observations")
    page.get_by_role("button", name=re.compile(r"Materialize")).first.click()
    # Upstream assets never materialized: an "Are you sure?" confirmation comes first.
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    launch_dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    launch_dialog.or_(confirm).first.wait_for(state="visible")
    if confirm.is_visible():
        confirm.click()
    launch_dialog.wait_for(state="visible")

    # Only the last 90 days are listed by default; 2016 is older: show all of them first.
    range_menu = launch_dialog.get_by_role("button", name=re.compile(r"Last \d+ days|All time"))
    range_menu.first.wait_for(state="visible")
    show_all = launch_dialog.get_by_role("button", name="Show all partitions")
    if show_all.is_visible():
        show_all.click()
    launch_dialog.get_by_role("button", name=re.compile(r"All time")).first.wait_for(
        state="visible"
    )
    selection = launch_dialog.get_by_role("textbox").first
    selection.fill(PARTITION)
    selection.press("Enter")
    try:
        launch_dialog.get_by_role("button", name=re.compile(r"^Launch 1 run$")).wait_for(
            state="visible"
        )
    except Exception:
        page.screenshot(path=str(tmp_path / "partition-dialog.png"))
        raise AssertionError(
            f"partition {PARTITION} not selected; dialog: {launch_dialog.aria_snapshot()}"
        ) from None
    launch = launch_dialog.get_by_role("button", name=re.compile(r"^Launch 1 run$"))
    launch.click()
    launch_dialog.wait_for(state="hidden")

    run_id = None
    deadline = time.monotonic() + HANG_GUARD_S
    while run_id is None and time.monotonic() < deadline:
        runs = dagster_server.graphql(RUNS_FOR_PARTITION, {"partition": PARTITION})["runsOrError"]
        new = [run for run in runs["results"] if run["runId"] not in before]
        if new:
            assert len(new) == 1, new
            run_id = new[0]["runId"]
            assert ["raw_observations"] in [key["path"] for key in new[0]["assetSelection"]], new
        else:
            time.sleep(1)
    assert run_id, f"no run for partition {PARTITION} launched from the UI"

    status = dagster_server.wait_for_run(run_id)
    assert status == "SUCCESS", f"UI run {run_id}: {status}\n{dagster_server.log_tail()}"

    # The run's page in the UI says so too.
    _open(page, f"{dagster_server.url}/runs/{run_id}")
    page.get_by_text(re.compile(r"^Success$")).first.wait_for(state="visible")
    screenshot = tmp_path / "snuk-ui.png"
    page.screenshot(path=str(screenshot), full_page=True)
    shutil.copy(screenshot, SCREENSHOT_COPY)
    assert screenshot.stat().st_size > 10_000
