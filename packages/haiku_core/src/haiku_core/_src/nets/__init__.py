"""Reference networks (``haiku_core.nets``)."""
