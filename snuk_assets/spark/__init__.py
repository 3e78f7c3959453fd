"""SNUK's stages on PySpark: a session factory, Delta I/O through delta-rs, resampling.

Nothing here is imported by the package itself: pyspark is an optional dependency, imported
only when one of these modules is.
"""
