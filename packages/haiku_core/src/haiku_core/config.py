"""Global configuration (``hk.config.set`` / ``hk.config.context``)."""

from haiku_core._src.config import Config, context, get_config, set

__all__ = ["Config", "context", "get_config", "set"]
