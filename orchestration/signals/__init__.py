"""Cost signals computed from the priced marts: forecasts, backtests, anomalies,
budgets, alerts and optimisation recommendations.

Plain Python with no Dagster imports, so that unit tests call the logic directly
and `orchestration/defs/signals` only declares assets around it. Inputs are read
from the working DuckDB file and results are written to the `signals` schema
(see `io.py` and docs/signals.md).
"""
