"""Forecasts, backtests, anomalies, budgets, alerts and recommendations as assets."""

from orchestration.defs.signals.assets import defs

__all__ = ["defs"]
