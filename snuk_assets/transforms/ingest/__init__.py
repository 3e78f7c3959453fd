"""Ingest: landing files parsed into rows (``parse``), then validated (``validate``)."""
