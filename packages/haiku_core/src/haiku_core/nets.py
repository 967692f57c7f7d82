"""Reference networks (``hk.nets``)."""

from haiku_core._src.nets.mlp import MLP
from haiku_core._src.nets.mobilenetv1 import MobileNetV1
from haiku_core._src.nets.resnet import (
    ResNet,
    ResNet18,
    ResNet34,
    ResNet50,
    ResNet101,
    ResNet152,
    ResNet200,
)
from haiku_core._src.nets.vqvae import VectorQuantizer, VectorQuantizerEMA

__all__ = [
    "MLP",
    "MobileNetV1",
    "ResNet",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet200",
    "VectorQuantizer",
    "VectorQuantizerEMA",
]
