"""Fitted forests as bytes for the Delta table: skops, never pickle, loaded behind an allow-list.

Loading a pickle from storage runs arbitrary code; a skops blob names every type it holds, and
``load_model`` refuses a blob that names one outside ``ALLOWED_TYPES`` (tampered or foreign).
"""

from __future__ import annotations

import io
import json
import zipfile

import skops.io as sio
from sklearn.ensemble import RandomForestClassifier

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
        return sio.loads(blob, trusted=sorted(ALLOWED_TYPES))
    except Exception as error:  # skops raises many kinds on damaged content
        raise ModelLoadError(f"the model blob could not be loaded: {error}") from error
