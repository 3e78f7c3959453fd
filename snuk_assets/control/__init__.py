"""Closing the loop: per-room control decisions from forecasts, evaluated on a plant model.

``plant`` is the evaluation plant (lights, a 1R1C thermal model per room), ``kpis`` the
BOPTEST-style KPIs.
"""
