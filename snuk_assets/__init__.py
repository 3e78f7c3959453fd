"""SNUK."""
