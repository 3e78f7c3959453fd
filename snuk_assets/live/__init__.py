"""SNUK live: every room's state and next hour, every bin, from MQTT and the landing zone."""
