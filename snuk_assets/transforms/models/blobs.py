"""Fitted forests as bytes for the Delta table: skops, never pickle, loaded behind an allow-list.

Loading a pickle from storage runs arbitrary code; a skops blob names every type it holds, and
``load_model`` refuses a blob that names one outside ``ALLOWED_TYPES`` (tampered or foreign).
Allowed types are not enough: sklearn's tree walk trusts its node arrays (a child index out of
range reads arbitrary memory and the process dies with SIGSEGV), so the loaded object must be a
``RandomForestClassifier`` whose every tree passes :func:`check_forest` before it is returned.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

# Exactly the types a fitted RandomForestClassifier is made of; anything else is refused.
ALLOWED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.int64",
        "numpy.float64",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
    }
)


class ModelLoadError(ValueError):
    """A stored model blob is corrupt or holds types that are not allowed."""


def dump_model(model: RandomForestClassifier) -> bytes:
    """The model as skops bytes."""
    return sio.dumps(model)


def blob_types(blob: bytes) -> set[str]:
    """Every ``module.Class`` named in a skops blob's schema."""
    try:
        schema = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelLoadError(f"not a skops model blob (corrupt or truncated): {error}") from error
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_model(blob: bytes) -> RandomForestClassifier:
    """A model from skops bytes, refusing any type outside ``ALLOWED_TYPES``.

    Raises
    ------
    ModelLoadError
        If the bytes are not a readable skops file, or name a type that is not allowed (a
        tampered or foreign blob): the message lists the offending types.
    """
    refused = sorted(blob_types(blob) - ALLOWED_TYPES)
    if refused:
        raise ModelLoadError(
            f"refusing to load a model blob with types outside the allow-list: {refused}; "
            "retrain the model or extend ALLOWED_TYPES after reviewing them"
        )
    try:
        model = sio.loads(blob, trusted=sorted(ALLOWED_TYPES))
    except Exception as error:  # skops raises many kinds on damaged content
        raise ModelLoadError(f"the model blob could not be loaded: {error}") from error
    check_forest(model)
    return model


def check_forest(model: object) -> None:
    """Refuse anything but a fitted forest whose trees sklearn can walk without a crash.

    Checks, per tree: the node arrays have ``node_count`` entries; a node is a leaf (both
    children -1) or both children are later nodes in range (so every walk ends at a leaf);
    split features index the model's inputs; ``value`` is ``(nodes, outputs, classes)``
    like the forest's; every tree has the forest's inputs and outputs.

    Raises
    ------
    ModelLoadError
        Naming the tree and what is wrong.
    """
    if type(model) is not RandomForestClassifier:
        raise ModelLoadError(
            f"the model blob holds a {type(model).__module__}.{type(model).__qualname__}, "
            "not a sklearn RandomForestClassifier"
        )
    estimators = getattr(model, "estimators_", None)
    n_features = getattr(model, "n_features_in_", None)
    n_outputs = getattr(model, "n_outputs_", None)
    if not isinstance(estimators, list) or not estimators or not isinstance(n_features, int):
        raise ModelLoadError("the model blob holds a forest that is not fitted")
    if not isinstance(n_outputs, int) or n_outputs < 1:
        raise ModelLoadError(f"the forest's n_outputs_ is {n_outputs!r}, not a count")
    for index, tree in enumerate(estimators):
        problem = _tree_problem(tree, n_features, n_outputs)
        if problem is not None:
            raise ModelLoadError(f"tree {index} of the forest is damaged: {problem}")


def _tree_problem(estimator: object, n_features: int, n_outputs: int) -> str | None:
    if type(estimator) is not DecisionTreeClassifier:
        return f"it is a {type(estimator).__qualname__}, not a DecisionTreeClassifier"
    tree = getattr(estimator, "tree_", None)
    if tree is None:
        return "it is not fitted"
    if tree.n_features != n_features or tree.n_outputs != n_outputs:
        return (
            f"it has {tree.n_features} inputs and {tree.n_outputs} outputs, the forest "
            f"{n_features} and {n_outputs}"
        )
    count = tree.node_count
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    if count < 1 or any(len(a) != count for a in (left, right, feature, tree.threshold)):
        return f"its node arrays do not all have node_count={count} entries"
    nodes = np.arange(count)
    leaf = (left == -1) & (right == -1)
    inner = ~leaf
    children_ok = (left > nodes) & (left < count) & (right > nodes) & (right < count)
    if not np.all(children_ok[inner]):
        bad = int(nodes[inner & ~children_ok][0])
        return (
            f"node {bad} has children {int(left[bad])} and {int(right[bad])}: a child must be "
            f"a later node below {count}, or both -1 for a leaf"
        )
    if np.any((feature[inner] < 0) | (feature[inner] >= n_features)):
        bad = int(nodes[inner & ((feature < 0) | (feature >= n_features))][0])
        return f"node {bad} splits on input {int(feature[bad])}, outside 0..{n_features - 1}"
    value = tree.value
    if value.ndim != 3 or value.shape[0] != count or value.shape[1] != n_outputs:
        return f"its value array has shape {value.shape}, not ({count}, {n_outputs}, classes)"
    if value.shape[2] != int(np.max(tree.n_classes)):
        return f"its value array has {value.shape[2]} classes, n_classes says {tree.n_classes}"
    return None
