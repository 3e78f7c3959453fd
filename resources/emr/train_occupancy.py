"""spark-submit entry point for training the occupancy models on EMR: NOT IMPLEMENTED YET.

A placeholder so the EMR step list can name it; the models stage (``occupancy_models``) is
being written separately and will provide the per-room training function this step runs.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    raise NotImplementedError(
        "train_occupancy.py is a stub: training on Spark needs the occupancy_models stage's "
        "per-room training function; run the occupancy_models asset locally until then"
    )


if __name__ == "__main__":
    sys.exit(main())
