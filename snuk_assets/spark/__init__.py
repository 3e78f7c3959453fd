"""SNUK's stages on PySpark: a session factory, Delta I/O through delta-rs, stage entry points.

Nothing here is imported by the package itself: pyspark is an optional dependency, imported
only when one of these modules runs Spark code.
"""
