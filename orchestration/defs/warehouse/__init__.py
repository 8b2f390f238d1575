import dagster as dg

from orchestration.defs.warehouse import assets, reference

defs = dg.Definitions.merge(reference.defs, assets.defs)

__all__ = ["defs"]
