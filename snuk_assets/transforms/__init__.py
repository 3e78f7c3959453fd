"""Pure transforms on Arrow tables and DataFrames: no Dagster, no I/O, no environment."""
