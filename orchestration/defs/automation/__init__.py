from orchestration.defs.automation.definitions import defs

__all__ = ["defs"]
