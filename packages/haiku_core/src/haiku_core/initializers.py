"""Initializers for Haiku parameters (``hk.initializers``)."""

from haiku_core._src.initializers import (
    Constant,
    Identity,
    Initializer,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    UniformScaling,
    VarianceScaling,
)

__all__ = [
    "Constant",
    "Identity",
    "Initializer",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "UniformScaling",
    "VarianceScaling",
]
