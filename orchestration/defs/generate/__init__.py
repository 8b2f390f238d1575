from orchestration.defs.generate.assets import defs

__all__ = ["defs"]
