"""Pricing: the installed genai-prices catalog flattened into the dbt price seed (price_seed.py).

Plain Python (no Dagster imports) so the command line, tests and the
orchestration layer can all call it.
"""
