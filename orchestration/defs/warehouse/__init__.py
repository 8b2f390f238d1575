from orchestration.defs.warehouse.assets import defs

__all__ = ["defs"]
