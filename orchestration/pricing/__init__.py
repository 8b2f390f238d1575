"""Price catalog export: turns the installed genai-prices catalog into dbt seeds.

Plain Python (no Dagster imports) so the command line, tests and the
orchestration layer can all call it.
"""
