"""Small from-scratch CNNs for tiny images (CIFAKE's 32x32), where ImageNet backbones waste
their stride: a ResNet-9-style network that keeps full resolution in its first two layers.

Plain torch modules; spotfake.models.cnn wraps them like the timm backbones (one logit).
"""

from __future__ import annotations

from typing import Any


def _conv_bn_relu(torch_nn: Any, cin: int, cout: int) -> Any:
    return torch_nn.Sequential(
        torch_nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        torch_nn.BatchNorm2d(cout),
        torch_nn.ReLU(inplace=True),
    )


def cifar_resnet(width: int = 16, num_classes: int = 1) -> Any:
    """Conv(W) -> Conv(2W) -> pool -> Res -> Conv(4W) -> pool -> Res -> Conv(8W) -> pool -> Res
    -> global average -> linear. Width 16: 0.49 M parameters; any input side divisible by 8."""
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.a = _conv_bn_relu(nn, channels, channels)
            self.b = nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x + self.b(self.a(x)))

    w = width
    return nn.Sequential(
        _conv_bn_relu(nn, 3, w),
        _conv_bn_relu(nn, w, 2 * w),
        nn.MaxPool2d(2),
        Residual(2 * w),
        _conv_bn_relu(nn, 2 * w, 4 * w),
        nn.MaxPool2d(2),
        Residual(4 * w),
        _conv_bn_relu(nn, 4 * w, 8 * w),
        nn.MaxPool2d(2),
        Residual(8 * w),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8 * w, num_classes),
    )
