"""Deterministic synthetic AI-agent traces in the canonical trace contract.

Plain Python, numpy and DuckDB; no orchestration imports beyond the shared
contract. Use `generate_traces(GeneratorConfig(...), out_dir)` or
`python -m generators traces --help`.
"""

from generators.config import FORMATS, GenerationResult, GeneratorConfig
from generators.traces import default_labels_path, generate_traces

__all__ = ["FORMATS", "GenerationResult", "GeneratorConfig", "default_labels_path", "generate_traces"]
