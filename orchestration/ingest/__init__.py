"""Trace ingestion: landing files -> raw.trace_spans, validated, quarantined, idempotent.

Plain Python (no Dagster imports): the orchestration layer calls
`ingest_window`, `pending_days` and `validate_loaded_batch`. See
docs/ingestion.md for formats, mapping, rules and the dedupe rule.
"""

from orchestration.ingest.ledger import DayCounts, IngestionSummary
from orchestration.ingest.loader import ingest_window, pending_days
from orchestration.ingest.options import IngestOptions, load_ingest_options
from orchestration.ingest.validation import ValidationReport, validate_frame, validate_loaded_batch

__all__ = [
    "DayCounts",
    "IngestOptions",
    "IngestionSummary",
    "ValidationReport",
    "ingest_window",
    "load_ingest_options",
    "pending_days",
    "validate_frame",
    "validate_loaded_batch",
]
