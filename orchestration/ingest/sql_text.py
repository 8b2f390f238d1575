"""Small helpers for writing SQL text safely."""

from __future__ import annotations


def lit(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def in_list(values) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"
