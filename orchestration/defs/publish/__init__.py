from orchestration.defs.publish.assets import defs

__all__ = ["defs"]
