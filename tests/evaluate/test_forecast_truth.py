"""The forecasts scored against the label and the truth (``snuk evaluate forecasts``)."""

from __future__ import annotations

import datetime as dt

from snuk_assets.cli import main
from snuk_assets.evaluate.forecast_truth import MODELS, forecast_scores, summary
from snuk_assets.registry import load_registry

ROOMS = ["7101", "7103", "7112", "7116"]  # open space (counter), office, meeting room, corridor
MONDAY = dt.date(2016, 6, 6)


def test_every_room_model_and_horizon_is_scored_against_both(small_registry, tmp_path):
    registry = load_registry(small_registry(tmp_path / "registry.yaml", ROOMS))
    scores = forecast_scores(registry, start=MONDAY, days=5, seed=5)
    assert sorted(scores["room_id"].unique()) == ROOMS
    counts = scores.groupby(["against", "model"]).size()
    assert set(counts.index) == {(a, m) for a in ("label", "truth") for m in MODELS}
    assert (counts == len(ROOMS) * 12).all()  # every room, every horizon of the hour
    assert scores["f1"].between(0, 1).all()
    # The same forecasts: only what they are scored against differs.
    by = ["room_id", "model", "horizon"]
    label = scores[scores["against"] == "label"].set_index(by)
    truth = scores[scores["against"] == "truth"].set_index(by)
    assert (label["test_size"] == truth.loc[label.index, "test_size"]).all()
    table = summary(scores)
    assert set(table["against"]) == {"label", "truth"}
    assert (table["rooms"] == len(ROOMS)).all()


def test_the_command_prints_both(small_registry, tmp_path, capsys):
    path = small_registry(tmp_path / "registry.yaml", ROOMS)
    argv = ["evaluate", "forecasts", "--seeds", "5", "--days", "5", "--registry", str(path)]
    argv += ["--start", MONDAY.isoformat(), "--csv", str(tmp_path / "scores-{seed}.csv")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "random_forest_f1" in out and "truth" in out and "label" in out
    assert (tmp_path / "scores-5.csv").exists()


def test_models_taught_by_the_estimate_are_scored_against_it_and_the_truth(
    small_registry, tmp_path
):
    registry = load_registry(small_registry(tmp_path / "registry.yaml", ROOMS))
    scores = forecast_scores(registry, start=MONDAY, days=5, seed=5, labels_from="estimate")
    assert set(scores["against"]) == {"estimate", "truth"}
    assert scores["f1"].between(0, 1).all()
