"""Testing helpers for code that uses haiku_core."""

from haiku_core._src.testing import transform_and_run

__all__ = ["transform_and_run"]
