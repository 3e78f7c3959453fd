"""Tampered model rows cannot crash the process (issue 20): checked before sklearn walks them.

The damaged forests are real skops blobs of fitted forests whose node arrays were edited, run
in real subprocesses: sklearn itself dies with SIGSEGV on one, ``load_model`` refuses it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier

from snuk_assets.transforms.models.blobs import (
    ALLOWED_TYPES,
    ModelLoadError,
    blob_types,
    dump_model,
    load_model,
)


def fitted_forest() -> RandomForestClassifier:
    rng = np.random.default_rng(0)
    features = rng.random((300, 4))
    labels = np.stack([features[:, 0] > 0.5, features[:, 1] > 0.3], axis=1).astype(int)
    return RandomForestClassifier(n_estimators=3, max_depth=4, random_state=0).fit(features, labels)


def tampered(edit) -> bytes:
    forest = fitted_forest()
    edit(forest.estimators_[1].tree_)
    return dump_model(forest)


def set_child(tree) -> None:
    # Both ways out of the root: whatever the input, the walk leaves the node array.
    tree.children_left[0] = tree.children_right[0] = 2**40


def set_feature(tree) -> None:
    tree.feature[0] = 10_000


def set_cycle(tree) -> None:
    inner = int(np.flatnonzero(tree.children_left != -1)[-1])
    tree.children_left[inner] = 0  # back to the root: a walk that never ends


PREDICT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import skops.io as sio
    from snuk_assets.transforms.models.blobs import ALLOWED_TYPES, ModelLoadError, load_model
    blob = open(sys.argv[1], "rb").read()
    try:
        if sys.argv[2] == "checked":
            model = load_model(blob)
        else:
            model = sio.loads(blob, trusted=sorted(ALLOWED_TYPES))
    except ModelLoadError as error:
        print("refused:", error)
        sys.exit(0)
    model.predict_proba(np.full((1, 4), 0.5))
    print("predicted")
    """
)


def run_predict(blob: bytes, mode: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "blob.skops"
    path.write_bytes(blob)
    return subprocess.run(
        [sys.executable, "-c", PREDICT, str(path), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sklearn_crashes_on_an_edited_tree_and_load_model_refuses_it(tmp_path):
    blob = tampered(set_child)
    assert blob_types(blob) <= ALLOWED_TYPES  # the type names alone pass
    unchecked = run_predict(blob, "unchecked", tmp_path)
    assert unchecked.returncode == -signal.SIGSEGV, unchecked
    checked = run_predict(blob, "checked", tmp_path)
    assert checked.returncode == 0
    assert checked.stdout.startswith("refused: tree 1 of the forest is damaged: node 0 has")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (set_child, "node 0 has children 1099511627776"),
        (set_feature, "node 0 splits on input 10000, outside 0..3"),
        (set_cycle, "a child must be a later node"),
    ],
)
def test_damaged_trees_are_refused_with_the_tree_and_node(edit, reason):
    with pytest.raises(ModelLoadError, match=reason):
        load_model(tampered(edit))


def test_only_a_fitted_forest_loads():
    with pytest.raises(ModelLoadError, match="holds a builtins.dict, not a sklearn"):
        load_model(sio.dumps({"estimators_": []}))
    with pytest.raises(ModelLoadError, match="DecisionTreeClassifier, not a sklearn"):
        load_model(sio.dumps(fitted_forest().estimators_[0]))
    with pytest.raises(ModelLoadError, match="not fitted"):
        load_model(sio.dumps(RandomForestClassifier()))
    model = load_model(dump_model(fitted_forest()))
    assert model.predict_proba(np.full((1, 4), 0.5))[0].shape == (1, 2)


def test_a_child_one_past_the_last_node_and_the_first_bad_split_are_named():
    def child_at_count(tree) -> None:
        tree.children_left[0] = tree.node_count  # one past the last node

    count = fitted_forest().estimators_[1].tree_.node_count
    with pytest.raises(ModelLoadError, match=f"node 0 has children {count} and "):
        load_model(tampered(child_at_count))

    inner = np.flatnonzero(fitted_forest().estimators_[1].tree_.children_left != -1)
    last = int(inner[-1])

    def negative_feature(tree) -> None:
        tree.feature[0] = 0  # a valid split on the first input
        tree.feature[last] = -3

    with pytest.raises(ModelLoadError, match=f"node {last} splits on input -3, outside 0..3"):
        load_model(tampered(negative_feature))


def test_a_forest_of_one_output_loads():
    rng = np.random.default_rng(1)
    features = rng.random((100, 4))
    forest = RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0)
    forest.fit(features, (features[:, 0] > 0.5).astype(int))
    model = load_model(dump_model(forest))
    assert model.n_outputs_ == 1
    np.testing.assert_array_equal(model.predict(features), forest.predict(features))
