"""AgentLedger's Dagster code location and the plain logic it calls.

Kept import-free on purpose: the generator imports `orchestration.contract`
and `orchestration.settings` without pulling Dagster in.
"""
