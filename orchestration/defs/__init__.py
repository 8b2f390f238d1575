"""Dagster declarations, one package per domain; logic lives in plain modules."""
