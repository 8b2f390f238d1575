from orchestration.defs.ingest.assets import defs

__all__ = ["defs"]
