"""One module per pipeline stage: what the stage reads and writes, and the work per group.

A stage module holds the stage's orchestration (e.g. ``resample.resample_days``: which
partitions it reads, the per-group function, the target partitions), the per-group function
that local workers and Spark executors run, its table schema and its summary kernels. The asset
modules (``snuk_assets.assets``) call them and add Dagster's decorator, metadata and checks.

Stage modules never import Dagster: worker processes and Spark executors import them to run the
per-group functions. They import the settings and engines only for type hints.
"""
